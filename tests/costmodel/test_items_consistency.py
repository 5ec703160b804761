"""Items and per-function verdicts agree; the GC item's range includes its share's sampling interval and
says what triggers it (collections per step by generation, recorded by the sampler's gc callback)."""

from __future__ import annotations

import dataclasses
import html as htmlmod
import json
import re

import pytest

from advisor.analysis import analyze
from advisor.capture.sampler import Sampler
from advisor.costmodel import advise
from advisor.costmodel import formulas as fm
from advisor.costmodel.items_consistency import consistency
from advisor.costmodel.items_gc import gc_share_bounds, generation_words, generations, widened
from advisor.costmodel.types import Range
from advisor.model import GcStats, Profile, Split
from advisor.render.advice_json import advice_to_json
from advisor.render.terminal import plan_line
from tests.conftest import ROOT, run_advisor
from tests.costmodel.helpers import OBJECTS, K, make_analysis, make_profile

SAMPLES = ROOT / "sample_workloads"


# ---- the Wilson range -------------------------------------------------------------------------------
def test_gc_share_bounds_are_the_wilson_interval_of_the_share_as_samples():
    a = make_analysis([K("alloc", Split(0.1, 0.0, 0.0, 0.9), OBJECTS)], rest=Split(0.3, 0, 0, 0))
    share = a.step_split.gc / a.step_split.total
    lo, hi, k, n = gc_share_bounds(a, share)
    assert n == a.step_samples and k == round(share * n)
    assert (lo, hi) == pytest.approx(fm.wilson(k, n))
    assert lo < share < hi


def test_wilson_interval_narrows_with_more_samples_and_stays_in_0_1():
    prev = None
    for n in (10, 100, 1000, 10000):
        lo, hi = fm.wilson(0.7 * n, n)
        assert 0.0 <= lo < 0.7 < hi <= 1.0
        if prev is not None:
            assert hi - lo < prev
        prev = hi - lo
    assert fm.wilson(0, 50)[0] == 0.0 and fm.wilson(50, 50)[1] == 1.0


def test_widened_range_contains_the_prior_and_never_removes_more_than_the_step():
    frac = Range(0.6, 0.85, 1.0)
    w = widened(frac, 0.8, 0.7, 0.9)
    assert w.low == pytest.approx(0.6 * 0.7 / 0.8) and w.low < frac.low
    assert w.typical == frac.typical
    assert w.high == pytest.approx(1.0 * 0.9 / 0.8) and w.high > frac.high
    assert 0.8 * w.high <= 1.0  # never more than the whole step
    assert widened(frac, 0.0, 0.0, 0.0) == frac


def test_fewer_samples_give_the_gc_item_a_wider_range():
    ks = [K("alloc", Split(0.1, 0.0, 0.0, 0.9), OBJECTS)]
    wide = advise(make_analysis(ks, rest=Split(0.3, 0, 0, 0))).items[0]
    p = make_profile(ks, rest=Split(0.3, 0, 0, 0))
    # the same shares from ten times the samples
    many = dataclasses.replace(p, stacks=tuple(dataclasses.replace(r, samples=r.samples * 10) for r in p.stacks))
    narrow = advise(analyze(many)).items[0]
    assert wide.kind == narrow.kind == "gc" and wide.share == pytest.approx(narrow.share)
    assert wide.end_to_end.low < narrow.end_to_end.low
    assert wide.end_to_end.typical == pytest.approx(narrow.end_to_end.typical)


# ---- generations ------------------------------------------------------------------------------------
def _with_gc(a, collections, seconds):
    prof = dataclasses.replace(a.profile, gc=GcStats(collections, seconds))
    return analyze(prof)


def test_generations_scale_the_run_counts_to_a_step_and_pick_the_fix():
    a = make_analysis([K("alloc", Split(0.1, 0.0, 0.0, 0.9), OBJECTS)], rest=Split(0.3, 0, 0, 0))
    gc_s = a.step_split.gc
    heavy = _with_gc(a, (110, 10, 10), (0.1 * gc_s, 0.05 * gc_s, 0.85 * gc_s))
    g = generations(heavy)
    steps = heavy.stats.count
    assert g is not None and g.step_fraction == pytest.approx(1.0)
    assert g.per_step == pytest.approx((110 / steps, 10 / steps, 10 / steps))
    assert g.gen2_heavy
    words = generation_words(g)
    assert "gen-2 takes 85%" in words and "gc.freeze()" in words and "gc.set_threshold(700, 10, 100)" in words
    young = generations(_with_gc(a, (500, 5, 0), (0.9 * gc_s, 0.1 * gc_s, 0.0)))
    assert young is not None and not young.gen2_heavy
    assert "raise the first threshold" in generation_words(young)
    item = advise(heavy).items[0]
    assert item.kind == "gc" and "collections a step" in item.reason and "profile.gc" in " ".join(item.sources)


