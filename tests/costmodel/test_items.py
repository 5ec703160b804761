"""Items at the right level: one GC item for the step, phases, framework code, mode-independent verdicts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from advisor.costmodel import advise, load_config
from advisor.costmodel.items import combined
from advisor.model import Split
from tests.conftest import run_group
from tests.costmodel.helpers import OBJECTS, SMALL_NUMPY, K, make_analysis, make_profile

ROOT = Path(__file__).resolve().parents[2]
TORCH_FORWARD = '''
import torch

def kernel(x, w, v):
    for _ in range(4):
        a = torch.softmax(x @ w, dim=-1)
        x = torch.tanh(a @ v)
    return x
'''


def test_gc_is_one_item_for_the_step_and_leads():
    # Three allocating functions, most of each one's time in the collector.
    ks = [K(f"alloc{i}", Split(0.1, 0.0, 0.0, 0.9), OBJECTS) for i in range(3)]
    advice = advise(make_analysis(ks, rest=Split(0.3, 0, 0, 0)))
    gc_items = [it for it in advice.items if it.kind == "gc"]
    assert len(gc_items) == 1 and advice.items[0].kind == "gc"
    g = gc_items[0]
    assert g.share == pytest.approx(2.7 / 3.3)
    lv = load_config().levers
    # The range includes the share's own sampling interval (95% Wilson, k = share x n of the step's samples).
    from advisor.costmodel.formulas import STEP_FLOOR, wilson

    n = advice.analysis.step_samples
    lo, hi = wilson(round(g.share * n), n)
    assert lo < g.share < hi
    assert g.end_to_end.low == pytest.approx(1 / (1 - lo * lv.gc_removable.low))
    assert g.end_to_end.high == pytest.approx(min(1 / (1 - min(hi * lv.gc_removable.high, 1.0)), 1 / STEP_FLOOR))
    assert g.end_to_end.low < 1 / (1 - g.share * lv.gc_removable.low)
    assert "95% confidence" in g.reason
    assert "gc.freeze()" in g.reason and "alloc0" in g.reason
    assert advice.notes[0].startswith("First: Tune the cyclic GC")


def test_a_mode_blind_to_the_gc_says_so_and_does_not_port_object_code():
    # pyinstrument mode cannot see the collector (cprofile mode times it: tests/capture/test_cprofile_gc.py)
    ks = [K("build", Split(0.95, 0.05, 0, 0), OBJECTS, calls=10_000)]
    advice = advise(make_analysis(ks, rest=Split(0.05, 0, 0, 0), mode="pyinstrument"))
    assert not any(it.kind == "gc" for it in advice.items)
    assert any("cannot see the cyclic garbage collector" in n for n in advice.notes)
    k = advice.kernels[0] if advice.kernels[0].hotspot.key.qualname == "build" else advice.kernels[1]
    assert k.verdict == "leave" and "sample mode" in k.reason


def test_framework_code_never_gets_numpy_vectorization_at_any_interval():
    # The same torch function, caught in a new call by every sample (as at a 5 ms interval) or not.
    for seen in (None, 5000):
        ks = [K("attention", Split(0.4, 0.6, 0, 0), TORCH_FORWARD, seen=seen)]
        advice = advise(make_analysis(ks, rest=Split(0.05, 0, 0, 0)))
        k = next(k for k in advice.kernels if k.hotspot.key.qualname == "attention")
        assert k.category.framework == "torch" and k.category.name != "small-numpy-calls"
        assert k.verdict in ("leave", "accelerator")
        assert k.best is None or k.best.target not in ("numpy-vectorize", "numba")
        assert "torch.compile" in k.reason or k.verdict == "accelerator"
        assert any(it.kind == "framework" for it in advice.items)


def test_numpy_small_calls_still_batch():
    ks = [K("per_example", Split(0.4, 0.6, 0, 0), SMALL_NUMPY, seen=5000)]
    advice = advise(make_analysis(ks, rest=Split(0.05, 0, 0, 0)))
    k = next(k for k in advice.kernels if k.hotspot.key.qualname == "per_example")
    assert k.category.name == "small-numpy-calls" and k.category.framework == ""


def test_items_do_not_overlap_and_combined_is_amdahl_of_their_sum():
    ks = [K("alloc", Split(0.1, 0, 0, 0.5), OBJECTS), K("loop", Split(1.0, 0, 0, 0))]
    advice = advise(make_analysis(ks, rest=Split(0.2, 0, 0, 0)))
    assert sum(it.removed.high for it in advice.items) <= 1.0
    both = combined(advice.items)
    assert both.typical == pytest.approx(1 / (1 - sum(it.removed.typical for it in advice.items)))
    saved = [it.savings_per_month_usd.typical for it in advice.items]
    assert saved == sorted(saved, reverse=True)


def _profile(tmp_path: Path, script: str, *args: str) -> dict:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "advisor", "profile", "-o", str(out), "--format", "json",
           str(ROOT / "sample_workloads" / script), *args]
    r = run_group(cmd, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return {"advice": json.loads((out / "advice.json").read_text()), "stderr": r.stderr}


def test_gc_bound_sample_leads_with_the_gc_item(tmp_path):
    got = _profile(tmp_path, "scalar_autograd.py", "--steps", "8", "--epochs", "1")
    items = got["advice"]["items"]
    assert items[0]["kind"] == "gc" and items[0]["share"] > 0.4
    assert sum(1 for it in items if it["kind"] == "gc") == 1
    plan = next(line for line in got["stderr"].splitlines() if line.startswith("plan: "))
    assert plan.startswith("plan: Tune the cyclic GC") and "built-in example bill" in plan


def test_input_pipeline_sample_gets_one_phase_item(tmp_path):
    got = _profile(tmp_path, "input_pipeline.py", "--steps", "12", "--epochs", "1")
    items = got["advice"]["items"]
    assert items[0]["kind"] == "input-pipeline" and "make_batch" in items[0]["scope"]
    assert items[0]["share"] > 0.5
    # its own leaves are not items of their own
    assert not any(it["kind"] == "kernel" and it["scope"] in ("featurize", "normalize", "trigrams")
                   for it in items)
