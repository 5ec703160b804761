"""The threads and framework items: native time that more intra-op threads, or the framework's own
levers, would speed up (a measured ``advisor try`` result replaces the threads prior)."""

from __future__ import annotations

from typing import Any

from advisor.analysis import Analysis
from advisor.costmodel import measured as ms
from advisor.costmodel.config import CostConfig
from advisor.costmodel.item import FRAMEWORK, THREADS, Item, _money, _removal_item, _span
from advisor.costmodel.types import KernelAdvice, Range
from advisor.costmodel.verdict import FRAMEWORK_LEVERS


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
