"""Verdicts, estimates and the port plan on hand-built profiles with numbers worked out by hand."""

import json
import math

import pytest

from advisor.costmodel import advise, load_config
from advisor.costmodel.advise import calls_per_step
from advisor.costmodel.types import ACCELERATOR, FIX_IO, JIT_VECTORIZE, LEAVE, PORT, TUNE_GC
from advisor.model import Split
from advisor.render.advice_json import render_advice_json

from .helpers import NUMERIC_LOOP, OBJECTS, SMALL_NUMPY, VECTORIZED, K, make_analysis


def _by_name(advice):
    return {k.hotspot.key.qualname: k for k in advice.kernels}


def _config(tmp_path, body: str):
    path = tmp_path / "c.toml"
    path.write_text("[cluster]\nnodes = 100\nprice_per_node_hour = 0.578\n[team]\nengineer_cost_per_week = 3660\n" + body)
    return load_config(path)


def test_each_bucket_gets_its_verdict():
    a = make_analysis([
        K("gc_heavy", Split(interpreted=1.0, gc=2.0), OBJECTS),
        K("loader", Split(waiting=3.0, interpreted=0.2), NUMERIC_LOOP),
        K("tiny", Split(interpreted=0.2), NUMERIC_LOOP),
    ], rest=Split(interpreted=3.6))
    v = _by_name(advise(a))
    assert v["gc_heavy"].verdict == TUNE_GC and "67%" in v["gc_heavy"].reason and "gc.freeze()" in v["gc_heavy"].reason
    assert v["loader"].verdict == FIX_IO and "94%" in v["loader"].reason
    assert v["tiny"].verdict == LEAVE and "2.0%" in v["tiny"].reason and "5%" in v["tiny"].reason
    assert v["gc_heavy"].best is None and v["loader"].best is None


def test_seed_claim_68_percent_loading_28_percent_compute_caps_near_1_39():
    a = make_analysis([K("load_batch", Split(waiting=6.8)), K("forward_backward", Split(interpreted=2.8))],
                      rest=Split(interpreted=0.4))
    advice = advise(a)
    fb = _by_name(advice)["forward_backward"]
    assert fb.estimates, "every target is estimated"
    for e in fb.estimates:
        assert e.end_to_end.high <= 1 / (1 - 0.28) + 1e-9
    assert max(e.end_to_end.high for e in fb.estimates) == pytest.approx(1.389, abs=0.01)
    assert _by_name(advice)["load_batch"].verdict == FIX_IO
    assert any("68% of the step is waiting" in n for n in advice.notes)


def test_numeric_loop_with_few_calls_is_ported_or_vectorized_and_pays_back(tmp_path):
    cfg = _config(tmp_path, "")
    a = make_analysis([K("matmul", Split(interpreted=7.0, native=0.2), NUMERIC_LOOP, seen=11)],
                      rest=Split(interpreted=2.8))
    k = _by_name(advise(a, cfg))["matmul"]
    assert k.category.name == "numeric-loop"
    assert "3 nested loops" in k.category.evidence and "no NumPy calls in the loop" in k.category.evidence
    assert k.verdict in (PORT, JIT_VECTORIZE)
    assert k.best is not None and k.best.payback_months is not None
    assert k.best.payback_months.typical <= cfg.team.horizon_months
    # 72% of the step can change: never above 1 / (1 - 0.72) = 3.57x
    assert k.best.end_to_end.high < 1 / (1 - 0.72)
    assert k.best.calls_per_step == pytest.approx(1.1) and not k.best.calls_exact


def test_port_when_no_cheap_target_is_configured(tmp_path):
    # With the cheap targets made useless, the verdict must name the best compiled target.
    body = "".join(f"[targets.{t}.speedup]\nnumeric-loop = [1, 1, 1]\n" for t in ("numba", "numpy-vectorize"))
    cfg = _config(tmp_path, body)
    a = make_analysis([K("matmul", Split(interpreted=7.0), NUMERIC_LOOP)], rest=Split(interpreted=3.0))
    k = _by_name(advise(a, cfg))["matmul"]
    assert k.verdict == PORT
    assert k.best.kind == "port" and k.best.target in ("mojo", "rust", "cpp", "cpp-pybind11", "cython")
    assert k.best.target_name in k.reason and "months" in k.reason
    assert k.estimates[0] is k.best


