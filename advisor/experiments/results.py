"""``Tryout``: one experiment's measured result, and tryouts.json (format "advisor-tryouts", version 1)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "advisor-tryouts"
VERSION = 1

# Status codes (stable strings in tryouts.json and advice.json).
FASTER = "faster"            # every round faster, beyond the noise
SLOWER = "slower"            # every round slower, beyond the noise
NO_GAIN = "no-gain"          # inside the noise: "no measurable gain"
REFUSED = "refused"          # the experiment could not be applied (numba cannot compile it, ...)
NOT_APPLICABLE = "not-applicable"  # does not fit this step (GC share too small, threads already at max)
NOT_AVAILABLE = "not-available"    # the tool is missing (numba, a JIT interpreter)
FAILED = "failed"            # a run failed (the script raised, no steps measured)
NOT_RUN = "not-run"          # the budget ran out before it could run


@dataclass(frozen=True, slots=True)
class Run:
    """One process: baseline (``experiment == "baseline"``) or an experiment, in one round."""

    experiment: str
    round: int
    durations_s: tuple[float, ...]  # measured steps (warm-up already dropped), from profile.json
    wall_s: float                   # the whole process, start-up included
    exit_code: int
    note: str = ""                  # what the child reported applying (or why not)
    timing: str = "sampled"         # "exact" (the step wrapper's clock) or "sampled" (profile.json)


@dataclass(frozen=True, slots=True)
class Tryout:
    """One experiment's outcome against the baseline.

    ``ratio`` is baseline step time over experiment step time (above 1: faster), the median over rounds
    of each round's ratio of median step times; ``low``/``high`` the smallest and largest round ratio.
    """

    name: str                      # e.g. "gc:freeze"
    label: str                     # what was changed, in words
    status: str                    # one of the status codes above
    detail: str = ""               # why (for refused / not-applicable / failed) or what was applied
    ratio: float | None = None
    low: float | None = None
    high: float | None = None
    rounds: int = 0
    steps: int = 0                 # experiment steps measured, all rounds
    baseline_steps: int = 0
    noise: float = 0.0             # the relative band inside which a ratio counts as no change
    predicted: tuple[float, float] | None = None  # (low, high) step speedup the cost model expects
    predicted_basis: str = ""
    versus_prediction: str = ""    # "", "inside", "above" or "below"
    seconds: float = 0.0           # time spent in this experiment's runs
    function: str = ""             # jit: the qualname of the function compiled (the estimate it replaces)
    runs: tuple[Run, ...] = field(default_factory=tuple)

    @property
    def measured(self) -> bool:
        return self.ratio is not None


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def tryout_to_json(t: Tryout) -> dict[str, Any]:
    d = asdict(t)
    d["predicted"] = None if t.predicted is None else {"low": t.predicted[0], "high": t.predicted[1]}
    return _clean(d)


def tryouts_to_json(tryouts: tuple[Tryout, ...], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, **(meta or {}), "tryouts": [tryout_to_json(t) for t in tryouts]}


def save_tryouts(path: Path, tryouts: tuple[Tryout, ...], meta: dict[str, Any] | None = None) -> Path:
    """Write tryouts.json atomically."""
    from advisor.model import write_atomic

    text = json.dumps(tryouts_to_json(tryouts, meta), indent=1, allow_nan=False, ensure_ascii=False) + "\n"
    return write_atomic(path, text.encode("utf-8"))
