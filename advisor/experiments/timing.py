"""Median ratio, spread and the noise rule: pure functions over per-step durations.

Each round holds one baseline run (A) and one run of the experiment (B), started one after the other, so
slow drifts of the machine (another job, thermal limits) hit both. A round's ratio is
``median(A steps) / median(B steps)`` (above 1: the experiment is faster). The result is the median of
the round ratios, with their smallest and largest as the spread.

The noise rule: the band ``noise`` is how much the baseline's own median moves from round to round
(largest minus smallest over their median), never less than ``NOISE_FLOOR``. A gain is claimed only when
*every* round's ratio is above ``1 + noise`` (a loss when every one is below ``1 / (1 + noise)``);
anything else is "no measurable gain". One round cannot show its own noise, so it never claims a gain.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from advisor.experiments.results import FASTER, NO_GAIN, SLOWER

NOISE_FLOOR = 0.03  # below 3% a sampled step time cannot tell a change from a busy neighbour


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing paired rounds."""

    status: str        # FASTER, SLOWER or NO_GAIN
    ratio: float       # median round ratio
    low: float
    high: float
    rounds: int
    noise: float


def round_ratio(baseline_s: list[float] | tuple[float, ...], experiment_s: list[float] | tuple[float, ...]) -> float:
    """``median(baseline) / median(experiment)``; raises ValueError on an empty list or a zero median."""
    a, b = statistics.median(baseline_s), statistics.median(experiment_s)
    if b <= 0:
        raise ValueError("experiment steps took no measurable time")
    return a / b


def baseline_noise(baseline_medians: list[float]) -> float:
    """Round-to-round spread of the baseline's median step, relative, at least ``NOISE_FLOOR``."""
    if len(baseline_medians) < 2:
        return NOISE_FLOOR
    mid = statistics.median(baseline_medians)
    spread = (max(baseline_medians) - min(baseline_medians)) / mid if mid > 0 else 0.0
    return max(NOISE_FLOOR, spread)


def compare_rounds(pairs: list[tuple[tuple[float, ...], tuple[float, ...]]]) -> Comparison:
    """Compare (baseline steps, experiment steps) per round; see the module docstring for the rule.

    Raises ValueError when ``pairs`` is empty or a round has no steps.
    """
    if not pairs:
        raise ValueError("no rounds")
    ratios = [round_ratio(a, b) for a, b in pairs]
    noise = baseline_noise([statistics.median(a) for a, _ in pairs])
    low, high = min(ratios), max(ratios)
    status = NO_GAIN
    if len(ratios) >= 2 and low > 1 + noise:
        status = FASTER
    elif len(ratios) >= 2 and high < 1 / (1 + noise):
        status = SLOWER
    return Comparison(status, statistics.median(ratios), low, high, len(ratios), noise)


def versus(low: float, high: float, predicted: tuple[float, float] | None) -> str:
    """Where the measured round ratios (``low``..``high``) fall against a predicted (low, high) range:
    "above" or "below" only when every round lies outside it, else "inside"."""
    if predicted is None:
        return ""
    if high < predicted[0]:
        return "below"
    if low > predicted[1]:
        return "above"
    return "inside"
