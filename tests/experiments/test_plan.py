"""Which experiments apply, and the predictions they carry: hand-built profiles through the real cost model."""

from __future__ import annotations

import importlib.util

import pytest

from advisor.costmodel import advise, load_config
from advisor.experiments import plan as plan_mod
from advisor.experiments.plan import plan_experiments
from advisor.model import Split
from tests.costmodel.helpers import NUMERIC_LOOP, OBJECTS, K, make_analysis


def _advice(ks, rest=Split(0.3, 0, 0, 0)):
    return advise(make_analysis(ks, rest=rest))


def test_gc_freeze_predicts_the_cost_models_own_gc_item():
    advice = _advice([K(f"alloc{i}", Split(0.1, 0, 0, 0.9), OBJECTS) for i in range(3)])
    p = plan_experiments(advice, ("gc",))
    freeze = next(e for e in p.experiments if e.name == "gc:freeze")
    item = next(it for it in advice.items if it.kind == "gc")
    assert freeze.predicted == (item.end_to_end.low, item.end_to_end.high)
    rem = load_config().levers.gc_removable
    # the item's low end takes the GC share's lower 95% (Wilson) bound (costmodel/items_gc.py)
    from advisor.costmodel.items_gc import gc_share_bounds

    lo, _, _, _ = gc_share_bounds(advice.analysis, item.share)
    assert lo < item.share
    assert freeze.predicted[0] == pytest.approx(1 / (1 - lo * rem.low))
    assert "levers.gc_removable" in freeze.predicted_basis


def test_jit_without_numba_is_not_available_and_says_so(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(plan_mod.importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a))
    p = plan_experiments(_advice([K("loop", Split(2.0, 0, 0, 0), NUMERIC_LOOP)]), ("jit",))
    assert not p.experiments
    (t,) = p.skipped
    assert t.status == "not-available" and "numba is not installed" in t.detail and "loop" in t.detail


def test_jit_with_numba_targets_the_loop_and_carries_the_numba_estimate():
    pytest.importorskip("numba")
    advice = _advice([K("loop", Split(2.0, 0, 0, 0), NUMERIC_LOOP)])
    (e,) = plan_experiments(advice, ("jit",)).experiments
    est = next(x for k in advice.kernels for x in k.estimates if x.target == "numba")
    assert e.function == ("/w/loop.py", "loop") and e.predicted == (est.end_to_end.low, est.end_to_end.high)
