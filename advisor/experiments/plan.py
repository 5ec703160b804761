"""Which experiments apply to a profiled step, and what the cost model predicts for each.

Rules (each experiment only where it applies):
    gc           the collector is at least ``GC_MIN_SHARE`` of the step
    threads      native code is at least ``NATIVE_MIN_SHARE`` of the step and the machine has 2+ cores
    jit          numba is installed and a numeric-loop hotspot of the team's own code (a module-level
                 function, not the step itself) holds at least ``JIT_MIN_SHARE`` of the step
    interpreter  a CPython 3.13+ with the JIT is installed (``--python`` or on PATH)

Predictions are step speedups (low, high), the cost model's own wherever it has one, so that a measurement
checks a prior: the GC item's range (``levers.gc_removable``) for gc:freeze and the ``numba`` estimate for
jit; Amdahl bounds from the measured split for gc:off (the upper bound) and threads (no prior exists).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import UsageError
from advisor.experiments.interpreters import find_jit_python
from advisor.experiments.results import NOT_APPLICABLE, NOT_AVAILABLE, Tryout
from advisor.experiments.threads import usable_cores

FAMILIES = ("gc", "threads", "jit", "interpreter")
GC_MIN_SHARE = 0.02
NATIVE_MIN_SHARE = 0.10
JIT_MIN_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Experiment:
    """One experiment to run: what the child applies, with which interpreter, and the prediction."""

    name: str                      # "gc:freeze", "gc:off", "threads", "jit", "interpreter"
    label: str
    hook: str                      # ADVISOR_EXPERIMENT for the child ("none" for the interpreter)
    predicted: tuple[float, float] | None = None
    predicted_basis: str = ""
    function: tuple[str, str] | None = None  # (file, qualname) for jit
    python: str | None = None      # another interpreter (the interpreter experiment)


@dataclass(frozen=True, slots=True)
class Plan:
    """The step to time (as a ``--step`` spec and as file/qualname for the hook) and what to run."""

    step_spec: str
    step_file: str
    step_qualname: str
    step_is_loop: bool
    experiments: tuple[Experiment, ...]
    skipped: tuple[Tryout, ...]


def parse_only(only: str | None) -> tuple[str, ...]:
    """``--only gc,threads`` → ("gc", "threads"); raises UsageError for an unknown name."""
    if not only:
        return FAMILIES
    names = tuple(n.strip() for n in only.split(",") if n.strip())
    bad = [n for n in names if n not in FAMILIES]
    if bad or not names:
        raise UsageError(f"unknown experiment {bad[0] if bad else only!r} in --only; choose from {', '.join(FAMILIES)}")
    return names


def plan_experiments(advice: Any, only: tuple[str, ...] = FAMILIES, python: str | None = None) -> Plan:
    """The experiments that apply to ``advice`` (a ``costmodel.Advice``), in ``only``'s families.

    Raises UsageError when the profile found no step to time.
    """
    a = advice.analysis
    step = a.profile.step
    if step is None:
        raise UsageError("no training step was found, so there is nothing to time",
                         hint="name the step with --step (see `advisor profile --help`)")
    key = a.profile.frames[step.frame].key
    if step.loop_lines is not None:
        spec = f"{os.path.basename(key.file)}:{step.loop_lines[0]}"
    else:
        spec = f"{Path(key.file).stem}:{key.qualname}"
    runs: list[Experiment] = []
    skipped: list[Tryout] = []
    total = a.step_split.total
    shares = {b: (getattr(a.step_split, b) / total if total > 0 else 0.0) for b in ("gc", "native")}
    for family in only:
        found = {"gc": _gc, "threads": _threads, "jit": _jit, "interpreter": _interpreter}[family](
            advice, shares, step.frame, python)
        for item in found:
            (runs if isinstance(item, Experiment) else skipped).append(item)  # type: ignore[arg-type]
    return Plan(spec, key.file, key.qualname, step.loop_lines is not None, tuple(runs), tuple(skipped))


def _amdahl(share: float) -> float:
    return 1.0 / (1.0 - share) if share < 1 else float("inf")


def _gc(advice: Any, shares: dict[str, float], step_frame: int, python: str | None) -> list[Any]:
    g = shares["gc"]
    if g < GC_MIN_SHARE:
        return [Tryout("gc", "tune the collector", NOT_APPLICABLE,
                       f"the collector is {g:.1%} of the step (under {GC_MIN_SHARE:.0%})")]
    basis = f"Amdahl: the collector is {g:.0%} of the step"
    return [Experiment("gc:freeze", "gc.freeze() after warm-up + gen-0 threshold 50,000", "gc:freeze",
                       *_gc_prior(advice, g)),
            Experiment("gc:off", "collector off inside the step, collected between steps (upper bound)", "gc:off",
                       (_amdahl(0.8 * g), _amdahl(g)), basis + " (off removes most of it)")]


def _gc_prior(advice: Any, g: float) -> tuple[tuple[float, float], str]:
    """The cost model's own GC prediction, so that measuring it checks ``levers.gc_removable``: the GC
    item's end-to-end range where the advice has one, else that lever over the step's GC share."""
    item = next((it for it in advice.items if it.kind == "gc"), None)
    rem = advice.config.levers.gc_removable
    if item is not None:
        r = item.end_to_end
        return (r.low, r.high), (f"cost model: the GC item, levers.gc_removable {rem.low:.0%}–{rem.high:.0%} "
                                 f"of the collector's {item.share:.0%} of the step")
    return ((_amdahl(g * rem.low), _amdahl(g * rem.high)),
            f"cost model: levers.gc_removable {rem.low:.0%}–{rem.high:.0%} of the collector's {g:.0%} of the step")


def _threads(advice: Any, shares: dict[str, float], step_frame: int, python: str | None) -> list[Any]:
    n, cores = shares["native"], usable_cores()
    if cores < 2:
        return [Tryout("threads", "more intra-op threads", NOT_APPLICABLE, "this machine gives the run one core")]
    if n < NATIVE_MIN_SHARE:
        return [Tryout("threads", "more intra-op threads", NOT_APPLICABLE,
                       f"native code is {n:.1%} of the step (under {NATIVE_MIN_SHARE:.0%}): threads cannot help")]
    high = 1.0 / ((1.0 - n) + n / cores)
    return [Experiment("threads", f"intra-op threads raised to {cores} cores", "threads:max", (1.0, high),
                       f"Amdahl: native code is {n:.0%} of the step, at best {cores}× faster on {cores} cores")]


def _jit(advice: Any, shares: dict[str, float], step_frame: int, python: str | None) -> list[Any]:
    label = "numba.njit on a numeric-loop hotspot"
    pick = None
    for k in advice.kernels:
        h = k.hotspot
        if k.category.name == "numeric-loop" and h.frame != step_frame and h.self_share >= JIT_MIN_SHARE:
            pick = k
            break
    if pick is None:
        return [Tryout("jit", label, NOT_APPLICABLE, "no numeric-loop hotspot of your own code takes "
                       f"{JIT_MIN_SHARE:.0%} of the step (besides the step function itself)")]
    name = pick.hotspot.key.qualname
    if "." in name or "<" in name:
        return [Tryout("jit", label, NOT_APPLICABLE,
                       f"{name} is a method or nested function; numba compiles module-level functions")]
    if importlib.util.find_spec("numba") is None:
        return [Tryout("jit", label, NOT_AVAILABLE, f"numba is not installed (pip install numba) for {name}")]
    est = next((e for e in pick.estimates if e.target == "numba"), None)
    predicted = (est.end_to_end.low, est.end_to_end.high) if est is not None else None
    basis = f"cost model: Numba on {name} ({pick.category.name}, {pick.hotspot.self_share:.0%} of the step)"
    return [Experiment("jit", f"{name} → numba.njit", "jit", predicted, basis if est else "",
                       function=(pick.hotspot.key.file, name))]


def _interpreter(advice: Any, shares: dict[str, float], step_frame: int, python: str | None) -> list[Any]:
    exe, what = find_jit_python(python)
    if exe is None:
        return [Tryout("interpreter", "CPython with the JIT", NOT_AVAILABLE, what)]
    return [Experiment("interpreter", f"the same steps under {what}", "none", None,
                       "no prior for a whole step", python=exe)]
