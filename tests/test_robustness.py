"""Robustness cases of docs/robustness.md that the other test files do not cover already."""

import json
import os

import pytest

from advisor.errors import ProfileFormatError
from advisor.model import Profile
from tests.conftest import run_advisor

STEP = """
def train_step(n=20000):
    s = 0
    for i in range(n):
        s += i
    return s
"""


def _run(tmp_path, body, *args, env=None):
    script = tmp_path / "train.py"
    script.write_text(STEP + body)
    r = run_advisor(["profile", "--out", str(tmp_path / "o"), *args, str(script)], env=env, timeout=180)
    return r, (Profile.load(tmp_path / "o" / "profile.json") if (tmp_path / "o" / "profile.json").exists() else None)


def test_script_with_its_own_sigint_handler_and_setprofile(tmp_path):
    r, prof = _run(tmp_path, """
import signal, sys, threading
signal.signal(signal.SIGINT, lambda *a: None)
sys.setprofile(lambda *a: None)          # its own profiler hook: no conflict with the sampler
threading.setprofile(lambda *a: None)
for _ in range(40):
    train_step()
sys.setprofile(None)
""")
    assert r.returncode == 0, r.stderr
    assert prof is not None and prof.frames[prof.step.frame].key.qualname == "train_step"


def test_threads_and_a_multiprocessing_pool(tmp_path):
    r, prof = _run(tmp_path, """
import multiprocessing as mp, threading
def work(x):
    return train_step(1000) + x
if __name__ == "__main__":
    t = threading.Thread(target=lambda: [train_step(1000) for _ in range(50)])
    t.start()
    with mp.get_context("fork").Pool(2) as pool:
        assert len(pool.map(work, range(8))) == 8
    for _ in range(40):
        train_step()
    t.join()
    print("ok")
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
    assert r.stderr.count("profile saved") == 1
    assert prof is not None and prof.step is not None


def test_deep_recursion_and_megabytes_of_stdout(tmp_path):
    r, prof = _run(tmp_path, """
import sys
sys.setrecursionlimit(12000)
def deep(n):
    return train_step(400000) if n == 0 else deep(n - 1)
for _ in range(6):
    deep(5000)
    sys.stdout.write("x" * 1_000_000 + "\\n")
""")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == 6 * 1_000_001  # the script's output, untouched
    # the outermost and innermost frames of a 5,000-deep stack are kept, and the profile says so
    assert prof is not None and max(len(s.frames) for s in prof.stacks) >= 1000
    assert any("deeper than" in w for w in prof.warnings)


def test_a_huge_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "huge.json"
    with open(big, "wb") as fh:
        fh.truncate(1 << 30)  # sparse: 1 GiB without writing it
    with pytest.raises(ProfileFormatError, match="larger than any advisor profile"):
        Profile.load(big)
    r = run_advisor(["report", str(big)])
    assert r.returncode == 2 and "larger than any advisor profile" in r.stderr


def test_a_crashing_renderer_leaves_the_profile_and_the_other_outputs(tmp_path):
    # advisor.render.html is replaced by a module whose render_html raises
    fake = tmp_path / "fakes" / "advisor_fake_html"
    fake.parent.mkdir()
    (tmp_path / "fakes" / "sitecustomize.py").write_text(
        "import sys, types\n"
        "m = types.ModuleType('advisor.render.html')\n"
        "def render_html(advice):\n    raise RuntimeError('template exploded')\n"
        "m.render_html = render_html\n"
        "sys.modules['advisor.render.html'] = m\n")
    env = {"PYTHONPATH": f"{tmp_path / 'fakes'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    from tests.conftest import ROOT
    env["PYTHONPATH"] += f"{os.pathsep}{ROOT}"
    r, prof = _run(tmp_path, "for _ in range(30):\n    train_step()\n", env=env)
    assert "could not write report: RuntimeError: template exploded" in r.stderr
    assert r.returncode == 4, r.stderr  # RenderError: a failed output is not a success
    assert r.stderr.count("could not write") == 1 and "Traceback" not in r.stderr
    assert prof is not None
    out = tmp_path / "o"
    assert not (out / "report.html").exists()
    assert (out / "roi.xlsx").exists() and json.loads((out / "advice.json").read_text())["format"] == "advisor-advice"
    # `advisor report` on the saved profile: the same failure, the same exit code; without the fake, 0
    r = run_advisor(["report", "-q", str(out / "profile.json")], env=env)
    assert r.returncode == 4 and "advisor: error: could not write report: RuntimeError" in r.stderr, r.stderr
    r = run_advisor(["report", "-q", str(out / "profile.json")])
    assert r.returncode == 0 and (out / "report.html").exists(), r.stderr
