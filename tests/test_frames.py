"""pandas tables of a profile carry exactly the numbers the analysis computes."""

import pytest

from advisor.analysis import analyze
from advisor.frames import hotspots_frame, stacks_frame, steps_frame
from advisor.model import BUCKETS
from tests.merge.handmade import rank_profile


def test_stacks_frame_sums_to_each_region_split():
    prof = rank_profile(0, slow_s=2.3)
    df = stacks_frame(prof)
    assert len(df) == len(prof.stacks)
    by_region = df.groupby("region")[list(BUCKETS)].sum()
    for region in ("step", "outside"):
        assert by_region.loc[region].tolist() == pytest.approx(prof.region_split(region).as_list())
    assert set(stacks_frame(prof, region="step")["region"]) == {"step"}


def test_owners_match_the_hotspot_table():
    prof = rank_profile(0, slow_s=2.3)
    a = analyze(prof)
    own = stacks_frame(prof, region="step").groupby("qualname")["total"].sum()
    for h in a.hotspots:
        assert own[h.key.qualname] == pytest.approx(h.self_split.total)
    hf = hotspots_frame(a)
    assert hf["qualname"].tolist() == [h.key.qualname for h in a.hotspots]
    assert hf["self_share"].sum() == pytest.approx(1.0)


def test_steps_frame_lists_measured_steps():
    prof = rank_profile(0)
    df = steps_frame(prof)
    assert len(df) == 10 and df["duration_s"].sum() == pytest.approx(sum(prof.step.durations_s))
