"""Set-up work repeated in every step (imports, re-reads, process start-up) and the step floor: hand-built
profiles whose samples lie in known frames, then the real workloads profiled end to end."""

from __future__ import annotations

import json

import pytest

from advisor.analysis import analyze
from advisor.analysis.repeated import IMPORT, READ, SPAWN, find_repeated
from advisor.costmodel import advise
from advisor.costmodel.items import combined, lead_line
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo
from advisor.render.advice_json import render_advice_json
from advisor.render.html import render_html
from tests.conftest import ROOT, run_advisor
from tests.costmodel.helpers import NUMERIC_LOOP

TRAIN = ("import importlib\n\n"            # 1
         "def main():\n"                    # 3
         "    pass\n\n"
         "def train_step(path, pool):\n"    # 6
         "    vocab = importlib.reload(v)\n"  # 7
         "    data = open(path).read()\n"     # 8
         "    x = compute(data)\n"            # 9
         "    with Pool(2) as p:\n"           # 10
         "        p.map(f, x)\n"              # 11
         "    return x\n")                    # 12
F_MAIN, F_STEP, F_BOOT, F_MOD, F_NPY, F_POOL_INIT, F_MAP, F_KERNEL, F_GZIP = range(9)
FRAMES = (
    Frame(FrameKey("/w/train.py", "main", 3), True),
    Frame(FrameKey("/w/train.py", "train_step", 6), True),
    Frame(FrameKey("<frozen importlib._bootstrap>", "_find_and_load", 1165), False),
    Frame(FrameKey("/w/vocab.py", "<module>", 1), True),
    Frame(FrameKey("/lib/site-packages/numpy/lib/_npyio_impl.py", "load", 300), False),
    Frame(FrameKey("/lib/python3.11/multiprocessing/pool.py", "Pool.__init__", 183), False),
    Frame(FrameKey("/lib/python3.11/multiprocessing/pool.py", "Pool.map", 362), False),
    Frame(FrameKey("/w/kern.py", "kernel", 2), True),
    Frame(FrameKey("/lib/python3.11/gzip.py", "GzipFile.read", 290), False),
)


def profile(stacks: list[tuple[tuple[int, ...], tuple[int, ...], Split]], steps: int = 20) -> Profile:
    recs = tuple(StackRecord(f, ln, "step", sp, max(1, int(sp.total * 1000))) for f, ln, sp in stacks)
    total = sum(sp.total for _, _, sp in stacks)
    step = StepInfo(F_STEP, "auto", "auto", steps, 0, (total / steps,) * steps, "sampled")
    return Profile("sample", 0.005, {"target": "train.py"}, {"python": "3.11.7"}, "", total + 1.0,
                   Outcome(0, "exit"), FRAMES, recs, step, (),
                   sources={"/w/train.py": TRAIN, "/w/kern.py": NUMERIC_LOOP.lstrip("\n"),
                            "/w/vocab.py": "TABLE = {i: str(i) for i in range(10**5)}\n"})


