"""Issue 12, security and hygiene, through the real command: hostile profiles, escape sequences, the
output lock, file modes. Each case is listed in docs/robustness.md."""

from __future__ import annotations

import json
import os
import stat
import re

import pytest

from tests.conftest import run_advisor
from tests.test_model import small_profile

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m\r"


def _write(folder, doc) -> str:
    folder.mkdir(exist_ok=True)
    path = folder / "profile.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_report_of_a_hostile_profile_sends_no_escape_sequence(tmp_path):
    doc = small_profile().to_json()
    doc["frames"][1]["qualname"] = "step" + ESCAPES
    doc["command"]["target"] = "train" + ESCAPES + ".py"
    doc["warnings"] = ["warning" + ESCAPES]
    doc["outcome"] = {"exit_code": 1, "stopped_by": "exception", "detail": "boom" + ESCAPES}
    path = _write(tmp_path / "o", doc)
    r = run_advisor(["report", path], env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert r.returncode == 0, r.stderr
    assert "\\x1b]0;owned\\x07" in r.stderr  # shown, escaped
    assert re.sub(r"\x1b\[[0-9;]*m", "", r.stderr).count("\x1b") == 0  # only colours, no OSC / clear screen
    assert "\x07" not in r.stderr and "\r" not in r.stderr


def test_an_error_message_quoting_a_hostile_path_is_escaped(tmp_path):
    r = run_advisor(["report", str(tmp_path / ("x" + ESCAPES) / "profile.json")])
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "cannot read profile" in r.stderr
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr and "\r" not in r.stderr


@pytest.mark.parametrize("path, value, field", [
    (("stacks", 0, "split", 0), float("nan"), "stacks[0].split[0] is NaN"),
    (("step", "durations_s"), [1e308] * 9, "step.durations_s must be between 0 and"),
    (("command", "args"), None, "command.args must be a list of strings"),
    (("version",), 0, "\"version\" must be 1 or more"),
])
def test_report_refuses_a_damaged_profile_in_one_line(tmp_path, path, value, field):
    doc = small_profile().to_json()
    obj = doc
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value
    r = run_advisor(["report", _write(tmp_path / "o", doc)])
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("advisor: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert field in r.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["profile.json"]  # nothing half-written


def test_report_of_a_name_with_a_lone_surrogate_writes_every_output(tmp_path):
    doc = small_profile().to_json()
    doc["frames"][1]["qualname"] = "st\ud800ep"
    r = run_advisor(["report", _write(tmp_path / "o", doc)])
    assert r.returncode == 0, r.stderr
    assert "could not write" not in r.stderr
    assert "note: text in the profile was not valid Unicode" in r.stderr
    for name in ("report.html", "roi.xlsx", "advice.json"):
        assert (tmp_path / "o" / name).exists(), name
    html = (tmp_path / "o" / "report.html").read_text()
    assert "st\\ud800ep" in html and not re.search(r"\bnan\b", html, re.I)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)], ids=["022", "002", "077"])
def test_outputs_follow_the_umask(tmp_path, umask, mode):
    script = tmp_path / "train.py"
    script.write_text("def step():\n    return sum(range(20000))\nfor _ in range(20):\n    step()\n")
    out = tmp_path / "o"
    r = run_advisor(["profile", "-q", "--out", str(out), "--format", "html", "--format", "xlsx", "--format", "json",
                     "--format", "csv", "--export", "speedscope", str(script)], preexec_fn=lambda: os.umask(umask))
    assert r.returncode == 0, r.stderr
    names = {"profile.json", "report.html", "roi.xlsx", "advice.json", "kernels.csv", "profile.speedscope.json",
             ".advisor.lock"}
    assert names <= {p.name for p in out.iterdir()}
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in out.iterdir() if p.is_file()}
    assert modes == {name: oct(mode) for name in modes}, modes
    # `advisor report` rewrites them with the same rule.
    r = run_advisor(["report", "-q", str(out / "profile.json")], preexec_fn=lambda: os.umask(umask))
    assert r.returncode == 0, r.stderr
    assert all(stat.S_IMODE(p.stat().st_mode) == mode for p in out.iterdir() if p.is_file())


def test_every_test_named_in_the_outputs_and_inputs_table_exists():
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "robustness.md").read_text()
    section = text[text.index("## Outputs and inputs"):text.index("### The output lock")]
    named, last_file = [], None
    for ref in re.findall(r"`((?:tests/[\w/]+\.py)?(?:::\w+)?)`", section):
        file, _, func = ref.partition("::")
        last_file = file or last_file
        named.append((last_file, func))
    assert len(named) >= 15
    for file, func in named:
        source = (ROOT / file).read_text()
        assert not func or f"def {func}(" in source, f"{file}::{func} named in docs/robustness.md does not exist"
