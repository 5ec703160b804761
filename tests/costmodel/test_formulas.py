"""The formulas against hand-computed numbers, Amdahl's bound, and the seed article's claims."""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from advisor.costmodel import formulas as fm

share = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
speed = st.floats(min_value=0.1, max_value=1e4, allow_nan=False)
pos = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)


def test_hand_computed_kernel():
    # i = 0.4, n = 0.1 of a 0.1 s step; 10x on the interpreted part; 1000 calls x 100 ns
    # boundary = 1000 x 100e-9 / 0.1 = 0.001; new = 0.04 + 0.1 + 0.001 = 0.141; p = 0.5
    new = fm.new_share(0.4, 0.1, 0.0, 0.0, 10.0, 1000, 100.0, 0.1)
    assert new == pytest.approx(0.141)
    assert fm.kernel_speedup(0.5, new) == pytest.approx(3.5461, rel=1e-4)
    assert fm.end_to_end(0.5, new) == pytest.approx(1 / 0.641)
    bill = fm.monthly_bill(10, 0.578, 730)
    assert bill == pytest.approx(4219.4)
    savings = fm.monthly_savings(bill, 1.0, fm.end_to_end(0.5, new))
    assert savings == pytest.approx(4219.4 * 0.359)  # 1 - 0.641 = 0.359 of the bill
    # 200 lines, 0.5 wk/100 LOC, cc 5 (+20%), x3, +2 fixed = 2 x 0.5 x 1.2 x 3 + 2 = 5.6 weeks
    weeks = fm.effort_weeks(200, 0.5, 5, 0.05, 3.0, 2.0)
    assert weeks == pytest.approx(5.6)
    cost = fm.port_cost(weeks, 3660)
    assert cost == pytest.approx(20496)
    assert fm.payback_months(cost, savings) == pytest.approx(20496 / 1514.7646)


def test_accelerator_terms_and_a_dearer_node():
    # native 0.6 of the step 8x faster on the device, 150 MB at 16 GB/s per 0.5 s step
    transfer = fm.transfer_seconds(150, 16)
    assert transfer == pytest.approx(0.009375)
    new = fm.new_share(0.0, 0.6, 0.0, 0.0, 1.0, 0, 0.0, 0.5, native_speedup=8.0, transfer_s_per_step=transfer)
    assert new == pytest.approx(0.075 + 0.01875)
    e2e = fm.end_to_end(0.6, new)
    # the same speedup saves less on nodes that cost 1.74x as much (g5.xlarge vs c7g.4xlarge)
    cheap = fm.monthly_savings(4219.4, 1.0, e2e)
    dear = fm.monthly_savings(4219.4, 1.0, e2e, new_bill=4219.4 * 1.006 / 0.578)
    assert dear == pytest.approx(4219.4 - 7343.8 / e2e, rel=1e-3)
    assert dear < cheap


def test_seed_article_data_loading_claim_is_capped_by_amdahl():
    # A step that is 68% data loading and 28% forward/backward: porting only the 28% cannot give 4.2x.
    assert fm.amdahl_cap(0.28) == pytest.approx(1.3889, rel=1e-4)
    infinitely_fast = fm.end_to_end(0.28, 0.0)
    assert infinitely_fast == pytest.approx(1 / 0.72)
    assert infinitely_fast < 4.2


def test_seed_article_money_claims():
    # 100 c7g.4xlarge nodes for a month: $42,194, not the $128-per-100-hours the article's price implies
    bill = fm.monthly_bill(100, 0.578, 730)
    assert bill == pytest.approx(42194, abs=1)
    # 5.2x on every node-hour would save $34,080; the claimed $12,400 needs only ~36% of them in matmul
    assert fm.monthly_savings(bill, 1.0, 5.2) == pytest.approx(34080, abs=5)
    assert 12400 / fm.monthly_savings(bill, 1.0, 5.2) == pytest.approx(0.364, abs=0.002)
    # a 1000-line module, 2 engineer-weeks, $2,000/month saved: (2 x $3,660) / $2,000 = 3.66 months
    assert fm.payback_months(fm.port_cost(2, 3660), 2000) == pytest.approx(3.66)


def test_given_monthly_bill_wins_over_nodes():
    assert fm.monthly_bill(10, 0.578, 730, monthly_bill_usd=1000.0) == 1000.0


@given(i=share, n=share, w=share, g=share, s=speed, c=st.floats(0, 1e7), o=st.floats(0, 1e5), t=pos)
def test_end_to_end_never_beats_amdahl_on_what_can_change(i, n, w, g, s, c, o, t):
    assume(i + n + w + g <= 1.0)
    p = i + n + w + g
    e2e = fm.end_to_end(p, fm.new_share(i, n, w, g, s, c, o, t))
    assert e2e <= fm.amdahl_cap(i) * (1 + 1e-9)  # only the interpreted part changes
    assert e2e <= fm.amdahl_cap(p) * (1 + 1e-9)


@given(e1=st.floats(0.01, 100), e2=st.floats(0.01, 100), bill=st.floats(0, 1e7), f=st.floats(0.01, 1))
def test_savings_monotone_in_speedup(e1, e2, bill, f):
    lo, hi = sorted((e1, e2))
    assert fm.monthly_savings(bill, f, lo) <= fm.monthly_savings(bill, f, hi) + 1e-6


@given(e=st.floats(1.0, 100), p1=st.floats(0, 100), p2=st.floats(0, 100), nodes=st.integers(1, 1000))
def test_savings_monotone_in_price(e, p1, p2, nodes):
    lo, hi = sorted((p1, p2))
    s_lo = fm.monthly_savings(fm.monthly_bill(nodes, lo, 730), 1.0, e)
    s_hi = fm.monthly_savings(fm.monthly_bill(nodes, hi, 730), 1.0, e)
    assert s_lo <= s_hi + 1e-6


@given(cost=st.floats(0, 1e7), savings=st.floats(-1e6, 1e6))
def test_payback_undefined_without_savings(cost, savings):
    months = fm.payback_months(cost, savings)
    if savings <= 0:
        assert months is None
    else:
        assert months == pytest.approx(cost / savings)


@given(i=st.floats(0.01, 1.0), s=st.floats(1.01, 1e3), o=st.floats(1.0, 1e4), t=st.floats(1e-4, 10))
def test_boundary_cost_can_flip_a_port_into_a_loss(i, s, o, t):
    gain = i - i / s  # share of the step the port removes
    calls = 2 * gain * t / (o * fm.NS)  # crossings that cost twice that
    e2e = fm.end_to_end(i, fm.new_share(i, 0, 0, 0, s, calls, o, t))
    assert e2e < 1.0
    assert fm.monthly_savings(4219.4, 1.0, e2e) < 0
    assert fm.payback_months(10_000, fm.monthly_savings(4219.4, 1.0, e2e)) is None
    few = fm.end_to_end(i, fm.new_share(i, 0, 0, 0, s, calls / 1e6, o, t))
    assert few > 1.0


def test_edge_cases_stay_finite_or_explicit():
    assert fm.kernel_speedup(0.0, 0.0) == 1.0
    assert math.isinf(fm.kernel_speedup(0.3, 0.0))
    assert math.isinf(fm.amdahl_cap(1.0))
    assert fm.boundary_share(10, 100, 0.0) == 0.0
    assert fm.step_shares(1, 1, 1, 1, 0.0) == (0.0, 0.0, 0.0, 0.0)
