"""Number, path and plan formatting: the one place a speedup, a dollar figure or the plan is worded.

The terminal summary, the HTML report (its template filters), the notebook summary and the compare
report all format through here, so the same figure reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

from advisor.costmodel.types import Range
from advisor.units import fmt_usd, fmt_x  # noqa: F401  (one formatter for every layer)


# ---- formatting --------------------------------------------------------------------------------------
def fmt_calls(calls: float, exact: bool, most: float | None = None) -> str:
    """Calls per step: the exact count, or (sample mode) "≥ N, unknown": sampled invocations are a lower
    bound (a function called thousands of times a step can be seen once or twice)."""
    if exact:
        return f"{calls:,.0f}"
    upto = f" up to {most:,.0f}" if most is not None and most > calls else ""
    return f"≥ {calls:,.0f} (unknown{upto}; sampled)"


def fmt_duration(seconds: float) -> str:
    """``0.25`` → ``250 ms``; picks µs, ms, s or min so three digits show."""
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_months(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "never"
    if value < 1:
        days = value * 30.4
        return "< 1 day" if days < 1 else "1 day" if days < 1.5 else f"{days:.0f} days"
    return f"{value:.1f} months"


def fmt_weeks(value: float) -> str:
    """Engineer-weeks: one decimal from 1 up, two significant digits below (0.026 → 0.026)."""
    return f"{value:.1f}" if value >= 1 or value == 0 else f"{value:.2g}"


def fmt_pct(share: float) -> str:
    p = share * 100
    if p == 0:
        return "0%"
    return f"{p:.0f}%" if p >= 9.95 else f"{p:.1f}%" if p >= 0.05 else "<0.1%"


def fmt_range(r: Range, fmt: Any = fmt_x) -> str:
    return f"{fmt(r.low)} – {fmt(r.high)}"


def fmt_span(r: Range, fmt: Any = fmt_x) -> str:
    """A range inside a sentence, as the cost model's own sentences write it: ``3.16×–4.02×``."""
    return f"{fmt(r.low)}–{fmt(r.high)}"


def short_path(path: str, keep: int = 2) -> str:
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-keep:]) if len(parts) > keep else path



def fmt_plan(advice: Any, plan: Any = None) -> str:
    """The recommended port plan in one line: what to port, the step speedup with its range, dollars.

    Which steps are recommended is the cost model's decision (``costmodel.recommended_steps``); this
    only words it. An empty recommendation says nothing pays back within the horizon.
    """
    from advisor.costmodel import recommended_steps

    paying = recommended_steps(advice.plan if plan is None else plan)
    where = "built-in cost defaults" if getattr(advice.config, "is_builtin", False) else advice.config_source
    if not paying:
        return f"no port or JIT pays back within the {advice.config.team.horizon_months:g}-month horizon ({where})"
    last = paying[-1]
    names = ", ".join(f"{s.kernel} → {s.target}" for s in paying[:3]) + (" …" if len(paying) > 3 else "")
    return (f"{names}: step {fmt_x(last.end_to_end.typical)} ({fmt_span(last.end_to_end)}), saves "
            f"{fmt_usd(last.savings_per_month_usd)}/month for {fmt_usd(last.cost_usd)}, payback "
            f"{fmt_months(last.payback_months)} ({where})")
