"""Items: every change worth making, at its natural level, ranked by what it is worth.

The per-function verdicts answer "what to do with this function". The items answer "what should the team
do first": one item per step-wide cause (the cyclic GC), per data-preparation phase (an inclusive
subtree), per framework, per wait outside a phase, and per function a port, JIT or accelerator pays for.
They never count time twice:

* the GC item owns all GC time; every other item leaves GC time where it is;
* a phase item owns its phase's non-GC time; functions whose own time lies inside the phase are not items
  of their own (the phase's reason names the best of them as the alternative);
* a kernel item owns its own interpreted (and, for batching, native) time, as its estimate says.

So the shares removed add up, and ``combined`` is Amdahl over all of them at once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from advisor.analysis import Analysis
from advisor.analysis.phases import Phase, find_phases
from advisor.costmodel import formulas as fm
from advisor.costmodel import measured as ms
from advisor.costmodel.config import CostConfig
from advisor.costmodel.native import batch_speedup, rates_words
from advisor.costmodel.types import ACCELERATOR, FIX_IO, JIT_VECTORIZE, PORT, KernelAdvice, Range
from advisor.costmodel.verdict import money, times
from advisor.costmodel.item import (FRAMEWORK, GC, IO, KERNEL, NATIVE, PIPELINE, THREADS, Item, _measured_item,  # noqa: F401
                                    _money, _removal_item, _span, bounded, floor_words)
from advisor.costmodel.items_consistency import with_claims
from advisor.costmodel.items_repeated import REPEATED_KINDS, claimed_causes, claims, repeated_items, without_claimed
from advisor.costmodel.items_gc import gc_item  # noqa: F401  (advisor.costmodel.items.gc_item stays importable)
from advisor.costmodel.items_threads import framework_item, measured_threads_item, threads_item


def phase_items(analysis: Analysis, cfg: CostConfig, kernels: dict[int, KernelAdvice],
                phases: tuple[Phase, ...]) -> list[Item]:
    out = []
    lv = cfg.levers
    step_s = analysis.step_s
    for ph in phases:
        share = (ph.split.total - ph.split.gc) / step_s if step_s > 0 else 0.0
        if ph.kind != "input-pipeline" or share < cfg.thresholds.min_share:
            continue
        inner = [kernels[f] for f in ph.members if f in kernels and kernels[f].best is not None]
        alt = max(inner, key=lambda k: k.best.end_to_end.typical, default=None)  # type: ignore[union-attr]
        alt_words = (f" Porting its top function instead ({alt.hotspot.key.qualname} → {alt.best.target_name}) "
                     f"would give only {times(alt.best.end_to_end.typical)}." if alt is not None and alt.best else "")
        calls = analysis.stats.count
        probe = _removal_item(PIPELINE, "", "", share, lv.pipeline_removable, lv.pipeline_weeks, cfg, "", (), ())
        reason = (f"The input pipeline {ph.key.qualname} ({ph.evidence}) is {share:.0%} of the step, with "
                  f"everything it calls, and runs in every one of the {calls} measured steps. If its "
                  "input does not change between epochs, preprocess once and cache the result; otherwise "
                  "overlap it with the training step (DataLoader workers, a prefetch thread or process). "
                  f"Removing {lv.pipeline_removable.low:.0%}–{lv.pipeline_removable.high:.0%} of it makes "
                  f"the step {_span(probe.end_to_end)} faster.{alt_words}")
        out.append(_removal_item(
            PIPELINE, "Cache or overlap the input pipeline", f"phase {ph.key.qualname}", share,
            lv.pipeline_removable, lv.pipeline_weeks, cfg, reason,
            (f"profile.stacks: inclusive time under frame {ph.frame} less its GC / step time",
             "levers.pipeline_removable", "levers.pipeline_weeks"), (ph.frame, *sorted(ph.members))))
    return out


def io_items(analysis: Analysis, cfg: CostConfig, kernels: list[KernelAdvice], covered: set[int]) -> list[Item]:
    out = []
    lv = cfg.levers
    for k in kernels:
        if k.verdict != FIX_IO or k.hotspot.frame in covered:
            continue
        share = k.hotspot.self_split.waiting / analysis.step_s if analysis.step_s > 0 else 0.0
        out.append(_removal_item(
            IO, "Fix the I/O (prefetch, workers, a local cache)", k.hotspot.key.qualname, share,
            lv.io_removable, lv.pipeline_weeks, cfg, k.reason,
            (f"profile.stacks: waiting time of frame {k.hotspot.frame} / step time", "levers.io_removable",
             "levers.pipeline_weeks"), (k.hotspot.frame,)))
    return out


def native_items(analysis: Analysis, cfg: CostConfig, kernels: list[KernelAdvice], covered: set[int]) -> list[Item]:
    """One item per Python loop of NumPy calls: batch them into calls on stacked arrays.

    The loop's share is its owner's own time plus the inclusive time of the functions it calls in the
    loop, less GC (the GC item owns it); the speedup range is what batching gains on
    this machine (``costmodel/native.py``), else the configured NumPy-vectorization range.
    """
    groups: dict[int, list[KernelAdvice]] = {}
    for k in kernels:
        owner = k.category.loop_owner
        if (owner is None or k.category.framework or k.verdict == FIX_IO or k.hotspot.frame in covered
                or owner in covered):
            continue
        groups.setdefault(owner, []).append(k)
    step_s, out = analysis.step_s, []
    hot = {h.frame: h for h in analysis.hotspots}
    for owner, members in groups.items():
        own = hot.get(owner)
        parts = [own.self_split] if own is not None else []
        parts += [k.hotspot.inclusive_split for k in members if k.hotspot.frame != owner]
        # Waiting inside a loop of NumPy calls that is not an I/O function (fix-io items own those) is the
        # CPU time it queued for on a busy machine: it shrinks with the loop, so the item owns it too.
        share = sum(p.interpreted + p.native + p.waiting for p in parts) / step_s if step_s > 0 else 0.0
        if share < cfg.thresholds.min_share:
            continue
        measured = batch_speedup(analysis.profile)
        vec = cfg.targets.get("numpy-vectorize")
        sp = measured or (vec.speedup["small-numpy-calls"] if vec is not None else Range(2.0, 5.0, 20.0))
        frac = Range(*(1 - 1 / max(x, 1.0) for x in (sp.low, sp.typical, sp.high)))
        efforts = [e.effort_weeks for k in members for e in k.estimates if e.target == "numpy-vectorize"]
        weeks = max(efforts, key=lambda r: r.typical, default=Range(0.1, 0.3, 1.0))
        name = own.key.qualname if own is not None else analysis.profile.frames[owner].key.qualname
        calls = sorted({k.hotspot.key.qualname for k in members if k.hotspot.frame != owner})
        probe = _removal_item(NATIVE, "", "", share, frac, weeks, cfg, "", (), ())
        src = ("this machine's measured loop-vs-batch ratio" if measured is not None
               else "the configured NumPy-vectorization range (no machine rates)")
        reason = (f"The loop in {name}{' (calling ' + ', '.join(calls[:3]) + ' each time)' if calls else ''} "
                  f"is {share:.0%} of the step and makes NumPy calls one element or row at a time: its "
                  "native time is mostly per-call dispatch and matrix-vector work, not the machine's BLAS "
                  "rate. Stack the loop's inputs into arrays and make each NumPy call once on the batch "
                  f"(X @ W.T instead of np.dot(W, x) per row): {sp.low:.1f}–{sp.high:.1f}× on that time "
                  f"({src}) makes the step {_span(probe.end_to_end)} faster. Not a port (it would keep "
                  "calling NumPy) and not \"already native\". " + rates_words(analysis.profile)
                  + _line_words(analysis, own) + _exact_calls_words(analysis, members, owner))
        out.append(_removal_item(
            NATIVE, "Batch the loop's NumPy calls (one call on stacked arrays)", f"loop in {name}", share,
            frac, weeks, cfg, reason,
            (f"profile.stacks: self time of frame {owner} + inclusive time of its callees in the loop / step",
             "profile.environment.numpy_rates.loop_vs_batch" if measured is not None
             else "targets.numpy-vectorize.speedup.small-numpy-calls", "targets.numpy-vectorize effort"),
            (owner, *sorted(_below(analysis, {k.hotspot.frame for k in members} - {owner})),
             *sorted(k.hotspot.frame for k in members))))
    return out


def _line_words(analysis: Analysis, own: object) -> str:
    """The loop owner's heaviest lines by native seconds per step (what the sampler saw on each line)."""
    lines = sorted(getattr(own, "lines", ()) or (), key=lambda h: -h.split.native)[:2]
    steps = max(analysis.stats.count, 1)
    parts = [f"line {h.line}: {h.split.native / steps * 1e3:.2f} ms native a step ({h.share:.0%} of the step)"
             for h in lines if h.split.native > 0]
    return (" Heaviest lines of " + getattr(own, "key").qualname + ": " + "; ".join(parts) + ".") if parts else ""


