"""The advisor command as a user runs it: real subprocesses, real exit codes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from advisor.model import Profile
from tests.conftest import ROOT, popen_group, run_advisor, run_group

STEPPY = """
import os, sys, time
def train_step(i):
    s = 0
    for j in range(20000):
        s += j
    return s
def main():
    print("argv", sys.argv[1:], "name", __name__, "path0", sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
    for i in range(int(os.environ.get("STEPS", "30"))):
        train_step(i)
    code = os.environ.get("EXIT")
    if code == "raise":
        raise ValueError("boom in the script")
    if code:
        sys.exit(int(code))
if __name__ == "__main__":
    main()
"""


@pytest.fixture
def steppy(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(STEPPY)
    return path


def test_script_runs_as_main_with_its_own_args(steppy, tmp_path):
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), str(steppy), "--epochs", "1", "--lr", "0.1"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "argv ['--epochs', '1', '--lr', '0.1'] name __main__ path0 True"
    assert "step: train_step (auto-detected:" in r.stderr
    assert (tmp_path / "o" / "profile.json").exists()


@pytest.mark.parametrize("exit_env, code, words", [("3", 3, "exit code 3"), ("raise", 1, "exception")])
def test_exit_code_passes_through_and_profile_is_kept(steppy, tmp_path, exit_env, code, words):
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), str(steppy)], env={"EXIT": exit_env})
    assert r.returncode == code
    assert words in r.stderr
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.outcome.exit_code == code
    if exit_env == "raise":
        assert "ValueError: boom in the script" in r.stderr
        assert "advisor/capture" not in r.stderr  # the script's traceback, not ours


def test_module_form(tmp_path):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "train.py").write_text(STEPPY)
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), "-m", "mypkg.train", "--config", "run.yaml"],
                    cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "argv ['--config', 'run.yaml']" in r.stdout


def test_step_and_max_steps(steppy, tmp_path):
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), "--step", "train_step", "--max-steps", "5",
                     "--interval", "0.001", str(steppy)], env={"STEPS": "100000"})
    assert r.returncode == 0, r.stderr
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.outcome.stopped_by == "max-steps"
    assert 1 <= prof.step.stats.count <= 12


def test_step_not_found_lists_candidates_and_keeps_profile(steppy, tmp_path):
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), "--step", "train_stp", str(steppy)])
    assert r.returncode == 3
    assert "never ran; closest candidates: train_step (" in r.stderr
    assert (tmp_path / "o" / "profile.json").exists()


@pytest.mark.parametrize("args, words", [
    (["profile", "nope.py"], "no such script: nope.py"),
    (["profile", "."], "is a directory"),
    (["profile", "-m", "no_such_module_xyz"], "no module named"),
    (["profile", "--mode", "magic", "x.py"], "unknown --mode"),
    (["profile", "--bogus", "x.py"], "No such option"),
    (["report", "missing.json"], "cannot read profile"),
])
def test_bad_input_is_one_line_and_nonzero(tmp_path, args, words):
    r = run_advisor(args, cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert words in r.stderr
    assert "Traceback" not in r.stderr


def test_syntax_error_is_reported_before_running(tmp_path):
    (tmp_path / "bad.py").write_text("def f(:\n")
    r = run_advisor(["profile", "bad.py"], cwd=tmp_path)
    assert r.returncode == 2 and "syntax error in bad.py line 1" in r.stderr
    assert not (tmp_path / "advisor-out" / "profile.json").exists()


def test_out_that_is_a_file_fails_before_the_script_runs(steppy, tmp_path):
    marker = tmp_path / "ran"
    steppy.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (tmp_path / "afile").write_text("")
    r = run_advisor(["profile", "--out", str(tmp_path / "afile"), str(steppy)])
    assert r.returncode == 2 and "is a file" in r.stderr
    assert not marker.exists()


def _started(steppy, tmp_path):
    """advisor profiling STEPPY, returned once the script itself runs (its first line is read), not
    after a guessed sleep: on a loaded machine start-up alone can take seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STEPS": "100000000", "PYTHONUNBUFFERED": "1"}
    proc = popen_group([sys.executable, "-m", "advisor", "profile", "--out", str(tmp_path / "o"), str(steppy)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().startswith("argv")
    time.sleep(1.0)  # some steps (each ~1 ms of work; > 3 are needed even at a tenth of the speed)
    return proc


def test_ctrl_c_saves_what_was_profiled(steppy, tmp_path):
    proc = _started(steppy, tmp_path)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.outcome.stopped_by == "interrupt"
    assert prof.step is not None and prof.step.calls > 3


def test_sigterm_saves_and_exits_143(steppy, tmp_path):
    proc = _started(steppy, tmp_path)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert Profile.load(tmp_path / "o" / "profile.json").outcome.stopped_by == "sigterm"


def test_version_and_help():
    r = run_advisor(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("advisor ")
    r = run_advisor(["profile", "--help"])
    assert r.returncode == 0 and "advisor profile train.py --epochs 1" in r.stdout


def test_speedscope_export(steppy, tmp_path):
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), "--export", "speedscope", str(steppy)])
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "o" / "profile.speedscope.json").read_text())
    assert doc["profiles"][0]["type"] == "sampled"
    names = {f["name"] for f in doc["shared"]["frames"]}
    assert "train_step" in names


