"""Overhead, share error, split error and stability, from interleaved runs of every tool on every workload.

Repeats are interleaved (rep 1 of every workload × tool, in a shuffled order, then rep 2, ...) so that
drift in a shared, noisy machine hits all tools alike; every figure is a per-repeat ratio or difference
against the plain run of the *same* repeat, then the median over repeats.

Ground truth is the plain run's own ``perf_counter`` timing of each phase: it is what the program does
when nobody watches, so an error here counts both misattribution and the profiler's perturbation
(a hook that slows Python code only makes Python phases really take longer in the profiled run). The
"own-run" error compares a profile with the timings of the same profiled run: misattribution only.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from benchmarks.tools import TOOLS, Run, base_env, run_tool

WORKLOADS_DIR = Path(__file__).resolve().parent / "workloads"
WORKLOADS = ("numeric_mix", "waiting_mix", "gc_churn", "call_heavy", "c_calls")
BUCKETS = ("interpreted", "native", "waiting", "gc")
ADVISOR_WARMUP = 1  # advisor drops the first step call as warm-up; its truth does the same


def run_all(workloads: tuple[str, ...], tools: tuple[str, ...], reps: int, scale: float,
            log: Callable[[str], None] = print, seed: int = 1) -> list[Run]:
    """Every (workload, tool) pair ``reps`` times, interleaved and shuffled per repeat."""
    env = base_env(scale)
    rng = random.Random(seed)
    runs: list[Run] = []
    for rep in range(reps):
        order = [(w, t) for w in workloads for t in tools]
        rng.shuffle(order)
        for w, t in order:
            work = Path(tempfile.mkdtemp(prefix=f"bench-{w}-{t}-"))
            try:
                run = run_tool(t, WORKLOADS_DIR / f"{w}.py", work, env, rep)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            runs.append(run)
            log(f"  rep {rep + 1}/{reps} {w:12s} {t:17s} {run.wall_s:6.2f} s {run.error}")
    return runs


# ---- ground truth -----------------------------------------------------------------------------------
def truth_shares(truth: dict, warmup: int) -> dict[str, float]:
    steps = truth["steps"][warmup:]
    total = sum(sum(s) for s in steps)
    return {p: sum(s[i] for s in steps) / total for i, p in enumerate(truth["phases"])}


def truth_split(truth: dict, phase: str, warmup: int) -> dict[str, float]:
    """The phase's known nature, with its GC seconds (measured by gc.callbacks) moved to ``gc``."""
    names = list(truth["phases"])
    i = names.index(phase)
    wall = sum(s[i] for s in truth["steps"][warmup:])
    gc_s = sum(g[i] for g in truth["gc"][warmup:])
    gc_frac = min(1.0, gc_s / wall) if wall > 0 else 0.0
    nature = truth["phases"][phase]
    out = {b: 0.0 for b in BUCKETS}
    out["gc"] += gc_frac
    if nature == "cpu-io":  # read(): the thread's CPU time is native (kernel copy), the rest waiting
        cpu = sum(c[i] for c in truth["cpu"][warmup:]) if truth.get("cpu") else wall
        cpu_frac = min(1.0, cpu / wall) if wall > 0 else 1.0
        out["native"] += max(0.0, cpu_frac - gc_frac)
        out["waiting"] += 1.0 - max(cpu_frac, gc_frac)
        return out
    bucket = "interpreted" if nature == "gc-churn" else nature
    out[bucket] += 1.0 - gc_frac
    return out


def step_seconds(truth: dict) -> float:
    return sum(sum(s) for s in truth["steps"])


def phase_seconds(truth: dict, warmup: int = ADVISOR_WARMUP) -> dict[str, float]:
    """Wall seconds of each phase over the steps after the warm-up (the same steps for every tool)."""
    steps = truth["steps"][warmup:]
    return {p: sum(s[i] for s in steps) for i, p in enumerate(truth["phases"])}


def warmup_of(tool: str) -> int:
    return ADVISOR_WARMUP if tool.startswith("advisor-") else 0


