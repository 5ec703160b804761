"""Real profiles of tiny scripts with a known answer: the measured split puts each phase in its bucket.

Tolerances are wide on purpose (shared 2-core machines); benchmarks/ measures accuracy properly.
"""

import pytest

from advisor.analysis import analyze
from advisor.api import ProfileOptions, profile_script
from advisor.capture.runner import Target

PHASES = """
import gc, sys, time
import numpy as np

def python_loop():
    s = 0
    for i in range(150_000):
        s += i * i % 7
    return s

def matmul():
    a = np.random.default_rng(0).random((400, 400))
    for _ in range(4):
        a = a @ a
        a /= a.max()

def sleeper():
    time.sleep(0.03)

class Node:
    def __init__(self, other):
        self.other = other
        self.payload = [1, 2, 3]

def churn():
    gc.collect()
    keep = []
    for i in range(30_000):
        a = Node(None); b = Node(a); a.other = b  # a reference cycle: only the cyclic GC frees it
        keep.append(a)
    gc.collect()

import json
RECORDS = json.dumps([{"id": i, "vals": list(range(20)), "name": "x" * 30} for i in range(400)])

def parse_json():
    for _ in range(40):
        json.loads(RECORDS)  # the C scanner, holding the GIL

def small_arrays():
    a = np.ones(8)
    for _ in range(4000):
        a = a * 1.0001 + 0.5  # NumPy's C dispatch on a tiny array, under the + and * operators
        a = np.sqrt(a)

def step(kind):
    {"python": python_loop, "matmul": matmul, "sleep": sleeper, "gc": churn, "json": parse_json,
     "small_np": small_arrays}[kind]()

if __name__ == "__main__":
    for _ in range(int(sys.argv[2])):
        step(sys.argv[1])
"""


def _dominant(tmp_path, kind, steps):
    path = tmp_path / "phases.py"
    path.write_text(PHASES)
    prof = profile_script(Target("script", str(path), (kind, str(steps))), ProfileOptions(step="step"),
                          out_dir=tmp_path / "out")
    shares = analyze(prof).step_split.shares()
    return max(shares, key=shares.get), shares


@pytest.mark.parametrize("kind, steps, bucket", [
    ("python", 25, "interpreted"),
    ("matmul", 12, "native"),
    ("sleep", 25, "waiting"),
    # C functions that hold the GIL: the thread gives the GIL up at the bytecode boundary after them,
    # which GIL hand-over timing alone reads as interpreted (docs/how-it-works.md, "The native probe")
    ("json", 12, "native"),
    ("small_np", 12, "native"),
])
def test_each_phase_lands_in_its_bucket(tmp_path, kind, steps, bucket):
    dominant, shares = _dominant(tmp_path, kind, steps)
    assert dominant == bucket, shares
    assert shares[bucket] > 0.5, shares


def test_without_the_probe_the_run_still_works(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_NATIVE_PROBE", "off")
    dominant, shares = _dominant(tmp_path, "python", 15)
    assert dominant == "interpreted", shares


def test_gc_is_measured_separately(tmp_path):
    _, shares = _dominant(tmp_path, "gc", 8)
    assert shares["gc"] > 0.15, shares  # explicit full collections over many cycles


def test_profile_is_saved_and_reloads(tmp_path):
    path = tmp_path / "phases.py"
    path.write_text(PHASES)
    prof = profile_script(Target("script", str(path), ("sleep", "5")), out_dir=tmp_path / "out")
    from advisor.model import Profile
    assert Profile.load(tmp_path / "out" / "profile.json") == prof
    assert prof.step is not None and prof.frames[prof.step.frame].key.qualname == "step"
    assert str(path.resolve()) in prof.sources


def test_region_context_manager(tmp_path):
    import time
    from advisor import profiling

    def work():
        time.sleep(0.01)

    with profiling(step="work") as region:
        for _ in range(20):
            work()
    prof = region.profile
    assert prof is not None and prof.step is not None
    assert prof.step.calls >= 15
    assert analyze(prof).step_split.shares()["waiting"] > 0.7