def test_a_reload_in_the_step_is_one_import_item_that_leads_and_is_not_counted_twice():
    prof = profile([((F_MAIN, F_STEP, F_BOOT, F_MOD), (2, 7, 1, 1), Split(interpreted=7.0)),
                    ((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(interpreted=2.0)),
                    ((F_MAIN, F_STEP), (2, 12), Split(native=1.0))])
    causes = find_repeated(prof)
    assert [c.kind for c in causes] == [IMPORT]
    assert causes[0].share == pytest.approx(0.7) and causes[0].sites[0][:2] == (F_STEP, 7)
    adv = advise(analyze(prof))
    top = adv.items[0]
    assert top.kind == "per-step-import" and top.title == "Import once, outside the step"
    assert top.share == pytest.approx(0.7) and "70% of the step" in top.reason
    # the reloaded module's own code ran in those samples: no port of it is an item of its own
    assert not [it for it in adv.items if it.scope == "<module>"]
    assert sum(it.share for it in adv.items) <= 1.0 + 1e-9
    assert adv.notes[0].startswith("First: Import once, outside the step")


def test_a_read_without_a_python_frame_is_found_from_its_line_and_a_numpy_load_from_its_frame():
    prof = profile([((F_MAIN, F_STEP), (2, 8), Split(native=5.0)),
                    ((F_MAIN, F_STEP, F_NPY), (2, 9, 310), Split(interpreted=1.0, native=2.0)),
                    ((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(interpreted=2.0))])
    (read,) = find_repeated(prof)
    assert read.kind == READ and read.share == pytest.approx(0.8)
    assert set(read.what) == {"load", "data = open(path).read()"}
    adv = advise(analyze(prof))
    assert adv.items[0].kind == "per-step-read" and adv.items[0].title == "Open/read once and cache"


def test_names_alone_make_no_cause():
    """The step's source names reload, open and Pool, but no sample ran in them: no item."""
    prof = profile([((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(interpreted=9.0)),
                    ((F_MAIN, F_STEP), (2, 12), Split(native=1.0))])
    assert find_repeated(prof) == ()
    assert not [it for it in advise(analyze(prof)).items if it.kind.startswith("per-step-")]


def test_a_read_in_a_waiting_function_is_left_to_its_io_item():
    prof = profile([((F_MAIN, F_STEP, F_GZIP), (2, 8, 300), Split(waiting=8.0, native=0.5)),
                    ((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(interpreted=1.5))])
    assert [c.kind for c in find_repeated(prof)] == [READ]  # the analysis sees the read ...
    adv = advise(analyze(prof))
    kinds = [it.kind for it in adv.items]
    assert "io" in kinds and "per-step-read" not in kinds  # ... the io item gives its advice (prefetch)


def test_a_pool_wait_is_start_up_only_when_the_pool_was_made_in_the_step():
    made = profile([((F_MAIN, F_STEP, F_POOL_INIT), (2, 10, 190), Split(native=2.0)),
                    ((F_MAIN, F_STEP, F_MAP), (2, 11, 364), Split(waiting=6.0)),
                    ((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(interpreted=2.0))])
    (spawn,) = find_repeated(made)
    assert spawn.kind == SPAWN and spawn.share == pytest.approx(0.8)
    assert advise(analyze(made)).items[0].kind == "per-step-spawn"
    reused = profile([((F_MAIN, F_STEP, F_MAP), (2, 11, 364), Split(waiting=6.0)),
                      ((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(interpreted=4.0))])
    assert find_repeated(reused) == ()


def _gc_bound() -> Profile:
    return profile([((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(gc=9.999, interpreted=0.001))])


def test_a_cause_that_is_the_whole_step_stops_at_the_floor_everywhere_it_is_shown():
    adv = advise(analyze(_gc_bound()))
    gc = adv.items[0]
    assert gc.kind == "gc" and gc.share == pytest.approx(1.0, abs=1e-3)
    assert gc.end_to_end.high == pytest.approx(20.0) and gc.end_to_end.typical < 20.0 + 1e-9
    assert combined(adv.items).high <= 20.0 + 1e-9
    line = lead_line(adv.items, False)
    assert "≥20.0×" in line and "∞" not in line
    assert "levers.step_floor" in gc.reason and "stops at 20.0×" in gc.reason
    text = " ".join(adv.notes)
    assert "∞" not in text
    data = json.loads(render_advice_json(adv))
    item = data["items"][0]
    assert item["end_to_end_capped"] is True and item["end_to_end"]["high"] == pytest.approx(20.0)
    html = render_html(adv)
    assert "∞" not in html and "≥20.0×" in html


def test_a_wholly_interpreted_step_has_a_bounded_amdahl_note():
    prof = profile([((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(interpreted=10.0))])
    note = next(n for n in advise(analyze(prof)).notes if n.startswith("Interpreted Python is 100%"))
    assert "∞" not in note and "20.0× faster or more" in note


def test_a_user_floor_changes_the_cap():
    from dataclasses import replace

    from advisor.costmodel.config import load_config

    cfg = load_config()
    cfg = replace(cfg, levers=replace(cfg.levers, step_floor=0.1))
    adv = advise(analyze(_gc_bound()), cfg)
    assert adv.items[0].end_to_end.high == pytest.approx(10.0) and "stops at 10.0×" in adv.items[0].reason


# ---- real scripts, profiled end to end ----------------------------------------------------------------

WORKLOADS = [("reimport_step.py", ["--steps", "30", "--epochs", "1"], "per-step-import"),
             ("reread_step.py", ["--steps", "60", "--epochs", "1"], "per-step-read"),
             ("pool_step.py", ["--steps", "6", "--epochs", "1"], "per-step-spawn")]


@pytest.mark.slow
@pytest.mark.parametrize("script,args,kind", WORKLOADS, ids=[w[0] for w in WORKLOADS])
def test_the_workload_top_item_is_its_repeated_set_up(tmp_path, script, args, kind):
    r = run_advisor(["profile", "-q", "-o", str(tmp_path), "--format", "json",
                     str(ROOT / "sample_workloads" / script), *args], cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads((tmp_path / "advice.json").read_text())
    top = data["items"][0]
    assert top["kind"] == kind, [(it["kind"], round(it["share"], 2)) for it in data["items"]]
    assert top["share"] >= 0.3 and "train_step line" in top["reason"]
    # the time the item claimed is no other item's: no port of the reloaded module's body, of train_step's read
    assert all(it["scope"] not in ("<module>",) for it in data["items"])
    # disjoint shares (a high end may pass its point share: it carries the share's sampling interval)
    assert sum(it["share"] for it in data["items"]) <= 1.0 + 1e-9
    assert sum(it["removed_share"]["typical"] for it in data["items"]) <= 1.0 + 1e-9


@pytest.mark.parametrize("scale,capped", [(0.001, True), (1.0, False)])
def test_a_share_seen_in_few_samples_has_a_wider_range(scale, capped):
    """64 of 68 samples in a reload: 94%, but 4 samples outside cannot rule out 98%; 6,400 of 6,800 can."""
    prof = profile([((F_MAIN, F_STEP, F_BOOT, F_MOD), (2, 7, 1, 1), Split(interpreted=64.0 * scale)),
                    ((F_MAIN, F_STEP, F_KERNEL), (2, 9, 5), Split(interpreted=4.0 * scale))])
    top = advise(analyze(prof)).items[0]
    assert top.kind == "per-step-import" and top.share == pytest.approx(64 / 68)
    assert (top.end_to_end.high >= 20.0 - 1e-9) is capped
    assert top.end_to_end.low < 1 / (1 - 0.8 * 64 / 68)  # the low end is under the point estimate's
    assert "at 95% confidence from" in top.reason


def test_wilson_interval_holds_the_share_and_narrows_with_samples():
    from advisor.costmodel.formulas import wilson

    lo, hi = wilson(64, 68)
    assert lo < 64 / 68 < hi <= 1.0
    lo2, hi2 = wilson(6400, 6800)
    assert lo < lo2 < 64 / 68 < hi2 < hi
    assert wilson(0, 0) == (0.0, 1.0)


def test_a_port_of_the_whole_step_stops_at_the_floor_too():
    from tests.costmodel.helpers import K, make_analysis

    adv = advise(make_analysis([K("conv", Split(interpreted=50.0))], steps=10))
    kernel = [it for it in adv.items if it.kind == "kernel"]
    assert kernel, [it.kind for it in adv.items]
    assert all(it.end_to_end.high <= 20.0 + 1e-9 for it in adv.items)
    best = adv.kernels[0].best
    if best is not None and best.end_to_end.high > 20.0:  # the estimate itself is uncapped; its item is not
        assert "levers.step_floor" in kernel[0].reason