@pytest.mark.parametrize("mode", ["cprofile", "pyinstrument"])
def test_other_modes_produce_the_same_model(steppy, tmp_path, mode):
    # pyinstrument's records carry no call identity, so name the step there
    step = ["--step", "train_step"] if mode == "pyinstrument" else []
    r = run_advisor(["profile", "--mode", mode, *step, "--out", str(tmp_path / "o"), str(steppy)])
    assert r.returncode == 0, r.stderr
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.mode == mode
    assert prof.frames[prof.step.frame].key.qualname == "train_step"
    if mode == "cprofile":
        assert prof.step.calls == 30  # exact


def test_report_rerenders_a_saved_profile(steppy, tmp_path):
    run_advisor(["profile", "--out", str(tmp_path / "o"), str(steppy)])
    r = run_advisor(["report", str(tmp_path / "o" / "profile.json")])
    assert r.returncode == 0, r.stderr
    assert "train_step" in r.stderr


def test_script_that_changes_cwd_and_argv_and_forks(tmp_path):
    script = tmp_path / "wild.py"
    script.write_text(
        "import os, sys, time\n"
        "def step():\n"
        "    time.sleep(0.005)\n"
        "os.chdir('/')\n"
        "sys.argv = ['replaced']\n"
        "pid = os.fork()\n"
        "for _ in range(20):\n"
        "    step()\n"
        "if pid == 0:\n"
        "    sys.exit(7)\n"
        "os.waitpid(pid, 0)\n"
    )
    r = run_advisor(["profile", "--out", "o", str(script)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("profile saved") == 1  # the forked child wrote nothing
    prof = Profile.load(tmp_path / "o" / "profile.json")  # relative --out, even though the script chdir'd
    assert prof.step is not None and prof.frames[prof.step.frame].key.qualname == "step"


def test_two_runs_on_one_out_folder_one_is_refused(steppy, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STEPS": "100000000"}
    first = popen_group([sys.executable, "-m", "advisor", "profile", "--out", str(tmp_path / "o"), str(steppy)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 30
        while not (tmp_path / "o" / ".advisor.lock").exists() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        second = run_advisor(["profile", "--out", str(tmp_path / "o"), str(steppy)], env={"STEPS": "3"})
        assert second.returncode == 2
        assert "another advisor run is writing to" in second.stderr
        assert "argv" not in second.stdout  # refused before its script ran
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 130
    assert Profile.load(tmp_path / "o" / "profile.json").outcome.stopped_by == "interrupt"
    r = run_advisor(["report", str(tmp_path / "o" / "profile.json")])  # the lock went with the process
    assert r.returncode == 0, r.stderr


def test_a_path_that_is_not_utf8_still_gets_every_output(tmp_path):
    folder = os.path.join(os.fsencode(str(tmp_path)), b"caf\xe9")
    os.makedirs(folder)
    with open(os.path.join(folder, b"train.py"), "w") as fh:
        fh.write(STEPPY)
    script = os.fsdecode(os.path.join(folder, b"train.py"))
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), script])
    assert r.returncode == 0, r.stderr
    assert "could not write" not in r.stderr
    for name in ("profile.json", "report.html", "roi.xlsx", "advice.json"):
        assert (tmp_path / "o" / name).exists(), name
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert any("caf\\xe9" in f.key.file for f in prof.frames if f.user)
    assert any("caf\\xe9" in f for f in prof.sources)


def test_format_csv_writes_only_the_kernels_table(steppy, tmp_path):
    r = run_advisor(["profile", "--format", "csv", "--out", str(tmp_path / "o"), str(steppy)])
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in (tmp_path / "o").iterdir() if not p.name.startswith("."))
    assert files == ["kernels.csv", "profile.json"]
    header = (tmp_path / "o" / "kernels.csv").read_text().splitlines()[0]
    assert header.startswith("Kernel,") and "Payback (typical)" in header
    r = run_advisor(["profile", "--format", "pdf", str(steppy)])
    assert r.returncode == 2 and "unknown --format 'pdf'" in r.stderr


def test_short_help_and_a_script_own_h(tmp_path):
    r = run_advisor(["profile", "-h"])
    assert r.returncode == 0 and "Usage: advisor profile" in r.stdout
    script = tmp_path / "s.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n")
    r = run_advisor(["profile", "-q", "--out", str(tmp_path / "o"), str(script), "-h"])
    assert r.returncode == 0 and r.stdout.strip() == "['-h']"  # after the script, -h is the script's


