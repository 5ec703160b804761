"""The saved profile: atomic, round-trips, and refuses anything it does not understand."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from advisor.errors import ProfileFormatError
from advisor.model import Candidate, Command, Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo


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


def test_command_is_typed_and_old_files_still_load(tmp_path):
    p = small_profile()
    assert p.command == Command("script", "train.py", (), "")
    doc = p.to_json()
    assert doc["command"] == {"kind": "script", "target": "train.py", "args": [], "cwd": ""}
    # an older file: no cwd, an extra key advisor no longer writes
    doc["command"] = {"kind": "module", "target": "pkg.train", "args": ["--config", "run yaml"], "argv": ["x"]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    q = Profile.load(path)
    assert q.command == Command("module", "pkg.train", ("--config", "run yaml"), "")
    assert q.command.line() == "-m pkg.train --config 'run yaml'"
    assert Profile.load(q.save(tmp_path / "again.json")).command == q.command


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


def _set(doc, path, value):
    obj = doc
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


# Each hostile value and the field the one-line error must name (issue 12, "Loader").
@pytest.mark.parametrize("path, value, field", [
    (("stacks", 0, "split", 1), float("nan"), "stacks[0].split[1] is NaN"),
    (("wall_s",), float("inf"), "wall_s is Infinity"),
    (("step", "durations_s", 2), float("-inf"), "step.durations_s[2] is -Infinity"),
    (("environment", "python"), float("nan"), "environment.python is NaN"),
    (("step", "durations_s", 0), -0.5, "step.durations_s must be between 0 and"),
    (("stacks", 1, "samples"), -3, "stacks[1].samples must be between 0 and"),
    (("step", "calls"), -1, "step.calls must be between 0"),
    (("candidates", 0, "calls"), 10**400, "candidates.calls must be between 0"),
    (("stacks", 0, "split"), [1e308, 1e308, 0, 0], "stacks[0].split must hold four durations"),
    (("step", "durations_s"), [1e308] * 9, "step.durations_s must be between 0 and 1e+09"),
    (("wall_s",), 10**400, "wall_s must be between 0 and"),
    (("command", "args"), None, "command.args must be a list of strings"),
    (("version",), 0, "\"version\" must be 1 or more (got 0)"),
    (("version",), -2, "\"version\" must be 1 or more (got -2)"),
])
def test_hostile_numbers_are_refused_naming_the_field(tmp_path, path, value, field):
    doc = small_profile().to_json()
    _set(doc, path, value)
    file = tmp_path / "profile.json"
    file.write_text(json.dumps(doc))  # json.dumps writes NaN / Infinity as Python reads them back
    with pytest.raises(ProfileFormatError) as exc:
        Profile.load(file)
    assert field in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_lone_surrogate_in_a_name_is_shown_escaped_with_a_note(tmp_path):
    doc = small_profile().to_json()
    doc["frames"][1]["qualname"] = "st\ud800ep"
    file = tmp_path / "profile.json"
    file.write_text(json.dumps(doc))  # ensure_ascii writes it as the escape \ud800
    prof = Profile.load(file)
    assert prof.frames[1].key.qualname == "st\\ud800ep"
    prof.frames[1].key.qualname.encode("utf-8")  # every output can encode it
    assert any("lone surrogate in frames[1].qualname" in w for w in prof.warnings)
    # A valid pair (an emoji) is not touched and brings no note.
    doc["frames"][1]["qualname"] = "step_\U0001f600"
    file.write_text(json.dumps(doc))
    prof = Profile.load(file)
    assert prof.frames[1].key.qualname == "step_\U0001f600" and prof.warnings == ()


def test_text_that_is_not_utf8_is_refused_in_one_line(tmp_path):
    file = tmp_path / "profile.json"
    file.write_bytes(b'{"format": "advisor-profile", "name": "caf\xe9"}')
    with pytest.raises(ProfileFormatError, match="not UTF-8 text .byte 0xe9"):
        Profile.load(file)


def test_a_surrogate_in_raw_bytes_is_caught_too(tmp_path):
    # json.loads decodes bytes with "surrogatepass": a raw surrogate must get the same treatment.
    doc = json.dumps(small_profile().to_json(), ensure_ascii=False)
    doc = doc.replace('"qualname": "step"', '"qualname": "st\ud800ep"')
    assert "\ud800" in doc
    file = tmp_path / "profile.json"
    file.write_bytes(doc.encode("utf-8", "surrogatepass"))
    prof = Profile.load(file)
    assert prof.frames[1].key.qualname == "st\\ud800ep"
    assert any("lone surrogate" in w for w in prof.warnings)


def test_a_long_column_that_does_not_compress_is_stored_and_reads_back():
    """Near-random columns (a long run's sample times and splits) are written as stored zlib blocks, not
    compressed (the time would buy 10-25%); compressible ones are compressed; both decode the same."""
    import base64
    import zlib

    import numpy as np

    from advisor import model_columns

    noisy = np.random.default_rng(0).integers(4000, 6000, 1_000_000).astype(np.uint16)
    quiet = np.zeros(1_000_000, dtype=np.uint16)
    for arr, stored in ((noisy, True), (quiet, False)):
        dtype, data = model_columns._encode(arr)
        raw = zlib.decompress(base64.b64decode(data))
        assert dtype == "<u2" and np.array_equal(np.frombuffer(raw, dtype=dtype), arr)
        packed = len(base64.b64decode(data))
        assert (packed >= arr.nbytes) is stored
        assert np.array_equal(model_columns._decode({"dtype": dtype, "data": data.decode()}, "x", len(arr)), arr)
