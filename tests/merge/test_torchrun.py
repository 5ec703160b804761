"""The real thing: torchrun, two ranks on CPU with gloo, a small DDP model, rank 1 slower on purpose.

``python -m torch.distributed.run --standalone --nproc-per-node 2 -m advisor profile --out DIR train_ddp.py``
(the ``torchrun`` command is the same module), then ``advisor merge DIR``. The merged view must name rank 1
as the straggler, show rank 0 waiting on other ranks (in DDP's all-reduce, never as I/O), and put
``slow_part`` on rank 1 only. Certain facts only: rank 1 spends 40 ms more per step by the clock, far above
the few ms a step of this model takes, so load on a 2-core machine cannot flip the answer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.merge import merge_paths
from advisor.model import Profile
from tests.conftest import ROOT, run_advisor

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).with_name("train_ddp.py")
TIMEOUT_S = 300


def torchrun(out: Path, *script_args: str) -> subprocess.CompletedProcess:
    """Run two ranks under torchrun in their own process group; the group is killed on timeout."""
    pytest.importorskip("torch")
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this torch has no gloo backend")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID"):
        env.pop(var, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "advisor", "profile", "--quiet", "--format", "json", "--step", "train_step", "--out", str(out),
           str(SCRIPT), *script_args]
    proc = subprocess.Popen(cmd, env=env, cwd=out.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"torchrun did not finish in {TIMEOUT_S} s:\n{stderr[-3000:]}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp") / "runs"
    r = torchrun(out, "--steps", "60", "--extra-ms", "40", "--slow-rank", "1")
    assert r.returncode == 0, r.stderr[-4000:]
    return out


def test_each_rank_wrote_its_own_profile_of_one_run(run):
    p0, p1 = (Profile.load(run / f"rank-{r}" / "profile.json") for r in (0, 1))
    d0, d1 = p0.environment["distributed"], p1.environment["distributed"]
    assert (d0["rank"], d1["rank"]) == (0, 1) and d0["world_size"] == d1["world_size"] == 2
    assert d0["run_id"] and d0["run_id"] == d1["run_id"]
    assert p0.environment["hostname"] == p1.environment["hostname"]
    assert not (run / "profile.json").exists()


def test_merge_names_the_slow_rank_and_shows_the_other_waiting(run):
    m = merge_paths([run])
    r0, r1 = m.ranks
    assert m.stragglers == (1,) and m.slowest == 1
    assert r1.busy_s > r0.busy_s + 0.02  # 40 ms of extra work by the clock; a few ms of noise at most
    assert r0.wait_s > r1.wait_s + 0.02
    # Rank 0's waiting is on rank 1 (DDP's all-reduce), not a file or a socket read.
    assert r0.wait_s >= 0.5 * r0.split.waiting
    assert any(op.startswith("all-reduce") for op, _ in r0.wait_by_op)
    slow = next(h for h in m.hotspots if h.qualname == "slow_part")
    assert slow.per_rank_s[0] == 0.0 and slow.per_rank_s[1] > 0.02 and slow.max_rank == 1
    assert m.advice[0].kind == "straggler" and "slow_part" in m.advice[0].text


def test_cli_merge_reports_it(run):
    r = run_advisor(["merge", str(run)])
    assert r.returncode == 0, r.stderr
    assert "straggler: rank 1" in r.stdout
    data = json.loads((run / "merged.json").read_text())
    assert data["stragglers"] == [1]
    assert "waiting on other ranks" in (run / "merged.html").read_text()
