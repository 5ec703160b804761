"""Ground truth for the benchmark workloads: perf_counter around every phase, gc time per phase.

Each workload's ``train_step`` calls its phase functions in order and hands the ``perf_counter`` marks
taken between them to ``Truth.record``. The cyclic GC is timed with ``gc.callbacks`` (the same hook
advisor uses, so the cost is the same in every run), and read at each mark, so each phase's GC seconds
are known too, and the thread's own CPU clock (``time.thread_time``) at each mark, so a phase whose
nature is decided by the kernel (``read()``: page-cache copy or disk wait) has its true native/waiting
split from its CPU time, with the run-queue delay (``/proc/thread-self/schedstat``: runnable, not
running) counted as the phase's own work, not as waiting. ``Truth.write`` saves everything to the JSON file named by ``$BENCH_TRUTH`` (if set).

The measurement costs two ``perf_counter`` calls per phase and one short Python call per step, the same
in the plain run and under every profiler.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

clock = time.perf_counter
thread_clock = time.thread_time


class Truth:
    """Collects per-step, per-phase wall seconds and GC seconds."""

    def __init__(self, phases: dict[str, str]) -> None:
        self.phases = phases  # name -> known nature: interpreted | native | waiting | gc-churn
        self.steps: list[list[float]] = []
        self.starts: list[float] = []  # perf_counter at each step's first mark (for the diagnosis)
        self.gc_steps: list[list[float]] = []
        self.cpu_steps: list[list[float]] = []
        self.gc_total = 0.0
        self._gc_t0 = 0.0
        self.collections = [0, 0, 0]  # per generation: explains a GC-heavy phase slowed or sped up
        try:
            self._sched = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._sched = -1
        self.t_start = clock()
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_t0 = clock()
            self.collections[info.get("generation", 0)] += 1
        else:
            self.gc_total += clock() - self._gc_t0

    def _cpu_and_runq(self) -> float:
        """The thread's CPU seconds plus its run-queue delay (what it would have run, had it had a core)."""
        if self._sched < 0:
            return thread_clock()
        try:
            fields = os.pread(self._sched, 64, 0).split()
            return (int(fields[0]) + int(fields[1])) / 1e9
        except (OSError, ValueError, IndexError):
            return thread_clock()

    def mark(self) -> tuple[float, float, float]:
        return clock(), self.gc_total, self._cpu_and_runq()

    def record(self, marks: list[tuple[float, float, float]]) -> None:
        self.starts.append(marks[0][0])
        self.steps.append([b[0] - a[0] for a, b in zip(marks, marks[1:])])
        self.gc_steps.append([b[1] - a[1] for a, b in zip(marks, marks[1:])])
        self.cpu_steps.append([b[2] - a[2] for a, b in zip(marks, marks[1:])])

    def write(self) -> None:
        path = os.environ.get("BENCH_TRUTH")
        if not path:
            return
        doc = {"phases": self.phases, "steps": self.steps, "gc": self.gc_steps, "cpu": self.cpu_steps, "starts": self.starts,
               "wall_s": clock() - self.t_start,
               "collections": self.collections, "python": sys.version.split()[0]}
        with open(path, "w") as fh:
            json.dump(doc, fh)


def scale(default_steps: int) -> int:
    """Number of steps: ``default_steps`` times ``$BENCH_SCALE`` (at least 3)."""
    return max(3, round(default_steps * float(os.environ.get("BENCH_SCALE", "1"))))
