"""``advisor try`` end to end on real scripts, each run a real subprocess (killed on timeout).

Assertions are on what is certain: which experiments ran, that the child applied them, that each ratio
is the median over rounds of the per-round ratio of median step times recorded for each run, and that
the status follows the noise rule. Never on how large a speedup is.
"""

import json
import statistics

import pytest

from advisor.experiments.threads import usable_cores
from tests.conftest import ROOT, run_advisor

pytestmark = pytest.mark.slow
MEASURED = {"faster", "slower", "no-gain"}


def _tryouts(out):
    data = json.loads((out / "tryouts.json").read_text())
    assert data["format"] == "advisor-tryouts" and data["version"] == 1
    return {t["name"]: t for t in data["tryouts"]}


def _check_arithmetic(t):
    """Recompute the ratio, spread, step count and status from the recorded per-run step times."""
    runs = t["runs"]
    base = {r["round"]: r for r in runs if r["experiment"] == "baseline"}
    exp = [r for r in runs if r["experiment"] == t["name"]]
    assert len(exp) == t["rounds"] >= 1
    ratios = [statistics.median(base[r["round"]]["durations_s"]) / statistics.median(r["durations_s"]) for r in exp]
    assert t["ratio"] == pytest.approx(statistics.median(ratios))
    assert (t["low"], t["high"]) == (pytest.approx(min(ratios)), pytest.approx(max(ratios)))
    assert t["steps"] == sum(len(r["durations_s"]) for r in exp)
    medians = [statistics.median(base[r["round"]]["durations_s"]) for r in exp]
    spread = (max(medians) - min(medians)) / statistics.median(medians)
    assert t["noise"] == pytest.approx(max(0.03, spread))
    if t["rounds"] >= 2 and min(ratios) > 1 + t["noise"]:
        assert t["status"] == "faster"
    elif t["rounds"] >= 2 and max(ratios) < 1 / (1 + t["noise"]):
        assert t["status"] == "slower"
    else:
        assert t["status"] == "no-gain"


