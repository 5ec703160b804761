import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


_GROUPS: set[int] = set()  # process groups started by the tests and not yet known to be gone


def kill_group(pid: int) -> None:
    """SIGKILL the process group ``pid`` leads: the command, and every pool worker, DataLoader worker or
    grandchild it started (they stay in its group), whether it ended, failed or timed out."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _GROUPS.discard(pid)


def popen_group(cmd, **kw) -> subprocess.Popen:
    """``subprocess.Popen`` in a session (and process group) of its own, registered so that the session's
    finaliser kills it if the test forgot to."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kw)
    _GROUPS.add(proc.pid)
    return proc


def run_group(cmd, timeout, input=None, **kw) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, timeout=...)`` whose whole process group is
    killed as it returns or raises (``subprocess.run`` kills only the command itself on timeout: its pool
    workers were left burning CPU, or blocked forever on their queue's lock)."""
    kw.setdefault("text", True)
    proc = popen_group(cmd, stdin=subprocess.PIPE if input is not None else kw.pop("stdin", None),
                       stdout=kw.pop("stdout", subprocess.PIPE), stderr=kw.pop("stderr", subprocess.PIPE), **kw)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except BaseException:
        kill_group(proc.pid)
        proc.communicate()
        raise
    finally:
        kill_group(proc.pid)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_advisor(args, cwd=None, timeout=120, env=None, **kw):
    """Run the real CLI (python -m advisor) in a subprocess (its process group is killed as it returns)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return run_group([sys.executable, "-m", "advisor", *args], cwd=cwd, timeout=timeout, env=full_env, **kw)


@pytest.fixture(autouse=True)
def _no_process_left_behind():
    """Whatever a test did (failed, timed out), no process group it started outlives it."""
    yield
    for pid in list(_GROUPS):
        kill_group(pid)


@pytest.fixture
def script(tmp_path):
    def make(body: str, name: str = "train.py") -> Path:
        return write_script(tmp_path, name, body)
    return make


class Spawned:
    """A running ``python -m advisor ...`` in its own process group; ``finish`` waits for it and the
    group is killed whatever happens (a test that times out leaves nothing running)."""

    def __init__(self, args, env=None, cwd=None):
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc = popen_group([sys.executable, "-m", "advisor", *args], cwd=cwd, env=full_env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def finish(self, timeout=120):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        finally:
            self.kill()
        return self.proc.returncode, out, err

    def kill(self):
        kill_group(self.proc.pid)


@pytest.fixture
def spawn():
    started = []

    def start(args, **kw):
        s = Spawned(args, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()
