"""A saved profile is a measurement: ``advisor report --step`` decides the step again from its samples."""

import json

from advisor.analysis import analyze
from advisor.model import Profile
from tests.conftest import run_advisor, write_script

SCRIPT = """
import time

def load_batch():
    s = 0
    for i in range(150000):
        s += i
    return s

def train_step():
    s = 0
    for i in range(300000):
        s += i * i
    return s

for it in range(40):
    load_batch()
    train_step()
"""


def _profiled(tmp_path):
    script = write_script(tmp_path, "train.py", SCRIPT)
    out = tmp_path / "out"
    r = run_advisor(["profile", "-q", "--format", "json", "--out", str(out), str(script)], cwd=tmp_path, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    return out / "profile.json"


def test_report_chooses_another_step_from_the_saved_samples(tmp_path):
    path = _profiled(tmp_path)
    saved = Profile.load(path)
    assert saved.version == 3 and saved.timeline is not None
    assert len(saved.timeline.stack) == sum(r.samples for r in saved.stacks)
    assert saved.frames[saved.step.frame].key.qualname == "train_step"  # named like a step

    other = analyze(saved, step="load_batch", warmup=2)
    assert other.step_name == "load_batch" and other.profile.step.warmup == 2
    assert other.profile.step.chosen_by == "--step"
    assert 30 <= other.profile.step.calls <= 40  # sampled: a few short calls may merge
    # the same samples, other regions: the step's time is load_batch's, not train_step's
    assert other.step_split.total < analyze(saved).step_split.total
    assert {h.key.qualname for h in other.hotspots} == {"load_batch"}

    loop = analyze(saved, step="train.py:16")
    assert loop.profile.step.loop_lines == (16, 18)
    assert {"load_batch", "train_step"} <= {h.key.qualname for h in loop.hotspots}

    r = run_advisor(["report", str(path), "--step", "load_batch", "--format", "json", "--out", str(tmp_path / "r")],
                    cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "step: load_batch" in r.stderr
    advice = json.loads((tmp_path / "r" / "advice.json").read_text())
    assert "load_batch" in json.dumps(advice)
    assert Profile.load(path) == saved  # the saved measurement is left as it was


def test_report_step_that_never_ran_is_one_line_and_exit_code(tmp_path):
    path = _profiled(tmp_path)
    r = run_advisor(["report", str(path), "--step", "no_such_fn", "--out", str(tmp_path / "r")], cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) <= 2 and "no_such_fn" in lines[0] and "Traceback" not in r.stderr


def test_a_version_1_profile_loads_and_refuses_only_a_new_step(tmp_path):
    path = _profiled(tmp_path)
    data = json.loads(path.read_text())
    data["version"] = 1
    for key in ("timeline", "timings"):
        del data[key]
    del data["step"]["count_exact"]
    old = tmp_path / "v1.json"
    old.write_text(json.dumps(data))
    prof = Profile.load(old)
    assert prof.timeline is None and prof.step is not None
    assert analyze(prof).step_name == "train_step"  # the saved decision stands
    r = run_advisor(["report", str(old), "--step", "load_batch", "--out", str(tmp_path / "r")], cwd=tmp_path)
    assert r.returncode == 2 and "format version 1" in r.stderr and "Traceback" not in r.stderr
    r = run_advisor(["report", str(old), "-q", "--format", "json", "--out", str(tmp_path / "r2")], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
