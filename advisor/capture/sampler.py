"""The default sampler: a timer thread that reads the step thread's stack and CPU clock.

How a sample is classified (docs/how-it-works.md has the long version). The sampler sleeps one interval,
then must take the GIL to read anything:

* if the profiled thread's CPU clock advances while the sampler holds the GIL, that thread is running
  compiled code that released the GIL (BLAS, a PyTorch op, a large ufunc); likewise if other threads
  of the process burn CPU meanwhile (BLAS / intra-op workers the thread is waiting to join) -> native
* else, if the GIL came at once (< ``FAST_S`` after waking), the thread had released it and is not on
  the CPU: sleeping, blocked in I/O, on a lock or a queue                             -> waiting
* else, if the GIL came only after far more than the switch interval, the thread was inside one long
  C call that holds the GIL (``sorted``, a small-array NumPy op run many times...)    -> native
* else the thread held the GIL and gave it up at the next bytecode boundary           -> interpreted

The cyclic GC is timed exactly with ``gc.callbacks``; each sample carries the GC seconds since the last
one. A sample's weight is the time between two consecutive wake-ups, which does not depend on what the
thread was doing, so the shares are unbiased estimates of time.

The hot path only records: clocks, interned stack id, how much of the stack is unchanged since the last
sample. Everything else happens in ``build.py`` after the run.
"""

from __future__ import annotations

import ctypes
import gc
import random
import sys
import threading
import time
from types import CodeType
from typing import Callable

from advisor.capture.raw import RawCapture, RawSample
from advisor.model import FrameKey, Split

FAST_S = 0.0003  # GIL handed over this fast means the thread had released it
SWITCH_INTERVAL_S = 0.0005  # while sampling: the GIL holder yields within this, so stacks are fresh
HELPER_EPS_S = 2e-6  # other threads' CPU during the probe above this: work done for the step
LONG_MARGIN_S = 0.002  # beyond switch interval + this, the thread was stuck in one GIL-holding C call

INTERP, NATIVE, WAITING = 0, 1, 2


class StopProfiling(BaseException):
    """Raised in the profiled thread to end the script after ``--max-steps`` (not an ``Exception``,
    so a script's ``except Exception`` cannot swallow it)."""


def code_key(code: CodeType) -> FrameKey:
    """The FrameKey of a code object (``co_qualname`` on 3.11+, ``co_name`` before)."""
    return FrameKey(code.co_filename, getattr(code, "co_qualname", code.co_name), code.co_firstlineno)


