"""Exact step boundaries: timestamps taken when the step function starts and returns.

Samples tell *what* the step does; they cannot tell exactly *when* each step starts and ends (a 0.7 ms
step between two 5 ms samples is invisible). Once the sampler has seen the step function (``--step``
names it, or auto-detection settles on it), advisor times every later call of that one function:

* Python 3.12+: ``sys.monitoring`` ``PY_START``/``PY_RETURN`` events enabled on that code object only
  (local events), plus ``PY_UNWIND`` so that a step ending in an exception still closes.
* Python 3.10/3.11: the function object's ``__code__`` is swapped for a small trampoline that records
  the time, calls the original code (a clone of the function) and records the time again. Calls of any
  other function cost nothing; each step call costs about a microsecond. The original code is put back
  when the run ends. Functions that are generators/coroutines, or already wrapped, are not timed.

Calls before the timer started (at most the first few, which are warm-up) are not timed: the profile
says how many calls were timed and from when. Only calls made in the profiled thread are timed; a
recursive step is timed at its outermost call.
"""

from __future__ import annotations

import gc
import inspect
import sys
import threading
import time
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from advisor.capture.looptimer import LoopSite, LoopWatch

_NOT_PLAIN = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
MAX_WATCHED = 4
# A function called more than MAX_RATE times a second (after FREQUENT_AFTER calls) is a helper, not a
# step (steps of 0.5 ms and up run at most 2,000 a second): it gets its code back.
MAX_RATE = 5000.0
FREQUENT_AFTER = 2000


@dataclass(slots=True)
class Calls:
    """Boundaries of the timed calls of one code object."""

    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    depth: int = 0
    since: float = 0.0  # when timing started
    in_call: bool = False  # a call was running when timing started (it is not timed)
    how: str = ""
    skip_returns: int = 0

    def enter(self, t: float) -> None:
        self.depth += 1
        if self.depth == 1:
            self.starts.append(t)

    def leave(self, t: float) -> None:
        if self.depth <= 0:
            if self.skip_returns:
                self.skip_returns -= 1  # the call that was running when timing started
            return
        self.depth -= 1
        if self.depth == 0:
            self.ends.append(t)


