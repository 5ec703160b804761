"""The --out lock (issue 12): survives a script that closes every descriptor, never follows a planted
link, and lets the next run in after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from advisor.errors import OutputError
from advisor.output_lock import LOCK_NAME, OutputLock
from tests.conftest import ROOT, popen_group, run_advisor

QUICK = "def step():\n    return sum(range(20000))\nfor _ in range(20):\n    step()\n"
CLOSER = """
import os, sys, time
os.closerange(3, 1 << 16)  # what daemonising code does; it also closes whatever advisor had open
open(sys.argv[1], "w").write("closed")
def step():
    return sum(range(20000))
deadline = time.time() + 90
while time.time() < deadline:
    step()
"""


def _start(tmp_path, script, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return popen_group([sys.executable, "-m", "advisor", "profile", "-q", "--out", str(tmp_path / "o"),
                        str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(check, what, timeout=60.0):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_script_that_closes_every_descriptor_keeps_the_folder_locked(tmp_path):
    closer, quick, marker = tmp_path / "closer.py", tmp_path / "quick.py", tmp_path / "closed"
    closer.write_text(CLOSER)
    quick.write_text(QUICK)
    first = _start(tmp_path, closer, str(marker))
    try:
        _wait_for(marker.exists, "the script to close its descriptors")
        second = run_advisor(["profile", "-q", "--out", str(tmp_path / "o"), str(quick)])
        assert second.returncode == 2, second.stderr
        assert "another advisor run is writing to" in second.stderr and f"pid {first.pid}" in second.stderr
    finally:
        first.kill()
        first.communicate(timeout=60)
    # The first run died without releasing: its record is stale and the next run is let in.
    third = run_advisor(["profile", "-q", "--out", str(tmp_path / "o"), str(quick)])
    assert third.returncode == 0, third.stderr
    assert (tmp_path / "o" / LOCK_NAME).read_bytes() == b""  # released at the end


@pytest.mark.parametrize("dangling", [False, True])
def test_a_planted_symlink_is_refused_and_its_target_untouched(tmp_path, dangling):
    out, victim, quick = tmp_path / "o", tmp_path / "victim.txt", tmp_path / "quick.py"
    out.mkdir()
    quick.write_text("print('script ran')\n" + QUICK)
    if not dangling:
        victim.write_text("precious\n")
    (out / LOCK_NAME).symlink_to(victim)
    r = run_advisor(["profile", "--out", str(out), str(quick)])
    assert r.returncode == 2
    assert "is a symbolic link; advisor does not follow it" in r.stderr and r.stderr.count("\n") == 1
    assert "script ran" not in r.stdout  # refused before the script started
    if dangling:
        assert not victim.exists()  # not created through the link
    else:
        assert victim.read_text() == "precious\n"


def test_a_hard_link_to_another_file_is_refused(tmp_path):
    out, victim = tmp_path / "o", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("precious\n")
    os.link(victim, out / LOCK_NAME)
    with pytest.raises(OutputError, match="hard link"):
        OutputLock(out).acquire()
    assert victim.read_text() == "precious\n"


def test_a_live_owner_refuses_and_a_dead_or_reused_pid_does_not(tmp_path):
    with OutputLock(tmp_path) as held:
        assert held.held()
        with pytest.raises(OutputError, match=f"pid {os.getpid()}"):
            OutputLock(tmp_path).acquire()
    assert not held.held() and (tmp_path / LOCK_NAME).read_bytes() == b""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = json.loads(_record_of_this_process(tmp_path))
    stale = [{**record, "pid": dead.pid}, {**record, "boot": "another-boot"}]
    if record["started"] is not None:  # with /proc: the same pid started at another time is another process
        stale.append({**record, "started": record["started"] + 1})
    for owner in stale:
        (tmp_path / LOCK_NAME).write_text(json.dumps(owner))
        with OutputLock(tmp_path):
            pass


def _record_of_this_process(folder) -> str:
    lock = OutputLock(folder)
    lock.acquire()
    text = (folder / LOCK_NAME).read_text()
    lock.release()
    return text


def test_a_record_from_another_host_is_honoured_with_a_hint(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "token": "x"}))
    with pytest.raises(OutputError, match="pid 1 on elsewhere.example") as exc:
        OutputLock(tmp_path).acquire()
    assert f"delete {tmp_path / LOCK_NAME}" in exc.value.hint


def test_held_turns_false_when_the_script_deletes_the_lock(tmp_path):
    lock = OutputLock(tmp_path)
    lock.acquire()
    os.unlink(tmp_path / LOCK_NAME)
    assert not lock.held()
    lock.release()  # nothing to release, no error
    assert not (tmp_path / LOCK_NAME).exists()
