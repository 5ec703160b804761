"""Stops always land and nothing measured is lost (issue 12): Ctrl-C, SIGTERM and --max-steps on a
GC-heavy step (where they used to land in advisor's GC callback and vanish), a script that swallows
them with a bare ``except:``, a second Ctrl-C while saving, ``os._exit``, a segfault and SIGKILL after
a checkpoint, hostile scripts that break what saving uses.

Each script touches a file once it is inside its steps, and the test waits for that file before it
signals, so nothing here depends on how fast the machine is.
"""

import json
import os
import signal
import time

import pytest

from advisor.model import Profile

GC_STEP = """
import os, sys, time
READY = sys.argv[1]
class Node:
    def __init__(self, other):
        self.other = other
        self.payload = [1, 2]
def train_step(i):
    keep = []
    for k in range(3000):
        a = Node(None); b = Node(a); a.other = b
        keep.append(a)
    return len(keep)
"""

LOOP = """
for i in range(int(sys.argv[2])):
    train_step(i)
    if i == 5:
        open(READY, "w").close()
"""

SWALLOWING_LOOP = """
for i in range(int(sys.argv[2])):
    try:
        train_step(i)
    except:  # noqa: E722 - the script swallows everything, stops included
        pass
    if i == 5:
        open(READY, "w").close()
"""


def _wait_for(path, proc, limit=120.0):
    t0 = time.monotonic()
    while not path.exists():
        assert proc.proc.poll() is None, proc.proc.communicate()[1][-2000:]
        assert time.monotonic() - t0 < limit, "the script never reached its steps"
        time.sleep(0.05)


def _start(spawn, tmp_path, body, steps, *opts):
    script = tmp_path / "train.py"
    script.write_text(GC_STEP + body)
    ready = tmp_path / "ready"
    proc = spawn(["profile", "--out", str(tmp_path / "o"), *opts, str(script), str(ready), str(steps)])
    return proc, ready


@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_on_a_gc_heavy_step_always_stops_and_saves(spawn, tmp_path, attempt):
    proc, ready = _start(spawn, tmp_path, LOOP, 10**9)
    _wait_for(ready, proc)
    proc.signal(signal.SIGINT)
    rc, _, err = proc.finish(timeout=120)
    assert rc == 130, err[-2000:]
    assert "Exception ignored" not in err
    assert Profile.load(tmp_path / "o" / "profile.json").outcome.stopped_by == "interrupt"


def test_sigterm_on_a_gc_heavy_step_exits_143_and_saves(spawn, tmp_path):
    proc, ready = _start(spawn, tmp_path, LOOP, 10**9)
    _wait_for(ready, proc)
    proc.signal(signal.SIGTERM)
    rc, _, err = proc.finish(timeout=120)
    assert rc == 143, err[-2000:]
    assert Profile.load(tmp_path / "o" / "profile.json").outcome.stopped_by == "sigterm"


def test_sigterm_swallowed_by_a_bare_except_still_ends_the_run(spawn, tmp_path):
    proc, ready = _start(spawn, tmp_path, SWALLOWING_LOOP, 10**9)
    _wait_for(ready, proc)
    proc.signal(signal.SIGTERM)
    rc, _, err = proc.finish(timeout=120)
    assert rc == 143, err[-2000:]
    assert "caught SIGTERM" in err
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.outcome.stopped_by == "sigterm" and prof.step is not None


def test_max_steps_on_a_gc_heavy_step_stops_the_run(spawn, tmp_path):
    proc, _ = _start(spawn, tmp_path, LOOP, 10**9, "--max-steps", "30")
    rc, _, err = proc.finish(timeout=300)
    assert rc == 0, err[-2000:]
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.outcome.stopped_by == "max-steps"


def test_max_steps_swallowed_by_a_bare_except_still_ends_the_run(spawn, tmp_path):
    proc, _ = _start(spawn, tmp_path, SWALLOWING_LOOP, 10**9, "--max-steps", "20")
    rc, _, err = proc.finish(timeout=300)
    assert rc == 0, err[-2000:]
    assert "caught the --max-steps stop" in err
    assert Profile.load(tmp_path / "o" / "profile.json").outcome.stopped_by == "max-steps"


def test_ctrl_c_again_and_again_while_it_saves_does_not_lose_the_profile(spawn, tmp_path):
    proc, ready = _start(spawn, tmp_path, LOOP, 10**9, "--interval", "0.001")
    _wait_for(ready, proc)
    time.sleep(1.0)
    for _ in range(40):  # the first ends the script, the rest land while it stops and saves
        if proc.proc.poll() is not None:
            break
        proc.signal(signal.SIGINT)
        time.sleep(0.02)
    rc, _, err = proc.finish(timeout=120)
    assert rc == 130, err[-2000:]
    assert Profile.load(tmp_path / "o" / "profile.json").outcome.stopped_by == "interrupt"


def test_os_exit_keeps_the_profile_and_the_exit_code(spawn, tmp_path):
    proc, _ = _start(spawn, tmp_path, LOOP.replace("open(READY", "os._exit(7); open(READY"), 100)
    rc, _, err = proc.finish(timeout=120)
    assert rc == 7, err[-2000:]
    assert "os._exit(7)" in err
    prof = Profile.load(tmp_path / "o" / "profile.json")
    assert prof.outcome.stopped_by == "os._exit" and prof.outcome.exit_code == 7


