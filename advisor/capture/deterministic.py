"""``--mode cprofile``: exact call counts and per-call times from cProfile, as the same RawCapture.

cProfile keeps caller→callee edges, not whole stacks, so each function's own time becomes one
pseudo-sample on the stack of its heaviest callers (root→leaf). Built-ins and C methods are native,
except blocking calls (sleep, read, acquire, ...), which are waiting. cProfile's hook slows Python
code only, so it overstates interpreted time against native: use it for call counts, not shares.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import re
import sys
import time

from advisor.capture.raw import RawCapture, RawSample
from advisor.model import FrameKey, Split

WAITING_NAMES = re.compile(
    r"\b(sleep|select|poll|epoll|wait|acquire|recv|recv_into|recvfrom|read|readinto|readline|"
    r"accept|connect|join|get|flock|lockf|waitpid|_wait_for_tstate_lock)\b'?"
)

_Func = tuple[str, int, str]


def func_key(func: _Func) -> FrameKey:
    """FrameKey of a pstats function triple; built-ins become native frames."""
    file, line, name = func
    if file == "~":
        return FrameKey("<built-in>", name.strip("<>{}"), 0, "native")
    return FrameKey(file, name, line)


def _is_waiting(func: _Func) -> bool:
    return func[0] == "~" and WAITING_NAMES.search(func[2]) is not None


class DeterministicProfiler:
    """Wraps cProfile; ``to_raw`` turns its statistics into pseudo-samples with exact call counts.

    cProfile cannot see the cyclic GC: a collection runs inside an allocation, and its pause lands in the
    tottime of the function that allocated. So the collector is timed here as in sample mode
    (``gc.callbacks``), and each pause is charged to the Python function running when it started (the
    callback's caller frame): that much of the function's tottime is GC, not its own code."""

    def __init__(self) -> None:
        self._prof = cProfile.Profile()
        self._gc_by: dict[_Func, float] = {}
        self._gc_t0 = 0.0
        self._gc_at: _Func | None = None
        self.gc_s = 0.0

    def _gc_callback(self, phase: str, info: dict) -> None:
        try:
            if phase == "start":
                code = sys._getframe(1).f_code
                self._gc_at = (code.co_filename, code.co_firstlineno, code.co_name)
                self._gc_t0 = time.perf_counter()
            elif self._gc_at is not None:
                dt = time.perf_counter() - self._gc_t0
                self.gc_s += dt
                self._gc_by[self._gc_at] = self._gc_by.get(self._gc_at, 0.0) + dt
                self._gc_at = None
        except Exception:  # never disturb the collector (or the program)
            self._gc_at = None

    def start(self) -> None:
        gc.callbacks.append(self._gc_callback)
        self._prof.enable()

    def stop(self) -> None:
        self._prof.disable()
        try:
            gc.callbacks.remove(self._gc_callback)
        except ValueError:
            pass

    def to_raw(self) -> RawCapture:
        self._prof.create_stats()
        stats: dict = self._prof.stats  # type: ignore[attr-defined]
        calls = {func_key(f): v[1] for f, v in stats.items()}
        per_call = {func_key(f): (v[3] / v[1] if v[1] else 0.0) for f, v in stats.items()}
        samples = []
        mine = self._gc_callback.__code__.co_filename
        for func, (cc, nc, tt, ct, callers) in stats.items():
            if tt <= 0 or func[0] == mine:  # the GC callback is advisor's, not the program's
                continue
            chain = _heaviest_chain(func, stats)
            keys = tuple(func_key(f) for f in chain)
            if func[0] == "~":
                split = Split(waiting=tt) if _is_waiting(func) else Split(native=tt)
            else:
                g = min(tt, self._gc_by.get(func, 0.0))  # the collector's pauses it triggered
                split = Split(interpreted=tt - g, gc=g)
            samples.append(RawSample(0.0, split, keys, tuple(k.line for k in keys), 0))
        return RawCapture("cprofile", 0.0, samples, calls=calls, per_call_s=per_call,
                          warnings=["cprofile mode: shares are deterministic-hook times (Python code is "
                                    "slowed more than native code); stacks follow each function's "
                                    "heaviest callers; the GC is timed with gc.callbacks and charged to "
                                    "the Python function running when each collection started"])


def _heaviest_chain(func: _Func, stats: dict) -> list[_Func]:
    """Root→leaf chain ending at ``func``, following the caller with the most cumulative time."""
    chain = [func]
    seen = {func}
    current = func
    while True:
        callers = stats.get(current, (0, 0, 0, 0, {}))[4]
        best = None
        best_t = -1.0
        for caller, edge in callers.items():
            t = edge[3] if isinstance(edge, tuple) else 0.0
            if caller not in seen and t > best_t:
                best, best_t = caller, t
        if best is None:
            break
        chain.append(best)
        seen.add(best)
        current = best
    chain.reverse()
    return chain
