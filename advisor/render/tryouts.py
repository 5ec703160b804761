"""Terminal lines for ``advisor try`` results: measured beside predicted, or why an experiment did not run.

    gc:freeze    measured 1.90× (1.80–2.00×, 5 rounds) · predicted 1.50–2.50× · 100 steps · 41 s
    gc:off       no measurable gain (1.01×, 0.97–1.04×, 5 rounds, inside the ±3% noise) · predicted 1.00–1.05× · ...
    threads      measured 1.40× (1.30–1.50×, 5 rounds) · predicted 1.00–1.20× — above the predicted range: ...
    jit          refused: numba cannot compile conv1d: ...

The words come from ``costmodel.measured`` (the same the advice's reasons quote); this module only lays
them out.
"""

from __future__ import annotations

from typing import Any

from advisor.costmodel.items import lead_line
from advisor.costmodel.measured import measured_words, predicted_words
from advisor.experiments.results import Tryout


def used_by(advice: Any, name: str) -> str:
    """What the cost model replaced with experiment ``name``'s measurement ("" for nothing)."""
    items = [f"item: {it.title} ({it.scope})" for it in advice.items if it.measured == name]
    ests = [f"estimate: {e.target_name} for {k.hotspot.key.qualname}"
            for k in advice.kernels for e in k.estimates if e.measured == name]
    return "; ".join(items + ests[:1])


def tryout_line(t: Tryout, width: int = 12) -> str:
    """One line for one experiment."""
    name = t.name.ljust(width)
    if t.ratio is None:
        return f"{name} {t.status.replace('-', ' ')}: {t.detail}"
    tail = f" · {predicted_words(t)}"
    if t.versus_prediction in ("above", "below"):
        tail += (f" — {t.versus_prediction.upper()} the predicted range: the prior needs correcting; "
                 "the advice uses the measurement")
    return f"{name} {measured_words(t)}{tail} · {t.steps} steps · {t.seconds:.0f} s"


def render_tryouts(tryouts: tuple[Tryout, ...], advice: Any = None) -> list[str]:
    """The lines printed after ``advisor try``: a heading, one line per experiment, then (given the advice
    decided with the measurements) the first item again when a measurement changed it."""
    if not tryouts:
        return ["tried: nothing (no experiment applies)"]
    total = sum(t.seconds for t in tryouts)
    ran = sum(1 for t in tryouts if t.runs or t.seconds > 0)
    lines = [f"tried ({ran} experiment{'s' if ran != 1 else ''} ran, {total:.0f} s of experiment runs; step speedup = "
             "baseline step / experiment step, median over rounds):"]
    lines += ["  " + tryout_line(t) for t in tryouts]
    if advice is not None and any(it.measured for it in advice.items):
        lines.append(f"plan with the measurements: {lead_line(advice.items, advice.config.is_builtin)}")
    return lines
