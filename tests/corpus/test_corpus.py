"""Real public training scripts, profiled end to end: is the detected step the script's own loop (or
step function), and does the count match what the loop runs?

Identity is asserted strictly. The count is asserted exactly where the profile says it is exact
(``step.count_exact``, from step boundaries); where a profile has no such field the count comes from
samples, and is checked within ``COUNT_TOLERANCE`` (see ``check_count``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_group
from tests.corpus.cases import CASES, SCRIPTS, Case, environment

pytestmark = pytest.mark.slow

TIMEOUT_S = 240
# TODO(issue 13): drop the tolerance once capture records step boundaries (count_exact everywhere).
# Sampled counts merge consecutive steps only where no sample fell between them (a step shorter than
# the ~5 ms interval) and split one only where the step's frame left the stack between two samples;
# every case here runs steps of several intervals, so a miss of more than 15% is a detection error,
# not sampling luck.
COUNT_TOLERANCE = 0.15


def profile(case: Case, tmp: Path) -> dict:
    """Run ``python -m advisor profile`` on the case's script as a subprocess; return profile.json."""
    extra = case.setup(tmp) if case.setup else ()
    out = tmp / "advisor-out"
    cmd = [sys.executable, "-m", "advisor", "profile", "-q", "--format", "json", "--out", str(out),
           str(SCRIPTS / case.script), *case.args, *extra]
    try:  # the whole process group is killed as it returns: no profiled child left running
        proc = run_group(cmd, timeout=TIMEOUT_S, cwd=tmp, env=environment(case), stderr=subprocess.STDOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case.name}: timed out after {TIMEOUT_S} s")
    text = proc.stdout
    assert proc.returncode == 0, f"{case.name}: exit {proc.returncode}\n{text[-3000:]}"
    return json.loads((out / "profile.json").read_text())


def detected(prof: dict) -> tuple[str, str, int | None]:
    """(file name, qualname of the step's frame, first line of the step loop or None)."""
    step = prof["step"]
    assert step is not None, "no step detected"
    key = prof["frames"][step["frame"]]
    file = key.get("file") or key["key"]["file"]
    qual = key.get("qualname") or key["key"]["qualname"]
    loop = step.get("loop_lines")
    return Path(file).name, qual, (loop[0] if loop else None)


def describe(prof: dict) -> str:
    name, qual, line = detected(prof)
    what = f"loop at {name}:{line}" if line is not None else qual
    return f"{what}, {prof['step']['calls']} steps"


def check_count(case: Case, prof: dict) -> None:
    step = prof["step"]
    if step.get("count_exact"):
        assert step["calls"] == case.steps, f"{case.name}: exact count {step['calls']} != {case.steps}"
        return
    lo, hi = case.steps * (1 - COUNT_TOLERANCE), case.steps * (1 + COUNT_TOLERANCE)
    assert lo <= step["calls"] <= hi, f"{case.name}: {step['calls']} steps, truth {case.steps}"


# Detected right on every run here (docs/how-it-works.md, "Step detection", has the table). A sampled
# count can still miss: mlfs_mlp's rounds often sample only one line (one long NumPy call), and two such
# rounds in a row read as one; 425-531 of 600 seen over runs. Not strict: exact once capture records step
# boundaries (count_exact).
COUNT_KNOWN_LOW = {"mlfs_mlp": "rounds that sample only the X.dot line merge (sampled count is a lower bound)"}


def _param(case: Case):
    return pytest.param(case, id=case.name)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_detects_the_scripts_own_step(case: Case, tmp_path: Path) -> None:
    if case.torch:
        pytest.importorskip("torch")
    prof = profile(case, tmp_path)
    name, qual, line = detected(prof)
    if case.loop is not None:
        want = (Path(case.loop_file or case.script).name, case.loop_line())
        assert (name, line) == want, f"{case.name}: detected {describe(prof)}; truth: loop at {want}"
    else:
        assert line is None and qual == case.function, f"{case.name}: detected {describe(prof)}; truth {case.function}"
    if case.name in COUNT_KNOWN_LOW and not prof["step"].get("count_exact"):
        try:
            check_count(case, prof)
        except AssertionError as exc:
            assert prof["step"]["calls"] <= case.steps, exc  # a lower bound, never above the truth
            pytest.xfail(f"{COUNT_KNOWN_LOW[case.name]}: {exc}")
        return
    check_count(case, prof)


def main() -> None:
    """``python -m tests.corpus.test_corpus [NAME...]``: print truth vs detection for each case."""
    import tempfile
    wanted = set(sys.argv[1:])
    for case in CASES:
        if wanted and case.name not in wanted:
            continue
        truth = (f"loop at {Path(case.loop_file or case.script).name}:{case.loop_line()}" if case.loop
                 else case.function)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                got = describe(profile(case, Path(tmp)))
            except BaseException as exc:  # noqa: BLE001 - a table row, not a test
                got = f"FAILED: {str(exc).splitlines()[0][:120]}"
        print(f"| {case.name} | {truth}, {case.steps} steps | {got} |", flush=True)


if __name__ == "__main__":
    main()
