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
