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
    # true phase -> "probe kind > judged kind @ site opcode -> bucket in leaf function" -> [samples, their
    # weight in ms]: why each sample got its bucket (the native probe's reading at the wake-up, the site
    # record's judgement, the instruction; "=" where no site record was consulted)
    kinds: dict[str, dict[str, list]] = field(default_factory=dict)


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


_KIND_NAMES = {0: "unknown", 1: "bytecode", 2: "c-call", 4: "blocked", 5: "preempted", 6: "moved", 7: "preempted-op",
               8: "woken", 9: "same-long", 10: "moved-long"}


def _opcode_names() -> dict[int, str]:
    import dis
    import opcode

    names = {v: k for k, v in opcode.opmap.items()}
    for n in getattr(opcode, "_specialized_instructions", []):
        if hasattr(dis, "_all_opname") and n in dis._all_opname:  # type: ignore[attr-defined]
            names[dis._all_opname.index(n)] = n  # type: ignore[attr-defined]
    return names


class _ProbeLog:
    """Wraps the sampler's native probe and its site judgement: what each sample's probe read."""

    def __init__(self) -> None:
        self.pending: list = [None, None]  # (raw kind, site), judged kind of the sample being taken
        self.per_sample: list[tuple[int, int | None, str]] = []
        self._ops = _opcode_names()

    def install(self):
        import ctypes

        from advisor.capture import sampler as sampler_mod
        from advisor.capture import stackread

        orig_probe, orig_judge, log = sampler_mod.native_probe, stackread.SiteRecords.judge, self

        def native_probe(tid, nid):
            probe = orig_probe(tid, nid)
            if probe is None:
                return None

            def logged(pause):
                got = probe(pause)
                op = "-"
                if got[2]:  # the site's instruction as it reads now (a code object the workload keeps)
                    op = log._ops.get(ctypes.string_at(got[2], 1)[0], "?")
                log.pending[:] = [(got[0], op), None]
                return got
            return logged

        def judge(records, kind, site):
            k = orig_judge(records, kind, site)
            log.pending[1] = k
            return k

        sampler_mod.native_probe, stackread.SiteRecords.judge = native_probe, judge
        return lambda: (setattr(sampler_mod, "native_probe", orig_probe),
                        setattr(stackread.SiteRecords, "judge", orig_judge))

    def take(self) -> tuple[int, int | None, str]:
        raw, judged = self.pending
        self.pending[:] = [None, None]
        return (raw[0], judged, raw[1]) if raw else (-1, None, "-")


def diagnose(workload: str, scale: float = 0.5, interval_s: float = 0.005) -> Diagnosis:
    from advisor.capture.columns import Columns
    from advisor.capture.sampler import INTERP, NATIVE, WAITING, Sampler

    state_names = {INTERP: "interpreted", NATIVE: "native", WAITING: "waiting"}

    script = WORKLOADS_DIR / f"{workload}.py"
    tmp = Path(tempfile.mkdtemp(prefix="bench-diag-"))
    truth_path = tmp / "truth.json"
    os.environ["BENCH_TRUTH"], os.environ["BENCH_SCALE"] = str(truth_path), str(scale)
    clock, log = _logging_clock()
    sampler = Sampler(interval_s, thread_id=threading.get_ident(), clock=clock)
    probe_log = _ProbeLog()

    class LoggedColumns(Columns):
        __slots__ = ()

        def append(self, *row) -> None:  # noqa: ANN002
            super().append(*row)
            probe_log.per_sample.append(probe_log.take())

    sampler.records = LoggedColumns()
    restore = probe_log.install()
    saved_path, saved_mods = sys.path[:], set(sys.modules)
    sys.path.insert(0, str(WORKLOADS_DIR))
    try:
        sampler.start()
        try:
            runpy.run_path(str(script), run_name="__main__")
        finally:
            sampler.stop()
    finally:
        restore()
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
    kinds: dict[str, dict[str, list]] = {}
    # rec: (wake, read, weight, state, gc seconds, stack id, same, latency)
    for rec, (raw, judged, op) in zip(sampler.records, probe_log.per_sample):
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
        leaf = codes_by_sid[sid][-1] if codes_by_sid[sid] else None
        why = (f"{_KIND_NAMES.get(raw, raw)} > {_KIND_NAMES.get(judged, judged) if judged is not None else '='} "
               f"@ {op} -> {state_names[state]} in {leaf.co_name if leaf else '?'}")
        count = kinds.setdefault(true, {}).setdefault(why, [0, 0.0])
        count[0] += 1
        count[1] += 1e3 * weight
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
                     (statistics.median(weights), weights[int(0.99 * (len(weights) - 1))], weights[-1]),
                     kinds={t: dict(sorted(k.items(), key=lambda kv: -kv[1][1])) for t, k in kinds.items()})


if __name__ == "__main__":
    args = sys.argv[1:]
    at = float(args.pop(args.index("--scale") + 1)) if "--scale" in args else 0.5
    args = [a for a in args if a != "--scale"]
    for w in args:
        d = diagnose(w, at)
        print(json.dumps(d.__dict__, indent=1, default=str))