def test_boundary_cost_flips_a_port_into_a_loss(tmp_path):
    cfg = _config(tmp_path, "")
    few = make_analysis([K("f", Split(interpreted=5.0), NUMERIC_LOOP, calls=100)], rest=Split(interpreted=5.0),
                        mode="cprofile")
    # 10 steps of 1 s: 50 million calls per step x >= 20 ns each = >= 1 s per step, more than f's 0.5 s
    many = make_analysis([K("f", Split(interpreted=5.0), NUMERIC_LOOP, calls=500_000_000)],
                         rest=Split(interpreted=5.0), mode="cprofile")
    k_few, k_many = _by_name(advise(few, cfg))["f"], _by_name(advise(many, cfg))["f"]
    assert k_few.verdict in (PORT, JIT_VECTORIZE)
    assert k_many.verdict == LEAVE
    # every target that crosses a boundary loses (the CPython JIT and one C-level string call cross none)
    assert all(e.end_to_end.typical < 1.0 for e in k_many.estimates if e.boundary_s_per_step.typical > 0)
    assert "boundary" in k_many.reason and "50,000,000 calls/step" in k_many.reason
    assert k_many.estimates[0].calls_exact and k_many.estimates[0].payback_months is None


def test_exact_calls_per_step_in_cprofile_mode():
    a = make_analysis([K("f", Split(interpreted=5.0), NUMERIC_LOOP, calls=4000)], rest=Split(interpreted=5.0),
                      mode="cprofile", steps=20)
    h = next(h for h in a.hotspots if h.key.qualname == "f")
    assert calls_per_step(h, a)[:2] == (200.0, True)


def test_small_numpy_calls_are_vectorized_not_ported():
    a = make_analysis([K("per_sample", Split(interpreted=3.0, native=4.0), SMALL_NUMPY, seen=10)],
                      rest=Split(interpreted=3.0))
    k = _by_name(advise(a))["per_sample"]
    assert k.category.name == "small-numpy-calls"
    assert "array-library calls in the loop" in k.category.evidence
    assert k.verdict == JIT_VECTORIZE and k.best.kind == "cheap"


def test_large_native_array_math_moves_to_an_accelerator_only_when_it_pays(tmp_path):
    a = make_analysis([K("dense", Split(native=8.0, interpreted=0.1), VECTORIZED)], rest=Split(interpreted=1.9))
    cfg_same_price = load_config(_write_cfg(tmp_path, "accelerator_price_per_node_hour = 0.578"))
    k = _by_name(advise(a, cfg_same_price))["dense"]
    assert k.category.name == "vectorized"
    assert k.verdict == ACCELERATOR and k.best.kind == "accelerator"
    dear = load_config(_write_cfg(tmp_path, "accelerator_price_per_node_hour = 50"))
    k2 = _by_name(advise(a, dear))["dense"]
    assert k2.verdict == LEAVE and "Already native" in k2.reason


def _write_cfg(tmp_path, cluster_line):
    path = tmp_path / "acc.toml"
    path.write_text(f"[cluster]\nnodes = 100\nprice_per_node_hour = 0.578\n{cluster_line}\n"
                    "[team]\nengineer_cost_per_week = 3660\n")
    return path


