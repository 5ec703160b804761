"""The terminal summary at a fixed width: hostile names print as text, numbers match the analysis."""

import io
import re

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
    # this profile's step timing is "sampled": its figures are labelled as estimates
    assert "steps: ~9 measured (estimated from samples, 1 warm-up dropped) · mean ~500 ms" in out
    assert "interpreted 60% · native 20% · waiting 20% · gc 0%" in out
    assert " 80% " in out  # the hostile-named function's self share: 4 of 5 s
    assert "profile saved: advisor-out/profile.json" in out


# Escape sequences a hostile profile could carry: set the window title (OSC), clear the screen, recolour,
# ring the bell, return to the line start, and the 8-bit CSI.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\r\x9b1m"


def _hostile_profile() -> Profile:
    base = _profile()
    frames = (base.frames[0], Frame(FrameKey("/w/train.py", "step" + ESCAPES, 5), True),
              Frame(FrameKey("/w/x" + ESCAPES + ".py", "f" + ESCAPES, 9), True))
    return Profile("sample", 0.005, {"target": "train" + ESCAPES + ".py"}, {}, "", 6.0,
                   Outcome(1, "exception", "ValueError: " + ESCAPES), frames, base.stacks, base.step, (),
                   warnings=("warning " + ESCAPES,))


def _render_hostile(color_system) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=300, color_system=color_system, force_terminal=color_system is not None,
                      legacy_windows=False, _environ={})
    render_summary(analyze(_hostile_profile()), console, {"profile saved": "/o" + ESCAPES + "/profile.json"})
    return buf.getvalue()


def test_escape_sequences_from_a_profile_are_shown_not_sent():
    out = _render_hostile(None)
    for raw in ("\x1b", "\x07", "\r", "\x9b"):
        assert raw not in out
    shown = "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\r\\x9b1m"
    for where in ("step: step" + shown, "f" + shown, "x" + shown + ".py:9", "train" + shown + ".py",
                  "note: warning " + shown, "ValueError: " + shown, "/o" + shown + "/profile.json"):
        assert where in out, where


def test_on_a_colour_terminal_only_advisor_s_own_colours_are_sent():
    out = _render_hostile("truecolor")
    assert "\x1b[" in out  # the split bars are coloured
    # Every escape in the output is a select-graphic-rendition (colour) sequence that rich wrote.
    assert re.sub(r"\x1b\[[0-9;]*m", "", out).count("\x1b") == 0
    assert "\x07" not in out and "\r" not in out and "\x9b" not in out
