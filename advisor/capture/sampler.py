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
import os
import gc
import random
import sys
import threading
import time
from types import CodeType
from typing import Callable

from advisor.capture._probes import (call_checker, close_fd, io_probe, native_id_of, run_delay_reader,
                                     running_probe, waits_on_others as _waits)
from advisor.capture.stackread import (BLOCKED, BYTECODE, C_CALL, KEEP, MOVED, WOKEN, SiteRecords, native_probe,
                                       remove_probe, stack_reader)
from advisor.capture.callcount import CallCounter
from advisor.capture.steptimer import StepTimer
from advisor.capture.columns import INTERP, NATIVE, WAITING, Columns as _Columns, chunk as _chunk
from advisor.capture.raw import RawCapture, SampleColumns
from advisor.model import FrameKey

FAST_S = 0.0003  # GIL handed over this fast means the thread had released it
SWITCH_INTERVAL_S = 0.0002  # while sampling: the GIL holder yields within this, so stacks are fresh
PROBE_S = 3e-5  # the running probe's window
ON_CPU_SHARE = 0.3  # CPU clock advancing this much of the window: running, not a hand-over tail
HELPERS_BUSY = 0.5  # other threads using > half a core while the sampled one blocks: it waits on them
LONG_MARGIN_S = 0.002  # beyond switch interval + this, the thread was stuck in one GIL-holding C call



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
        # One sample = one entry in each column; compact arrays keep an hour-long run in tens of MB
        # (about 57 bytes a sample).
        self.records = _Columns()
        self.stacks: dict[tuple[tuple[CodeType, ...], tuple[int, ...]], int] = {}
        self.dropped = 0
        self.deep_stacks = 0
        self.probe_used = False  # samples whose stack was deeper than the reader keeps (middle trimmed)
        self.stop_requested = False
        self._step_watch = step_watch
        self.on_stop: Callable[[], None] = self._raise_stop  # replaced by the run's guard (capture/guard.py)
        # Exact step boundaries once the step is known (steptimer.py); --max-steps then counts timed calls.
        self.timer: StepTimer | None = None
        self.max_steps: int | None = None  # --max-steps: measured steps after which to stop (with the timer)
        self.warmup = 0
        # Calls counted over one step of the timed step (callcount.py); ADVISOR_COUNT_CALLS=off: never.
        self.counter: CallCounter | None = None
        self.count_calls = os.environ.get("ADVISOR_COUNT_CALLS", "").strip().lower() not in ("off", "0", "no")
        self._running = False
        self._thread: threading.Thread | None = None
        self._gc_total = 0.0
        self._gc_t0 = 0.0
        self._in_gc = False
        # Per generation (0, 1, 2): collections and seconds over the run. Preallocated: the callback
        # only adds to them (docs/profile-format.md, ``gc``).
        self._gc_gen = 0
        self.gc_collections = [0, 0, 0]
        self.gc_seconds = [0.0, 0.0, 0.0]
        self._cpu_clock: int | None = None
        self._cpu_start = 0.0
        self.thread_cpu_s: float | None = None
        self.native_id = native_id_of(self.thread_id)
        self._stat_fd: int | None = None
        self._syscall_fd: int | None = None

    # ---- gc ------------------------------------------------------------------------------------------
    def _gc_callback(self, phase: str, info: dict[str, int]) -> None:
        # Runs inside every collection: a few adds, no container grows, and it never raises (an
        # exception in a gc callback is printed as unraisable and the collection goes on regardless).
        try:
            if phase == "start":
                g = info.get("generation", 2)
                self._gc_gen = g if 0 <= g <= 2 else 2
                self._gc_t0 = self.clock()
                self._in_gc = True
                return
            if self._in_gc:  # a stop whose start was not seen (added mid-collection) is not timed
                dt = self.clock() - self._gc_t0
                self._gc_total += dt
                g = self._gc_gen
                self.gc_collections[g] += 1
                self.gc_seconds[g] += dt
            self._in_gc = False
        except Exception:  # noqa: BLE001 - the collector must never see an error from advisor
            self._in_gc = False

    def gc_stats(self) -> dict[str, list] | None:
        """Collections and collector seconds per generation over the run (None before any collection)."""
        if not any(self.gc_collections):
            return None
        return {"collections": list(self.gc_collections), "seconds": list(self.gc_seconds)}

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
        if self.counter is not None:
            self.counter.close()  # a count still open (the run ended mid-step) is removed, incomplete
        if self.timer is not None:
            self.timer.close()  # the step function gets its own code back
        if sys.getswitchinterval() == min(self._saved_switch, SWITCH_INTERVAL_S):
            sys.setswitchinterval(self._saved_switch)
        try:
            gc.callbacks.remove(self._gc_callback)
        except ValueError:
            pass
        for fd in (self._stat_fd, self._syscall_fd):
            close_fd(fd)
        self._stat_fd = self._syscall_fd = None
        if self._cpu_clock is not None:
            try:
                self.thread_cpu_s = time.clock_gettime(self._cpu_clock) - self._cpu_start
            except OSError:
                self.thread_cpu_s = None

    # ---- the hot path --------------------------------------------------------------------------------
    def _run(self) -> None:
        clock, sleep, interval = self.clock, time.sleep, self.interval_s
        tid, cpu_clock = self.thread_id, self._cpu_clock
        read_stack = stack_reader()
        watch, timer = self._step_watch, self.timer
        wrappers = timer.wrappers if timer is not None else ()
        if timer is not None and hasattr(watch, "not_steps"):
            watch.not_steps = timer.refused  # the same dict: functions the timer refuses are never the step
        is_running, self._stat_fd = running_probe(self.native_id, cpu_clock)
        probe = native_probe(tid, self.native_id)  # what the thread executes at each wake-up (Linux)
        self.probe_used = probe is not None
        run_delay, delay_fd = run_delay_reader()
        is_call = call_checker()
        in_io, self._syscall_fd = io_probe(self.native_id)
        gettime, thread_time, PROCESS = time.clock_gettime, time.thread_time, time.CLOCK_PROCESS_CPUTIME_ID
        last_proc, last_own = gettime(PROCESS), thread_time()
        last_cpu = gettime(cpu_clock) if cpu_clock is not None else 0.0
        records, stacks = self.records, self.stacks
        last_acq = clock()
        last_gc = self._gc_total
        sites = self.sites = SiteRecords()
        jitter = random.Random(0x5EED).random  # seeded: runs are repeatable, periods never phase-lock
        hook_id = id(type(self)._gc_callback.__code__)  # advisor's own gc.callbacks entry
        while self._running:
            # Jittered intervals: a fixed period can lock onto a periodic training loop (a 5 ms sleep in
            # every step) and see the same phase each time.
            pause = interval * (0.5 + jitter())
            delay0 = run_delay()
            wake = clock() + pause
            in_hook = False
            if probe is not None:
                got = probe(pause)
                kind, probe_s, site = got[0], got[1], got[2]
                in_hook = len(got) > 3 and got[3] == hook_id
                wake += probe_s  # the probe's own wait for the thread to run (docs/how-it-works.md)
                if site:
                    kind = sites.judge(kind, site)
            else:
                kind = sleep(pause)
            now = clock()
            # How late the GIL came, less the time this thread sat on a run queue (a busy machine):
            # what is left is the time the sampled thread kept the GIL after we asked for it.
            latency = max(0.0, now - wake - (run_delay() - delay0))
            try:
                got = read_stack(tid)
                if got is None:
                    if not any(t.ident == tid for t in threading.enumerate()):
                        break  # the sampled thread has ended
                    self.dropped += 1  # no Python frame to read at this moment
                    continue
                codes, lines, same, leaf_lasti, depth = got
                if depth > len(codes):
                    self.deep_stacks += 1
                if wrappers:  # the step timer's trampoline frames are advisor's, not the user's
                    keep = [i for i, c in enumerate(codes) if c not in wrappers]
                    if len(keep) != len(codes):
                        same = sum(1 for i in keep if i < same)
                        codes, lines = tuple(codes[i] for i in keep), tuple(lines[i] for i in keep)
                # The thread just handed us the GIL may still run a few microseconds of CPython's
                # hand-over code: read its scheduler state only after the stack walk, and twice.
                run0 = is_running()
                cpu0, p0 = (gettime(cpu_clock) if cpu_clock is not None else 0.0), clock()
                key = (codes, lines)
                # 'R' twice and its CPU clock moving: on a CPU without the GIL, i.e. compiled code (or
                # spinning on its BLAS workers). 'R' with a still clock is runnable, not running: on a
                # busy machine, a thread that handed over the GIL can wait for a core that long.
                while run0 and clock() - p0 < PROBE_S:  # long enough to tell running from a hand-over
                    pass                                   # tail; only needed when it reads as running
                cpu1 = gettime(cpu_clock) if cpu_clock is not None else 0.0
                window = clock() - p0
                proc, own = gettime(PROCESS), thread_time()
                # CPU burnt since the last sample by threads other than these two: BLAS / OpenMP /
                # intra-op workers the sampled thread may be blocked on.
                span = max(now - last_acq, 1e-6)
                helpers = ((proc - last_proc) - (own - last_own) - (cpu1 - last_cpu)) / span
                busy = (cpu1 - last_cpu) / span  # the sampled thread's own CPU use since the last sample
                last_proc, last_own, last_cpu = proc, own, cpu1
                released = latency < FAST_S  # the GIL was free when we woke: it is inside a C call
                joins_workers = released and (helpers > HELPERS_BUSY or busy > HELPERS_BUSY) and not in_io()
                if run0 and is_running() and (released or cpu_clock is None or cpu1 - cpu0 > ON_CPU_SHARE * window):
                    # Runnable without the GIL: computing (or, on a busy machine, queued for a core to
                    # compute on). A still clock without ``released`` is a GIL hand-over tail instead.
                    state = NATIVE
                elif released:
                    # Inside a call that released the GIL, not computing itself. Blocked in sleep,
                    # read, poll...: waiting, whatever other threads do (OpenBLAS workers keep
                    # spinning for a while after each call). Otherwise (a futex, sched_yield, a spin)
                    # with other threads busy: joining its BLAS/OpenMP workers, i.e. native work.
                    # A thread that computed most of the interval and is blocked now, not in I/O, is
                    # waiting for the GIL we took at its last release (tiny BLAS calls): it computes.
                    state = NATIVE if joins_workers else WAITING
                elif latency > sys.getswitchinterval() + LONG_MARGIN_S and is_call(codes[-1], leaf_lasti):
                    # It gave the GIL up late, right after a call returned: one long C call holding
                    # the GIL (``sorted``, a big ``str.join``). A late wake-up of our own (a busy
                    # machine) while it ran bytecode lands on a loop jump or a function start instead.
                    state = NATIVE
                else:
                    state = INTERP
                if kind == C_CALL and state != WAITING and not _waits(codes[-1]):
                    # At the wake-up it was inside a C function its current instruction called
                    # (json.loads, str.join, a NumPy call on a small array, ``a + b`` on arrays): native,
                    # though it gave the GIL up at the bytecode boundary after it.
                    state = NATIVE
                elif kind == BYTECODE or kind == MOVED:
                    # On a CPU (or waiting for one) executing bytecode at the wake-up, or moving on at
                    # once from a tiny call: interpreted, whatever the hand-over looked like later.
                    state = INTERP
                elif kind == WOKEN and state != WAITING:
                    # waiting for a core right where it usually blocks (a read, a lock, a sleep that has
                    # just returned): the wait it came from, not compiled work
                    state = WAITING
                elif kind == BLOCKED and state != WAITING and (not joins_workers or _waits(codes[-1])):
                    # Off the CPU at the wake-up: in a read, a sleep, a lock, waiting for the GIL another
                    # thread held, or in a call that blocked keeping the GIL. Runnable by the time we read
                    # it (a busy machine: woken, waiting for a core) does not make that compiled work.
                    # Only a thread blocked while its BLAS/OpenMP workers compute is native (a join
                    # in the standard library is waiting for other threads, however busy they are).
                    state = WAITING
                elif not kind and not run0 and state != WAITING and _waits(codes[-1]):
                    state = WAITING  # no probe here: the same for a thread the kernel says is asleep
                sid = stacks.get(key)
                if sid is None:
                    sid = stacks[key] = len(stacks)
                # The callback is Python code: a sample can land inside it, before the collection
                # is added up. Count a collection in progress up to now, so no GC time goes unseen.
                gc_now = self._gc_total + (now - self._gc_t0 if self._in_gc else 0.0)
                if gc_now < last_gc:
                    gc_now = last_gc
                gc_s = gc_now - last_gc
                if in_hook and state != WAITING:
                    # At the wake-up it ran our own gc.callbacks entry: advisor's timing of a collection,
                    # part of the collection's cost as the step sees it (json.loads of a large document
                    # runs ~50 collections a call), not the step's bytecode: gc, not interpreted.
                    gc_s = max(gc_s, now - last_acq)
                # Weight = time since the previous sample was taken: the pause (whose end, the wake-up,
                # falls at a moment independent of what the thread does) plus the latency, during
                # which the thread demonstrably held the GIL (bytecode, a long C call, or the GC).
                records.append(wake, now, now - last_acq, state, gc_s, sid, same, latency)
                last_acq, last_gc = now, gc_now
                if watch is not None:
                    if not self.stop_requested and watch(codes, same) and not self._timed_stop():
                        self.stop_requested = True
                        self.on_stop()
                    chosen = getattr(watch, "chosen", None)
                    if chosen is None and timer is not None and hasattr(watch, "scan"):
                        chosen = watch.chosen = watch.scan()  # defined, maybe not yet called
                    if (timer is not None and chosen is not None and chosen not in timer.calls
                            and codes.count(chosen) < 2):  # a recursive function is not timed
                        timer.watch(chosen, in_call=chosen in codes)
            except Exception:  # the sampler must never disturb the user's program
                self.dropped += 1
        close_fd(delay_fd)
        if probe is not None:
            remove_probe()

    # ---- after stop ----------------------------------------------------------------------------------
    def _timed_stop(self) -> bool:
        """Whether the timer, not the sampled count, decides when to stop (it times the chosen step)."""
        timer, chosen = self.timer, getattr(self._step_watch, "chosen", None)
        return (timer is not None and self.max_steps is not None and chosen in timer.calls
                and getattr(self._step_watch, "exact_stop", False))

    def on_timed_return(self, code: CodeType, ended: int) -> None:
        """Called in the profiled thread after each timed call of a step function: stop after exactly
        ``max_steps`` timed steps of the chosen one."""
        chosen = getattr(self._step_watch, "chosen", None)
        counted = False
        # a function step only: a loop's rounds (3.12+, ``code`` a LoopSite) have no return to end a count
        if self.count_calls and self.timer is not None and not self.stop_requested and isinstance(code, CodeType):
            try:
                if self.counter is None:
                    self.counter = CallCounter(self.thread_id, self.timer.clock)
                self.counter.on_return(code, ended, chosen)
                counted = any(w.code is code for w in self.counter.windows)
            except Exception:  # the count must never disturb the user's program
                pass
        if (self.max_steps is None or self.stop_requested or code is not chosen
                or not getattr(self._step_watch, "exact_stop", False)):
            return  # an auto-detected step may still change: the sampled count stops the run
        calls = self.timer.calls.get(code) if self.timer is not None else None
        # warm-up calls are among the timed ones unless the timer started during the first call; the
        # counted step is left out of the figures (callcount.py), so one more is measured
        target = (self.max_steps + max(0, self.warmup - (1 if calls is not None and calls.in_call else 0))
                  + (1 if counted else 0))
        if ended >= target:
            self.stop_requested = True
            self.on_stop()

    def _raise_stop(self) -> None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread_id), ctypes.py_object(StopProfiling))

    def snapshot(self) -> RawCapture:
        """What was recorded so far, while sampling goes on (for checkpoints): a consistent prefix."""
        cols = self.records
        n = min(len(cols.wake), len(cols.read), len(cols.weight), len(cols.state), len(cols.gc), len(cols.sid),
                len(cols.same), len(cols.latency))
        copy = _Columns()  # array slices are copies: the sampler may append meanwhile
        for name in _Columns.__slots__:
            setattr(copy, name, getattr(cols, name)[:n])
        stacks = self.stacks.copy()  # after the rows: every stack id they use is in it
        return self._raw(copy, stacks)

    def to_raw(self) -> RawCapture:
        """The recorded columns as a RawCapture (``SampleColumns``: read in chunks, no object per sample);
        call after ``stop``."""
        return self._raw(self.records, self.stacks)

    def _raw(self, cols: _Columns, stacks) -> RawCapture:
        keys: dict[CodeType, FrameKey] = {}
        by_id: list[tuple[tuple[FrameKey, ...], tuple[int, ...]]] = [((), ())] * len(stacks)
        for (codes, lines), sid in stacks.items():
            fk = []
            for c in codes:
                k = keys.get(c)
                if k is None:
                    k = keys[c] = code_key(c)
                fk.append(k)
            by_id[sid] = (tuple(fk), lines)
        n = len(cols)
        samples = SampleColumns(n, by_id, lambda a, b: _chunk(cols, a, b))
        warnings = []
        if self.dropped:
            warnings.append(f"{self.dropped} samples could not be read and were dropped")
        if self.deep_stacks:
            warnings.append(f"{self.deep_stacks} samples had stacks deeper than {KEEP} frames: their middle "
                            "frames are left out (the outermost and innermost are kept)")
        if self._cpu_clock is None:
            warnings.append("no per-thread CPU clock on this platform: native vs waiting is told by "
                            "GIL hand-over only")
        timings = {}
        if self.timer is not None:
            for code, c in list(self.timer.calls.items()):
                n = min(len(c.starts), len(c.ends))
                timings[code_key(code)] = {"starts": tuple(c.starts[:n]), "ends": tuple(c.ends[:n]),
                                           "since": c.since, "in_call": c.in_call, "how": c.how}
        counted = []
        skip = self.timer.wrappers if self.timer is not None else ()
        for w in self.counter.records() if self.counter is not None else ():
            calls: dict[FrameKey, int] = {}
            for c, n in w["counts"].items():
                if c not in skip:  # the step timer's trampoline (3.10/3.11) is not a call of the user's
                    k = keys.get(c) or code_key(c)
                    calls[k] = calls.get(k, 0) + n
            counted.append({"step": code_key(w["code"]), "start": w["start"], "end": w["end"],
                            "complete": w["complete"], "calls": calls})
        return RawCapture("sample", self.interval_s, samples, thread_cpu_s=self.thread_cpu_s,
                          dropped=self.dropped, warnings=warnings, timings=timings, counted=counted,
                          gc=self.gc_stats())