# ---- summaries --------------------------------------------------------------------------------------
@dataclass
class Cell:
    """One (workload, tool) summary: medians over repeats."""

    wall_ratio: float | None = None
    step_ratio: float | None = None
    share_err: dict[str, float] | None = None  # phase -> pp vs plain-run truth
    own_err: dict[str, float] | None = None  # phase -> pp vs the same run's truth
    shares: dict[str, float] | None = None  # phase -> median profiled share (%)
    split_err: dict[str, float] | None = None  # phase -> pp (advisor only)
    splits: dict[str, dict[str, float]] | None = None  # phase -> bucket -> median % (advisor only)
    errors: list[str] | None = None
    steps: list[str] | None = None  # step function each run chose (advisor: auto-detected)
    phase_ratio: dict[str, float] | None = None  # phase -> its wall time ÷ the plain run's (median)
    n: int = 0


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def summarize(runs: list[Run]) -> dict[tuple[str, str], Cell]:
    plain = {(r.workload, r.rep): r for r in runs if r.tool == "plain" and r.truth}
    cells: dict[tuple[str, str], Cell] = {}
    by_key: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        by_key.setdefault((r.workload, r.tool), []).append(r)
    for key, group in by_key.items():
        cell = Cell(errors=sorted({r.error for r in group if r.error}))
        ok = [r for r in group if not r.error and r.truth and (r.workload, r.rep) in plain]
        cell.n = len(ok)
        cell.steps = [r.step_name for r in ok if r.step_name]
        if not ok:
            cells[key] = cell
            continue
        base = [plain[(r.workload, r.rep)] for r in ok]
        cell.wall_ratio = _median([r.wall_s / b.wall_s for r, b in zip(ok, base)])
        cell.step_ratio = _median([step_seconds(r.truth) / step_seconds(b.truth) for r, b in zip(ok, base)])
        cell.phase_ratio = {p: _median([phase_seconds(r.truth)[p] / phase_seconds(b.truth)[p] for r, b in zip(ok, base)
                                        if phase_seconds(b.truth)[p] > 0]) for p in ok[0].truth["phases"]}
        if key[1] != "plain":
            w = warmup_of(key[1])
            phases = list(ok[0].truth["phases"])
            cell.share_err = {p: _median([100 * abs(r.shares[p] - truth_shares(b.truth, w)[p])
                                          for r, b in zip(ok, base)]) for p in phases}
            cell.own_err = {p: _median([100 * abs(r.shares[p] - truth_shares(r.truth, w)[p])
                                        for r in ok]) for p in phases}
            cell.shares = {p: _median([100 * r.shares[p] for r in ok]) for p in phases}
            if key[1].startswith("advisor-"):
                cell.split_err, cell.splits = {}, {}
                for p in phases:
                    errs, per_bucket = [], {b: [] for b in BUCKETS}
                    for r in ok:
                        got = r.splits.get(p, {b: 0.0 for b in BUCKETS})
                        want = truth_split(r.truth, p, w)
                        errs.append(100 * max(abs(got[b] - want[b]) for b in BUCKETS))
                        for b in BUCKETS:
                            per_bucket[b].append(100 * got[b])
                    cell.split_err[p] = _median(errs)
                    cell.splits[p] = {b: _median(v) for b, v in per_bucket.items()}
        cells[key] = cell
    return cells


def truth_table(runs: list[Run]) -> dict[str, dict[str, tuple[float, str, float, float]]]:
    """workload -> phase -> (median true share %, nature, median gc % of the phase, max − min share over
    the plain repeats in pp: how much the program itself varies on this machine) from plain runs."""
    out: dict[str, dict[str, tuple[float, str, float, float]]] = {}
    for w in sorted({r.workload for r in runs}):
        plain = [r for r in runs if r.workload == w and r.tool == "plain" and r.truth]
        if not plain:
            continue
        phases = plain[0].truth["phases"]
        out[w] = {}
        for p, nature in phases.items():
            shares = [100 * truth_shares(r.truth, 0)[p] for r in plain]
            gc = statistics.median(100 * truth_split(r.truth, p, 0)["gc"] for r in plain)
            out[w][p] = (statistics.median(shares), nature, gc, max(shares) - min(shares))
    return out


@dataclass
class Stability:
    """Top-5 hotspots of advisor's default mode across repeated runs of one workload."""

    runs: int
    modal_top5: list[str]
    same_top5: int  # runs whose top-5 order equals the modal one
    same_set: int  # runs whose top-5 set equals the modal one
    spread_pp: dict[str, float]  # function -> max − min self share over runs (pp)
    phase_spread_pp: dict[str, float]  # phase -> max − min inclusive share over runs (pp)


def stability(runs: list[Run], tool: str = "advisor-sample") -> dict[str, Stability]:
    out = {}
    for w in sorted({r.workload for r in runs}):
        ok = [r for r in runs if r.workload == w and r.tool == tool and not r.error and r.top]
        if len(ok) < 2:
            continue
        orders = [tuple(name for name, _ in r.top) for r in ok]
        modal = max(set(orders), key=orders.count)
        spread = {}
        for name in modal:
            vals = [100 * dict(r.top).get(name, 0.0) for r in ok]
            spread[name] = max(vals) - min(vals)
        phases = list(ok[0].shares)
        pspread = {p: max(100 * r.shares[p] for r in ok) - min(100 * r.shares[p] for r in ok) for p in phases}
        out[w] = Stability(len(ok), list(modal), orders.count(modal),
                           sum(set(o) == set(modal) for o in orders), spread, pspread)
    return out


__all__ = ["TOOLS", "WORKLOADS", "Cell", "Stability", "run_all", "summarize", "stability", "truth_table"]
