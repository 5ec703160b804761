"""``advisor check``: hold a profile to a budget kept in the repository, for CI.

The budget is a TOML file (docs/ci.md)::

    [budget]
    max_step_regression_pct = 10    # mean step vs --baseline
    max_interpreted_pct = 60        # of the step
    max_gc_pct = 10
    max_waiting_pct = 30
    [budget.functions]              # a function's self share of the step, percent
    conv1d = 40
    "train.py:mse_loss" = 5

Every rule is optional. ``check`` returns one line per rule; the breaches are what make the command fail.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.analysis import Analysis, analyze
from advisor.errors import ConfigError, UsageError
from advisor.model import Profile

_SHARE_RULES = {"max_interpreted_pct": "interpreted", "max_gc_pct": "gc", "max_waiting_pct": "waiting",
                "max_native_pct": "native"}
_KEYS = {"max_step_regression_pct", *_SHARE_RULES, "functions"}


@dataclass(frozen=True, slots=True)
class Budget:
    """Validated limits (percent); None means the rule is not checked."""

    source: str
    max_step_regression_pct: float | None = None
    max_shares_pct: tuple[tuple[str, float], ...] = ()  # (bucket, limit)
    functions: tuple[tuple[str, float], ...] = ()  # (name, limit on its self share)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """``breaches`` fail the check; ``passed`` and ``notes`` are for the log."""

    breaches: tuple[str, ...]
    passed: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.breaches


def _pct(value: Any, key: str, src: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{src}: budget.{key} must be a percentage (a number, 0 or more), got {value!r}")
    return float(value)


def load_budget(path: str | os.PathLike[str]) -> Budget:
    """Read and validate a budget TOML; ``UsageError`` if missing, ``ConfigError`` naming the bad key."""
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    p, src = Path(path), str(path)
    if not p.is_file():
        raise UsageError(f"--budget {path}: no such file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{src} is not valid TOML: {exc}") from None
    b = data.get("budget")
    if not isinstance(b, dict) or set(data) - {"budget"}:
        raise ConfigError(f"{src}: expected one [budget] table (see docs/ci.md)")
    unknown = sorted(set(b) - _KEYS)
    if unknown:
        raise ConfigError(f"{src}: unknown key budget.{unknown[0]}; known: {', '.join(sorted(_KEYS))}")
    funcs = b.get("functions", {})
    if not isinstance(funcs, dict):
        raise ConfigError(f"{src}: budget.functions must be a table of name = percent")
    reg = b.get("max_step_regression_pct")
    return Budget(src, None if reg is None else _pct(reg, "max_step_regression_pct", src),
                  tuple((bucket, _pct(b[k], k, src)) for k, bucket in _SHARE_RULES.items() if k in b),
                  tuple((str(n), _pct(v, f"functions.{n}", src)) for n, v in funcs.items()))


def _matches(name: str, key: Any) -> bool:
    if ":" in name:
        file, qual = name.rsplit(":", 1)
        return os.path.basename(key.file) == file and key.qualname == qual
    return key.qualname == name or key.qualname.rsplit(".", 1)[-1] == name


def check(profile: Profile, budget: Budget, baseline: Profile | None = None, force: bool = False) -> CheckResult:
    """Hold ``profile`` to ``budget`` (and to ``baseline`` for the regression rule).

    Raises:
        UsageError: the regression rule without a baseline.
        compare.NotComparable: a baseline that cannot be compared (unless ``force``).
    """
    a = analyze(profile)
    breaches: list[str] = []
    passed: list[str] = []
    notes: list[str] = []
    shares = a.step_split.shares()
    for bucket, limit in budget.max_shares_pct:
        line = f"{bucket} share {shares[bucket]:.1%} of the step (budget {limit:g}%)"
        (breaches if shares[bucket] * 100 > limit else passed).append(line)
    for name, limit in budget.functions:
        _function_rule(a, name, limit, breaches, passed, notes)
    if budget.max_step_regression_pct is not None:
        _regression_rule(profile, baseline, budget.max_step_regression_pct, force, breaches, passed, notes)
    return CheckResult(tuple(breaches), tuple(passed), tuple(notes))


def check_paths(profile_path: str | os.PathLike[str], budget_path: str | os.PathLike[str],
                baseline_path: str | os.PathLike[str] | None = None, force: bool = False) -> CheckResult:
    """``advisor check``: load the budget, the profile and the baseline (files or output folders), check."""
    from advisor.compare import load_side

    rules = load_budget(budget_path)
    prof, _ = load_side(profile_path)
    base = load_side(baseline_path)[0] if baseline_path is not None else None
    return check(prof, rules, base, force=force)


def _function_rule(a: Analysis, name: str, limit: float, breaches: list[str], passed: list[str],
                   notes: list[str]) -> None:
    hits = [h for h in a.hotspots if _matches(name, h.key)]
    if not hits:
        notes.append(f"function {name} is not in the profile (0% of the step; renamed?)")
        passed.append(f"function {name}: 0% of the step (budget {limit:g}%)")
        return
    share = sum(h.self_share for h in hits)
    line = f"function {name} takes {share:.1%} of the step (budget {limit:g}%)"
    (breaches if share * 100 > limit else passed).append(line)


def _regression_rule(profile: Profile, baseline: Profile | None, limit: float, force: bool,
                     breaches: list[str], passed: list[str], notes: list[str]) -> None:
    if baseline is None:
        raise UsageError("the budget sets max_step_regression_pct: give --baseline PROFILE")
    from advisor.compare.comparable import differences
    from advisor.compare.core import NotComparable

    refusals, normalised = differences(baseline, profile)
    if refusals and not force:
        raise NotComparable(f"baseline not comparable: {refusals[0]}", hint="--force checks anyway and says so")
    notes += [f"checked anyway (--force): {r}" for r in refusals] + normalised
    before, after = analyze(baseline).stats.mean_s, analyze(profile).stats.mean_s
    if before <= 0:
        notes.append("the baseline has no measured step time: regression not checked")
        return
    change = (after / before - 1) * 100
    line = (f"step time {after * 1e3:.3g} ms vs baseline {before * 1e3:.3g} ms: {change:+.1f}% "
            f"(budget +{limit:g}%)")
    (breaches if change > limit else passed).append(line)
