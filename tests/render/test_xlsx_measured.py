"""The workbook after ``advisor try``: a Measured sheet beside the predictions, and Kernels rows whose
estimate the cost model took from a measurement read that measurement (recalculated by LibreOffice)."""

from __future__ import annotations

import pytest

openpyxl = pytest.importorskip("openpyxl")

from advisor.costmodel import advise, load_config  # noqa: E402
from advisor.experiments.results import Tryout  # noqa: E402
from advisor.model import Split  # noqa: E402
from advisor.render.xlsx import write_xlsx  # noqa: E402
from tests.costmodel.helpers import NUMERIC_LOOP, OBJECTS, K, make_analysis  # noqa: E402
from tests.render.test_xlsx import recalc  # noqa: E402,F401  (the LibreOffice fixture)

KS = [K(f"alloc{i}", Split(0.1, 0.0, 0.0, 0.9), OBJECTS) for i in range(3)] + [K("loop", Split(2.0, 0, 0, 0),
                                                                                   NUMERIC_LOOP)]
TRIED = (
    Tryout("gc:freeze", "gc.freeze()", "faster", "objects frozen", 1.9, 1.8, 2.0, 5, 100, 500, 0.03, (1.5, 2.5),
           "cost model", "inside", 41.0),
    Tryout("gc:off", "collector off", "no-gain", "", 1.02, 0.97, 1.06, 5, 100, 500, 0.05, (2.0, 2.5),
           "", "below", 30.0),
    Tryout("jit", "loop → numba.njit", "faster", "first call agrees", 1.5, 1.45, 1.55, 5, 100, 500, 0.03,
           (1.2, 1.6), "cost model: Numba", "inside", 20.0, function="loop"),
    Tryout("threads", "more threads", "not-applicable", "native code is 0.0% of the step"),
)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    advice = advise(make_analysis(KS, rest=Split(0.3, 0, 0, 0)), measured=TRIED)
    path = tmp_path_factory.mktemp("xlsx") / "roi.xlsx"
    write_xlsx(advice, path)
    return path, advice


def _rows(ws):
    heads = [c.value for c in ws[1]]
    return heads, {r[0]: dict(zip(heads, r)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}


def test_measured_sheet_shows_measured_beside_predicted(book):
    path, advice = book
    wb = openpyxl.load_workbook(path)
    assert "Measured" in wb.sheetnames
    heads, rows = _rows(wb["Measured"])
    assert {"gc:freeze", "gc:off", "jit", "threads"} <= set(rows)
    f = rows["gc:freeze"]
    assert (f["Measured step speedup (median)"], f["Lowest round"], f["Highest round"], f["Rounds"]) == (1.9, 1.8, 2.0, 5)
    assert (f["Predicted low"], f["Predicted high"]) == (1.5, 2.5)
    assert f["In words"] == "measured 1.90× (1.80×–2.00×, 5 rounds) beside predicted 1.50×–2.50×"
    assert f["Replaces the prior of"].startswith("item: Tune the cyclic GC")
    assert rows["gc:off"]["Result"] == "no measurable gain" and rows["gc:off"]["typical"] == 1.0
    assert "below the predicted range" in rows["gc:off"]["In words"]
    assert rows["threads"]["Result"] == "not applicable" and rows["threads"]["typical"] is None
    assert "measured_gc_freeze_typical" in wb.defined_names and "measured_jit_low" in wb.defined_names


def test_without_tryouts_there_is_no_measured_sheet(tmp_path):
    path = tmp_path / "roi.xlsx"
    write_xlsx(advise(make_analysis(KS, rest=Split(0.3, 0, 0, 0))), path)
    assert "Measured" not in openpyxl.load_workbook(path).sheetnames


@pytest.mark.libreoffice
def test_recalculated_measured_rows_follow_the_measurement(book, recalc):  # noqa: F811
    path, advice = book
    got = openpyxl.load_workbook(recalc([path])[path.name], data_only=True)
    _, rows = _rows(got["Measured"])
    cfg = load_config()
    assert rows["gc:freeze"]["$ saved / month (typical)"] == pytest.approx(
        cfg.monthly_bill_usd * cfg.step_fraction * (1 - 1 / 1.9), rel=1e-9)
    ws = got["Kernels"]
    heads = [c.value for c in ws[1]]
    e2e = heads.index("End-to-end speedup (typical)")
    new = heads.index("New share at speedup (typical)")
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "loop" and r[4] == "numba")
    assert row[e2e] == pytest.approx(1.5, rel=1e-9)
    nb = next(e for k in advice.kernels for e in k.estimates if k.hotspot.key.qualname == "loop" and e.target == "numba")
    assert row[new] == pytest.approx(nb.new_share.typical, rel=1e-9)
