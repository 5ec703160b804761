"""``compare(before, after)``: step time with its spread, each function's time per step, the split, and
every prediction of the before advice held against what the after run measured.

Times are per measured step (mean), so runs of different lengths compare; a function's time per step is
its self share of the step times the mean step. Measured ranges are 95% intervals from the spread of
step times and, for sampled runs, the number of samples behind each share (binomial: relative error
about 1/sqrt(n)).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.analysis import Analysis, analyze
from advisor.compare.comparable import differences, step_label
from advisor.compare.match import Match, match_functions
from advisor.compare.predictions import Prediction, Span, predictions_for
from advisor.errors import UsageError
from advisor.model import Profile, Split

Z95 = 1.96
ACTED_ON = 1.2  # a predicted function at least this much faster counts as changed for the step check
MAX_ROWS = 15


class NotComparable(UsageError):
    """Two profiles whose numbers would mislead side by side (different interval, mode, machine, step)."""


@dataclass(frozen=True, slots=True)
class StepTimes:
    """One side's step: name, count and spread of the measured steps, split as shares, sample count."""

    name: str
    count: int
    mean_s: float
    median_s: float
    p95_s: float
    sd_s: float
    samples: int
    split: Split  # shares of the step (sum to 1)


@dataclass(frozen=True, slots=True)
class FunctionDelta:
    """One matched (or gone / new) function: share of its step and seconds per step on each side."""

    match: Match
    before_share: float
    after_share: float
    before_s: float
    after_s: float
    before_split: Split  # shares of the function's own time
    after_split: Split

    @property
    def speedup(self) -> float | None:
        if self.before_s <= 0:
            return None
        return math.inf if self.after_s <= 0 else self.before_s / self.after_s


@dataclass(frozen=True, slots=True)
class PredictionCheck:
    """A prediction and what was measured: status is inside, below, above or gone."""

    prediction: Prediction
    match: Match | None
    measured: float | None
    measured_range: Span | None
    status: str
    within_noise: bool
    sentence: str


@dataclass(frozen=True, slots=True)
class StepCheck:
    """The step speedup predicted for the functions that changed, against the measured one."""

    functions: tuple[str, ...]
    predicted: Span
    measured: float
    status: str
    within_noise: bool
    sentence: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """Everything ``advisor compare`` reports; renderers only format it."""

    before_label: str
    after_label: str
    before: StepTimes
    after: StepTimes
    speedup: float
    speedup_range: Span
    functions: tuple[FunctionDelta, ...]
    matches: tuple[Match, ...]
    predictions: tuple[PredictionCheck, ...]
    step_check: StepCheck | None
    prediction_source: str
    notes: tuple[str, ...]


def load_side(path: str | Path) -> tuple[Profile, Path | None]:
    """A profile.json, or an output folder holding one; with the advice.json beside it, if any."""
    p = Path(path)
    if p.is_dir():
        p = p / "profile.json"
        if not p.is_file():
            raise UsageError(f"{path}: no profile.json in this folder")
    elif not p.exists():
        raise UsageError(f"{path}: no such file or folder")
    advice = p.parent / "advice.json"
    return Profile.load(p), (advice if advice.is_file() else None)


def compare_paths(before: str | Path, after: str | Path, config: Any = None, force: bool = False) -> Comparison:
    """Load both sides and ``compare`` them (predictions from the before folder's advice.json unless
    ``config`` is given)."""
    pb, advice = load_side(before)
    pa, _ = load_side(after)
    return compare(pb, pa, config=config, force=force, advice_json=advice, labels=(str(before), str(after)))


def compare(before: Profile, after: Profile, config: Any = None, force: bool = False,
            advice_json: Path | None = None, labels: tuple[str, str] = ("before", "after")) -> Comparison:
    """Compare two profiles of the same script.

    Raises:
        NotComparable: a difference that would mislead (unless ``force``; then it is listed in notes).
    """
    refusals, notes = differences(before, after)
    ab, aa = analyze(before), analyze(after)
    matches = match_functions([h.key for h in ab.hotspots], [h.key for h in aa.hotspots],
                              before.sources, after.sources)
    refusals, notes = _check_step(before, after, matches, refusals, notes)
    if refusals and not force:
        more = f" (and {len(refusals) - 1} more)" if len(refusals) > 1 else ""
        raise NotComparable(f"not comparable: {refusals[0]}{more}", hint="--force compares anyway and says so")
    notes = [f"compared anyway (--force): {r}" for r in refusals] + notes
    sb, sa = _step_times(ab), _step_times(aa)
    speedup, speedup_range = _ratio(sb.mean_s, sa.mean_s, _step_rel_se(sb, sa))
    deltas = _deltas(ab, aa, sb, sa, matches)
    preds, source = predictions_for(ab, advice_json, config)
    checks = tuple(_check(p, matches, deltas, sb, sa, before, after) for p in preds)
    return Comparison(labels[0], labels[1], sb, sa, speedup, speedup_range, deltas[:MAX_ROWS],
                      tuple(m for m in matches if m.how not in ("gone", "new") or _weight(m, deltas) > 0),
                      checks, _step_check(checks, speedup, speedup_range), source, tuple(notes))


def _check_step(before: Profile, after: Profile, matches: list[Match], refusals: list[str],
                notes: list[str]) -> tuple[list[str], list[str]]:
    if before.step is None or after.step is None:
        return refusals, notes
    kb, ka = before.frames[before.step.frame].key, after.frames[after.step.frame].key
    if step_label(before) == step_label(after):
        return refusals, notes
    m = next((m for m in matches if m.before == kb), None)
    if m is not None and m.after == ka:
        return refusals, notes + [f"the step is the same function under another name ({m.describe()})"]
    return refusals + [f"the step differs (before {step_label(before)}, after {step_label(after)}): name it "
                       "with --step in both runs"], notes


