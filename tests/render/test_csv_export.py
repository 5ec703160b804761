"""kernels.csv with hostile names: a bare CR or LF never splits a row, no cell starts a formula."""

from __future__ import annotations

import csv
import io
import textwrap

from advisor.analysis import analyze
from advisor.costmodel import advise, load_config
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo
from advisor.render.csv_export import render_kernels_csv

EVIL_FILE = "/w/a\r=cmd|' /C calc'!A0.py"  # Excel reads a bare CR as a row break: "=cmd..." would start a row
EVIL_NAME = "loop\n@SUM(1+1)"
LOOP = textwrap.dedent("""\
    def loop(a, n):
        acc = 0.0
        for i in range(n):
            for j in range(n):
                acc += a[i] * a[j]
        return acc
""")


def _csv() -> str:
    frames = (Frame(FrameKey("/w/train.py", "train_step", 1), True), Frame(FrameKey(EVIL_FILE, EVIL_NAME, 1), True))
    stacks = (StackRecord((0, 1), (2, 4), "step", Split(interpreted=9.0, native=0.5), 9500),
              StackRecord((0,), (3,), "step", Split(waiting=1.0), 1000))
    profile = Profile("cprofile", 0.005, {"target": "train.py", "args": []}, {}, "", 11.0, Outcome(0, "exit"),
                      frames, stacks, StepInfo(0, "auto", "auto", 10, 0, (), "exact"), (), calls={0: 10, 1: 10},
                      sources={EVIL_FILE: LOOP, "/w/train.py": "def train_step():\n    loop()\n"})
    return render_kernels_csv(advise(analyze(profile), load_config()))


def test_a_bare_cr_or_lf_in_a_path_or_name_never_splits_a_row():
    text = _csv()
    assert "\r" not in text
    physical = text.split("\n")[:-1]  # how a spreadsheet that splits on every line break sees the file
    rows = list(csv.reader(io.StringIO(text)))
    assert len(physical) == len(rows) > 1
    assert all(len(r) == len(rows[0]) for r in rows)
    evil = [r for r in rows[1:] if r[0].startswith("loop")]
    assert evil, "the hostile kernel is in the table"
    assert evil[0][0] == "loop\\n@SUM(1+1)"  # shown, escaped, in its own cell
    assert evil[0][1].startswith("/w/a\\r=cmd|' /C calc'!A0.py:")


def test_no_cell_on_any_physical_line_starts_a_formula():
    for line in _csv().split("\n"):
        for cell in next(csv.reader([line]), []):
            if cell.startswith("-"):
                float(cell)  # only a negative number may start with "-"
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
