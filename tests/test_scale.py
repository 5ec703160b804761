"""A long capture stays compact: columns from the sampler to profile.json (format 3) and back, re-analysed.

The capture is a real ``Sampler`` whose records are filled as ``Sampler._run`` fills them
(``benchmarks/scale.py``: a training script's real code objects, 200k samples, about 17 minutes at 5 ms);
everything after is the real post-processing and the real ``advisor report --step`` command.
"""

import base64
import json
import zlib

import numpy as np
import pytest

from advisor.analysis import analyze
from advisor.analysis.stepping import apply_step
from advisor.capture.build import UserCode, build_profile
from advisor.capture.raw import SampleColumns
from advisor.capture.columns import INTERP, NATIVE, WAITING, Columns as _Columns
from advisor.errors import ProfileFormatError
from advisor.model import US, Outcome, Profile, Split
from benchmarks.scale import fill_sampler
from tests.conftest import run_advisor

N = 200_000


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    sampler = fill_sampler(N, folder)
    raw = sampler.to_raw()
    assert isinstance(raw.samples, SampleColumns) and len(raw.samples) == N  # no object per sample
    prof = build_profile(raw, decide=apply_step, command={"kind": "script", "target": "train.py", "args": []},
                         environment={}, outcome=Outcome(0, "exit"), wall_s=N * 0.005, user_code=UserCode.default())
    path = prof.save(folder / "profile.json")
    return prof, path


def test_a_long_capture_round_trips_compactly(saved):
    prof, path = saved
    assert prof.version == 3 and len(prof.timeline) == N == sum(r.samples for r in prof.stacks)
    assert prof.frames[prof.step.frame].key.qualname == "train_step"
    assert path.stat().st_size < 12 * N  # bytes a sample on disk (version 2: about 28)
    back = Profile.load(path)
    assert back == prof
    doc = json.loads(path.read_text())
    assert doc["timeline"]["encoding"] == "zlib+base64" and doc["timeline"]["samples"] == N


