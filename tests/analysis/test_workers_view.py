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
