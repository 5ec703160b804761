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

import dataclasses
from dataclasses import dataclass
from typing import Any

from advisor.analysis import Analysis
from advisor.analysis.phases import Phase, find_phases
from advisor.analysis.stepwide import gc_cause
from advisor.costmodel import formulas as fm
from advisor.costmodel import measured as ms
from advisor.costmodel.config import CostConfig
from advisor.costmodel.types import ACCELERATOR, FIX_IO, JIT_VECTORIZE, PORT, KernelAdvice, Range
from advisor.costmodel.verdict import FRAMEWORK_LEVERS, money, times

GC, PIPELINE, IO, FRAMEWORK, KERNEL = "gc", "input-pipeline", "io", "framework", "kernel"
THREADS = "threads"


@dataclass(frozen=True, slots=True)
class Item:
    """One change, its share of the step, and what it is worth (low / typical / high)."""

    kind: str  # gc | input-pipeline | io | framework | kernel
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


def _removal_item(kind: str, title: str, scope: str, share: float, frac: Range, weeks: Range,
                  cfg: CostConfig, reason: str, sources: tuple[str, ...], frames: tuple[int, ...]) -> Item:
    removed = Range(share * frac.low, share * frac.typical, share * frac.high)
    e2e = Range(*(fm.end_to_end(x, 0.0) for x in (removed.low, removed.typical, removed.high)))
    sav, cost, pay = _money(cfg, e2e, weeks)
    return Item(kind, title, scope, share, removed, e2e, sav, cost, pay, reason, sources, frames)


def _span(r: Range) -> str:
    return f"{times(r.typical)} ({times(r.low)}–{times(r.high)})"


def _measured_item(it: Item, t: Any, cfg: CostConfig, weeks: Range) -> Item:
    """``it`` with its step speedup (and so removed share, savings and payback) measured by ``t``."""
    e2e = ms.step_range(t)
    removed = Range(*(1.0 - 1.0 / x for x in (e2e.low, e2e.typical, e2e.high)))
    sav, cost, pay = _money(cfg, e2e, weeks)
    reason = (f"Measured by advisor try ({t.name}): {ms.versus_words(t)}; the advice uses the measurement. "
              + it.reason)
    return dataclasses.replace(it, removed=removed, end_to_end=e2e, savings_per_month_usd=sav, cost_usd=cost,
                               payback_months=pay, reason=reason, measured=t.name,
                               sources=(f"measured by advisor try: {t.name} (tryouts.json)", *it.sources))


def gc_item(analysis: Analysis, cfg: CostConfig, measured: tuple[Any, ...] = ()) -> Item | None:
    """The GC item: the prior (``levers.gc_removable`` of the GC share), or what ``advisor try`` measured."""
    cause = gc_cause(analysis.profile, analysis.step_split, analysis.hotspots, analysis.stats.count)
    t = ms.gc_result(measured)
    if not cause.visible or (cause.share < cfg.thresholds.min_share and t is None):
        return None
    lv = cfg.levers
    sites = ", ".join(f"{s.key.qualname} {s.share:.0%}" for s in cause.sites[:3])
    probe = _removal_item(GC, "", "", cause.share, lv.gc_removable, lv.gc_weeks, cfg, "", (), ())
    reason = (f"The cyclic garbage collector is {cause.share:.0%} of the step "
              f"({cause.seconds_per_step * 1e3:.1f} ms a step), triggered by allocations in {sites}. "
              "Call gc.freeze() after set-up and raise the thresholds (gc.set_threshold), or disable it "
              "during the step and collect between steps; removing "
              f"{lv.gc_removable.low:.0%}–{lv.gc_removable.high:.0%} of it makes the step "
              f"{_span(probe.end_to_end)} faster. Collections per step and generations are not recorded "
              "by the capture; check the memory after the change.")
    it = _removal_item(GC, "Tune the cyclic GC (gc.freeze(), thresholds)", "the whole step", cause.share,
                       lv.gc_removable, lv.gc_weeks, cfg, reason,
                       ("profile.stacks: GC seconds of the measured step (gc.callbacks)",
                        "levers.gc_removable", "levers.gc_weeks"), tuple(s.frame for s in cause.sites))
    return it if t is None else _measured_item(it, t, cfg, lv.gc_weeks)


