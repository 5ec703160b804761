"""The saved profile: atomic, round-trips, and refuses anything it does not understand."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from advisor.errors import ProfileFormatError
from advisor.model import Candidate, Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo


def small_profile() -> Profile:
    frames = (Frame(FrameKey("/w/train.py", "main", 1), True), Frame(FrameKey("/w/train.py", "step", 5), True),
              Frame(FrameKey("<built-in>", "sleep", 0, "native"), False))
    stacks = (StackRecord((0, 1), (9, 6), "step", Split(0.3, 0.1, 0.0, 0.0), 40),
              StackRecord((0, 1, 2), (9, 7, 0), "step", Split(0.0, 0.0, 0.2, 0.0), 20),
              StackRecord((0,), (10,), "outside", Split(0.05, 0, 0, 0), 5))
    step = StepInfo(1, "auto", "auto-detected: 10 calls", 10, 1, (0.06,) * 9, "sampled")
    return Profile("sample", 0.005, {"kind": "script", "target": "train.py", "args": []}, {"python": "3.11"},
                   "2026-01-01T00:00:00", 0.7, Outcome(0, "exit"), frames, stacks, step,
                   (Candidate(1, 10, 0.6),), sources={"/w/train.py": "x = 1\n"})


def test_round_trip(tmp_path):
    p = small_profile()
    path = p.save(tmp_path / "profile.json")
    q = Profile.load(path)
    assert q == p
    assert q.region_split("step") == Split(0.3, 0.1, 0.2, 0.0)
    assert not list(tmp_path.glob(".*.tmp")), "no temp file left behind"


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"{\"format\": \"advisor-profile\", \"vers", "not valid JSON"),
    (b"[1, 2, 3]", "not an advisor profile"),
    (json.dumps({"traceEvents": []}).encode(), "not an advisor profile"),
    (json.dumps({"format": "advisor-profile", "version": 99}).encode(), "newer advisor"),
    (json.dumps({"format": "advisor-profile", "version": "1"}).encode(), "integer"),
])
def test_load_rejects_with_one_line(tmp_path, content, words):
    path = tmp_path / "p.json"
    path.write_bytes(content)
    with pytest.raises(ProfileFormatError) as exc:
        Profile.load(path)
    assert words in str(exc.value)
    assert "\n" not in str(exc.value)


def test_truncated_real_profile_is_rejected(tmp_path):
    path = small_profile().save(tmp_path / "profile.json")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProfileFormatError, match="not valid JSON"):
        Profile.load(path)


def test_wrong_types_inside_are_rejected(tmp_path):
    doc = small_profile().to_json()
    doc["stacks"][0]["split"] = ["a", 0, 0, 0]
    with pytest.raises(ProfileFormatError, match="damaged"):
        Profile.from_json(doc)
    doc = small_profile().to_json()
    doc["stacks"][0]["frames"] = [0, 99]
    with pytest.raises(ProfileFormatError, match="frame table"):
        Profile.from_json(doc)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(small_profile().to_json())), value=json_values)
def test_fuzzed_fields_raise_only_profile_format_error(key, value):
    doc = small_profile().to_json()
    doc[key] = value
    try:
        Profile.from_json(doc)
    except ProfileFormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=4, max_size=4))
def test_split_shares_sum_to_one(values):
    s = Split(*values)
    total = sum(s.shares().values())
    assert total == pytest.approx(1.0) if s.total > 0 else total == 0