class StepTimer:
    """Times the calls of up to ``MAX_WATCHED`` step functions in one thread."""

    def __init__(self, thread_id: int, clock: Callable[[], float] = time.perf_counter,
                 on_return: Callable[[types.CodeType, int], None] | None = None) -> None:
        self.thread_id = thread_id
        self.clock = clock
        self.on_return = on_return  # called in the profiled thread after each timed call ends
        self.calls: dict[types.CodeType, Calls] = {}
        self.refused: dict[types.CodeType, str] = {}
        self.wrappers: set[types.CodeType] = set()  # trampoline codes: not the user's, dropped from stacks
        self._restore: list[tuple[Any, types.CodeType, bool]] = []
        self._lock = threading.Lock()
        self._monitor = _Monitoring(self) if hasattr(sys, "monitoring") else None

    def watch(self, code: types.CodeType | LoopSite, in_call: bool) -> bool:
        """Start timing ``code`` (called from the sampler thread); False if it cannot be timed. A
        ``LoopSite`` (``--step FILE:LINE``, 3.12+) has its rounds timed (looptimer.py)."""
        if isinstance(code, LoopSite):
            return self._watch_loop(code)
        with self._lock:
            if code in self.calls or code in self.refused:
                return code in self.calls
            if sum(isinstance(c, types.CodeType) for c in self.calls) >= MAX_WATCHED:
                return False
            if code.co_flags & _NOT_PLAIN:
                self.refused[code] = "a generator or coroutine"
                return False
            calls = Calls(since=self.clock(), in_call=in_call)
            if self._monitor is not None:
                ok = self._monitor.watch(code)
                calls.how = "sys.monitoring"
            else:
                ok, why = self._trampoline(code, calls)
                calls.how = "trampoline"
                if not ok:
                    self.refused[code] = why
                    return False
            if not ok:
                self.refused[code] = "sys.monitoring has no free tool id"
                return False
            # A call running now has entered already: with sys.monitoring its return is seen, and must
            # not close a timed call (the trampoline never sees it: that call runs the original code).
            calls.skip_returns = 1 if (in_call and self._monitor is not None) else 0
            self.calls[code] = calls
            if self._monitor is not None:
                self._monitor.watch_loops(code)  # the loops around its call site (looptimer.py)
            return True

    def _watch_loop(self, site: LoopSite) -> bool:
        with self._lock:
            if site in self.calls or site in self.refused:
                return site in self.calls
            if self._monitor is None:
                self.refused[site] = "loop rounds are timed on Python 3.12+ only"  # type: ignore[index]
                return False
            if not self._monitor.watch_site(site):
                self.refused[site] = "its code object is timed already, or no tool id"  # type: ignore[index]
                return False
            return True

    def _unwrap(self, code: types.CodeType, why: str) -> None:
        """Stop timing ``code`` and give its functions their code back."""
        with self._lock:
            self._give_back(lambda original: original is code)
            if self._monitor is not None:
                self._monitor.unwatch(code)
            self.calls.pop(code, None)
            self.refused[code] = why

    def close(self) -> None:
        """Stop timing and put every swapped ``__code__`` back."""
        with self._lock:
            if self._monitor is not None:
                self._monitor.close()
            self._give_back(lambda original: True)

    def _give_back(self, which: Callable[[types.CodeType], bool]) -> None:
        """Put back the original ``__code__`` (and drop the kept signature) of the swapped functions
        whose original code ``which`` selects; the others stay swapped."""
        keep = []
        for func, original, signed in self._restore:
            if not which(original):
                keep.append((func, original, signed))
                continue
            try:
                func.__code__ = original
                if signed:
                    del func.__signature__
            except (TypeError, ValueError, AttributeError):
                pass
        self._restore[:] = keep

    # ---- 3.10 / 3.11: the trampoline ------------------------------------------------------------------
    def _trampoline(self, code: types.CodeType, calls: Calls) -> tuple[bool, str]:
        funcs = [f for f in gc.get_referrers(code) if isinstance(f, types.FunctionType) and f.__code__ is code]
        if not funcs:
            return False, "no function object found for it"
        wrapper = _wrapper_code(code)
        if wrapper is None:
            return False, "its closure cannot be mirrored"
        tid, clock, get_ident, after, timer = self.thread_id, self.clock, threading.get_ident, self.on_return, self

        for func in funcs:
            clone = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
            clone.__kwdefaults__ = func.__kwdefaults__
            clone.__qualname__ = func.__qualname__

            def enter() -> bool:
                if get_ident() != tid:
                    return False
                if calls.depth > 0:
                    # Recursion: every level would add a trampoline frame and a C-level call (a
                    # RecursionError, or the C stack, on deep recursion). Give the function its code
                    # back at once; this step is then not timed.
                    timer._unwrap(code, "recursive")
                    return False
                now = clock()
                n = len(calls.starts)
                if n >= FREQUENT_AFTER and now - calls.since < n / MAX_RATE:
                    timer._unwrap(code, "called too often to be a step")  # a helper, not the step
                    return False
                calls.enter(now)
                return True

            def leave(timed: bool) -> None:
                if timed:
                    calls.leave(clock())
                    if after is not None and calls.depth == 0:
                        after(code, len(calls.ends))

            bound = wrapper.replace(co_consts=tuple(
                {"__advisor_enter__": enter, "__advisor_leave__": leave, "__advisor_call__": clone}.get(c, c)
                if isinstance(c, str) else c for c in wrapper.co_consts))
            signature = None
            if "__signature__" not in getattr(func, "__dict__", {}):
                try:  # so that inspect.signature(func) still reads the real parameters
                    signature = inspect.signature(clone)
                except (TypeError, ValueError):
                    pass
            try:
                func.__code__ = bound
            except (TypeError, ValueError) as exc:
                return False, f"its code cannot be replaced ({exc})"
            if signature is not None:
                func.__signature__ = signature
            self._restore.append((func, code, signature is not None))
            self.wrappers.add(bound)
        return True, ""


