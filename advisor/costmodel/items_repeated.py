"""Items for set-up work repeated in every step (``analysis/repeated.py``): an import, a re-read, a process
or pool started. Each owns the non-GC time of the samples it claimed; every other item gives that time up
(``without_claimed``), so no sample counts in two items' Amdahl figures."""

from __future__ import annotations

from dataclasses import replace

from advisor.analysis import Analysis
from advisor.analysis.repeated import IMPORT, READ, SPAWN, Repeated, find_repeated
from advisor.costmodel import formulas as fm
from advisor.costmodel.config import CostConfig
from advisor.costmodel.item import GC, Item, _money, _removal_item, _span, bounded, floor_words
from advisor.costmodel.types import FIX_IO, KernelAdvice, Range
from advisor.model import Split

REPEATED_KINDS = {IMPORT: "per-step-import", READ: "per-step-read", SPAWN: "per-step-spawn"}
_TITLES = {IMPORT: "Import once, outside the step", READ: "Open/read once and cache",
           SPAWN: "Create the pool/process once"}
_WHAT = {IMPORT: "(re-)importing a module", READ: "opening and reading files",
         SPAWN: "starting and stopping processes"}
_FIX = {
    IMPORT: ("Move the import to the top of the module (or before the loop) and drop any importlib.reload "
             "or sys.modules clearing in the step: an import of a loaded module is a dictionary lookup."),
    READ: ("If the file does not change between steps, read it once before the loop and keep the result "
           "(a module-level variable, functools.lru_cache, np.load(mmap_mode='r')); if each step needs new "
           "data, read it ahead in a prefetch thread or DataLoader workers instead."),
    SPAWN: ("Create the pool or process once, before the loop, and reuse it in every step (pass it in, close "
            "it at exit); a subprocess that runs Python each step pays the interpreter's start-up every time: "
            "run its code in-process or keep one worker alive."),
}
_LEVER = {IMPORT: "import", READ: "read", SPAWN: "spawn"}


def _owner(analysis: Analysis, idx: int) -> int | None:
    prof = analysis.profile
    rec, step = prof.stacks[idx], prof.step
    if step is None or step.frame not in rec.frames:
        return None
    pos = rec.frames.index(step.frame)
    return next((f for f in reversed(rec.frames[pos:]) if prof.frames[f].user), step.frame)


def claimed_causes(analysis: Analysis, kernels: list[KernelAdvice], pipeline_frames: set[int]) -> list[Repeated]:
    """The repeated causes. Reads are left where an item already gives their advice: in a function whose
    own time is mostly waiting (its fix-the-I/O item: prefetch; "read once" would be wrong for streaming
    data) and inside an input-pipeline phase (that item: preprocess once and cache, or overlap)."""
    io_frames = {k.hotspot.frame for k in kernels if k.verdict == FIX_IO} | pipeline_frames
    out = []
    for c in find_repeated(analysis.profile):
        if c.kind == READ and io_frames & set(c.owners):
            keep = frozenset(i for i in c.records if _owner(analysis, i) not in io_frames)
            split = sum((analysis.profile.stacks[i].split for i in keep), Split())
            non_gc = split.total - split.gc
            step_s = analysis.step_s
            c = replace(c, split=split, records=keep, share=non_gc / step_s if step_s > 0 else 0.0,
                        seconds_per_step=non_gc / max(c.steps, 1),
                        owners={f: s for f, s in c.owners.items() if f not in io_frames})
        out.append(c)
    return out


