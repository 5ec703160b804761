"""The rows of issue 13's table, each checked against the script's own count and ``perf_counter`` times.

| row | where it is tested |
|---|---|
| short calls: 300 calls of 0.7 ms | test_steptimer.py::test_named_step_count_and_times_match_the_scripts_own_timing |
| DataLoader loop: 64 iterations | here: test_a_loop_step_counts_its_rounds_or_says_it_estimates |
| pytorch/examples mnist: 50 batches | tests/corpus/test_corpus.py (mnist and ten more real scripts) |
| library ``profiling()`` region: 100 steps | test_steptimer.py::test_a_profiling_region_counts_a_named_step_exactly |
| ``--max-steps 50`` | test_steptimer.py (named step) and here (auto-detected, GC-heavy scalar autograd) |
| calls per step of a scalar-autograd ``__mul__`` | here: test_calls_per_step_are_exact_or_a_lower_bound |

Scripts are real files run end to end by the CLI in a subprocess; assertions hold whatever the load.
"""

import json
import statistics
import sys
from pathlib import Path

import pytest

from advisor.model import Profile
from tests.conftest import run_advisor

HERE = Path(__file__).resolve().parent
SCALAR = HERE / "scalar_autograd.py"

LOADER = """
import json, sys, time

def batches(n):  # a data loader: making each batch takes time (it belongs to the round it feeds)
    for i in range(n):
        yield [float((i * 7 + k) % 13) for k in range(20000)]

def forward(batch):
    s = 0.0
    for x in batch:
        s += x * x
    return s

def main():
    steps, out = int(sys.argv[1]), sys.argv[2]
    mine = []
    t0 = time.perf_counter()
    for batch in batches(steps):
        loss = forward(batch)
        grad = [x * 0.5 for x in batch]  # inline "backward"
        loss += sum(grad)
        t1 = time.perf_counter()
        mine.append(t1 - t0)
        t0 = t1
    with open(out, "w") as fh:
        json.dump({"times": mine}, fh)

main()
"""


def _loop_line(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(start))


def test_a_loop_step_counts_its_rounds_or_says_it_estimates(tmp_path):
    script = tmp_path / "loader.py"
    script.write_text(LOADER)
    mine = tmp_path / "mine.json"
    line = _loop_line(LOADER, "for batch in")
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), "--step", f"loader.py:{line}", str(script), "64",
                     str(mine)], timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    step = Profile.load(tmp_path / "o" / "profile.json").step
    theirs = json.loads(mine.read_text())["times"]
    assert len(theirs) == 64 and step.loop_lines[0] == line
    if not hasattr(sys, "monitoring"):  # 3.10/3.11: sampled, and said so
        assert step.timing == "sampled" and "sampled estimate" in step.reason
        assert "estimated from samples" in r.stderr
        return
    assert step.timing in ("exact", "timed"), step.reason
    if step.timing == "exact":
        assert step.calls == 64
    else:  # the loop was running when its code object was first sampled: "at least"
        assert "at least" in step.reason and step.calls <= 64
    ours = list(step.durations_s)
    assert len(ours) >= 64 - 3
    # Rounds run back edge to back edge, the script's stamps just before its back edge: the same rounds.
    tail = theirs[-len(ours):]
    assert abs(statistics.mean(ours) - statistics.mean(tail)) <= 0.02 * statistics.mean(tail)
    assert abs(statistics.median(ours) - statistics.median(tail)) <= 0.02 * statistics.median(tail) + 2e-4


def test_max_steps_loop_spec_stops_after_exactly_that_many_rounds(tmp_path):
    if not hasattr(sys, "monitoring"):
        pytest.skip("loop rounds are timed on 3.12+ only (the count is sampled there)")
    script = tmp_path / "loader.py"
    script.write_text(LOADER)
    line = _loop_line(LOADER, "for batch in")
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), "--step", f"loader.py:{line}", "--max-steps", "20",
                     str(script), "100000", str(tmp_path / "mine.json")], timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.outcome.stopped_by == "max-steps"
    assert len(prof.step.durations_s) == 20


