"""``advice.json``: the cost model's conclusions as versioned JSON (format "advisor-advice", version 1).

Layout (docs/cost-model.md has every field)::

    {"format": "advisor-advice", "version": 1, "advisor": "0.1.0",
     "config": {"source", "monthly_bill_usd", "horizon_months", "step_fraction"},
     "step": {"name", "mean_s", "count", "split": {"interpreted", "native", "waiting", "gc"}},
     "kernels": [{"function", "file", "line", "self_share", "split", "category", "verdict",
                  "verdict_label", "reason", "best", "estimates": [...]}],
     "plan": [...], "notes": [...], "assumptions": [{"key", "value", "source"}],
     "measured": [...]}   # only after `advisor try` (docs/try.md)

Ranges are ``{"low", "typical", "high"}``. A payback that never comes is ``null`` (a whole range when the
typical savings are not positive; only ``high`` when the low estimate is a loss). Shares are fractions
of the measured step time; money is US dollars.
"""

from __future__ import annotations

import json
import math
from typing import Any

from advisor._version import __version__
from advisor.costmodel.formulas import STEP_FLOOR
from advisor.costmodel.types import Advice, KernelAdvice, PlanStep, Range, TargetEstimate
from advisor.model import BUCKETS, Split

FORMAT = "advisor-advice"
VERSION = 1


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _range(r: Range | None) -> dict[str, float | None] | None:
    if r is None:
        return None
    return {"low": _num(r.low), "typical": _num(r.typical), "high": _num(r.high)}


def _shares(split: Split, step_s: float) -> dict[str, float]:
    return {b: (getattr(split, b) / step_s if step_s > 0 else 0.0) for b in BUCKETS}


def _estimate(e: TargetEstimate) -> dict[str, Any]:
    return {
        "target": e.target, "target_name": e.target_name, "kind": e.kind, "maturity": e.maturity,
        "share": e.share, "new_share": _range(e.new_share),
        "kernel_speedup": _range(e.kernel_speedup), "end_to_end": _range(e.end_to_end),
        "boundary_s_per_step": _range(e.boundary_s_per_step), "calls_per_step": e.calls_per_step,
        "calls_exact": e.calls_exact, "calls_max": e.calls_max, "effort_weeks": _range(e.effort_weeks), "cost_usd": _range(e.cost_usd),
        "savings_per_month_usd": _range(e.savings_per_month_usd), "payback_months": _range(e.payback_months),
        "sources": list(e.sources), **({"measured": e.measured} if e.measured else {}),
    }


def _see(p: Any) -> dict[str, Any] | None:
    """The item a function's verdict points to (``costmodel.items_consistency``), or None."""
    if p is None:
        return None
    return {"item": p.rank, "kind": p.kind, "title": p.title, "scope": p.scope, "owned_share": p.owned,
            "words": p.words}


def _kernel(k: KernelAdvice, step_s: float, see: Any = None) -> dict[str, Any]:
    h = k.hotspot
    return {
        "function": h.key.qualname, "file": h.key.file, "line": h.key.line, "self_share": h.self_share,
        "inclusive_share": h.inclusive_share, "split": _shares(h.self_split, step_s),
        "category": {"name": k.category.name, "evidence": k.category.evidence, "lines": k.category.lines,
                     "complexity": k.category.complexity, "dispatch_bound": k.category.dispatch_bound},
        "verdict": k.verdict, "verdict_label": k.verdict_label, "reason": k.reason,
        "best": k.best.target if k.best is not None else None,
        # the item that owns this function's time: the user-facing lists show it instead of the verdict
        "see": _see(see),
        "estimates": [_estimate(e) for e in k.estimates],
    }


def _plan(p: PlanStep) -> dict[str, Any]:
    return {"kernel": p.kernel, "target": p.target, "end_to_end": _range(p.end_to_end), "cost_usd": p.cost_usd,
            "savings_per_month_usd": p.savings_per_month_usd,
            "payback_months": None if p.payback_months is None else _num(p.payback_months),
            "pays_back": p.pays_back}


def _item(it: Any, frames: Any = ()) -> dict[str, Any]:
    return {"kind": it.kind, "title": it.title, "scope": it.scope, "share": it.share,
            "removed_share": _range(it.removed), "end_to_end": _range(it.end_to_end),
            "savings_per_month_usd": _range(it.savings_per_month_usd), "cost_usd": _range(it.cost_usd),
            "payback_months": _range(it.payback_months), "reason": it.reason, "sources": list(it.sources),
            # True when the high estimate stopped at the floor (levers.step_floor): read end_to_end.high as "or more"
            "end_to_end_capped": bool(it.end_to_end.high >= 1.0 / STEP_FLOOR - 1e-9),
            # the part of each function's own time this item owns (seconds over the measured steps)
            "owns": [{"function": frames[f].key.qualname, "seconds": s} for f, s in getattr(it, "claims", ())
                     if 0 <= f < len(frames)],
            **({"measured": it.measured} if it.measured else {})}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def advice_to_json(advice: Advice) -> dict[str, Any]:
    """The advice as a JSON-ready dict (format advisor-advice, version 1)."""
    from advisor.costmodel.items_consistency import consistency

    a = advice.analysis
    cfg = advice.config
    c = consistency(advice)
    return {
        "format": FORMAT, "version": VERSION, "advisor": __version__,
        "config": {"source": advice.config_source, "monthly_bill_usd": advice.monthly_bill_usd,
                   "horizon_months": cfg.team.horizon_months, "step_fraction": cfg.step_fraction},
        "step": {"name": a.step_name, "mean_s": a.stats.mean_s, "count": a.stats.count,
                 "split": _shares(a.step_split, a.step_s)},
        "kernels": [_kernel(k, a.step_s, c.pointers.get(k.hotspot.frame)) for k in advice.kernels],
        "items": [_item(it, a.profile.frames) for it in advice.items],
        "plan": [_plan(p) for p in advice.plan],
        # the plan without the functions whose time an item owns (what the report and the terminal show)
        "plan_outside_items": [_plan(p) for p in c.plan],
        "notes": list(advice.notes),
        "assumptions": [{"key": x.key, "value": _jsonable(x.value), "source": x.source} for x in advice.assumptions],
        **({"measured": _measured(advice)} if advice.measured else {}),
    }


def _measured(advice: Advice) -> list[dict[str, Any]]:
    """``advisor try`` results (docs/try.md), without the per-run step lists kept in tryouts.json."""
    from advisor.experiments.results import tryout_to_json

    return [{k: v for k, v in tryout_to_json(t).items() if k != "runs"} for t in advice.measured]


def render_advice_json(advice: Advice) -> str:
    """``advice.json`` text: strict JSON (no NaN or Infinity), indented for diffs."""
    return json.dumps(_jsonable(advice_to_json(advice)), indent=1, allow_nan=False, ensure_ascii=False) + "\n"