def repeated_items(analysis: Analysis, cfg: CostConfig, causes: list[Repeated]) -> list[Item]:
    out = []
    lv = cfg.levers
    for c in causes:
        if c.share < cfg.thresholds.min_share:
            continue
        name = _LEVER[c.kind]
        frac: Range = getattr(lv, f"{name}_removable")
        weeks: Range = getattr(lv, f"{name}_weeks")
        prof = analysis.profile
        sites = "; ".join(f"{prof.frames[f].key.qualname} line {ln} ({s:.0%})" for f, ln, s in c.sites[:3])
        what = ", ".join(c.what[:3])
        seen = (f" in {c.steps_seen} of the {c.steps} measured steps" if c.steps_seen is not None
                else f" over the {c.steps} measured steps")
        lo, hi, k, n = _share_bounds(analysis, c)
        # The sampled share's own uncertainty widens the range: near 100% the few samples left outside
        # decide 1 / (1 - share), so the low end takes the share's lower bound, the high end its upper one.
        wide = Range(frac.low * lo / c.share, frac.typical, min(frac.high * hi / c.share, 1.0 / c.share)) \
            if c.share > 0 else frac
        probe = _removal_item(GC, "", "", c.share, wide, weeks, cfg, "", (), ())
        reason = (f"{_WHAT[c.kind][:1].upper()}{_WHAT[c.kind][1:]} is {c.share:.0%} of the step "
                  f"({c.seconds_per_step * 1e3:.1f} ms a step; {lo:.0%}–{hi:.0%} at 95% confidence from {k:,} of "
                  f"{n:,} samples), seen{seen}: the samples ran in {what}, started from {sites}. {_FIX[c.kind]} "
                  f"Removing {frac.low:.0%}–{frac.high:.0%} of it makes the step {_span(probe.end_to_end)} faster.")
        out.append(_removal_item(
            REPEATED_KINDS[c.kind], _TITLES[c.kind], "the whole step", c.share, wide, weeks, cfg, reason,
            (f"profile.stacks: non-GC time of the samples in {_WHAT[c.kind]} under the step / step time "
             f"({len(c.records)} stack records)", "formulas.wilson: the share's 95% interval from its samples",
             f"levers.{name}_removable", f"levers.{name}_weeks"),
            tuple(f for f, _, _ in c.sites)))
    return out


def _share_bounds(analysis: Analysis, c: Repeated) -> tuple[float, float, int, int]:
    """The cause's share of the step as a 95% interval from the samples (Wilson), kept around the
    time-weighted share; with the samples it was seen in and the step's samples."""
    stacks = analysis.profile.stacks
    k = sum(stacks[i].samples for i in c.records)
    n = analysis.step_samples
    if n <= 0 or k <= 0:
        return c.share, c.share, k, n
    lo, hi = fm.wilson(k, n)
    return min(lo, c.share), max(hi, c.share), k, n


def claims(analysis: Analysis, causes: list[Repeated], items: list[Item]) -> dict[int, Split]:
    """Non-GC seconds claimed by the repeated items, per user frame the time is charged to."""
    kept = {REPEATED_KINDS[c.kind] for c in causes} & {it.kind for it in items}
    out: dict[int, Split] = {}
    for c in causes:
        if REPEATED_KINDS[c.kind] not in kept:
            continue
        for i in c.records:
            f = _owner(analysis, i)
            if f is None:
                continue
            sp = analysis.profile.stacks[i].split
            out[f] = out.get(f, Split()) + Split(sp.interpreted, sp.native, sp.waiting, 0.0)
    return out


_BUCKETS = {"gc": (), "io": ("waiting",), "threads": ("native",), "framework": ("native",)}


def without_claimed(it: Item, claimed: dict[int, Split], analysis: Analysis, cfg: CostConfig) -> Item | None:
    """``it`` less the time a repeated item claimed in its frames: the share it acts on shrinks by that
    time (its removed share in proportion); None when what is left is under the share threshold."""
    if not claimed or analysis.step_s <= 0 or it.share <= 0 or it.kind in REPEATED_KINDS.values():
        return it
    buckets = _BUCKETS.get(it.kind, ("interpreted", "native", "waiting"))
    overlap = sum(getattr(claimed[f], b) for f in set(it.frames) if f in claimed for b in buckets) / analysis.step_s
    if overlap <= 0:
        return it
    left = max(it.share - overlap, 0.0)
    if left < cfg.thresholds.min_share:
        return None
    k = left / it.share
    removed = bounded(cfg, Range(it.removed.low * k, it.removed.typical * k, it.removed.high * k))
    e2e = Range(*(fm.end_to_end(x, 0.0) for x in (removed.low, removed.typical, removed.high)))
    weeks = Range(*(x / cfg.team.engineer_cost_per_week for x in (it.cost_usd.low, it.cost_usd.typical,
                                                                   it.cost_usd.high))) \
        if cfg.team.engineer_cost_per_week > 0 else Range(0.0, 0.0, 0.0)
    sav, cost, pay = _money(cfg, e2e, weeks)
    stale = floor_words(cfg, it)  # the old figure stopped at the floor; the new one may not
    reason = it.reason.replace(stale, "") if stale else it.reason
    it = replace(it, reason=reason)
    return replace(it, share=left, removed=removed, end_to_end=e2e, savings_per_month_usd=sav, cost_usd=cost,
                   payback_months=pay,
                   reason=it.reason + f" ({overlap:.0%} of the step charged here is set-up work repeated in every "
                   f"step, its own item: this item's share is the {left:.0%} left, its gain {_span(e2e)}.)")


__all__ = ["REPEATED_KINDS", "claimed_causes", "claims", "repeated_items", "without_claimed"]
