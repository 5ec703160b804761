"""The noise rule and the ratio, on hand-built step times (numbers worked out by hand)."""

import pytest

from advisor.experiments.driver import parse_budget
from advisor.errors import UsageError
from advisor.experiments.results import FASTER, NO_GAIN, SLOWER
from advisor.experiments.timing import NOISE_FLOOR, compare_rounds, versus


def test_steady_baseline_and_a_clear_gain_is_faster():
    # round ratios: 10/5 = 2.0, 10.2/5.1 = 2.0, 9.9/4.5 = 2.2; baseline medians 10, 10.2, 9.9 → spread 0.3/10 = 3%
    pairs = [((10.0, 10.0, 11.0), (5.0, 5.0, 4.0)), ((10.2,), (5.1,)), ((9.9, 9.9), (4.5, 4.5))]
    c = compare_rounds(pairs)
    assert c.status == FASTER
    assert c.ratio == pytest.approx(2.0)
    assert (c.low, c.high) == (pytest.approx(2.0), pytest.approx(2.2))
    assert c.rounds == 3
    assert c.noise == pytest.approx(0.03)


def test_a_gain_inside_the_baselines_own_spread_is_no_gain():
    # baseline medians 10 and 14: spread 4/12 = 33%; ratios 1.25 and 1.4 are both under 1.33 + ... → no gain
    pairs = [((10.0,), (8.0,)), ((14.0,), (10.0,))]
    c = compare_rounds(pairs)
    assert c.noise == pytest.approx(4 / 12)
    assert c.status == NO_GAIN
    assert c.ratio == pytest.approx((1.25 + 1.4) / 2)


def test_one_round_never_claims_a_gain():
    c = compare_rounds([((10.0,), (2.0,))])
    assert c.ratio == pytest.approx(5.0)
    assert c.status == NO_GAIN


def test_every_round_slower_beyond_the_noise_is_slower():
    c = compare_rounds([((10.0,), (20.0,)), ((10.0,), (19.0,))])
    assert c.status == SLOWER
    assert c.high == pytest.approx(10 / 19)


def test_one_round_against_the_others_is_no_gain():
    c = compare_rounds([((10.0,), (5.0,)), ((10.0,), (10.0,))])  # 2.0 and 1.0: not every round agrees
    assert c.status == NO_GAIN
    assert c.noise == NOISE_FLOOR


def test_versus_prediction_needs_every_round_outside():
    assert versus(3.0, 4.0, (1.0, 2.5)) == "above"
    assert versus(0.5, 0.9, (1.0, 2.5)) == "below"
    assert versus(0.9, 1.2, (1.0, 2.5)) == "inside"
    assert versus(0.9, 1.2, None) == ""


def test_empty_rounds_raise():
    with pytest.raises(ValueError):
        compare_rounds([])


@pytest.mark.parametrize("text,seconds", [("5m", 300), ("90s", 90), ("1h", 3600), ("42", 42), (" 2M ", 120)])
def test_budget(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1m", "0", "m", "nan"])
def test_bad_budget(text):
    with pytest.raises(UsageError):
        parse_budget(text)
