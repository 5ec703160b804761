"""advisor merge on hand-built rank profiles: every figure checked against one worked out by hand.

Rank 0 (fast): step 1.0 + forward 0.2 + backward 0.3 native + 2.0 waiting in backward + 0.5 in all_reduce
= 4.0 s over 10 steps → mean 0.4 s; waiting on other ranks 0.25 s/step (0.2 inferred from DDP's
backward, 0.05 from the all_reduce frame); own work 0.15 s/step.
Rank 1 (slow): the same with slow_part 2.3 s and only 0.1 + 0.1 s of waiting → mean 0.4 s; waiting
0.02 s/step; own work 0.38 s/step. The median of (0.15, 0.38) is 0.265: rank 1 is above it by more than
10%, rank 0 is not.
"""

from __future__ import annotations

import json

import pytest

from advisor.errors import UsageError
from advisor.merge import find_rank_profiles, merge, merge_paths
from advisor.merge.load import RankProfile
from advisor.render.merge import render_merged_html, render_merged_json, render_merged_text
from tests.conftest import run_advisor
from tests.merge.handmade import rank_profile


def two_ranks(**kw):
    return [RankProfile(0, None, rank_profile(0, **kw)),  # type: ignore[arg-type]
            RankProfile(1, None, rank_profile(1, slow_s=2.3, backward_wait_s=0.1, all_reduce_s=0.1, **kw))]


def test_the_slow_rank_is_the_straggler_and_the_fast_one_waits():
    m = merge(two_ranks())
    r0, r1 = m.ranks
    assert (r0.mean_s, r1.mean_s) == (pytest.approx(0.4), pytest.approx(0.4))
    assert r0.wait_s == pytest.approx(0.25) and r0.wait_inferred_s == pytest.approx(0.2)
    assert r0.busy_s == pytest.approx(0.15) and r1.busy_s == pytest.approx(0.38)
    assert dict(r0.wait_by_op) == {"all-reduce (DDP, in backward)": pytest.approx(0.2),
                                   "all-reduce": pytest.approx(0.05)}
    assert m.slowest == 1 and m.stragglers == (1,)
    assert m.typical_busy_s == pytest.approx(0.15) and m.imbalance_s == pytest.approx(0.23)
    assert m.spread_s == pytest.approx(0.23)


def test_hotspots_are_own_work_per_step_on_each_rank():
    m = merge(two_ranks())
    by = {h.qualname: h for h in m.hotspots}
    assert by["slow_part"].per_rank_s == (0.0, pytest.approx(0.23)) and by["slow_part"].max_rank == 1
    # train_step keeps its own 1.0 s, the forward 0.2 s and the backward's 0.3 s of compute; the waiting
    # is not a function's time.
    assert by["train_step"].per_rank_s == (pytest.approx(0.15), pytest.approx(0.15))
    assert m.hotspots[0].qualname == "slow_part"


def test_advice_names_the_straggler_and_its_own_hotspot_not_a_port():
    m = merge(two_ranks())
    kinds = [a.kind for a in m.advice]
    assert kinds[:2] == ["straggler", "imbalance"]
    text = m.advice[0].text
    assert text.startswith("rank 1 is a straggler") and "slow_part (train.py:20) +230 ms per step" in text
    assert "port" not in " ".join(a.text for a in m.advice).lower().replace("support", "")
    assert "230 ms shorter" in m.advice[1].text


def test_balanced_ranks_have_no_straggler():
    m = merge([RankProfile(r, None, rank_profile(r, backward_wait_s=0.1, all_reduce_s=0.0)) for r in range(3)])
    assert m.stragglers == ()
    assert [a.kind for a in m.advice] == ["balanced"]


def test_a_costly_transfer_on_every_rank_is_overlap_advice():
    m = merge([RankProfile(r, None, rank_profile(r, backward_wait_s=1.0, all_reduce_s=0.5)) for r in range(2)])
    assert m.stragglers == ()
    assert [a.kind for a in m.advice] == ["overlap"]
    assert "bucket_cap_mb" in m.advice[0].text and "no_sync" in m.advice[0].text


