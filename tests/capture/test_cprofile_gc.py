"""cprofile mode times the cyclic GC (capture/deterministic.py): on a GC-heavy step the collector is a
measured item of the advice, as in sample mode, not time hidden in the functions that allocated."""

import json

from advisor.model import Profile
from tests.conftest import ROOT, run_advisor

SCALAR = ROOT / "tests" / "capture" / "scalar_autograd.py"


def test_cprofile_mode_sees_the_gc_and_makes_it_an_item(tmp_path):
    r = run_advisor(["profile", "--mode", "cprofile", "--out", str(tmp_path / "o"), str(SCALAR), "30",
                     str(tmp_path / "m.json"), "32"], timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    prof = Profile.load(tmp_path / "o" / "profile.json")
    split = prof.region_split("step")
    assert split.gc > 0.1 * split.total  # every step builds thousands of cyclic Value graphs
    advice = json.loads((tmp_path / "o" / "advice.json").read_text())
    gc_item = next(it for it in advice["items"] if it["kind"] == "gc")
    assert gc_item["share"] > 0.1
    assert not any("cannot see the cyclic garbage collector" in n for n in advice["notes"])
    assert abs(gc_item["share"] - split.gc / split.total) < 0.01  # one item for the step's measured GC
    assert "gc.callbacks" in r.stderr
