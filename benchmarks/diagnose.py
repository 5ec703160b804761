"""Where advisor's sampler misattributes time, sample by sample, against the workload's own clock.

Runs a workload in this process under advisor's real ``Sampler`` (default interval). Both use
``time.perf_counter``, so each sample can be placed on the workload's timeline:

* ``wake``: when the sampler meant to sample (recorded by the sampler itself);
* ``read``: when it actually got the GIL and read the stack: the first sampler-thread clock reading at
  or after ``wake`` (we pass a clock that logs the sampler thread's readings);
* the *true* phase at ``wake`` (from the workload's ``perf_counter`` marks) versus the phase on the
  stack that was read, and the bucket the sampler assigned.

From these: a confusion table (sample weight by true phase → attributed phase), the read-latency
distribution per true phase, the bucket mix per true phase, and how GC seconds were charged.
"""

from __future__ import annotations

import bisect
import json
import os
import runpy
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.accuracy import WORKLOADS_DIR



@dataclass
class Diagnosis:
    workload: str
    samples: int
    confusion: dict[str, dict[str, float]]  # true phase -> attributed phase -> seconds
    latency_ms: dict[str, tuple[float, float, float, float]]  # true phase -> p50, p90, p99, max
    states: dict[str, dict[str, float]]  # true phase -> bucket -> share of its weight (%)
    gc_charged: dict[str, float]  # attributed phase -> GC seconds charged to it
    gc_true: dict[str, float]  # true phase -> GC seconds measured by the workload
    gc_recorded_s: float = 0.0  # sum of the sampler's raw per-sample GC deltas
    gc_kept_s: float = 0.0  # GC seconds left after capping each at its sample's weight
    weights_ms: tuple[float, float, float] = (0.0, 0.0, 0.0)  # p50, p99, max sample weight
    notes: list[str] = field(default_factory=list)


def _logging_clock():
    log: list[float] = []
    pc = time.perf_counter

    def clock() -> float:
        t = pc()
        if threading.current_thread().name == "advisor-sampler":
            log.append(t)
        return t

    return clock, log


def _phase_at(t: float, starts: list[float], steps: list[list[float]], names: list[str]) -> str:
    i = bisect.bisect_right(starts, t) - 1
    if i < 0:
        return "(outside)"
    off = t - starts[i]
    for name, d in zip(names, steps[i]):
        if off < d:
            return name
        off -= d
    return "(between steps)"


def diagnose(workload: str, scale: float = 0.5, interval_s: float = 0.005) -> Diagnosis:
    from advisor.capture.sampler import INTERP, NATIVE, WAITING, Sampler

    state_names = {INTERP: "interpreted", NATIVE: "native", WAITING: "waiting"}

    script = WORKLOADS_DIR / f"{workload}.py"
    tmp = Path(tempfile.mkdtemp(prefix="bench-diag-"))
    truth_path = tmp / "truth.json"
    os.environ["BENCH_TRUTH"], os.environ["BENCH_SCALE"] = str(truth_path), str(scale)
    clock, log = _logging_clock()
    sampler = Sampler(interval_s, thread_id=threading.get_ident(), clock=clock)
    saved_path, saved_mods = sys.path[:], set(sys.modules)
    sys.path.insert(0, str(WORKLOADS_DIR))
    try:
        sampler.start()
        try:
            runpy.run_path(str(script), run_name="__main__")
        finally:
            sampler.stop()
    finally:
        sys.path[:] = saved_path
        for m in set(sys.modules) - saved_mods:
            if m == "_truth":
                del sys.modules[m]
        del os.environ["BENCH_TRUTH"], os.environ["BENCH_SCALE"]
    truth = json.loads(truth_path.read_text())
    truth_path.unlink()
    tmp.rmdir()
    names = list(truth["phases"])
    starts, steps = truth["starts"], truth["steps"]
    log.sort()
    codes_by_sid = {sid: codes for (codes, _lines), sid in sampler.stacks.items()}
    confusion: dict[str, dict[str, float]] = {}
    lat: dict[str, list[float]] = {}
    states: dict[str, dict[str, float]] = {}
    gc_charged: dict[str, float] = {}
    weights = []
    gc_recorded = gc_kept = 0.0
    for rec in sampler.records:  # (wake, read, weight, state, gc seconds, stack id, same, latency)
        wake, _read, weight, state, gc_dt, sid = tuple(rec)[:6]
        true = _phase_at(wake, starts, steps, names)
        on_stack = [c.co_name for c in codes_by_sid[sid] if c.co_name in names]
        got = on_stack[-1] if on_stack else ("train_step" if any(c.co_name == "train_step" for c in
                                                                  codes_by_sid[sid]) else "(outside)")
        j = bisect.bisect_left(log, wake)
        read = log[j] if j < len(log) else wake
        confusion.setdefault(true, {}).setdefault(got, 0.0)
        confusion[true][got] += weight
        lat.setdefault(true, []).append(1e3 * (read - wake))
        gc_s = min(max(gc_dt, 0.0), weight)
        gc_recorded += max(gc_dt, 0.0)
        gc_kept += gc_s
        bucket = states.setdefault(true, {b: 0.0 for b in ("interpreted", "native", "waiting", "gc")})
        bucket[state_names[state]] += weight - gc_s
        bucket["gc"] += gc_s
        gc_charged[got] = gc_charged.get(got, 0.0) + gc_s
        weights.append(1e3 * weight)
    for true, b in states.items():
        tot = sum(b.values()) or 1.0
        states[true] = {k: 100 * v / tot for k, v in b.items()}
    latency = {}
    for true, xs in lat.items():
        xs.sort()
        q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]  # noqa: E731
        latency[true] = (q(0.5), q(0.9), q(0.99), xs[-1])
    gc_true = {n: sum(g[i] for g in truth["gc"]) for i, n in enumerate(names)}
    weights.sort()
    return Diagnosis(workload, len(sampler.records), confusion, latency, states, gc_charged, gc_true,
                     gc_recorded, gc_kept,
                     (statistics.median(weights), weights[int(0.99 * (len(weights) - 1))], weights[-1]))


if __name__ == "__main__":
    for w in sys.argv[1:]:
        d = diagnose(w)
        print(json.dumps(d.__dict__, indent=1, default=str))