def _step_times(a: Analysis) -> StepTimes:
    durations = list(a.profile.step.durations_s) if a.profile.step is not None else []
    measured = durations[min(len(durations), a.stats.dropped_warmup):] if durations else []
    sd = statistics.stdev(measured) if len(measured) > 1 else 0.0
    shares = a.step_split.shares()
    return StepTimes(a.step_name, a.stats.count, a.stats.mean_s, a.stats.median_s, a.stats.p95_s, sd,
                     a.step_samples, Split(*(shares[b] for b in ("interpreted", "native", "waiting", "gc"))))


def _step_rel_se(b: StepTimes, a: StepTimes) -> float:
    """Relative standard error of mean_before / mean_after."""
    def term(s: StepTimes) -> float:
        return (s.sd_s / s.mean_s) ** 2 / max(s.count, 1) if s.mean_s > 0 else 0.0
    return math.sqrt(term(b) + term(a))


def _ratio(num: float, den: float, rel_se: float) -> tuple[float, Span]:
    if num <= 0:
        return 0.0, Span(0.0, 0.0, 0.0)
    if den <= 0:
        return math.inf, Span(math.inf, math.inf, math.inf)
    r = num / den
    return r, Span(r * math.exp(-Z95 * rel_se), r, r * math.exp(Z95 * rel_se))


def _deltas(ab: Analysis, aa: Analysis, sb: StepTimes, sa: StepTimes, matches: list[Match]) -> tuple[FunctionDelta, ...]:
    hb = {h.key: h for h in ab.hotspots}
    ha = {h.key: h for h in aa.hotspots}
    rows = []
    for m in matches:
        b, a = hb.get(m.before) if m.before else None, ha.get(m.after) if m.after else None
        bs, as_ = (b.self_share if b else 0.0), (a.self_share if a else 0.0)
        if bs > 0 or as_ > 0:  # the step frame with no time of its own is not a row
            rows.append(FunctionDelta(m, bs, as_, bs * sb.mean_s, as_ * sa.mean_s, _shares(b), _shares(a)))
    rows.sort(key=lambda d: -max(d.before_s, d.after_s))
    return tuple(rows)


def _shares(h: Any) -> Split:
    if h is None:
        return Split()
    s = h.self_split.shares()
    return Split(s["interpreted"], s["native"], s["waiting"], s["gc"])


def _weight(m: Match, deltas: tuple[FunctionDelta, ...]) -> float:
    return next((max(d.before_share, d.after_share) for d in deltas if d.match is m), 0.0)


def _judge(measured: float, rng: Span, predicted: Span) -> tuple[str, bool]:
    if predicted.low <= measured <= predicted.high:
        return "inside", False
    status = "below" if measured < predicted.low else "above"
    overlap = rng.low <= predicted.high and rng.high >= predicted.low
    return status, overlap


def _x(v: float) -> str:
    from advisor.render._format import fmt_x

    return fmt_x(v)


def _said(name: str, p: Span, measured: float, status: str, noise: bool) -> str:
    where = {"inside": "inside the range", "below": "below the range", "above": "above the range"}[status]
    return (f"{name}: predicted {_x(p.typical)} ({_x(p.low)}–{_x(p.high)}), measured {_x(measured)}: {where}"
            + (" (within measurement noise)" if noise else ""))


def _check(p: Prediction, matches: list[Match], deltas: tuple[FunctionDelta, ...], sb: StepTimes, sa: StepTimes,
           before: Profile, after: Profile) -> PredictionCheck:
    m = next((m for m in matches if m.before is not None and m.before.qualname == p.function
              and m.before.line == p.line), None)
    d = next((d for d in deltas if d.match is m), None) if m is not None else None
    label = p.function if m is None or m.how == "same name" else m.describe()
    if d is None or m is None or m.after is None or d.after_s <= 0 or d.before_s <= 0:
        return PredictionCheck(p, m, None, None, "gone", False,
                               f"{label}: predicted {_x(p.kernel.typical)} ({_x(p.kernel.low)}–{_x(p.kernel.high)}), "
                               "not in the after profile: renamed beyond recognition, inlined, or too fast to "
                               "sample; see the step speedup")
    rel = _step_rel_se(sb, sa) ** 2
    for prof, share, steps in ((before, d.before_share, sb), (after, d.after_share, sa)):
        if prof.mode != "cprofile":
            rel += 1.0 / max(1.0, share * steps.samples)
    measured, rng = _ratio(d.before_s, d.after_s, math.sqrt(rel))
    status, noise = _judge(measured, rng, p.kernel)
    return PredictionCheck(p, m, measured, rng, status, noise, _said(label, p.kernel, measured, status, noise))


def _step_check(checks: tuple[PredictionCheck, ...], speedup: float, rng: Span) -> StepCheck | None:
    acted = [c for c in checks if c.status == "gone" or (c.measured is not None and c.measured >= ACTED_ON)]
    if not acted:
        return None
    ps = [c.prediction.share for c in acted]

    def amdahl(k: str) -> float:
        rest = 1.0 - sum(ps) + sum(c.prediction.share / getattr(c.prediction.kernel, k) for c in acted)
        return 1.0 / rest if rest > 0 else math.inf

    predicted = Span(amdahl("low"), amdahl("typical"), amdahl("high"))
    names = tuple(c.prediction.function for c in acted)
    status, noise = _judge(speedup, rng, predicted)
    return StepCheck(names, predicted, speedup, status, noise,
                     _said(f"step ({', '.join(names)} changed)", predicted, speedup, status, noise))