def threads_item(analysis: Analysis, cfg: CostConfig, measured: tuple[Any, ...]) -> Item | None:
    """More intra-op threads: an item only when ``advisor try`` measured a gain (no prior exists for it).

    It acts on native time, as the framework item does; where both exist, ``combined`` counts that time
    twice, an overestimate the item's reason does not hide.
    """
    t = ms.find(measured, "threads")
    if t is None or t.status != ms.FASTER or analysis.step_s <= 0:
        return None
    native = analysis.step_split.native / analysis.step_s
    e2e = ms.step_range(t)
    removed = Range(*(1.0 - 1.0 / x for x in (e2e.low, e2e.typical, e2e.high)))
    sav, cost, pay = _money(cfg, e2e, cfg.levers.threads_weeks)
    reason = (f"Native code is {native:.0%} of the step and runs on fewer threads than the machine has cores. "
              f"Measured by advisor try ({t.name}: {getattr(t, 'detail', '') or 'threads raised'}): "
              f"{ms.versus_words(t)}. Set torch.set_num_threads / threadpoolctl (or OMP_NUM_THREADS) to the "
              "cores the job owns.")
    return Item(THREADS, "Raise the intra-op threads", "the whole step", native, removed, e2e, sav, cost, pay,
                reason, (f"measured by advisor try: {t.name} (tryouts.json)", "levers.threads_weeks"), (),
                t.name)


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


def framework_item(analysis: Analysis, cfg: CostConfig, kernels: list[KernelAdvice]) -> Item | None:
    fw_kernels = [k for k in kernels if k.category.framework]
    if not fw_kernels or analysis.step_s <= 0:
        return None
    fw = max({k.category.framework for k in fw_kernels},
             key=lambda f: sum(k.hotspot.self_split.native for k in fw_kernels if k.category.framework == f))
    native = sum(k.hotspot.self_split.native for k in fw_kernels if k.category.framework == fw) / analysis.step_s
    if native < cfg.thresholds.min_share:
        return None
    lv = cfg.levers
    sp = lv.framework_compile_speedup
    frac = Range(*(1 - 1 / s for s in (sp.low, sp.typical, sp.high)))
    cores = analysis.profile.environment.get("cores")
    probe = _removal_item(FRAMEWORK, "", "", native, frac, lv.framework_weeks, cfg, "", (), ())
    title = {"torch": "torch.compile the model", "jax": "jax.jit the whole step",
             "tensorflow": "tf.function(jit_compile=True)"}.get(fw, "compile the framework code")
    reason = (f"{native:.0%} of the step runs in {fw}'s native kernels. Its levers: "
              f"{FRAMEWORK_LEVERS.get(fw, 'its own compiler')}. A compiler gives "
              f"{sp.low:g}–{sp.high:g}× on that time: the step {_span(probe.end_to_end)}. Threads in use were "
              f"not recorded ({cores} cores on the machine): if {fw} uses fewer, raising them is free.")
    return _removal_item(FRAMEWORK, title, f"{fw} code", native, frac, lv.framework_weeks, cfg, reason,
                         ("profile.stacks: native time of functions under framework frames / step time",
                          "levers.framework_compile_speedup", "levers.framework_weeks"),
                         tuple(k.hotspot.frame for k in fw_kernels))


def kernel_items(kernels: list[KernelAdvice], covered: set[int]) -> list[Item]:
    out = []
    for k in kernels:
        e = k.best
        if k.verdict not in (PORT, JIT_VECTORIZE, ACCELERATOR) or e is None or k.hotspot.frame in covered:
            continue
        ns = e.new_share or Range(e.share, e.share, e.share)
        removed = Range(e.share - ns.high, e.share - ns.typical, e.share - ns.low)
        out.append(Item(KERNEL, f"{k.verdict_label[:1].upper()}{k.verdict_label[1:]} → {e.target_name}",
                        k.hotspot.key.qualname, e.share, removed, e.end_to_end, e.savings_per_month_usd,
                        e.cost_usd, e.payback_months, k.reason, e.sources, (k.hotspot.frame,), e.measured))
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
    th = threads_item(analysis, cfg, measured)
    if th is not None:
        items.append(th)
    pipes = phase_items(analysis, cfg, by_frame, phases)
    items += pipes
    covered = {f for it in pipes for f in it.frames}
    items += io_items(analysis, cfg, kernels, covered)
    fwi = framework_item(analysis, cfg, kernels)
    if fwi is not None:
        items.append(fwi)
        covered |= set(fwi.frames)
    items += kernel_items(kernels, covered)
    return tuple(sorted(items, key=lambda it: (-it.savings_per_month_usd.typical, -it.end_to_end.typical)))


def combined(items: tuple[Item, ...]) -> Range:
    """Amdahl over every item at once: their removed shares are disjoint, so they add."""
    tot = [min(sum(getattr(it.removed, b) for it in items), 0.999) for b in ("low", "typical", "high")]
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
