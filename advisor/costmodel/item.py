"""One item of the advice and the helpers every kind of item shares (``items.py`` builds them)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from advisor.costmodel import formulas as fm
from advisor.costmodel import measured as ms
from advisor.costmodel.config import CostConfig
from advisor.costmodel.types import Range
from advisor.costmodel.verdict import times

GC, PIPELINE, IO, FRAMEWORK, KERNEL = "gc", "input-pipeline", "io", "framework", "kernel"
NATIVE, THREADS = "native-loop", "threads"


@dataclass(frozen=True, slots=True)
class Item:
    """One change, its share of the step, and what it is worth (low / typical / high)."""

    kind: str  # gc | input-pipeline | io | framework | threads | native-loop | kernel | per-step-import|read|spawn
    title: str  # the action in a few words: "Tune the cyclic GC (gc.freeze(), thresholds)"
    scope: str  # what it changes: "the whole step", "phase load_batch", "Value.backward"
    share: float  # the share of the step it acts on
    removed: Range  # the share of the step it removes (low / typical / high)
    end_to_end: Range
    savings_per_month_usd: Range
    cost_usd: Range
    payback_months: Range | None
    reason: str  # one or two sentences quoting the numbers
    sources: tuple[str, ...] = ()
    frames: tuple[int, ...] = ()
    measured: str = ""  # the `advisor try` experiment whose measurement replaced the prior ("" for a prior)
    # (frame, seconds): the part of each function's own time over the measured steps this item owns; a
    # function whose time an item owns points to it instead of its own verdict (``items_consistency``)
    claims: tuple[tuple[int, float], ...] = ()


def _money(cfg: CostConfig, e2e: Range, weeks: Range) -> tuple[Range, Range, Range | None]:
    bill, f = cfg.monthly_bill_usd, cfg.step_fraction
    sav = Range(*(fm.monthly_savings(bill, f, x) for x in (e2e.low, e2e.typical, e2e.high)))
    w = cfg.team.engineer_cost_per_week
    cost = Range(weeks.low * w, weeks.typical * w, weeks.high * w)
    typ = fm.payback_months(cost.typical, sav.typical)
    if typ is None:
        return sav, cost, None
    low = fm.payback_months(cost.low, sav.high)
    high = fm.payback_months(cost.high, sav.low)
    return sav, cost, Range(low if low is not None else typ, typ, high if high is not None else float("inf"))


def bounded(cfg: CostConfig, removed: Range) -> Range:
    """``removed`` with each figure at most ``1 - levers.step_floor`` (``formulas.bounded_removed``)."""
    f = cfg.levers.step_floor
    return Range(*(fm.bounded_removed(x, f) for x in (removed.low, removed.typical, removed.high)))


def _removal_item(kind: str, title: str, scope: str, share: float, frac: Range, weeks: Range,
                  cfg: CostConfig, reason: str, sources: tuple[str, ...], frames: tuple[int, ...]) -> Item:
    removed = bounded(cfg, Range(share * frac.low, share * frac.typical, share * frac.high))
    e2e = Range(*(fm.end_to_end(x, 0.0) for x in (removed.low, removed.typical, removed.high)))
    sav, cost, pay = _money(cfg, e2e, weeks)
    it = Item(kind, title, scope, share, removed, e2e, sav, cost, pay, reason, sources, frames)
    words = floor_words(cfg, it) if reason else ""
    return replace(it, reason=reason + words, sources=(*sources, "levers.step_floor")) if words else it


def _span(r: Range) -> str:
    return f"{fmt_step_x(r.typical)} ({fmt_step_x(r.low)}–{fmt_step_x(r.high)})"


def fmt_step_x(v: float) -> str:
    """A step speedup; at or above the floor's cap (20x at the default) it reads "≥20×": the estimate
    stops there (levers.step_floor), the true figure is bounded by what the rest of the step takes."""
    return f"≥{times(v)}" if v >= 1.0 / fm.STEP_FLOOR - 1e-9 else times(v)


def floor_words(cfg: CostConfig, it: "Item") -> str:
    """The sentence that says an item's estimate stopped at the floor ("" when it did not)."""
    f = cfg.levers.step_floor
    if it.removed.high < 1.0 - f - 1e-9:
        return ""
    return (f" The estimate stops at {times(1.0 / f)}: whatever the change removes, the step keeps the rest of "
            f"its work ({1.0 - it.share:.1%} of it here) plus what the change itself costs, taken as at least "
            f"{f:.0%} of the step (levers.step_floor).")


def _measured_item(it: Item, t: Any, cfg: CostConfig, weeks: Range) -> Item:
    """``it`` with its step speedup (and so removed share, savings and payback) measured by ``t``."""
    e2e = ms.step_range(t)
    removed = Range(*(1.0 - 1.0 / x for x in (e2e.low, e2e.typical, e2e.high)))
    sav, cost, pay = _money(cfg, e2e, weeks)
    reason = (f"Measured by advisor try ({t.name}): {ms.versus_words(t)}; the advice uses the measurement. "
              + it.reason)
    return replace(it, removed=removed, end_to_end=e2e, savings_per_month_usd=sav, cost_usd=cost,
                               payback_months=pay, reason=reason, measured=t.name,
                               sources=(f"measured by advisor try: {t.name} (tryouts.json)", *it.sources))
