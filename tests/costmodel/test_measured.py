"""The cost model prefers a measured result (``advisor try``) to its prior: hand-built profiles, real Tryouts.

Oracles: the measured ratios themselves (a measured item's step speedup is the measured one, not the
prior), the monthly savings worked out by hand from the bill, and the ranking that follows.
"""

from __future__ import annotations

import pytest

from advisor.costmodel import advise, load_config
from advisor.experiments.results import Tryout
from advisor.model import Split
from tests.costmodel.helpers import NUMERIC_LOOP, OBJECTS, K, make_analysis

GC_HEAVY = [K(f"alloc{i}", Split(0.1, 0.0, 0.0, 0.9), OBJECTS) for i in range(3)]


def _t(name: str, status: str, ratio: float, low: float, high: float, predicted=(1.5, 2.5), **kw) -> Tryout:
    from advisor.experiments.timing import versus

    return Tryout(name, name, status, ratio=ratio, low=low, high=high, rounds=5, steps=100, noise=0.03,
                  predicted=predicted, versus_prediction=versus(low, high, predicted), **kw)


def _gc(advice):
    return next(it for it in advice.items if it.kind == "gc")


def test_a_measured_gc_gain_replaces_the_prior_and_is_quoted_beside_it():
    prior = _gc(advise(make_analysis(GC_HEAVY, rest=Split(0.3, 0, 0, 0))))
    advice = advise(make_analysis(GC_HEAVY, rest=Split(0.3, 0, 0, 0)),
                    measured=(_t("gc:freeze", "faster", 1.9, 1.8, 2.0),))
    g = _gc(advice)
    assert (g.end_to_end.low, g.end_to_end.typical, g.end_to_end.high) == (1.8, 1.9, 2.0)
    assert g.end_to_end != prior.end_to_end and g.measured == "gc:freeze" and prior.measured == ""
    cfg = load_config()
    assert g.savings_per_month_usd.typical == pytest.approx(cfg.monthly_bill_usd * cfg.step_fraction * (1 - 1 / 1.9))
    assert g.removed.typical == pytest.approx(1 - 1 / 1.9)
    assert "measured 1.90× (1.80×–2.00×, 5 rounds) beside predicted 1.50×–2.50×" in g.reason
    assert advice.notes[0].startswith("First: Tune the cyclic GC") and "1.90×" in advice.notes[0]
    assert [t.name for t in advice.measured] == ["gc:freeze"]
    from advisor.render.advice_json import advice_to_json

    data = advice_to_json(advice)
    assert data["items"][0]["measured"] == "gc:freeze" and data["measured"][0]["ratio"] == 1.9


def test_no_measurable_gain_counts_as_no_gain_and_the_item_stops_leading():
    ks = GC_HEAVY + [K("loop", Split(0.8, 0, 0, 0), NUMERIC_LOOP)]
    prior = advise(make_analysis(ks, rest=Split(0.3, 0, 0, 0)))
    assert prior.items[0].kind == "gc"
    freeze = _t("gc:freeze", "no-gain", 1.02, 0.97, 1.05)
    off = _t("gc:off", "no-gain", 1.01, 0.98, 1.04)
    advice = advise(make_analysis(ks, rest=Split(0.3, 0, 0, 0)), measured=(freeze, off))
    g = _gc(advice)
    assert g.end_to_end.typical == 1.0 and g.savings_per_month_usd.typical == 0.0 and g.payback_months is None
    assert "no measurable gain" in g.reason
    assert advice.items[0].kind == "kernel"  # the measured non-gain no longer outranks the loop's port


def test_gc_off_is_used_only_when_freeze_shows_no_gain():
    freeze, off = _t("gc:freeze", "no-gain", 1.0, 0.97, 1.04), _t("gc:off", "faster", 2.2, 2.1, 2.3)
    g = _gc(advise(make_analysis(GC_HEAVY, rest=Split(0.3, 0, 0, 0)), measured=(freeze, off)))
    assert g.measured == "gc:off" and g.end_to_end.typical == 2.2
    both = _gc(advise(make_analysis(GC_HEAVY, rest=Split(0.3, 0, 0, 0)),
                      measured=(_t("gc:freeze", "faster", 1.5, 1.4, 1.6), off)))
    assert both.measured == "gc:freeze" and both.end_to_end.typical == 1.5


def test_outside_the_predicted_range_is_said_plainly():
    advice = advise(make_analysis(GC_HEAVY, rest=Split(0.3, 0, 0, 0)),
                    measured=(_t("gc:freeze", "faster", 3.4, 3.1, 3.6),))
    note = next(n for n in advice.notes if n.startswith("Measured gc:freeze"))
    assert "above the predicted 1.50×–2.50×" in note and "needs correcting" in note
    assert "above the predicted range" in _gc(advice).reason
    inside = advise(make_analysis(GC_HEAVY, rest=Split(0.3, 0, 0, 0)),
                    measured=(_t("gc:freeze", "faster", 2.0, 1.6, 2.4),))
    assert not any(n.startswith("Measured gc:freeze") for n in inside.notes)


