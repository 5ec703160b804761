"""The workbook's "Measured" sheet: ``advisor try`` results beside the cost model's predictions.

One row per experiment: what was measured (median round ratio, spread, rounds, steps, noise), what was
predicted, and, for a measured result, the step speedup the advice uses instead of its prior (low /
typical / high, inputs named ``measured_<experiment>_<level>``, e.g. ``measured_gc_freeze_typical``),
with the monthly savings it is worth as live formulas over the bill. A Kernels row whose estimate was
measured (the Numba estimate of the function the jit experiment compiled) reads these names instead of a
speedup prior. Which figure a measurement replaces is decided by the cost model (``costmodel.measured``);
this module only lays it out.
"""

from __future__ import annotations

from typing import Any

from advisor.costmodel.measured import is_measured, step_range, versus_words
from advisor.render._xlsx_layout import LEVELS, name_part
from advisor.render.tryouts import used_by

COLUMNS: list[tuple[str, float]] = [
    ("Experiment", 14), ("What changed", 34), ("Result", 16), ("Measured step speedup (median)", 11),
    ("Lowest round", 10), ("Highest round", 10), ("Rounds", 7), ("Steps", 7), ("Noise ±", 8),
    ("Predicted low", 10), ("Predicted high", 10), ("Versus prediction", 14),
    ("Used by the advice: low", 11), ("typical", 11), ("high", 11), ("$ saved / month (typical)", 13),
    ("Replaces the prior of", 36), ("Seconds", 8), ("In words", 70), ("Detail", 60),
]
RESULT_WORDS = {"faster": "faster", "slower": "slower", "no-gain": "no measurable gain"}


def measured_name(experiment: str, level: str) -> str:
    """The defined name of a measured step speedup: ``measured_gc_freeze_typical``."""
    return f"measured_{name_part(experiment)}_{level}"


def write_measured(book: Any, ws: Any, advice: Any) -> None:
    """Fill ``ws`` (the "Measured" sheet) from ``advice.measured``; ``book`` is xlsx's ``_Book``."""
    book.headers(ws, 0, COLUMNS)
    ws.freeze_panes(1, 1)
    for r, t in enumerate(advice.measured, start=1):
        book.text(ws, r, 0, t.name)
        book.text(ws, r, 1, t.label)
        book.text(ws, r, 2, RESULT_WORDS.get(t.status, t.status.replace("-", " ")))
        for c, value, fmt in ((3, t.ratio, "x"), (4, t.low, "x"), (5, t.high, "x"), (6, t.rounds, "int"),
                              (7, t.steps, "int"), (8, t.noise if t.ratio is not None else None, "pct"),
                              (9, t.predicted[0] if t.predicted else None, "x"),
                              (10, t.predicted[1] if t.predicted else None, "x"), (17, t.seconds, "num")):
            if value is not None:
                ws.write_number(r, c, value, book.f("calc", fmt))
        book.text(ws, r, 11, t.versus_prediction or "")
        if is_measured(t):
            used = step_range(t)
            for j, lvl in enumerate(LEVELS):
                ws.write_number(r, 12 + j, getattr(used, lvl), book.f("input", "x"))
                book.wb.define_name(measured_name(t.name, lvl), f"=Measured!${'MNO'[j]}${r + 1}")
            book.formula(ws, r, 15, f"=step_fraction*(monthly_bill-monthly_bill/{measured_name(t.name, 'typical')})",
                         book.f("calc", "usd"), advice.monthly_bill_usd * advice.config.step_fraction
                         * (1 - 1 / used.typical))
            book.text(ws, r, 16, used_by(advice, t.name) or "nothing (no matching item or estimate)")
            book.text(ws, r, 18, versus_words(t))
        book.text(ws, r, 19, t.detail)
    note_row = len(advice.measured) + 2
    book.text(ws, note_row, 0, "Step speedup = baseline step / experiment step, the median over rounds of each "
              "round's ratio of median step times. A result inside the baseline's own round-to-round noise is "
              "'no measurable gain' and counts as 1× (typical). The yellow cells are what the advice uses "
              "instead of its prior; change one and its savings recalculate.", book.f("note"))


def measured_end_to_end(est: Any, lvl: str) -> str | None:
    """The Kernels row's end-to-end formula for a measured estimate: the measurement itself (it may
    exceed the hotspot's Amdahl cap when the change sped up more than the hotspot), or None for a prior."""
    return f"={measured_name(est.measured, lvl)}" if getattr(est, "measured", "") else None


def measured_new_share(est: Any, p_ref: str, lvl: str) -> str | None:
    """The Kernels row's new-share formula for an estimate the cost model took from a measurement
    (Amdahl inverted: new = 1 / speedup - (1 - p)), or None for a prior."""
    if not getattr(est, "measured", ""):
        return None
    return f"=MAX(0,1/{measured_name(est.measured, lvl)}-(1-{p_ref}))"