def test_the_saved_long_capture_is_decided_again_with_step(saved, tmp_path):
    prof, path = saved
    other = analyze(Profile.load(path), step="forward")
    assert other.step_name == "forward" and other.step_split.total < analyze(prof).step_split.total
    assert sum(r.samples for r in other.profile.stacks) == N
    r = run_advisor(["report", str(path), "--step", "backward", "--format", "json", "--out", str(tmp_path)],
                    cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "backward" in (tmp_path / "advice.json").read_text()


def test_sampler_columns_split_as_the_per_sample_rule_does():
    """The NumPy split of ``to_raw`` equals the rule written one sample at a time."""
    rng = np.random.default_rng(1)
    sampler = fill_sampler(2000, __import__("pathlib").Path(__import__("tempfile").mkdtemp()))
    cols: _Columns = sampler.records
    got = list(sampler.to_raw().samples)
    for i in rng.integers(0, 2000, 200).tolist():
        weight, state, gc_dt, latency = cols.weight[i], cols.state[i], cols.gc[i], cols.latency[i]
        gc_s = min(max(gc_dt, 0.0), weight)
        held = min(max(latency - gc_s, 0.0), weight - gc_s)
        rest = weight - gc_s - held
        interp = held + rest if state == INTERP else 0.0
        native = held + rest if state == NATIVE else 0.0
        want = Split(interp, native, held + rest if state == WAITING else 0.0, gc_s)
        assert got[i].split == want and got[i].t == cols.read[i] and got[i].new_from == cols.same[i]


def _as_version_2(doc):
    """The document as advisor wrote it before format 3: the timeline as JSON lists of integers."""
    cols = {}
    for name, c in doc["timeline"]["columns"].items():
        cols[name] = np.frombuffer(zlib.decompress(base64.b64decode(c["data"])), dtype=c["dtype"]).astype(np.int64)
    split = np.stack([cols[k] for k in ("interpreted_us", "native_us", "waiting_us", "gc_us")], axis=1)
    doc = dict(doc, version=2)
    doc["timeline"] = {"t0_s": doc["timeline"]["t0_s"], "t_us": np.cumsum(cols["dt_us"]).tolist(),
                       "stack": cols["stack"].tolist(), "new_from": cols["new_from"].tolist(),
                       "split_us": split.reshape(-1).tolist()}
    return doc


def test_a_version_2_profile_still_loads_and_decides_again(saved, tmp_path):
    prof, path = saved
    old = tmp_path / "v2.json"
    old.write_text(json.dumps(_as_version_2(json.loads(path.read_text()))))
    back = Profile.load(old)
    assert back.timeline == prof.timeline and back.stacks == prof.stacks and back.version == 3
    r = run_advisor(["report", str(old), "--step", "forward", "--format", "json", "--out", str(tmp_path / "r")],
                    cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.mark.parametrize("column, change, words", [
    ("stack", {"data": "not base64!"}, "timeline.columns.stack is not zlib+base64"),
    ("stack", {"dtype": "<f8"}, "timeline.columns.stack must be"),
    ("new_from", {"data": base64.b64encode(zlib.compress(b"\0" * 3)).decode()}, "values for"),
    ("stack", {"dtype": "<i8", "data": None}, "timeline.columns.stack"),
])
def test_a_damaged_timeline_column_is_one_line(saved, tmp_path, column, change, words):
    _prof, path = saved
    doc = json.loads(path.read_text())
    n = doc["timeline"]["samples"]
    if change.get("data", "") is None:  # a stack id past the stack table
        change = {"dtype": "<i8", "data": base64.b64encode(zlib.compress(np.full(n, 10**6, "<i8").tobytes())).decode()}
        words = "not in stacks"
    doc["timeline"]["columns"][column].update(change)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ProfileFormatError) as exc:
        Profile.load(bad)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_small_timelines_are_exact_in_microseconds(tmp_path):
    from advisor.capture.raw import RawCapture, RawSample
    from advisor.model import FrameKey

    f = (FrameKey("/p/t.py", "main", 1), FrameKey("/p/t.py", "step", 5))
    samples = [RawSample(10.0 + i * 0.005, Split(0.003, 0.001, 0.0005, 0.0005), f, (2, 6), 1) for i in range(50)]
    prof = build_profile(RawCapture("sample", 0.005, samples), command={"kind": "script", "target": "t.py", "args": []},
                         environment={}, outcome=Outcome(0, "exit"), wall_s=1.0)
    assert prof.timeline.split_us[0].tolist() == [3000, 1000, 500, 500]
    assert prof.timeline.t_us[-1] == round(49 * 0.005 / US)
    assert Profile.load(prof.save(tmp_path / "p.json")) == prof


def test_a_negative_time_in_the_timeline_is_refused(saved, tmp_path):
    _prof, path = saved
    doc = json.loads(path.read_text())
    n = doc["timeline"]["samples"]
    doc["timeline"]["columns"]["dt_us"] = {"dtype": "<i8",
                                           "data": base64.b64encode(zlib.compress(np.full(n, -1, "<i8").tobytes())).decode()}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ProfileFormatError, match="dt_us gives a negative or absurd time"):
        Profile.load(bad)


def test_deciding_the_step_of_a_long_capture_holds_no_column_per_sample(tmp_path):
    """Step detection over a million samples: its memory is chunk-sized, not per sample (the walk that made
    a row per sample peaked near 100 bytes a sample; the columns themselves are not counted here)."""
    import gc
    import tracemalloc

    from advisor.capture.build import measure

    n = 1_000_000
    raw = fill_sampler(n, tmp_path).to_raw()
    prof = measure(raw, command={"kind": "script", "target": "train.py", "args": []}, environment={},
                   outcome=Outcome(0, "exit"), wall_s=n * 0.005, user_code=UserCode.default())
    del raw
    gc.collect()
    tracemalloc.start()
    try:
        decided = apply_step(prof, None, 1)
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decided.frames[decided.step.frame].key.qualname == "train_step"
    assert sum(r.samples for r in decided.stacks) == n
    assert peak < 32 * n, f"{peak / n:.1f} bytes a sample"