def _exact_calls_words(analysis: Analysis, members: list[KernelAdvice], owner: int) -> str:
    """Calls per step and time per call of the loop's callees, where the counts are exact (cprofile)."""
    prof = analysis.profile
    if prof.mode != "cprofile" or prof.calls is None or prof.step is None or prof.step.calls <= 0:
        return " Calls per step are not exact in this mode (--mode cprofile counts them)."
    parts = []
    for k in members:
        n = prof.calls.get(k.hotspot.frame, 0)
        if k.hotspot.frame == owner or n <= 0:
            continue
        per = k.hotspot.inclusive_split.total / n
        parts.append(f"{k.hotspot.key.qualname}: {n / prof.step.calls:,.0f} calls a step, {per * 1e6:.1f} µs each")
    return (" Exact counts: " + "; ".join(parts) + ".") if parts else ""


def _below(analysis: Analysis, frames: set[int]) -> set[int]:
    """``frames`` and every user frame that ran under one of them: a loop item owns their time."""
    prof, out = analysis.profile, set(frames)
    for rec in prof.stacks:
        for i, f in enumerate(rec.frames):
            if f in frames:
                out.update(g for g in rec.frames[i + 1:] if prof.frames[g].user)
                break
    return out


def kernel_items(kernels: list[KernelAdvice], covered: set[int], cfg: CostConfig) -> list[Item]:
    out = []
    cap = 1.0 / cfg.levers.step_floor
    for k in kernels:
        e = k.best
        if k.verdict not in (PORT, JIT_VECTORIZE, ACCELERATOR) or e is None or k.hotspot.frame in covered:
            continue
        ns = e.new_share or Range(e.share, e.share, e.share)
        removed = Range(e.share - ns.high, e.share - ns.typical, e.share - ns.low)
        it = Item(KERNEL, f"{k.verdict_label[:1].upper()}{k.verdict_label[1:]} → {e.target_name}",
                  k.hotspot.key.qualname, e.share, removed, e.end_to_end, e.savings_per_month_usd,
                  e.cost_usd, e.payback_months, k.reason, e.sources, (k.hotspot.frame,), e.measured)
        if e.end_to_end.high > cap:  # the floor holds for ports too (levers.step_floor)
            e2e = Range(*(min(x, cap) for x in (e.end_to_end.low, e.end_to_end.typical, e.end_to_end.high)))
            sav, cost, pay = _money(cfg, e2e, e.effort_weeks)
            it = replace(it, removed=bounded(cfg, removed), end_to_end=e2e, savings_per_month_usd=sav,
                         cost_usd=cost, payback_months=pay, sources=(*it.sources, "levers.step_floor"))
            it = replace(it, reason=it.reason + floor_words(cfg, it))
        out.append(it)
    return out