def test_double_dash_ends_advisor_options_and_the_script_keeps_its_own(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n")
    out = str(tmp_path / "o")
    # --config after the script is the script's, not advisor's cost-model --config
    r = run_advisor(["profile", "-q", "--out", out, "--", str(script), "--config", "run.yaml", "-h"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['--config', 'run.yaml', '-h']"
    r = run_advisor(["profile", "-q", "--out", out, str(script), "--", "--config", "x"])
    assert r.returncode == 0 and r.stdout.strip() == "['--', '--config', 'x']"  # as `python s.py -- ...` gives


def test_stdout_redirected_to_a_file_holds_the_script_output_while_stderr_is_a_terminal(tmp_path):
    """`advisor profile x.py > out.txt` in a terminal: the live status line (stderr is a tty) must not take
    the script's stdout."""
    import pty
    import threading

    script = tmp_path / "s.py"
    script.write_text("import time\nfor i in range(3):\n    print('line', i)\n    time.sleep(0.4)\n")
    master, slave = pty.openpty()
    seen = bytearray()

    def drain():
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with open(tmp_path / "out.txt", "w") as out:
        proc = run_group([sys.executable, "-m", "advisor", "profile", "--format", "json",
                          "--out", str(tmp_path / "o"), str(script)], stdout=out, stderr=slave,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    assert proc.returncode == 0, bytes(seen).decode(errors="replace")[-2000:]
    assert (tmp_path / "out.txt").read_text() == "line 0\nline 1\nline 2\n"
    assert b"line 0" not in seen and b"profile saved" in seen


def test_every_option_that_takes_a_value_is_known_to_the_argv_splitter():
    """split_argv skips an option's value only if it knows the option takes one: a new option missing
    from _VALUE_OPTIONS would make its value look like the script."""
    import typer.main

    from advisor.cli import _VALUE_OPTIONS, app

    group = typer.main.get_command(app)
    for name in ("profile", "try"):
        cmd = group.commands[name]
        takes_value = {o for p in cmd.params if p.param_type_name == "option" and not p.is_flag for o in p.opts}
        assert takes_value and takes_value <= _VALUE_OPTIONS, takes_value - _VALUE_OPTIONS
