"""``advisor try`` results as the terminal and the report show them: measured beside predicted, outside
the predicted range said plainly, and what the advice used the measurement for."""

from __future__ import annotations

import dataclasses
import re

from advisor.costmodel import advise
from advisor.model import Split
from advisor.render.html import render_html
from advisor.render.tryouts import render_tryouts, tryout_line
from tests.costmodel.helpers import make_analysis
from tests.render.test_xlsx_measured import KS, TRIED


def _advice(tried=TRIED):
    return advise(make_analysis(KS, rest=Split(0.3, 0, 0, 0)), measured=tried)


def test_terminal_line_puts_measured_beside_predicted():
    line = tryout_line(TRIED[0])
    assert line == ("gc:freeze    measured 1.90× (1.80×–2.00×, 5 rounds) · predicted 1.50×–2.50× · 100 steps · 41 s")


def test_terminal_says_no_gain_and_outside_the_range_plainly():
    line = tryout_line(TRIED[1])
    assert line.startswith("gc:off       no measurable gain (1.02×, 0.97×–1.06×, 5 rounds, inside the ±5% noise)")
    assert "BELOW the predicted range" in line and "the advice uses the measurement" in line
    assert tryout_line(TRIED[3]) == "threads      not applicable: native code is 0.0% of the step"


def test_terminal_block_names_what_ran_and_the_plan_with_the_measurements():
    lines = render_tryouts(TRIED, _advice())
    assert lines[0].startswith("tried (3 experiments ran, 91 s of experiment runs")  # threads never ran
    assert lines[-1].startswith("plan with the measurements: Tune the cyclic GC") and "1.90×" in lines[-1]
    assert not render_tryouts(TRIED[3:], _advice(TRIED[3:]))[-1].startswith("plan with")


def test_report_measured_section():
    html = render_html(_advice())
    sec = html[html.index('<section id="measured">'):]
    sec = sec[:sec.index("</section>")]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", sec))
    assert "gc:off measured 1.02× (0.97×–1.06×), below the predicted 2.00×–2.50×" in text
    assert "needs correcting" in text
    assert "item: Tune the cyclic GC (gc.freeze(), thresholds) (the whole step)" in text
    assert "measured 1.90× (1.80×–2.00×, 5 rounds) beside predicted 1.50×–2.50×" in text
    assert 'data-measured="gc:freeze"' in html  # the item in "What to do" is marked as measured


def test_report_escapes_experiment_text():
    hostile = dataclasses.replace(TRIED[0], detail="<script>alert(1)</script>", label="<b>x</b>")
    html = render_html(_advice((hostile,)))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