def test_refused_or_failed_experiments_leave_the_prior():
    prior = _gc(advise(make_analysis(GC_HEAVY, rest=Split(0.3, 0, 0, 0))))
    refused = Tryout("gc:freeze", "x", "failed", "the script raised")
    g = _gc(advise(make_analysis(GC_HEAVY, rest=Split(0.3, 0, 0, 0)), measured=(refused,)))
    assert g.end_to_end == prior.end_to_end and g.measured == ""


def _loop(advice):
    return next(k for k in advice.kernels if k.hotspot.key.qualname == "loop")


def test_a_measured_numba_result_replaces_that_estimate_and_the_verdict_is_decided_on_it():
    ks = [K("loop", Split(1.0, 0, 0, 0), NUMERIC_LOOP)]
    prior = _loop(advise(make_analysis(ks, rest=Split(0.2, 0, 0, 0))))
    assert prior.best is not None and prior.best.target != "numba"
    fast = _t("jit", "faster", 5.9, 5.8, 5.95, predicted=(2.0, 5.5), function="loop")
    k = _loop(advise(make_analysis(ks, rest=Split(0.2, 0, 0, 0)), measured=(fast,)))
    nb = next(e for e in k.estimates if e.target == "numba")
    assert (nb.end_to_end.low, nb.end_to_end.typical, nb.end_to_end.high) == (5.8, 5.9, 5.95)
    assert nb.measured == "jit" and nb.sources[0].startswith("measured by advisor try (jit)")
    # Amdahl back again: the new share reproduces the measured speedup
    assert 1 / ((1 - nb.share) + nb.new_share.typical) == pytest.approx(5.9)
    order = [e.target for e in k.estimates]
    assert order.index("numba") <= [e.target for e in prior.estimates].index("numba")
    item = next(it for it in advise(make_analysis(ks, rest=Split(0.2, 0, 0, 0)), measured=(fast,)).items
                if it.kind == "kernel")
    assert (item.measured == "jit") == (k.best is not None and k.best.target == "numba")


def test_a_measured_jit_loss_is_ranked_as_a_loss_and_never_recommended():
    ks = [K("loop", Split(1.0, 0, 0, 0), NUMERIC_LOOP)]
    slow = _t("jit", "slower", 0.8, 0.75, 0.85, predicted=(2.0, 5.5), function="loop")
    k = _loop(advise(make_analysis(ks, rest=Split(0.2, 0, 0, 0)), measured=(slow,)))
    nb = next(e for e in k.estimates if e.target == "numba")
    assert nb.savings_per_month_usd.typical < 0 and nb.payback_months is None
    positive = [e for e in k.estimates if e.savings_per_month_usd.typical > 0]
    assert positive and all(k.estimates.index(e) < k.estimates.index(nb) for e in positive)
    assert k.best is None or k.best.target != "numba"


def test_a_jit_result_for_another_function_changes_nothing():
    ks = [K("loop", Split(1.0, 0, 0, 0), NUMERIC_LOOP)]
    prior = _loop(advise(make_analysis(ks, rest=Split(0.2, 0, 0, 0))))
    other = _t("jit", "slower", 0.5, 0.45, 0.55, function="somewhere_else")
    k = _loop(advise(make_analysis(ks, rest=Split(0.2, 0, 0, 0)), measured=(other,)))
    assert [e.end_to_end for e in k.estimates] == [e.end_to_end for e in prior.estimates]


def test_threads_gain_becomes_an_item_only_when_measured_faster():
    ks = [K("matmul", Split(0.05, 1.0, 0, 0), NUMERIC_LOOP)]
    a = make_analysis(ks, rest=Split(0.1, 0, 0, 0))
    assert not any(it.kind == "threads" for it in advise(a).items)
    noise = _t("threads", "no-gain", 1.02, 0.99, 1.06, predicted=(1.0, 1.8))
    assert not any(it.kind == "threads" for it in advise(a, measured=(noise,)).items)
    th = next(it for it in advise(a, measured=(_t("threads", "faster", 1.6, 1.5, 1.7, predicted=(1.0, 1.8)),)).items
              if it.kind == "threads")
    assert th.end_to_end.typical == 1.6 and th.measured == "threads"
    assert th.share == pytest.approx(1.0 / 1.15)
    assert th.cost_usd.typical == pytest.approx(load_config().levers.threads_weeks.typical
                                                * load_config().team.engineer_cost_per_week)