def test_without_generations_the_gc_item_says_they_were_not_recorded():
    a = make_analysis([K("alloc", Split(0.1, 0.0, 0.0, 0.9), OBJECTS)], rest=Split(0.3, 0, 0, 0))
    assert a.profile.gc is None and generations(a) is None
    assert "were not recorded" in advise(a).items[0].reason


def test_gc_callback_counts_per_generation_and_never_raises():
    s = Sampler(interval_s=0.01)
    for gen in (0, 0, 1, 2):
        s._gc_callback("start", {"generation": gen, "collected": 0, "uncollectable": 0})
        s._gc_callback("stop", {"generation": gen, "collected": 0, "uncollectable": 0})
    assert s.gc_collections == [2, 1, 1]
    assert all(x >= 0.0 for x in s.gc_seconds) and s._gc_total == pytest.approx(sum(s.gc_seconds))
    s._gc_callback("start", {"generation": 7})  # out of range: counted as a full collection
    s._gc_callback("stop", {})
    s._gc_callback("start", None)  # type: ignore[arg-type]  # broken info: swallowed, not raised
    assert s.gc_collections[2] == 2 and not s._in_gc
    assert s.gc_stats() == {"collections": s.gc_collections, "seconds": s.gc_seconds}
    assert Sampler(interval_s=0.01).gc_stats() is None
    lone = Sampler(interval_s=0.01)
    lone._gc_callback("stop", {"generation": 0})  # its start was not seen: not counted, not timed
    assert lone.gc_stats() is None and lone._gc_total == 0.0


def test_profile_gc_field_round_trips_and_old_files_load(tmp_path):
    p = make_profile([K("alloc", Split(0.1, 0.0, 0.0, 0.9), OBJECTS)])
    assert p.gc is None and "gc" not in p.to_json()
    q = dataclasses.replace(p, gc=GcStats((12, 3, 1), (0.01, 0.02, 0.3)))
    path = tmp_path / "profile.json"
    q.save(path)
    assert Profile.load(path).gc == q.gc
    doc = json.loads(path.read_text())
    doc["gc"] = {"collections": [1, 2], "seconds": [0.1, 0.2, 0.3]}
    path.write_text(json.dumps(doc))
    from advisor.errors import ProfileFormatError

    with pytest.raises(ProfileFormatError):
        Profile.load(path)


# ---- consistency ------------------------------------------------------------------------------------
def test_functions_whose_gc_time_the_gc_item_owns_point_to_it_and_leave_the_plan():
    ks = [K(f"alloc{i}", Split(0.1, 0.0, 0.0, 0.9), OBJECTS) for i in range(3)]
    advice = advise(make_analysis(ks, rest=Split(0.3, 0, 0, 0)))
    c = consistency(advice)
    tuned = [k for k in advice.kernels if k.verdict == "tune-gc"]
    assert tuned, "the fixture must produce per-function tune-gc verdicts"
    for k in tuned:
        p = c.pointers[k.hotspot.frame]
        assert p.rank == 1 and p.kind == "gc" and p.owned == pytest.approx(0.9)
        assert p.words == "see #1: Tune the cyclic GC (gc.freeze(), thresholds)"
    assert not any(k.verdict == "tune-gc" for k in c.rest)
    data = advice_to_json(advice)
    assert all(k["see"]["kind"] == "gc" for k in data["kernels"] if k["verdict"] == "tune-gc")
    assert {o["function"] for o in data["items"][0]["owns"]} >= {k.hotspot.key.qualname for k in tuned}
    assert plan_line(advice).startswith("Tune the cyclic GC")


def test_a_function_with_its_own_port_item_keeps_its_verdict():
    from tests.costmodel.helpers import NUMERIC_LOOP as NUMERIC

    advice = advise(make_analysis([K("kernel", Split(1.0, 0, 0, 0), NUMERIC, calls=1)], rest=Split(0.05, 0, 0, 0)))
    k = next(k for k in advice.kernels if k.hotspot.key.qualname == "kernel")
    c = consistency(advice)
    assert k.verdict in ("port", "jit-vectorize")
    assert c.own[k.hotspot.frame] == 1 and k.hotspot.frame not in c.pointers
    assert [s.kernel for s in c.plan] == [s.kernel for s in advice.plan] == ["kernel"]


