"""Terminal lines for ``advisor try`` results: measured beside predicted, or why an experiment did not run.

    gc:freeze    measured 1.90× (1.80–2.00×, 5 rounds, 100 steps) · predicted 1.00–3.85× · 41 s
    gc:off       no measurable gain: 1.01× (0.97–1.04×, inside the ±3% noise, 5 rounds) · predicted 1.00–1.05×
    jit          refused: numba cannot compile conv1d: ...
"""

from __future__ import annotations

from advisor.experiments.merge import fmt_x
from advisor.experiments.results import FASTER, NO_GAIN, SLOWER, Tryout


def _predicted(t: Tryout) -> str:
    if t.predicted is None:
        return "no prediction"
    return f"predicted {fmt_x(t.predicted[0])}–{fmt_x(t.predicted[1])}"


def tryout_line(t: Tryout, width: int = 12) -> str:
    """One line for one experiment."""
    name = t.name.ljust(width)
    if t.ratio is None:
        return f"{name} {t.status.replace('-', ' ')}: {t.detail}"
    spread = f"{fmt_x(t.low)}–{fmt_x(t.high)}"
    if t.status == FASTER:
        head = f"measured {fmt_x(t.ratio)} ({spread}, {t.rounds} rounds, {t.steps} steps)"
    elif t.status == SLOWER:
        head = f"slower: measured {fmt_x(t.ratio)} ({spread}, {t.rounds} rounds, {t.steps} steps)"
    else:
        assert t.status == NO_GAIN
        head = (f"no measurable gain: {fmt_x(t.ratio)} ({spread}, inside the ±{t.noise:.0%} noise, "
                f"{t.rounds} round{'s' if t.rounds != 1 else ''}, {t.steps} steps)")
    tail = f" · {_predicted(t)}"
    if t.versus_prediction in ("above", "below"):
        tail += f" — {t.versus_prediction} the predicted range"
    return f"{name} {head}{tail} · {t.seconds:.0f} s"


def render_tryouts(tryouts: tuple[Tryout, ...]) -> list[str]:
    """The lines printed after ``advisor try``: a heading, then one line per experiment."""
    if not tryouts:
        return ["tried: nothing (no experiment applies)"]
    total = sum(t.seconds for t in tryouts)
    lines = [f"tried ({total:.0f} s of experiment runs; step speedup = baseline step / experiment step, "
             "median over rounds):"]
    lines += ["  " + tryout_line(t) for t in tryouts]
    return lines
