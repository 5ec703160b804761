"""Calls per step counted over one step (capture/callcount.py): exact, and never in the user's way."""

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from advisor.capture import callcount
from advisor.capture.callcount import CallCounter
from advisor.model import Profile
from tests.conftest import ROOT, run_advisor


def step():
    return sum(helper(i) for i in range(3))


def helper(i):
    return i + 1


def _counter():
    return CallCounter(threading.get_ident(), time.perf_counter)


@pytest.fixture(autouse=True)
def _no_profile_left():
    yield
    assert sys.getprofile() is None
    sys.setprofile(None)


def test_counts_every_call_of_one_step_then_removes_itself():
    c = _counter()
    code = step.__code__
    c.on_return(code, 1, code)  # the first (warm-up) call: not yet
    assert sys.getprofile() is None
    c.on_return(code, 2, code)  # opens the window
    assert sys.getprofile() is not None
    for _ in range(5):
        helper(0)
    step()
    c.on_return(code, 3, code)  # the next return of the step closes it
    assert sys.getprofile() is None
    [w] = c.records()
    assert w["complete"] and w["end"] >= w["start"]
    assert w["counts"][helper.__code__] == 5 + 3 and w["counts"][step.__code__] == 1
    c.on_return(code, 10, code)  # one window per step function
    assert sys.getprofile() is None and len(c.records()) == 1


def test_only_the_chosen_step_is_counted():
    c = _counter()
    c.on_return(helper.__code__, 5, step.__code__)
    assert sys.getprofile() is None and c.records() == []


def test_never_replaces_a_profile_function_already_set():
    seen = []

    def theirs(frame, event, arg):
        seen.append(event)

    sys.setprofile(theirs)
    try:
        c = _counter()
        c.on_return(step.__code__, 2, step.__code__)
        assert sys.getprofile() is theirs and c.records() == []
    finally:
        sys.setprofile(None)


def test_a_script_that_sets_its_own_profiler_mid_count_keeps_it_and_the_count_is_unused():
    c = _counter()
    code = step.__code__
    c.on_return(code, 2, code)

    def theirs(frame, event, arg):
        pass

    sys.setprofile(theirs)
    helper(1)
    c.on_return(code, 3, code)
    assert sys.getprofile() is theirs
    sys.setprofile(None)
    [w] = c.records()
    assert not w["complete"]


def test_the_event_cap_removes_the_count(monkeypatch):
    monkeypatch.setattr(callcount, "MAX_EVENTS", 10)
    c = _counter()
    code = step.__code__
    c.on_return(code, 2, code)
    for _ in range(50):
        helper(0)
    assert sys.getprofile() is None  # removed itself after 10 calls
    c.on_return(code, 3, code)
    [w] = c.records()
    assert not w["complete"] and sum(w["counts"].values()) == 10


def test_closed_from_another_thread_it_removes_itself_at_the_next_call():
    c = _counter()
    code = step.__code__
    c.on_return(code, 2, code)
    t = threading.Thread(target=c.close)
    t.start()
    t.join()
    helper(0)  # the next event in this thread
    assert sys.getprofile() is None
    [w] = c.records()
    assert not w["complete"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_during_the_count_runs_without_it():
    c = _counter()
    code = step.__code__
    c.on_return(code, 2, code)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(w, b"none" if sys.getprofile() is None else b"set")
        os._exit(0)
    os.close(w)
    got = os.read(r, 10)
    os.waitpid(pid, 0)
    os.close(r)
    c.on_return(code, 3, code)
    assert got == b"none"
    assert c.records()[0]["complete"]


SAMPLE = ROOT / "sample_workloads" / "pure_python_kernel.py"


def test_the_readme_sample_counts_two_conv1d_calls_a_step_and_its_low_estimate_is_a_gain(tmp_path):
    # conv1d is called twice a step, 12 ms a call: samples alone could not tell that from a million tiny
    # calls, and the low estimate was 0.01x. Counted, the range is the port's own.
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), str(SAMPLE), "--epochs", "1", "--steps", "150",
                     "--window", "2048"], timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert len(prof.counted) == 1 and prof.counted[0].complete
    assert "1 left out: its calls were counted" in r.stderr  # the summary says which step is not measured
    advice = json.loads((tmp_path / "o" / "advice.json").read_text())
    conv = next(k for k in advice["kernels"] if k["function"] == "conv1d")
    for e in conv["estimates"]:
        assert e["calls_exact"] is True and e["calls_per_step"] == 2 and e["calls_max"] == 2
    best = next(e for e in conv["estimates"] if e["target"] == conv["best"])
    assert best["end_to_end"]["low"] > 1.5


def test_a_step_that_raises_during_the_count_loses_nothing(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text(
        "def helper(i):\n    return i * 2\n\n"
        "def train_step(i):\n"
        "    s = 0\n"
        "    for j in range(300000):\n        s += helper(j)\n"
        "    if i == 2:\n        raise RuntimeError('boom in step 2')\n"
        "    return s\n\n"
        "for i in range(10):\n    train_step(i)\n")
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), "--step", "train_step", str(script)], timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    assert "boom in step 2" in r.stderr
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.outcome.stopped_by == "exception"
    assert prof.samples > 0 and prof.step is not None
    assert len(prof.counted) <= 1  # the window closed as the step unwound, or was removed at the end