def test_without_ddp_backward_waiting_is_not_a_collective_and_io_never_is():
    m = merge([RankProfile(0, None, rank_profile(0, ddp=False, io_s=1.0, all_reduce_s=0.0))])
    r = m.ranks[0]
    assert r.wait_s == 0.0 and r.wait_by_op == ()
    assert r.split.waiting > 0  # still waiting, as the per-rank profile says; just not on other ranks


def test_json_and_text_and_html(tmp_path):
    m = merge(two_ranks(host="<b>evil</b>\x1b[2J"))
    data = json.loads(render_merged_json(m))
    assert data["format"] == "advisor-merged" and data["version"] == 1
    assert data["stragglers"] == [1] and data["ranks"][0]["wait_by_op"]["all-reduce"] == pytest.approx(0.05)
    assert data["ranks"][0]["busy_s"] == pytest.approx(0.15)
    text = render_merged_text(m)
    assert "straggler: rank 1" in text and "\x1b" not in text and "waiting on other ranks" in text
    html = render_merged_html(m)
    assert "<b>evil</b>" not in html and "&lt;b&gt;evil&lt;/b&gt;" in html
    assert "http://" not in html and "https://" not in html


def save_run(folder, profiles):
    for p in profiles:
        p.save(folder / f"rank-{p.environment['distributed']['rank']}" / "profile.json")


def test_find_takes_several_node_folders_and_sets_other_runs_aside(tmp_path):
    a, b = tmp_path / "node0", tmp_path / "node1"
    save_run(a, [rank_profile(0, started_at="2026-02-01T00:00:00", world=3)])
    save_run(b, [rank_profile(1, started_at="2026-02-01T00:00:01", world=3),
                 rank_profile(2, run_id="old", started_at="2025-01-01T00:00:00", world=3)])
    ranks, notes = find_rank_profiles([a, b])
    assert [r.rank for r in ranks] == [0, 1]
    assert "set aside 1 profile(s) of other runs (rank-2: run old)" in notes[0]
    m = merge(ranks, notes)
    assert any("1 of 3 ranks have no profile here (rank 2)" in n for n in m.notes)


def test_one_rank_twice_is_refused(tmp_path):
    save_run(tmp_path / "a", [rank_profile(0)])
    save_run(tmp_path / "b", [rank_profile(0)])
    with pytest.raises(UsageError, match="rank 0 twice"):
        merge_paths([tmp_path / "a", tmp_path / "b"])


def test_cli_merge_writes_json_and_html(tmp_path):
    save_run(tmp_path, [rank_profile(0), rank_profile(1, slow_s=2.3, backward_wait_s=0.1, all_reduce_s=0.1)])
    r = run_advisor(["merge", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    assert "straggler: rank 1" in r.stdout
    assert json.loads((tmp_path / "merged.json").read_text())["slowest"] == 1
    assert "rank 1 is a straggler" in (tmp_path / "merged.html").read_text()


@pytest.mark.parametrize("setup, message", [
    ("empty", "advisor: error: no rank-*/profile.json under"),
    ("missing", "advisor: error: "),
    ("damaged", "advisor: error: "),
])
def test_cli_merge_bad_input_is_one_line(tmp_path, setup, message):
    folder = tmp_path / "run"
    folder.mkdir()
    if setup == "damaged":
        (folder / "rank-0").mkdir()
        (folder / "rank-0" / "profile.json").write_text('{"format": "advisor-profile", "version": 1}')
    target = tmp_path / "nope" if setup == "missing" else folder
    r = run_advisor(["merge", str(target)])
    assert r.returncode == 2
    assert r.stderr.startswith(message) and "Traceback" not in r.stderr


def test_too_few_samples_name_no_straggler():
    from dataclasses import replace

    def thin(p):
        return replace(p, stacks=tuple(replace(s, samples=2) for s in p.stacks))

    ranks = [RankProfile(r.rank, None, thin(r.profile)) for r in two_ranks()]  # type: ignore[arg-type]
    m = merge(ranks)
    assert m.stragglers == () and m.slowest == 1
    assert not [a for a in m.advice if a.kind in ("straggler", "balanced")]
    assert any("no straggler is named under 50" in n for n in m.notes)