def test_payback_beyond_horizon_is_left_with_the_numbers(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text("[cluster]\nnodes = 1\nprice_per_node_hour = 0.578\n[team]\nengineer_cost_per_week = 3660\n"
                    "horizon_months = 0.5\n")
    cfg = load_config(path)
    a = make_analysis([K("objs", Split(interpreted=6.0), OBJECTS)], rest=Split(interpreted=4.0))
    k = _by_name(advise(a, cfg))["objs"]
    assert k.verdict == LEAVE
    assert "beyond the 0.5-month horizon" in k.reason and "$" in k.reason


def test_plan_is_ordered_by_return_and_cumulative_by_amdahl(tmp_path):
    cfg = _config(tmp_path, "")
    a = make_analysis([K("big", Split(interpreted=4.0), NUMERIC_LOOP), K("mid", Split(interpreted=2.0), NUMERIC_LOOP),
                       K("small", Split(interpreted=1.0), NUMERIC_LOOP)], rest=Split(waiting=3.0))
    advice = advise(a, cfg)
    plan = advice.plan
    assert [s.kernel for s in plan] == ["big", "mid", "small"]
    ratios = [_by_name(advice)[s.kernel].best for s in plan]
    assert [r.savings_per_month_usd.typical / r.cost_usd.typical for r in ratios] == sorted(
        [r.savings_per_month_usd.typical / r.cost_usd.typical for r in ratios], reverse=True)
    # cumulative speedup grows, stays under 1 / 0.3 (only the 70% interpreted can change)
    typ = [s.end_to_end.typical for s in plan]
    assert typ == sorted(typ) and typ[-1] < 1 / 0.3
    assert plan[-1].end_to_end.low <= plan[-1].end_to_end.typical <= plan[-1].end_to_end.high
    # cumulative savings follow from the cumulative speedup, not from summing each kernel's savings
    bill = cfg.monthly_bill_usd
    assert plan[-1].savings_per_month_usd == pytest.approx(bill * (1 - 1 / plan[-1].end_to_end.typical))
    assert plan[-1].cost_usd == pytest.approx(sum(r.cost_usd.typical for r in ratios))
    assert all(s.pays_back for s in plan)


def test_builtin_defaults_are_announced_and_every_assumption_has_a_source():
    advice = advise(make_analysis([K("f", Split(interpreted=5.0), NUMERIC_LOOP)], rest=Split(native=5.0)))
    assert advice.config_source == "built-in defaults"
    assert any("No config file" in n for n in advice.notes)
    keys = {a.key for a in advice.assumptions}
    assert {"cluster.price_per_node_hour", "team.engineer_cost_per_week", "targets.rust.overhead_ns",
            "targets.rust.speedup.numeric-loop"} <= keys
    assert all(a.source for a in advice.assumptions)
    assert any("CPython JIT" in n and "3.11" in n for n in advice.notes)  # needs 3.13+


def test_cpython_jit_is_a_candidate_on_313():
    a = make_analysis([K("f", Split(interpreted=5.0), NUMERIC_LOOP)], rest=Split(native=5.0), python="3.13.1")
    targets = {e.target for e in advise(a).kernels[0].estimates}
    assert "cpython-jit" in targets


def test_advice_json_is_versioned_strict_and_complete(tmp_path):
    a = make_analysis([K("f", Split(interpreted=5.0), NUMERIC_LOOP, calls=500_000_000)],
                      rest=Split(interpreted=5.0), mode="cprofile")
    advice = advise(a)
    text = render_advice_json(advice)
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert data["format"] == "advisor-advice" and data["version"] == 1
    f = next(k for k in data["kernels"] if k["function"] == "f")
    assert f["verdict"] == "leave" and f["category"]["name"] == "numeric-loop"
    e = f["estimates"][0]
    assert set(e["end_to_end"]) == {"low", "typical", "high"}
    assert e["payback_months"] is None and e["calls_exact"] is True
    assert data["config"]["source"] == "built-in defaults"
    assert len(data["assumptions"]) == len(advice.assumptions)


def test_infinite_payback_high_becomes_null_in_json():
    from advisor.render.advice_json import _range
    from advisor.costmodel.types import Range

    assert _range(Range(1.0, 2.0, math.inf)) == {"low": 1.0, "typical": 2.0, "high": None}


def test_a_change_worth_under_two_percent_of_the_step_is_left_alone():
    from advisor.costmodel.verdict import decide
    from dataclasses import replace
    a = make_analysis([K("fwd", Split(interpreted=0.2, native=0.4), SMALL_NUMPY, seen=10)],
                      rest=Split(native=9.4))
    k = _by_name(advise(a))["fwd"]
    assert k.verdict == JIT_VECTORIZE and k.best is not None
    # the same recommendation, had it gained under 2% of the step, is left alone
    small = replace(k.best, end_to_end=type(k.best.end_to_end)(1.005, 1.01, 1.015))
    verdict, reason, best = decide(k.hotspot, k.category, [small], load_config())
    assert verdict == LEAVE and best is None
    assert "not worth the work" in reason


def test_a_loop_of_numpy_calls_is_batchable_whatever_its_split():
    # the category comes from the source (NumPy calls in a loop), not from the sampled split, which moves
    # with --interval: mostly native or mostly interpreted, the verdict is the same
    for sp in (Split(interpreted=0.1, native=2.9), Split(interpreted=1.5, native=1.5)):
        k = _by_name(advise(make_analysis([K("fwd", sp, SMALL_NUMPY, seen=10)], rest=Split(native=7.0))))["fwd"]
        assert k.category.name == "small-numpy-calls" and k.category.dispatch_bound
        assert k.verdict == JIT_VECTORIZE


def test_tiny_small_numpy_calls_count_their_c_dispatch_as_removable():
    from advisor.costmodel.formulas import batches_native, end_to_end, new_share
    # cheap targets batch the calls: the native (dispatch) share shrinks too, ports keep it
    assert batches_native("small-numpy-calls", "cheap", True)
    assert not batches_native("small-numpy-calls", "port", True)
    assert not batches_native("small-numpy-calls", "cheap", False)  # big calls are real compute
    # hand-computed: i=0.1, n=0.7 of the step, S=5 on both: new = 0.02 + 0.14 = 0.16 -> E = 1/(0.2+0.16)
    assert end_to_end(0.8, new_share(0.1, 0.7, 0, 0, 5, 0, 0, 1.0, 5)) == pytest.approx(1 / 0.36)