def _wrapper_code(code: types.CodeType) -> types.CodeType | None:
    """A code object ``(*args, **kwargs)`` that calls three constants: enter, the clone, leave; with the
    same free variables as ``code`` (so it can replace it on the same function object)."""
    free = code.co_freevars
    cells = "".join(f"    {n} = None\n" for n in free)
    uses = f"        if False: ({', '.join(free)},)\n" if free else ""
    src = (f"def _outer():\n{cells}"
           "    def _wrapper(*args, **kwargs):\n"
           f"{uses}"
           "        t = '__advisor_enter__'()\n"
           "        try:\n"
           "            return '__advisor_call__'(*args, **kwargs)\n"
           "        finally:\n"
           "            '__advisor_leave__'(t)\n"
           "    return _wrapper\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "'str' object is not callable": these become the callables
        module = compile(src, code.co_filename, "exec")
    outer = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
    if inner.co_freevars != free:
        return None
    # Named and placed like the original, so tracebacks, inspect.getsource and profilers read the same.
    changes: dict[str, Any] = {"co_name": code.co_name, "co_firstlineno": code.co_firstlineno}
    if hasattr(code, "co_qualname"):
        changes["co_qualname"] = code.co_qualname
    return inner.replace(**changes)


class _Monitoring:
    """Python 3.12+: local PY_START/PY_RETURN events on the watched code objects only."""

    def __init__(self, timer: StepTimer) -> None:
        self.timer = timer
        self.tool: int | None = None
        self.masks: dict[types.CodeType, int] = {}  # local events set per code object
        self.ids: dict[int, tuple[types.CodeType, Calls]] = {}  # id(code) -> (code, its calls)
        self.loops: LoopWatch | None = None

    def _claim(self) -> bool:
        mon = sys.monitoring  # type: ignore[attr-defined]
        for tool in (mon.PROFILER_ID, 4, 3, 1, 0):
            if mon.get_tool(tool) is None:
                mon.use_tool_id(tool, "advisor")
                self.tool = tool
                break
        if self.tool is None:
            return False
        ev, timer = mon.events, self.timer
        tid, clock, get_ident = timer.thread_id, timer.clock, threading.get_ident
        table, ids = timer.calls, self.ids

        def lookup(code: types.CodeType) -> Calls | None:
            # by id: hashing a code object hashes its bytecode and constants, at every call
            hit = ids.get(id(code))
            if hit is not None and hit[0] is code:
                return hit[1]
            c = table.get(code)
            if c is not None:
                ids[id(code)] = (code, c)
            return c

        def start(code: types.CodeType, offset: int) -> Any:
            c = lookup(code)
            if c is not None and get_ident() == tid:
                now = clock()
                n = len(c.starts)
                if n >= FREQUENT_AFTER and c.depth == 0 and now - c.since < n / MAX_RATE:
                    timer._unwrap(code, "called too often to be a step")  # a helper, not the step
                    return
                c.enter(now)

        def end(code: types.CodeType, offset: int, value: object) -> Any:
            if self.loops is not None:
                self.loops.leave(code)
            c = lookup(code)
            if c is not None and get_ident() == tid:
                c.leave(clock())
                if timer.on_return is not None and c.depth == 0:
                    timer.on_return(code, len(c.ends))

        mon.register_callback(self.tool, ev.PY_START, start)
        mon.register_callback(self.tool, ev.PY_RETURN, end)
        mon.register_callback(self.tool, ev.PY_UNWIND, end)
        mon.set_events(self.tool, ev.PY_UNWIND)  # rare: only while an exception unwinds
        return True

    def watch(self, code: types.CodeType) -> bool:
        if self.tool is None and not self._claim():
            return False
        mon = sys.monitoring  # type: ignore[attr-defined]
        self._set(code, mon.events.PY_START | mon.events.PY_RETURN)
        return True

    def _set(self, code: types.CodeType, events: int) -> None:
        self.masks[code] = self.masks.get(code, 0) | events
        sys.monitoring.set_local_events(self.tool, code, self.masks[code])  # type: ignore[attr-defined]

    def _loop_watch(self) -> LoopWatch:
        timer = self.timer
        if self.loops is None:
            self.loops = LoopWatch(self.tool, timer.thread_id, timer.clock, timer.calls,
                                   lambda missed: Calls(since=timer.clock(), in_call=missed, how="sys.monitoring"),
                                   timer.on_return)
        return self.loops

    def watch_site(self, site: LoopSite) -> bool:
        """Time the rounds of one named loop (``--step FILE:LINE``)."""
        if self.tool is None and not self._claim():
            return False
        masks = self._loop_watch().watch_site(site)
        for code, events in masks.items():
            self._set(code, events)
        return bool(masks)

    def watch_loops(self, step: types.CodeType) -> None:
        """Also time the rounds of the loops around ``step``'s call site (looptimer.py)."""
        try:
            masks = self._loop_watch().watch_callers(step)
        except (ValueError, RuntimeError, OSError):
            return  # no loop timing: the loop step stays sampled
        for code, events in masks.items():
            self._set(code, events)

    def unwatch(self, code: types.CodeType) -> None:
        self.ids.pop(id(code), None)
        if self.tool is not None:
            mon = sys.monitoring  # type: ignore[attr-defined]
            self.masks[code] = self.masks.get(code, 0) & ~(mon.events.PY_START | mon.events.PY_RETURN)
            if self.loops is not None and self.loops.owns(code):
                self.masks[code] |= mon.events.PY_RETURN  # its loops still need its returns
            mon.set_local_events(self.tool, code, self.masks[code])

    def close(self) -> None:
        if self.tool is None:
            return
        mon = sys.monitoring  # type: ignore[attr-defined]
        for code in list(self.masks):
            try:
                mon.set_local_events(self.tool, code, 0)
            except (ValueError, TypeError):
                pass
        self.masks.clear()
        if self.loops is not None:
            self.loops.close()
        mon.set_events(self.tool, 0)
        for ev in (mon.events.PY_START, mon.events.PY_RETURN, mon.events.PY_UNWIND):
            mon.register_callback(self.tool, ev, None)
        mon.free_tool_id(self.tool)
        self.tool = None
