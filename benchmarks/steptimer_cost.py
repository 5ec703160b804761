"""``python -m benchmarks.steptimer_cost [ROUNDS]``: what exact step boundaries cost, per step.

Three copies of the same loop run interleaved in one process (medians of the fastest repeats): one
plain, one whose step function is timed (``steptimer.py``: ``sys.monitoring`` PY_START/PY_RETURN on
3.12+, the ``__code__`` trampoline on 3.10/3.11), one whose loop rounds are timed (``looptimer.py``,
3.12+ only), and, for scale, one with two bare ``sys.monitoring`` callbacks a round that do nothing.
Prints microseconds added per step. Not a test: shared machines are noisy, read the differences.
"""

from __future__ import annotations

import sys
import threading
import time

from advisor.capture import looptimer, steptimer
from advisor.capture.looptimer import LoopSite
from advisor.capture.steptimer import StepTimer

SRC = '''
def loop(n, step):
    for r in range(n):
        step(20)
        x = [1, 2, 3]
        for j in range(5):
            x.append(j)
'''
FILE = "<steptimer-cost>"


def _loop():
    import linecache

    linecache.cache[FILE] = (len(SRC), None, SRC.splitlines(True), FILE)
    ns: dict = {}
    exec(compile(SRC, FILE, "exec"), ns)
    return ns["loop"]


def _step_factory():
    def step(k):
        s = 0
        for i in range(k):
            s += i
        return s
    return step


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 1500  # under looptimer.FREQUENT_AFTER: the loop stays timed
    # measure the cost of timing, not of being dropped as "too frequent to be a step"
    looptimer.FREQUENT_AFTER = steptimer.FREQUENT_AFTER = 10**9
    plain, timed_loop, bare = _loop(), _loop(), _loop()
    plain_step, timed_step = _step_factory(), _step_factory()
    timer = StepTimer(threading.get_ident())
    timer.watch(timed_step.__code__, in_call=False)
    runs = {"plain": (plain, plain_step), "step function timed": (plain, timed_step)}
    if hasattr(sys, "monitoring"):
        timer.watch(LoopSite(timed_loop.__code__, 3), in_call=False)
        runs["loop rounds timed"] = (timed_loop, plain_step)
        mon = sys.monitoring
        line = {o: ln for a, b, ln in bare.__code__.co_lines() for o in range(a, b, 2)}
        mon.use_tool_id(5, "bare")  # the outer loop's back edge and header branch only, like looptimer
        mon.register_callback(5, mon.events.JUMP, lambda c, s, d: None if line.get(d) == 3 else mon.DISABLE)
        mon.register_callback(5, mon.events.BRANCH, lambda c, s, d: None if line.get(s) == 3 else mon.DISABLE)
        mon.set_local_events(5, bare.__code__, mon.events.JUMP | mon.events.BRANCH)
        runs["two bare callbacks a round"] = (bare, plain_step)
    best: dict[str, float] = {k: float("inf") for k in runs}
    for _ in range(15):
        for name, (f, s) in runs.items():
            t0 = time.perf_counter()
            f(n, s)
            best[name] = min(best[name], (time.perf_counter() - t0) / n)
    timer.close()
    base = best["plain"]
    print(f"Python {sys.version.split()[0]}: plain round {base * 1e6:.2f} us")
    for name, t in best.items():
        if name != "plain":
            print(f"  {name}: +{(t - base) * 1e6:.2f} us per step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
