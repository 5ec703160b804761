"""The input-pipeline verdict on hand-built profiles: numbers worked out by hand."""

from __future__ import annotations

from dataclasses import replace

from advisor.analysis import analyze
from advisor.analysis.workers import KEEP_UP, pipeline_view
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo
from advisor.parts import Part, PartFunction

DL = "/venv/lib/python3.11/site-packages/torch/utils/data/dataloader.py"
FRAMES = (
    Frame(FrameKey("/w/train.py", "<module>", 1), True),                                      # 0
    Frame(FrameKey("/w/train.py", "train_step", 10), True),                                   # 1
    Frame(FrameKey(DL, "_BaseDataLoaderIter.__next__", 700), False),                          # 2
    Frame(FrameKey(DL, "_MultiProcessingDataLoaderIter._next_data", 1300), False),            # 3
)
AUG = PartFunction(FrameKey("/w/train.py", "augment", 30), True, Split(interpreted=3.0), Split(interpreted=3.0), 600)
IDLE = PartFunction(FrameKey("/usr/lib/python3.11/selectors.py", "select", 400), False, Split(waiting=1.0),
                    Split(waiting=1.0), 200)


def _profile(wait_s: float, with_workers: bool = True) -> Profile:
    stacks = (StackRecord((0, 1), (1, 11), "step", Split(native=10.0), 2000),
              StackRecord((0, 2, 3), (2, 701, 1301), "outside", Split(waiting=wait_s), 100))
    step = StepInfo(1, "auto", "auto", 11, 1, (1.0,) * 10, "sampled")
    parts = tuple(Part("worker", f"worker {i}", 1, 5.0, 800, Split(interpreted=3.0, waiting=1.0), (AUG, IDLE))
                  for i in range(2)) if with_workers else ()
    return Profile("sample", 0.005, {"target": "train.py", "kind": "script", "args": []}, {"python": "3.11"},
                   "2026-01-01T00:00:00", 20.0, Outcome(0, "exit"), FRAMES, stacks, step, (), parts=parts)


def test_workers_keep_up_when_the_main_thread_barely_waits():
    view = pipeline_view(_profile(0.1), 10.0)
    assert view.batch_wait_s == 0.1 and view.loop_s == 10.1
    assert view.batch_wait_share < KEEP_UP
    assert view.verdict.startswith("workers keep up")


def test_the_workers_hotspot_is_named_when_the_main_thread_waits():
    view = analyze(_profile(5.0)).pipeline
    assert view.loop_s == 15.0
    # 5 s of a 15 s loop waited; augment is 3 s of each worker's 4 s
    assert view.verdict == ("the main process waits 33% of its training loop for the next batch; the workers' "
                            "augment (train.py:30) is 75% of their time")
    assert [w.hotspot for w in view.workers] == ["augment (train.py:30)"] * 2
    assert all(w.verdict.startswith("Python-bound") for w in view.workers)


def test_no_parts_and_no_fetch_means_no_view():
    p = _profile(0.0, with_workers=False)
    p = replace(p, stacks=p.stacks[:1])
    assert pipeline_view(p, 10.0) is None


def test_a_profile_with_parts_round_trips(tmp_path):
    p = _profile(1.0)
    p.save(tmp_path / "p.json")
    assert Profile.load(tmp_path / "p.json").parts == p.parts


def test_merge_shows_each_ranks_workers_and_pipeline_verdict():
    from pathlib import Path

    from advisor.merge.core import merge
    from advisor.merge.load import RankProfile
    from advisor.render.merge import render_merged_html, render_merged_text

    ranks = []
    for r, wait in ((0, 0.1), (1, 5.0)):
        p = _profile(wait)
        p = replace(p, environment={**p.environment, "distributed": {"rank": r, "world_size": 2, "run_id": "x"}})
        ranks.append(RankProfile(r, Path(f"/x/rank-{r}/profile.json"), p))
    m = merge(ranks)
    assert [(p.rank, p.role, p.name) for p in m.processes] == [(0, "worker", "worker 0"), (0, "worker", "worker 1"),
                                                                (1, "worker", "worker 0"), (1, "worker", "worker 1")]
    assert m.pipelines[0][1].startswith("workers keep up") and "waits 33%" in m.pipelines[1][1]
    text = render_merged_text(m)
    assert "input pipeline, rank 1: the main process waits 33%" in text
    assert "rank 1 worker worker 0" in text
    assert "Workers and threads" in render_merged_html(m)
