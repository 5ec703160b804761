"""Profiles of small scripts, produced once per session by the real command (subprocess)."""

import textwrap

import pytest

from tests.conftest import ROOT, run_advisor

HOT = """
def hot(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def helper(n):
    t = 0
    for i in range(n):
        t += i
    return t


def train_step():
    hot(60000)
    helper(15000)


for _ in range(60):
    train_step()
"""


def profile(tmp, name, body, *extra, script_args=()):
    folder = tmp / name
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(body))
    out = folder / "out"
    r = run_advisor(["profile", "-q", "--out", str(out), *extra, str(folder / "train.py"), *script_args],
                    timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def fixed_kernel_source() -> str:
    """sample_workloads/pure_python_kernel.py with conv1d vectorised (np.convolve), as the advice said."""
    text = (ROOT / "sample_workloads" / "pure_python_kernel.py").read_text()
    start = text.index("def conv1d(")
    end = text.index("def mse_loss(")
    fixed = ('def conv1d(x: list[float], w: list[float]) -> list[float]:\n'
             '    """Vectorised: NumPy does the double loop."""\n'
             '    import numpy as np\n'
             '    return np.convolve(np.asarray(x), np.asarray(w)[::-1], mode="valid").tolist()\n\n\n')
    return text[:start] + fixed + text[end:]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """before / renamed (hot → hot_renamed) / other interval, and the sample kernel before / fixed."""
    tmp = tmp_path_factory.mktemp("loop")
    kernel = (ROOT / "sample_workloads" / "pure_python_kernel.py").read_text()
    args = ("--steps", "50", "--epochs", "1", "--window", "2048")
    return {
        "before": profile(tmp, "before", HOT),
        "renamed": profile(tmp, "renamed", HOT.replace("hot(", "hot_renamed(")),
        "interval": profile(tmp, "interval", HOT, "--interval", "0.002"),
        "kernel": profile(tmp, "kernel", kernel, "--interval", "0.001", "--step", "train_step", script_args=args),
        "fixed": profile(tmp, "fixed", fixed_kernel_source(), "--interval", "0.001", "--step", "train_step", script_args=args),
    }
