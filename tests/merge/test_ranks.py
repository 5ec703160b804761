"""Rank awareness: each rank of a torchrun job gets its own output folder and says who it was."""

from pathlib import Path

import pytest

from advisor.capture.environment import collect_environment
from advisor.errors import UsageError
from advisor.model import Profile
from advisor.ranks import rank_info, rank_out_dir
from tests.conftest import run_advisor

TORCHRUN = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "GROUP_RANK": "1",
            "TORCHELASTIC_RUN_ID": "job-7"}


def test_a_rank_writes_into_its_own_folder():
    assert rank_out_dir(Path("/r/out"), TORCHRUN) == Path("/r/out/rank-3")
    assert rank_out_dir(Path("/r/out"), {"RANK": "0", "WORLD_SIZE": "1"}) == Path("/r/out/rank-0")


def test_a_single_process_keeps_the_folder_it_was_given():
    assert rank_out_dir(Path("/r/out"), {}) == Path("/r/out")
    # One variable alone is a stray setting, not a launcher's contract.
    assert rank_out_dir(Path("/r/out"), {"RANK": "2"}) == Path("/r/out")
    assert rank_out_dir(Path("/r/out"), {"WORLD_SIZE": "8", "RANK": ""}) == Path("/r/out")


def test_a_rank_folder_given_by_hand_is_not_nested():
    assert rank_out_dir(Path("/r/out/rank-3"), TORCHRUN) == Path("/r/out/rank-3")
    assert rank_out_dir(Path("/r/out/rank-2"), TORCHRUN) == Path("/r/out/rank-2/rank-3")


@pytest.mark.parametrize("env", [{"RANK": "one", "WORLD_SIZE": "2"}, {"RANK": "2", "WORLD_SIZE": "2"},
                                 {"RANK": "-1", "WORLD_SIZE": "2"}, {"RANK": "0", "WORLD_SIZE": "0"}])
def test_a_malformed_rank_is_refused_rather_than_shared(env):
    with pytest.raises(UsageError):
        rank_out_dir(Path("out"), env)


def test_the_environment_records_rank_world_run_and_host():
    env = collect_environment(TORCHRUN)
    assert env["distributed"] == {"rank": 3, "world_size": 4, "local_rank": 1, "local_world_size": 2,
                                  "node_rank": 1, "run_id": "job-7"}
    assert isinstance(env["hostname"], str) and env["hostname"]
    assert "distributed" not in collect_environment({})
    assert rank_info({}) is None


def test_profile_under_a_rank_environment_writes_rank_folder(script, tmp_path):
    path = script("""
        def train_step(n):
            return sum(i * i for i in range(n))
        for _ in range(20):
            train_step(2000)
    """)
    out = tmp_path / "out"
    r = run_advisor(["profile", "--quiet", "--format", "json", "--out", str(out), str(path)], cwd=tmp_path,
                    env={**TORCHRUN, "RANK": "1"})
    assert r.returncode == 0, r.stderr
    assert not (out / "profile.json").exists()
    prof = Profile.load(out / "rank-1" / "profile.json")
    assert prof.environment["distributed"]["rank"] == 1
    assert prof.environment["distributed"]["run_id"] == "job-7"


def test_profile_with_a_malformed_rank_is_one_line_exit_2(script, tmp_path):
    path = script("print('never runs')\n")
    r = run_advisor(["profile", "--out", str(tmp_path / "out"), str(path)], cwd=tmp_path,
                    env={"RANK": "x", "WORLD_SIZE": "2"})
    assert r.returncode == 2
    assert r.stderr.startswith("advisor: error: RANK='x' is not a number") and "Traceback" not in r.stderr
    assert "never runs" not in r.stdout