def build_items(analysis: Analysis, cfg: CostConfig, kernels: list[KernelAdvice],
                measured: tuple[Any, ...] = ()) -> tuple[Item, ...]:
    """Every item, largest typical savings first (then largest step speedup); ``measured`` (``advisor
    try`` results) replaces the GC item's prior and adds a threads item (``costmodel.measured``)."""
    phases = find_phases(analysis.profile)
    by_frame = {k.hotspot.frame: k for k in kernels}
    items: list[Item] = []
    g = gc_item(analysis, cfg, measured)
    if g is not None:
        items.append(g)
    pipes = phase_items(analysis, cfg, by_frame, phases)
    items += pipes
    covered = {f for it in pipes for f in it.frames}
    ios = io_items(analysis, cfg, kernels, covered)
    items += ios
    covered |= {f for it in ios for f in it.frames}
    thr = threads_item(analysis, cfg, kernels)
    measured_thr = measured_threads_item(analysis, cfg, measured)
    if measured_thr is not None:  # a measurement beats the prior; it keeps the prior's frames
        thr = measured_thr if thr is None else replace(measured_thr, frames=thr.frames)
    if thr is not None:
        items.append(thr)
        covered |= set(thr.frames)
    fwi = framework_item(analysis, cfg, kernels, thr)
    if fwi is not None:
        items.append(fwi)
        covered |= set(fwi.frames)
    natives = native_items(analysis, cfg, kernels, covered)
    items += natives
    covered |= {f for it in natives for f in it.frames}
    items += kernel_items(kernels, covered, cfg)
    # Set-up work repeated in every step (imports, re-reads, process start-up) owns its samples' non-GC
    # time: every other item gives that time up, and one left under the threshold goes.
    causes = claimed_causes(analysis, kernels, {f for it in pipes for f in it.frames})
    repeated = repeated_items(analysis, cfg, causes)
    claimed = claims(analysis, causes, repeated)
    items = [x for x in (without_claimed(it, claimed, analysis, cfg) for it in items) if x is not None]
    items += repeated
    per_kind = {it.kind: claims(analysis, [c for c in causes if REPEATED_KINDS[c.kind] == it.kind], [it])
                for it in repeated}
    items = with_claims(items, analysis, per_kind)
    return tuple(sorted(items, key=lambda it: (-it.savings_per_month_usd.typical, -it.end_to_end.typical)))


def combined(items: tuple[Item, ...], floor: float = fm.STEP_FLOOR) -> Range:
    """Amdahl over every item at once: their removed shares are disjoint, so they add (up to
    ``1 - floor``: the step keeps at least ``floor`` of its time, ``levers.step_floor``)."""
    tot = [fm.bounded_removed(sum(getattr(it.removed, b) for it in items), floor) for b in ("low", "typical", "high")]
    return Range(*(fm.end_to_end(x, 0.0) for x in tot))


def lead_line(items: tuple[Item, ...], builtin: bool) -> str:
    """The answer first: the largest item with its range and dollars ("" when there is none)."""
    if not items:
        return ""
    it = items[0]
    dollars = f"{money(it.savings_per_month_usd.typical)}/month"
    if builtin:
        dollars += " at the built-in example bill, not yours"
    return (f"{it.title} ({it.scope}, {it.share:.0%} of the step): step {_span(it.end_to_end)}, "
            f"saves {dollars}")


__all__ = ["Item", "build_items", "combined", "lead_line"]
