import os
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


def run_advisor(args, cwd=None, timeout=120, env=None, **kw):
    """Run the real CLI (python -m advisor) in a subprocess."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "advisor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env, **kw)


@pytest.fixture
def script(tmp_path):
    def make(body: str, name: str = "train.py") -> Path:
        return write_script(tmp_path, name, body)
    return make


class Spawned:
    """A running ``python -m advisor ...`` in its own process group; ``finish`` waits for it and the
    group is killed whatever happens (a test that times out leaves nothing running)."""

    def __init__(self, args, env=None, cwd=None):
        import signal as _signal  # noqa: F401

        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "advisor", *args], cwd=cwd, env=full_env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def finish(self, timeout=120):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        finally:
            self.kill()
        return self.proc.returncode, out, err

    def kill(self):
        import signal as _signal

        try:
            os.killpg(self.proc.pid, _signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


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
