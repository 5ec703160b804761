"""advisor's cost in the user's process (issue 18, Overhead): what is loaded and tracked by the GC when the
script starts, and the typer-free parsing of ``advisor profile`` that keeps it so."""

import json
from pathlib import Path

import pytest

from advisor.quickargs import PROFILE_DEFAULTS, PROFILE_OPTIONS, parse_profile
from tests.conftest import run_advisor, write_script

# Loaded after the script ends, never before: the CLI framework, the terminal, the cost model's
# validation, the report renderers and the data libraries.
HEAVY = ("typer", "click", "rich", "pydantic", "pandas", "jinja2", "xlsxwriter", "advisor.costmodel",
         "advisor.render", "advisor.commands")

PROBE = """
import gc, json, sys
json.dump({"modules": sorted(sys.modules), "frozen": gc.get_freeze_count()}, open(sys.argv[1], "w"))
"""


def _loaded(names, prefix):
    return [m for m in names if m == prefix or m.startswith(prefix + ".")]


@pytest.mark.parametrize("opts", [[], ["--max-steps", "5", "--format", "json"], ["--mode=cprofile", "-o", "{out}"]])
def test_the_script_starts_without_advisors_heavy_modules_and_with_advisor_frozen(tmp_path, opts):
    script = write_script(tmp_path, "train.py", PROBE)
    seen = tmp_path / "seen.json"
    out = tmp_path / "o"
    opts = [o.replace("{out}", str(out)) for o in opts]
    r = run_advisor(["profile", "-q", *(opts if "-o" in opts else [*opts, "--out", str(out)]), str(script),
                     str(seen)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    state = json.loads(seen.read_text())
    for prefix in HEAVY:
        assert not _loaded(state["modules"], prefix), prefix
    assert "advisor.capture.sampler" in state["modules"]  # the probe ran under advisor, not plain
    assert state["frozen"] > 0  # advisor's own objects are in the permanent generation
    assert (out / "profile.json").is_file()


def test_the_same_script_run_plainly_sees_no_advisor(tmp_path):
    """The probe can tell: a plain run has no advisor module and nothing frozen."""
    import subprocess
    import sys

    script = write_script(tmp_path, "train.py", PROBE)
    subprocess.run([sys.executable, str(script), str(tmp_path / "seen.json")], check=True, timeout=60)
    state = json.loads((tmp_path / "seen.json").read_text())
    # what a bare interpreter has frozen itself (0 on 3.11; some of its own objects on 3.12)
    bare = subprocess.run([sys.executable, "-c", "import gc; print(gc.get_freeze_count())"], check=True,
                          timeout=60, capture_output=True, text=True)
    assert not _loaded(state["modules"], "advisor") and state["frozen"] == int(bare.stdout)


def test_quick_options_are_the_typer_commands_options():
    """quickargs.py mirrors cli ``profile``: same option names, same parameters, same defaults."""
    import typer.main

    from advisor.commands import app

    cmd = typer.main.get_command(app).commands["profile"]
    declared = {o: p.name for p in cmd.params if p.param_type_name == "option" for o in p.opts}
    assert declared == {o: dest for o, (dest, _) in PROFILE_OPTIONS.items()}
    defaults = {p.name: p.default for p in cmd.params}
    assert defaults.keys() == PROFILE_DEFAULTS.keys()
    for name, value in PROFILE_DEFAULTS.items():
        got = defaults[name]
        assert (list(got) if isinstance(got, (list, tuple)) else got) == value, name
    flags = {o for p in cmd.params if p.param_type_name == "option" and p.is_flag for o in p.opts}
    assert flags == {o for o, (_, kind) in PROFILE_OPTIONS.items() if kind is None}


def test_quick_parse_takes_the_plain_forms():
    v = parse_profile(["profile", "--max-steps", "5", "--interval=0.01", "-q", "--format", "json", "--format",
                       "csv", "-o", "out", "train.py"])
    assert v is not None
    assert (v["max_steps"], v["interval"], v["quiet"], v["formats"], v["out"], v["script"]) == (
        5, 0.01, True, ["json", "csv"], Path("out"), "train.py")
    assert parse_profile(["profile", "-m", "pkg.train"])["module"] == "pkg.train"
    assert parse_profile(["profile"])["script"] is None  # cli says: give a script


@pytest.mark.parametrize("ours", [
    ["profile", "--help"], ["profile", "-h"], ["profile", "--bogus", "x.py"], ["profile", "--warmup", "two", "x.py"],
    ["profile", "--max-steps"], ["profile", "-q=1", "x.py"], ["profile", "-ofolder", "x.py"], ["report", "p.json"],
    ["profile", "--interval", "1e", "x.py"], ["profile", "--quiet=yes", "x.py"], ["profile", "--warmup", "1_0", "x.py"],
    ["profile", "--interval", "nan", "x.py"], ["profile", "--out", "", "x.py"],
])
def test_anything_unusual_goes_to_typer(ours):
    assert parse_profile(ours) is None


def test_typers_messages_are_kept_for_what_quick_parsing_refuses(tmp_path):
    r = run_advisor(["profile", "--warmup", "two", "x.py"], cwd=tmp_path)
    assert r.returncode == 2 and "'--warmup'" in r.stderr and "Traceback" not in r.stderr
    r = run_advisor(["profile", "--help"], cwd=tmp_path)
    assert r.returncode == 0 and "--max-steps" in r.stdout


def test_the_summary_comes_before_the_slow_reports_and_every_output_is_still_written(tmp_path):
    from advisor.api import profiling
    from advisor.pipeline import finish

    def work():
        return sum(i * i for i in range(20_000))

    with profiling(interval_s=0.001) as region:
        for _ in range(20):
            work()
    seen = {}

    def first(rep):
        seen.update({name: (tmp_path / name).is_file() for name in ("advice.json", "report.html", "roi.xlsx")})
        seen["labels"] = sorted(rep.written)

    rep = finish(region.profile, tmp_path, first=first)
    assert seen == {"advice.json": True, "report.html": False, "roi.xlsx": False, "labels": ["advice saved"]}
    assert sorted(rep.written) == ["advice saved", "report saved", "spreadsheet saved"] and not rep.failed
    assert (tmp_path / "report.html").is_file() and (tmp_path / "roi.xlsx").is_file()
