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

from dataclasses import dataclass, replace
from typing import Any

from advisor.analysis import Analysis
from advisor.analysis.phases import Phase, find_phases
from advisor.analysis.stepwide import gc_cause
from advisor.costmodel import formulas as fm
from advisor.costmodel import measured as ms
from advisor.costmodel.config import CostConfig
from advisor.costmodel.native import batch_speedup, rates_words
from advisor.costmodel.types import ACCELERATOR, FIX_IO, JIT_VECTORIZE, PORT, KernelAdvice, Range
from advisor.costmodel.verdict import FRAMEWORK_LEVERS, money, times

GC, PIPELINE, IO, FRAMEWORK, KERNEL = "gc", "input-pipeline", "io", "framework", "kernel"
NATIVE, THREADS = "native-loop", "threads"


@dataclass(frozen=True, slots=True)
class Item:
    """One change, its share of the step, and what it is worth (low / typical / high)."""

    kind: str  # gc | input-pipeline | io | framework | threads | native-loop | kernel
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
    return replace(it, removed=removed, end_to_end=e2e, savings_per_month_usd=sav, cost_usd=cost,
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


def measured_threads_item(analysis: Analysis, cfg: CostConfig, measured: tuple[Any, ...]) -> Item | None:
    """More intra-op threads as ``advisor try`` measured them (a gain only): it replaces the prior threads
    item (``threads_item``) when there is one, and stands alone when the prior saw no free cores."""
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


def _threads(analysis: Analysis) -> dict:
    th = analysis.profile.environment.get("threads")
    return th if isinstance(th, dict) else {}


def _free_cores(th: dict, cores: int, used: object) -> float:
    """Cores not busy with other work: the available cores less the 1-minute load that is not this run's.

    Without a load figure (not Linux/Unix) every available core counts as free.
    """
    load = th.get("load_1m")
    if not isinstance(load, (int, float)) or not isinstance(used, int):
        return float(cores)
    return float(max(0, min(cores, round(cores - max(0.0, load - used)))))


def _load_words(th: dict) -> str:
    load = th.get("load_1m")
    return f"1-minute load average {load:g}" if isinstance(load, (int, float)) else "load not recorded"


def threads_item(analysis: Analysis, cfg: CostConfig, kernels: list[KernelAdvice]) -> Item | None:
    """More intra-op threads where the run used fewer than the cores it had (both recorded after the run).

    torch's threads act on the native time of torch code; NumPy's BLAS threads only on BLAS calls
    (matmul, dot, solve) inside already-vectorized functions, and not on elementwise ufuncs, so that
    case's low end is no gain at all. The speedup on that time is ``1 + efficiency x (cores / threads - 1)``.
    """
    th, step_s = _threads(analysis), analysis.step_s
    cores = th.get("cores_available")
    if not isinstance(cores, int) or step_s <= 0:
        return None
    best: Item | None = None
    for lib, key, pick in (("torch", "torch", lambda k: k.category.framework == "torch"),
                           ("NumPy's BLAS", "blas", lambda k: not k.category.framework
                            and k.category.name == "vectorized")):
        used = th.get(key)
        free = _free_cores(th, cores, used)
        if not isinstance(used, int) or used <= 0 or free <= used:
            continue
        chosen = [k for k in kernels if pick(k)]
        native = sum(k.hotspot.self_split.native for k in chosen) / step_s
        if native < cfg.thresholds.min_share:
            continue
        eff, r = cfg.levers.threads_efficiency, free / used
        sp = Range(1.0 if key == "blas" else 1 + eff.low * (r - 1), 1 + eff.typical * (r - 1), 1 + eff.high * (r - 1))
        frac = Range(*(1 - 1 / x for x in (sp.low, sp.typical, sp.high)))
        probe = _removal_item(THREADS, "", "", native, frac, cfg.levers.threads_weeks, cfg, "", (), ())
        call = "torch.set_num_threads(N)" if key == "torch" else "threadpoolctl.threadpool_limits(N) or OPENBLAS_NUM_THREADS / OMP_NUM_THREADS"
        reason = (f"{lib} ran {used} thread{'s' if used > 1 else ''} while this process had {cores} cores "
                  f"available, about {free:g} of them free ({_load_words(th)}; recorded after the run), and "
                  f"its native time is {native:.0%} of the step. "
                  f"Raise the threads ({call}): at {eff.low:.0%}–{eff.high:.0%} of each extra core that time "
                  f"runs {sp.low:.2f}–{sp.high:.2f}× faster and the step {_span(probe.end_to_end)}. "
                  "The cores count is what the operating system lets this process use; if data-loader "
                  "workers or other ranks on the node use them, the gain is smaller.")
        it = _removal_item(THREADS, f"Raise {lib} threads from {used} to {free:g}", f"{lib} native time", native,
                           frac, cfg.levers.threads_weeks, cfg, reason,
                           (f"profile.environment.threads: {key} = {used}, cores_available = {cores}",
                            "profile.stacks: native time of those functions / step time",
                            "levers.threads_efficiency", "levers.threads_weeks"),
                           tuple(k.hotspot.frame for k in chosen))
        if best is None or it.removed.typical > best.removed.typical:
            best = it
    return best


def framework_item(analysis: Analysis, cfg: CostConfig, kernels: list[KernelAdvice],
                   threads: Item | None = None) -> Item | None:
    fw_kernels = [k for k in kernels if k.category.framework]
    if not fw_kernels or analysis.step_s <= 0:
        return None
    fw = max({k.category.framework for k in fw_kernels},
             key=lambda f: sum(k.hotspot.self_split.native for k in fw_kernels if k.category.framework == f))
    native = sum(k.hotspot.self_split.native for k in fw_kernels if k.category.framework == fw) / analysis.step_s
    if threads is not None and threads.kind == THREADS and set(threads.frames) & {k.hotspot.frame for k in fw_kernels}:
        native -= threads.removed.typical  # the compiler acts on what is left after the threads item (disjoint)
    if native < cfg.thresholds.min_share:
        return None
    lv = cfg.levers
    sp = lv.framework_compile_speedup
    frac = Range(*(1 - 1 / s for s in (sp.low, sp.typical, sp.high)))
    th = _threads(analysis)
    cores, used = th.get("cores_available"), th.get(fw)
    probe = _removal_item(FRAMEWORK, "", "", native, frac, lv.framework_weeks, cfg, "", (), ())
    title = {"torch": "torch.compile the model", "jax": "jax.jit the whole step",
             "tensorflow": "tf.function(jit_compile=True)"}.get(fw, "compile the framework code")
    if isinstance(used, int) and isinstance(cores, int):
        free = _free_cores(th, cores, used)
        thr = (f"{fw} ran {used} intra-op threads on {cores} available cores ({_load_words(th)})"
               + (": raising them is its own item." if used < free else
                  ": no free cores to add (more threads than free cores slow a busy machine down)."))
    else:
        thr = (f"Threads in use were not recorded ({cores or analysis.profile.environment.get('cores')} cores): "
               f"if {fw} uses fewer, raising them is free.")
    reason = (f"{native:.0%} of the step runs in {fw}'s native kernels. Its levers: "
              f"{FRAMEWORK_LEVERS.get(fw, 'its own compiler')}. A compiler gives "
              f"{sp.low:g}–{sp.high:g}× on that time: the step {_span(probe.end_to_end)}. {thr}")
    return _removal_item(FRAMEWORK, title, f"{fw} code", native, frac, lv.framework_weeks, cfg, reason,
                         ("profile.stacks: native time of functions under framework frames / step time",
                          "profile.environment.threads", "levers.framework_compile_speedup", "levers.framework_weeks"),
                         tuple(k.hotspot.frame for k in fw_kernels))


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
