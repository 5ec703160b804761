"""The terminal summary at a fixed width: hostile names print as text, numbers match the analysis."""

import io

from rich.console import Console

from advisor.analysis import analyze
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo
from advisor.render.terminal import render_summary

HOSTILE = "[red]evil[/red]\n<script>alert(1)</script>"


def _profile() -> Profile:
    frames = (Frame(FrameKey("/w/train.py", "main", 1), True), Frame(FrameKey("/w/train.py", "step", 5), True),
              Frame(FrameKey("/w/[bold]x.py", HOSTILE, 9), True))
    stacks = (StackRecord((0, 1, 2), (2, 6, 10), "step", Split(interpreted=3.0, native=1.0), 400),
              StackRecord((0, 1), (2, 7), "step", Split(waiting=1.0), 100))
    step = StepInfo(1, "auto", "auto-detected: 10 calls, 90% of run time; --step to choose", 10, 1, (0.5,) * 9,
                    "sampled")
    return Profile("sample", 0.005, {"target": "train.py"}, {}, "", 6.0, Outcome(0, "exit"), frames, stacks, step, ())


def _render() -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=160, color_system=None, legacy_windows=False, _environ={})
    render_summary(analyze(_profile()), console, {"profile saved": "advisor-out/profile.json"})
    return buf.getvalue()


def test_hostile_names_print_literally_on_one_line():
    out = _render()
    assert "[red]evil[/red]\\n<script>alert(1)</script>" in out
    assert "[bold]x.py:9" in out


def test_summary_numbers_follow_the_analysis():
    out = _render()
    assert "step: step (auto-detected: 10 calls, 90% of run time; --step to choose)" in out
    assert "steps: 9 measured (1 warm-up dropped) · mean 500.0 ms" in out
    assert "interpreted 60% · native 20% · waiting 20% · gc 0%" in out
    assert " 80% " in out  # the hostile-named function's self share: 4 of 5 s
    assert "profile saved: advisor-out/profile.json" in out