@pytest.mark.parametrize("how", ["segfault", "sigkill"])
def test_a_hard_crash_keeps_the_last_checkpoint(spawn, tmp_path, how):
    crash = ("import ctypes; ctypes.string_at(0)" if how == "segfault"
             else "os.kill(os.getpid(), 9)")
    body = f"""
t0 = None
for i in range(10**9):
    train_step(i)
    if i == 5:
        open(READY, "w").close()
        t0 = time.monotonic()
    if t0 is not None and os.path.exists(READY + ".go"):
        {crash}
"""
    proc, ready = _start(spawn, tmp_path, body, 0, "--checkpoint", "0.5")
    _wait_for(ready, proc)
    profile = tmp_path / "o" / "profile.json"
    t0 = time.monotonic()
    while not profile.exists():  # the first checkpoint
        assert proc.proc.poll() is None and time.monotonic() - t0 < 120
        time.sleep(0.05)
    (tmp_path / "ready.go").touch()
    rc, _, err = proc.finish(timeout=120)
    assert rc in (-signal.SIGSEGV, -signal.SIGKILL, 139, 137), (rc, err[-1000:])
    prof = Profile.load(profile)
    assert prof.outcome.stopped_by == "checkpoint"
    assert prof.step is not None and prof.step.calls >= 2
    from tests.conftest import run_advisor

    r = run_advisor(["report", str(profile), "--format", "json"], timeout=120)
    assert r.returncode == 0 and "checkpoint" in r.stderr


HOSTILE = """
for i in range(60):
    train_step(i)
    if i == 5:
        import json, traceback
        json.dumps = None
        os.replace = None
        sys.setrecursionlimit(50)
        os.closerange(3, 1 << 16)
class Weird(Exception):
    def __str__(self):
        raise RuntimeError("no")
raise Weird()
"""


def test_a_hostile_script_still_gets_its_profile_and_outputs(spawn, tmp_path):
    proc, _ = _start(spawn, tmp_path, HOSTILE, 0)
    rc, _, err = proc.finish(timeout=300)
    assert rc == 1, err[-2000:]
    assert "internal error" not in err and "Traceback (most recent call last)" not in err.split("Weird")[-1]
    out = tmp_path / "o"
    prof = Profile.load(out / "profile.json")
    assert prof.outcome.stopped_by == "exception"
    assert {"report.html", "advice.json", "roi.xlsx"} <= set(os.listdir(out))
    json.loads((out / "advice.json").read_text())


def test_a_new_run_moves_the_previous_runs_files_aside(spawn, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    for name in ("profile.json", "report.html", "roi.xlsx"):
        (out / name).write_text("old")
    proc, _ = _start(spawn, tmp_path, LOOP.replace("open(READY", "os._exit(3); open(READY"), 100)
    rc, _, err = proc.finish(timeout=120)
    assert rc == 3, err[-2000:]
    assert set(os.listdir(out / "previous")) == {"profile.json", "report.html", "roi.xlsx"}
    assert not (out / "report.html").exists()  # no old report beside the new profile
    Profile.load(out / "profile.json")


def test_an_out_folder_that_cannot_be_written_any_more_sends_the_profile_elsewhere(spawn, tmp_path):
    # the script replaces the output folder by a file: like a full or vanished disk, nothing can be
    # written there at the end; the profile must go to a temporary folder, and stderr says where
    body = LOOP.replace("open(READY", "import shutil; shutil.rmtree(OUT); open(OUT, 'w').close(); open(READY")
    proc, _ = _start(spawn, tmp_path, "OUT = " + repr(str(tmp_path / "o")) + "\n" + body, 30)
    rc, _, err = proc.finish(timeout=120)
    assert rc == 4, err[-2000:]  # the outputs could not be written: RenderError, not success
    assert "advisor: error: could not write advice: " in err and "profile saved: " not in err
    line = next(ln for ln in err.splitlines() if "the profile was saved to" in ln)
    rescued = line.rsplit("saved to ", 1)[1].strip()
    kept = Profile.load(rescued)
    assert kept.stacks and kept.outcome is not None  # the measurement is kept (the step is decided from it)


def test_pool_workers_terminated_by_the_pool_print_no_advisor_traceback(spawn, tmp_path):
    script = tmp_path / "pool.py"
    script.write_text("""
import multiprocessing as mp, time
def work(x):
    time.sleep(2)
    return x
def train_step():
    return sum(range(100000))
if __name__ == "__main__":
    pool = mp.get_context("fork").Pool(2)
    pending = pool.map_async(work, range(8))
    time.sleep(0.5)  # the workers are inside work() now
    for _ in range(10):
        train_step()
    pool.terminate()  # SIGTERM to each worker
    pool.join()
    print("ok")
""")
    proc = spawn(["profile", "--out", str(tmp_path / "o"), str(script)])
    rc, out, err = proc.finish(timeout=120)
    assert rc == 0 and out.strip() == "ok", err[-2000:]
    assert "Traceback" not in err and "Terminated" not in err


def test_module_form_from_the_folder_that_holds_the_package(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "advisor"
    if not exe.exists():
        exe = shutil.which("advisor")
    if exe is None:
        pytest.skip("the advisor console script is not installed in this environment")
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text("from mypkg.core import train_step\nfor _ in range(40):\n    train_step()\n")
    (pkg / "core.py").write_text("def train_step():\n    return sum(range(1_000_000))\n")
    # the console script (its own folder, not the cwd, is first on sys.path), run from the package's parent
    r = subprocess.run([str(exe), "profile", "-q", "--out", str(tmp_path / "o"), "-m", "mypkg"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert Profile.load(tmp_path / "o" / "profile.json").step is not None
