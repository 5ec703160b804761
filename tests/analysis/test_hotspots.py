"""Hotspot ranking on a hand-built profile: library time goes to the calling user function."""

import pytest

from advisor.analysis import analyze
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo

U = lambda name, line: Frame(FrameKey("/w/train.py", name, line), True)  # noqa: E731
L = lambda name: Frame(FrameKey("/lib/site-packages/numpy/core.py", name, 1), False)  # noqa: E731
N = lambda name: Frame(FrameKey("<built-in>", name, 0, "native"), False)  # noqa: E731


def profile() -> Profile:
    frames = (U("main", 1), U("step", 10), U("loss", 20), L("norm"), N("matmul"), U("conv", 30))
    stacks = (
        StackRecord((0, 1, 2), (2, 11, 21), "step", Split(interpreted=3.0), 300),
        StackRecord((0, 1, 3, 4), (2, 12, 5, 0), "step", Split(native=4.0), 400),  # step → numpy → C
        StackRecord((0, 1, 5, 3), (2, 13, 31, 5), "step", Split(interpreted=0.5, native=1.5), 200),
        StackRecord((0, 1), (2, 14), "step", Split(waiting=1.0), 100),
        StackRecord((0, 1, 2), (2, 11, 21), "warmup", Split(interpreted=9.0), 900),
        StackRecord((0,), (3,), "outside", Split(interpreted=5.0), 500),
    )
    step = StepInfo(1, "auto", "auto", 11, 1, (1.0,) * 10, "sampled")
    return Profile("sample", 0.005, {"target": "train.py"}, {}, "", 20.0, Outcome(0, "exit"), frames, stacks,
                   step, ())


def test_library_time_goes_to_the_user_caller_and_keeps_its_bucket():
    a = analyze(profile())
    assert a.step_s == pytest.approx(10.0)
    by = {h.key.qualname: h for h in a.hotspots}
    assert set(by) == {"step", "loss", "conv"}  # numpy and the C matmul are not hotspots
    assert by["step"].self_split == Split(native=4.0, waiting=1.0)
    assert by["step"].self_share == pytest.approx(0.5)
    assert by["step"].inclusive_share == pytest.approx(1.0)
    assert by["conv"].self_split == Split(interpreted=0.5, native=1.5)
    assert by["loss"].self_share == pytest.approx(0.3)
    assert [h.key.qualname for h in a.hotspots] == ["step", "loss", "conv"]


def test_warmup_and_outside_never_mix_into_hotspots():
    a = analyze(profile())
    assert a.warmup_split.total == pytest.approx(9.0)
    assert a.outside_split.total == pytest.approx(5.0)
    assert sum(h.self_share for h in a.hotspots) == pytest.approx(1.0)


def test_line_heat_is_inclusive_per_line():
    a = analyze(profile())
    step = next(h for h in a.hotspots if h.key.qualname == "step")
    heat = {lh.line: lh.share for lh in step.lines}
    assert heat == pytest.approx({11: 0.3, 12: 0.4, 13: 0.2, 14: 0.1})


def test_few_samples_give_a_caveat():
    a = analyze(profile())
    assert not any("samples in the measured step" in c for c in a.caveats)  # 1000 samples