def test_gc_experiments_on_the_gc_heavy_workload(tmp_path):
    out = tmp_path / "out"
    r = run_advisor(["try", "--only", "gc", "--steps", "4", "--warmup", "1", "--rounds", "2", "--budget", "4m",
                     "--out", str(out), "sample_workloads/scalar_autograd.py", "--steps", "12", "--epochs", "1",
                     "--batch", "8"], cwd=ROOT, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    tried = _tryouts(out)
    assert set(tried) == {"gc:freeze", "gc:off"}
    for name, t in tried.items():
        assert t["status"] in MEASURED, t
        assert t["rounds"] == 2
        assert all(run["timing"] == "exact" for run in t["runs"])
        _check_arithmetic(t)
        lo, hi = t["predicted"]["low"], t["predicted"]["high"]
        assert 1.0 <= lo <= hi
    assert "objects frozen" in tried["gc:freeze"]["detail"] and "threshold 700" in tried["gc:freeze"]["detail"]
    assert "collector off" in tried["gc:off"]["detail"]
    advice = json.loads((out / "advice.json").read_text())
    assert [m["name"] for m in advice["measured"]] == ["gc:freeze", "gc:off"]
    assert "runs" not in advice["measured"][0]
    assert 'id="measured"' in (out / "report.html").read_text()
    assert "ADVISOR_TRY=1" in r.stderr
    assert "advisor try: round 2/2 · gc:off" in r.stderr
    line = next(ln for ln in r.stderr.splitlines() if ln.strip().startswith("gc:freeze "))
    assert ("measured " in line or "no measurable gain" in line or "slower" in line) and "predicted" in line


THREADS_SCRIPT = """
import os, sys
import numpy as np
from threadpoolctl import threadpool_limits

with open(sys.argv[1], "a") as fh:          # one line per process: what ADVISOR_TRY said
    fh.write(os.environ.get("ADVISOR_TRY", "-") + "\\n")
threadpool_limits(1)                          # the script pins BLAS to one thread

def train_step(a, b):
    return float((a @ b).sum())

a = np.random.default_rng(0).random((400, 400))
for _ in range(int(sys.argv[2])):
    train_step(a, a)
"""


def test_threads_experiment_and_the_try_variable(tmp_path):
    script = tmp_path / "blas.py"
    script.write_text(THREADS_SCRIPT)
    seen, out = tmp_path / "seen.txt", tmp_path / "out"
    r = run_advisor(["try", "--only", "threads", "--steps", "5", "--warmup", "1", "--rounds", "2",
                     "--step", "train_step", "--out", str(out), str(script), str(seen), "40"],
                    cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    t = _tryouts(out)["threads"]
    lines = seen.read_text().split()
    assert lines[0] == "-"                       # the profile run itself is not an experiment run
    if usable_cores() < 2:
        assert t["status"] == "not-applicable" and "one core" in t["detail"]
        return
    assert set(lines[1:]) == {"1"} and len(lines) == 1 + 2 * 2  # baseline + threads, two rounds
    assert t["status"] in MEASURED, t
    assert f"→ {usable_cores()}" in t["detail"] and "1 →" in t["detail"]
    _check_arithmetic(t)


def test_jit_swaps_the_numeric_loop_of_the_kernel_workload(tmp_path):
    pytest.importorskip("numba")
    out = tmp_path / "out"
    r = run_advisor(["try", "--only", "jit", "--steps", "4", "--rounds", "2", "--out", str(out),
                     "sample_workloads/pure_python_kernel.py", "--steps", "20", "--epochs", "1", "--window", "1024"],
                    cwd=ROOT, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    t = _tryouts(out)["jit"]
    assert t["label"] == "conv1d → numba.njit"
    assert t["status"] in MEASURED, t
    assert "first call agrees" in t["detail"]
    _check_arithmetic(t)


def test_nothing_applies_is_said_not_run(tmp_path):
    out = tmp_path / "out"
    r = run_advisor(["try", "--only", "gc,interpreter", "--python", "no-such-python3.13", "--steps", "3",
                     "--out", str(out), "sample_workloads/pure_python_kernel.py", "--steps", "8", "--epochs", "1",
                     "--window", "512"], cwd=ROOT, timeout=200)
    assert r.returncode == 0, r.stderr[-2000:]
    tried = _tryouts(out)
    assert tried["gc"]["status"] == "not-applicable" and "under 2%" in tried["gc"]["detail"]
    assert tried["interpreter"]["status"] == "not-available" and "no-such-python3.13" in tried["interpreter"]["detail"]
    assert "r1-baseline" not in r.stderr and "round 1" not in r.stderr  # no run was started


@pytest.mark.parametrize("args,needle", [
    (["--only", "gc,bogus"], "unknown experiment 'bogus'"),
    (["--budget", "5x"], "--budget '5x'"),
    (["--steps", "0"], "--steps and --rounds must be 1 or more"),
])
def test_bad_options_are_one_line_exit_2(tmp_path, args, needle):
    r = run_advisor(["try", *args, "sample_workloads/pure_python_kernel.py"], cwd=ROOT, timeout=60)
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_profile_then_try(tmp_path):
    out = tmp_path / "out"
    r = run_advisor(["profile", "--try", "--max-steps", "3", "--out", str(out), "sample_workloads/scalar_autograd.py",
                     "--steps", "10", "--epochs", "1", "--batch", "4"], cwd=ROOT, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    tried = _tryouts(out)
    assert {"gc:freeze", "gc:off"} <= set(tried)
    assert tried["gc:freeze"]["status"] in MEASURED
    assert "tryouts saved" in r.stderr


def test_budget_stops_starting_rounds_and_still_reports(tmp_path):
    # A 1 s budget: round 1 always runs (there is nothing to judge a round's length by before it),
    # round 2 does not start because the first round alone took longer than the budget.
    out = tmp_path / "out"
    r = run_advisor(["try", "--only", "gc", "--steps", "3", "--warmup", "1", "--rounds", "5", "--budget", "1s",
                     "--out", str(out), "sample_workloads/scalar_autograd.py", "--steps", "8", "--epochs", "1",
                     "--batch", "4"], cwd=ROOT, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    tried = _tryouts(out)
    for t in tried.values():
        assert t["rounds"] == 1 and t["status"] == "no-gain", t  # one round never claims a gain
        _check_arithmetic(t)
    assert "round 1/5" in r.stderr and "round 2/5" not in r.stderr
    assert "of 0:01 budget" in r.stderr