# ---- end to end -------------------------------------------------------------------------------------
def _what_to_do(html: str) -> list[str]:
    """The entries of the report's "What to do" list, as text."""
    seg = html[html.index('id="what-to-do"'):]
    seg = seg[:seg.index("</ol>")]
    items = re.findall(r"<li class=\"[^\"]*\"[^>]*>(.*?)</li>", seg, flags=re.S)
    return [re.sub(r"\s+", " ", htmlmod.unescape(re.sub(r"<[^>]+>", " ", x))).strip() for x in items]


def _plan_line(stderr: str) -> str:
    line = next(ln for ln in stderr.splitlines() if ln.startswith("plan: "))
    return line[len("plan: "):]


@pytest.mark.slow
@pytest.mark.parametrize("script,args,title,kind,fn", [
    ("reread_step.py", ["--steps", "150"], "Open/read once and cache", "per-step-read", "train_step"),
    ("pool_step.py", ["--steps", "6"], "Create the pool/process once", "per-step-spawn", "train_step"),
    ("input_pipeline.py", ["--steps", "40", "--epochs", "2"], "Cache or overlap the input pipeline",
     "input-pipeline", "featurize"),
])
def test_report_and_terminal_lead_with_the_item_and_the_function_points_to_it(tmp_path, script, args, title,
                                                                                kind, fn):
    out = tmp_path / "out"
    r = run_advisor(["profile", "--interval", "0.002", "-o", str(out), str(SAMPLES / script), *args],
                    cwd=tmp_path, timeout=300, env={"COLUMNS": "250"})
    assert r.returncode == 0, r.stderr[-2000:]
    entries = _what_to_do((out / "report.html").read_text())
    assert entries and entries[0].startswith(title), entries[:2]
    assert _plan_line(r.stderr).startswith(title)
    data = json.loads((out / "advice.json").read_text())
    assert data["items"][0]["kind"] == kind
    k = next(k for k in data["kernels"] if k["function"] == fn)
    assert k["see"] is not None and k["see"]["item"] == 1 and k["see"]["kind"] == kind, k
    row = next(ln for ln in r.stderr.splitlines() if f" {fn} " in ln and "│" in ln)
    assert "see #1" in row, row
    # no double counting: a function an item owns is not in the plan the report and the terminal show
    assert fn not in [p["kernel"] for p in data["plan_outside_items"]]
    assert f"{fn} →" not in _plan_line(r.stderr)
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(out / "roi.xlsx")
    assert fn not in [row[1] for row in wb["Port plan"].iter_rows(min_row=2, values_only=True)]
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert str(summary[fn]).startswith("see #1")


@pytest.mark.slow
def test_scalar_autograd_records_gc_generations_and_the_gc_item_leads(tmp_path):
    out = tmp_path / "out"
    r = run_advisor(["profile", "-o", str(out), str(SAMPLES / "scalar_autograd.py"), "--steps", "12", "--epochs", "1"],
                    cwd=tmp_path, timeout=300, env={"COLUMNS": "250"})
    assert r.returncode == 0, r.stderr[-2000:]
    prof = Profile.load(out / "profile.json")
    assert prof.gc is not None
    n0, n1, n2 = prof.gc.collections
    # CPython's defaults (700, 10, 10): young collections outnumber older ones; ~10^5 objects a step
    # in reference cycles make many young collections and some full ones
    assert n0 >= 100 and n0 > n1 >= n2 >= 1, prof.gc
    assert all(s > 0 for s in prof.gc.seconds) and prof.gc.total_s < prof.wall_s
    a = analyze(prof)
    assert a.step_split.gc <= prof.gc.total_s * 1.05 + 0.01  # the step's GC seconds are part of the run's
    g = generations(a)
    assert g is not None and g.total_per_step >= 10
    data = json.loads((out / "advice.json").read_text())
    first = data["items"][0]
    assert first["kind"] == "gc" and "collections a step" in first["reason"] and "95% confidence" in first["reason"]
    assert _what_to_do((out / "report.html").read_text())[0].startswith("Tune the cyclic GC")
    assert _plan_line(r.stderr).startswith("Tune the cyclic GC")
    for k in data["kernels"]:
        if k["verdict"] == "tune-gc":
            assert k["see"] is not None and k["see"]["kind"] == "gc", k
    assert "tune the GC" not in "\n".join(ln for ln in r.stderr.splitlines() if "│" in ln)
