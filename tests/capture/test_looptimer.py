"""Loop rounds timed exactly (Python 3.12+ ``sys.monitoring``, capture/looptimer.py): every shape of loop
the compiler makes (``for``, ``while`` with its test repeated at the bottom, ``while True`` with
``break``, ``continue``, a loop ending its function, nested loops) gives one round per body run, and the
rounds' boundaries enclose the script's own timestamps taken inside them."""

import sys
import threading
import time

import pytest

from advisor.capture.looptimer import LoopSite, split_mark
from advisor.capture.steptimer import StepTimer

pytestmark = pytest.mark.skipif(not hasattr(sys, "monitoring"), reason="loop rounds are timed on 3.12+ only")


def for_loop(n, marks):
    for i in range(n):
        marks.append(time.perf_counter())
        for _j in range(3):  # a nested loop: its back edges are not rounds
            pass
        if i == 2:
            continue
        i += 1


def while_test(n, marks):
    k = 0
    while k < n:
        k += 1
        marks.append(time.perf_counter())
        if k == 2:
            continue
    return k


def while_true(n, marks):
    k = 0
    while True:
        marks.append(time.perf_counter())
        k += 1
        if k > n:
            break
    return k


def _header(func, text):
    import inspect

    lines, first = inspect.getsourcelines(func)
    return next(first + i for i, line in enumerate(lines) if line.strip().startswith(text))


@pytest.mark.parametrize("func, header", [(for_loop, "for i"), (while_test, "while k"), (while_true, "while True")])
def test_one_round_per_body_run_and_the_rounds_enclose_the_scripts_own_stamps(func, header):
    timer = StepTimer(threading.get_ident())
    site = LoopSite(func.__code__, _header(func, header))
    assert timer.watch(site, in_call=False)
    for _ in range(2):  # the loop entered twice (two epochs)
        marks: list[float] = []
        func(7, marks)
    timer.close()
    rec = timer.calls[site]
    assert not rec.in_call
    assert len(rec.ends) == len(rec.starts) == 2 * len(marks)
    # the second epoch's rounds, in order, each enclosing its own stamp
    second = list(zip(rec.starts, rec.ends))[len(marks):]
    assert all(b <= m <= e for (b, e), m in zip(second, marks))
    assert all(e1 == b2 for (_b1, e1), (b2, _e2) in zip(second, second[1:]))  # contiguous rounds
    assert split_mark(site.co_qualname) == (func.__qualname__, site.line)


def test_a_raising_body_ends_its_round_and_events_stop_after_close():
    def body(n, marks):
        for i in range(n):
            marks.append(i)
            if i == 3:
                raise ValueError("boom")

    timer = StepTimer(threading.get_ident())
    site = LoopSite(body.__code__, _header(body, "for i"))
    timer.watch(site, in_call=False)
    with pytest.raises(ValueError):
        body(10, [])
    timer.close()
    assert len(timer.calls[site].ends) == 4
    body(2, [])  # no events after close
    assert len(timer.calls[site].ends) == 4
    assert sys.monitoring.get_tool(sys.monitoring.PROFILER_ID) is None


def test_rounds_of_a_per_element_loop_are_not_a_step():
    from advisor.capture import looptimer

    def tight(n):
        s = 0
        for i in range(n):
            s += i
        return s

    timer = StepTimer(threading.get_ident())
    site = LoopSite(tight.__code__, _header(tight, "for i"))
    timer.watch(site, in_call=False)
    tight(looptimer.FREQUENT_AFTER * 3)
    timer.close()
    assert timer.calls[site].ends == []  # thousands of rounds a second: dropped, not steps