@pytest.mark.parametrize("attempt", range(2))
def test_max_steps_with_an_auto_detected_gc_heavy_step_measures_exactly_that_many(tmp_path, attempt):
    # Thousands of tiny __mul__/__add__ calls and closures a step: the first samples can make a per-op
    # helper look like the step; the run must still stop after exactly 30 measured train_step calls.
    mine = tmp_path / "mine.json"
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), "--max-steps", "30", str(SCALAR), "1000000",
                     str(mine), "16"], timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    prof = Profile.load(tmp_path / "o" / "profile.json")
    got = json.loads(mine.read_text())
    assert prof.outcome.stopped_by == "max-steps"
    assert prof.frames[prof.step.frame].key.qualname == "train_step"
    assert prof.step.timing in ("exact", "timed")
    assert len(prof.step.durations_s) == 30
    assert got["calls"] >= prof.step.calls  # "at least N": never more than the script ran


def _mul_estimates(out: Path) -> list[dict]:
    advice = json.loads((out / "advice.json").read_text())
    kernel = next(k for k in advice["kernels"] if k["function"].rpartition(".")[2] == "__mul__")  # cProfile: no class
    return kernel["estimates"]


def test_calls_per_step_are_exact_or_a_lower_bound(tmp_path):
    size, steps = 16, 60
    per_step = size * size + size  # the script's own __mul__ calls in one train_step
    r = run_advisor(["profile", "--out", str(tmp_path / "s"), "--step", "train_step", str(SCALAR), str(steps),
                     str(tmp_path / "m1.json"), str(size)], timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "m1.json").read_text())["muls"] == steps * per_step
    for e in _mul_estimates(tmp_path / "s"):  # counted over one step (capture/callcount.py): exact
        assert e["calls_exact"] is True and e["calls_per_step"] == per_step and e["calls_max"] == per_step
        assert any("profile.counted" in src for src in e["sources"])
    prof = Profile.load(tmp_path / "s" / "profile.json")
    assert len(prof.counted) == 1 and prof.counted[0].complete and prof.counted[0].frame == prof.step.frame
    w = prof.counted[0]
    timed = next(t for t in prof.timings if t.frame == prof.step.frame)
    inside = [e - b for b, e in zip(timed.starts, timed.ends) if w.start <= b and e <= w.end]
    assert len(inside) == 1 and inside[0] not in prof.step.durations_s  # the counted step is not measured
    assert len(timed.ends) - 2 <= len(prof.step.durations_s) <= len(timed.ends) - 1  # (nor the warm-up one)
    # Without the count (ADVISOR_COUNT_CALLS=off), samples alone: a lower bound and a ceiling around the truth.
    r = run_advisor(["profile", "--out", str(tmp_path / "n"), "--step", "train_step", str(SCALAR), str(steps),
                     str(tmp_path / "m3.json"), str(size)], timeout=300, env={"ADVISOR_COUNT_CALLS": "off"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert Profile.load(tmp_path / "n" / "profile.json").counted == ()
    for e in _mul_estimates(tmp_path / "n"):
        assert e["calls_exact"] is False
        assert 1 <= e["calls_per_step"] <= per_step
        assert e["calls_max"] >= per_step
        b = e["boundary_s_per_step"]  # the worst case crosses the boundary calls_max times
        assert b["high"] >= b["typical"] * per_step / e["calls_per_step"] * 0.999
    html = (tmp_path / "n" / "report.html").read_text()
    assert "≥" in html and "(est.)" not in html
    r = run_advisor(["profile", "--mode", "cprofile", "--out", str(tmp_path / "c"), "--step", "train_step",
                     str(SCALAR), str(steps), str(tmp_path / "m2.json"), str(size)], timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    for e in _mul_estimates(tmp_path / "c"):  # deterministic: exact
        assert e["calls_exact"] is True and e["calls_per_step"] == pytest.approx(per_step)