class Sampler:
    """Samples one thread (the main thread by default) from a daemon timer thread.

    Args:
        interval_s: time between samples.
        thread_id: ``threading.get_ident()`` of the thread to sample.
        clock: wall clock (a parameter so tests can drive it).
        step_watch: optional callable ``(codes, new_from) -> bool`` (see ``stepwatch.py``); when it
            returns True, ``StopProfiling`` is raised in the sampled thread (``--max-steps``).
    """

    def __init__(self, interval_s: float = 0.005, thread_id: int | None = None,
                 clock: Callable[[], float] = time.perf_counter,
                 step_watch: Callable[[tuple[CodeType, ...], int], bool] | None = None) -> None:
        self.interval_s = interval_s
        self.thread_id = thread_id if thread_id is not None else threading.main_thread().ident
        self.clock = clock
        self.records: list[tuple[float, float, int, float, int, int]] = []
        self.stacks: dict[tuple[tuple[CodeType, ...], tuple[int, ...]], int] = {}
        self.dropped = 0
        self.stop_requested = False
        self._step_watch = step_watch
        self._running = False
        self._thread: threading.Thread | None = None
        self._gc_total = 0.0
        self._gc_t0 = 0.0
        self._cpu_clock: int | None = None
        self._cpu_start = 0.0
        self.thread_cpu_s: float | None = None

    # ---- gc ------------------------------------------------------------------------------------------
    def _gc_callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_t0 = self.clock()
        else:
            self._gc_total += self.clock() - self._gc_t0

    # ---- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._cpu_clock = time.pthread_getcpuclockid(self.thread_id)  # type: ignore[arg-type]
            self._cpu_start = time.clock_gettime(self._cpu_clock)
        except (AttributeError, OSError):
            self._cpu_clock = None  # no per-thread CPU clock: waiting is then told by GIL hand-over alone
        gc.callbacks.append(self._gc_callback)
        # A thread waiting for the GIL asks the holder to drop it after the switch interval; CPython's
        # 5 ms default would let the profiled thread run on for up to 5 ms after the sampler wakes, and
        # the stack read then is not the one at the wake-up (safepoint bias). Restored in ``stop``.
        self._saved_switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._saved_switch, SWITCH_INTERVAL_S))
        self._running = True
        self._thread = threading.Thread(target=self._run, name="advisor-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join()
        if sys.getswitchinterval() == min(self._saved_switch, SWITCH_INTERVAL_S):
            sys.setswitchinterval(self._saved_switch)
        try:
            gc.callbacks.remove(self._gc_callback)
        except ValueError:
            pass
        if self._cpu_clock is not None:
            try:
                self.thread_cpu_s = time.clock_gettime(self._cpu_clock) - self._cpu_start
            except OSError:
                self.thread_cpu_s = None

    # ---- the hot path --------------------------------------------------------------------------------
    def _run(self) -> None:
        clock, sleep, interval = self.clock, time.sleep, self.interval_s
        current_frames, tid, cpu_clock = sys._current_frames, self.thread_id, self._cpu_clock
        gettime, thread_time = time.clock_gettime, time.thread_time
        PROCESS = time.CLOCK_PROCESS_CPUTIME_ID
        records, stacks = self.records, self.stacks
        prev_frames: list[object] = []
        last_wake = clock()
        last_gc = self._gc_total
        jitter = random.Random(0x5EED).random  # seeded: runs are repeatable, periods never phase-lock
        while self._running:
            # Jittered intervals: a fixed period can lock onto a periodic training loop (a 5 ms sleep in
            # every step) and see the same phase each time.
            pause = interval * (0.5 + jitter())
            wake = clock() + pause
            sleep(pause)
            now = clock()
            latency = now - wake
            try:
                proc0, own0 = gettime(PROCESS), thread_time()
                cpu0 = gettime(cpu_clock) if cpu_clock is not None else 0.0
                frame = current_frames().get(tid)
                if frame is None:
                    break  # the sampled thread has ended
                frames = []
                while frame is not None:
                    frames.append(frame)
                    frame = frame.f_back
                frames.reverse()
                cpu1 = gettime(cpu_clock) if cpu_clock is not None else 0.0
                own1, proc1 = thread_time(), gettime(PROCESS)
                # CPU used meanwhile by threads other than the sampler and the profiled one: BLAS or
                # intra-op workers computing while the profiled thread waits for them to join.
                helpers = (proc1 - proc0) - (own1 - own0) - (cpu1 - cpu0)
                if cpu1 > cpu0 or helpers > HELPER_EPS_S:
                    state = NATIVE
                elif latency < FAST_S:
                    state = WAITING
                elif latency > sys.getswitchinterval() + LONG_MARGIN_S:
                    state = NATIVE
                else:
                    state = INTERP
                same = 0
                limit = min(len(frames), len(prev_frames))
                while same < limit and frames[same] is prev_frames[same]:
                    same += 1
                codes = tuple(f.f_code for f in frames)  # type: ignore[attr-defined]
                key = (codes, tuple(f.f_lineno or 0 for f in frames))  # type: ignore[attr-defined]
                sid = stacks.get(key)
                if sid is None:
                    sid = stacks[key] = len(stacks)
                gc_now = self._gc_total
                records.append((wake, wake - last_wake, state, gc_now - last_gc, sid, same))
                last_wake, last_gc = wake, gc_now
                # Keep the frames alive until the next sample so a new call cannot reuse an address
                # and ``is`` tells a new invocation from a continuing one.
                prev_frames = frames
                if self._step_watch is not None and not self.stop_requested and self._step_watch(codes, same):
                    self.stop_requested = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(StopProfiling))
            except Exception:  # the sampler must never disturb the user's program
                self.dropped += 1
        prev_frames = []

    # ---- after stop ----------------------------------------------------------------------------------
    def to_raw(self) -> RawCapture:
        """Turn the recorded tuples into RawSamples (FrameKeys, Splits); call after ``stop``."""
        keys: dict[CodeType, FrameKey] = {}
        by_id: list[tuple[tuple[FrameKey, ...], tuple[int, ...]]] = [((), ())] * len(self.stacks)
        for (codes, lines), sid in self.stacks.items():
            fk = []
            for c in codes:
                k = keys.get(c)
                if k is None:
                    k = keys[c] = code_key(c)
                fk.append(k)
            by_id[sid] = (tuple(fk), lines)
        samples = []
        for wake, weight, state, gc_dt, sid, same in self.records:
            gc_s = min(max(gc_dt, 0.0), weight)
            rest = weight - gc_s
            split = Split(rest, 0.0, 0.0, gc_s) if state == INTERP else (
                Split(0.0, rest, 0.0, gc_s) if state == NATIVE else Split(0.0, 0.0, rest, gc_s))
            frames, lines = by_id[sid]
            samples.append(RawSample(wake, split, frames, lines, same))
        warnings = []
        if self.dropped:
            warnings.append(f"{self.dropped} samples could not be read and were dropped")
        if self._cpu_clock is None:
            warnings.append("no per-thread CPU clock on this platform: native vs waiting is told by "
                            "GIL hand-over only")
        return RawCapture("sample", self.interval_s, samples, thread_cpu_s=self.thread_cpu_s,
                          dropped=self.dropped, warnings=warnings)
