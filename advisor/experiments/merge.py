"""Measured results into the advice: ``Advice.measured`` holds the tryouts, and a note says plainly
where a measurement fell outside the cost model's predicted range (that is how priors get corrected)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from advisor.experiments.results import Tryout


def fmt_x(x: float | None) -> str:
    if x is None:
        return "?"
    if not math.isfinite(x):
        return "∞×"
    return f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


def outside_note(t: Tryout) -> str | None:
    """One sentence when every round lies outside the predicted range; None otherwise."""
    if t.predicted is None or t.versus_prediction not in ("above", "below") or t.ratio is None:
        return None
    lo, hi = t.predicted
    return (f"Measured {t.name} {fmt_x(t.ratio)} ({fmt_x(t.low)}–{fmt_x(t.high)}, {t.rounds} rounds) is "
            f"{t.versus_prediction} the predicted {fmt_x(lo)}–{fmt_x(hi)} ({t.predicted_basis}): "
            f"the prior behind that prediction needs correcting.")


def with_tryouts(advice: Any, tryouts: tuple[Tryout, ...]) -> Any:
    """A copy of ``advice`` carrying ``tryouts`` in ``measured``, with a note per out-of-range result."""
    notes = tuple(n for n in (outside_note(t) for t in tryouts) if n)
    return dataclasses.replace(advice, measured=tuple(tryouts), notes=tuple(advice.notes) + notes)
