"""profile.json: a ``Profile`` written and read back (format, versions, every field checked).

``save`` writes atomically (a temp file beside it, then ``os.replace``), streaming the timeline's
compressed columns; ``load`` / ``from_json`` refuse anything they do not understand with a one-line
``ProfileFormatError`` naming the field; version-1 and -2 files are migrated on load. The types are in
``advisor/model.py`` (``Profile.save`` / ``Profile.load`` call here).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import zlib
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Iterator

import advisor.parts as _parts
from advisor import _profile_checks as checks
from advisor.atomic import write_atomic
from advisor.errors import ProfileFormatError
from advisor.model import (FORMAT, MAX_LOAD_BYTES, MODES, REGIONS, VERSION, Candidate, Command, Frame, FrameKey,
                           Outcome, Profile, Split, StackRecord, StepInfo, StepTiming, Timeline, _str)

# Bound at import, before any script runs: a script that replaces json.dumps (it happens) does not change
# how its profile is written.
_dumps = json.dumps


def to_json(self: Profile, timeline: bool = True) -> dict[str, Any]:
    """The JSON document (``timeline=False``: without the timeline's columns, which ``save`` streams)."""
    return {
        "format": self.format,
        "version": VERSION,  # the encoding written is always this version's
        "mode": self.mode,
        "interval_s": self.interval_s,
        "command": self.command.to_json(),
        "environment": self.environment,
        "started_at": self.started_at,
        "wall_s": self.wall_s,
        "outcome": asdict(self.outcome),
        "samples": self.samples,
        "frames": [{**asdict(f.key), "user": f.user} for f in self.frames],
        "stacks": [
            {"frames": list(r.frames), "lines": list(r.lines), "region": r.region,
             "split": r.split.as_list(), "samples": r.samples}
            for r in self.stacks
        ],
        "step": None if self.step is None else {
            "frame": self.step.frame, "chosen_by": self.step.chosen_by, "reason": self.step.reason,
            "calls": self.step.calls, "warmup": self.step.warmup,
            "durations_s": list(self.step.durations_s), "timing": self.step.timing,
            "loop_lines": None if self.step.loop_lines is None else list(self.step.loop_lines),
            "count_exact": self.step.count_exact,
        },
        "candidates": [asdict(c) for c in self.candidates],
        "calls": None if self.calls is None else {str(k): v for k, v in self.calls.items()},
        "sources": self.sources,
        "clock": self.clock,
        "warnings": list(self.warnings),
        "timeline": None if self.timeline is None else (_timeline_json(self.timeline) if timeline else _MARK),
        "timings": [{"frame": t.frame, "line": t.line, "starts": list(t.starts), "ends": list(t.ends),
                     "exact": t.exact, "how": t.how} for t in self.timings],
        **({"parts": [_parts.part_to_json(p) for p in self.parts]} if self.parts else {}),
    }

def save(self: Profile, path: str | os.PathLike[str]) -> Path:
    """Write the profile as JSON atomically (temp file in the same folder, then rename).

    The timeline's columns are compressed and written one at a time, so saving an eight-hour run
    holds one compressed column in memory, not the whole document twice."""
    doc = to_json(self, timeline=False)
    if self.timeline is None:
        return write_atomic(Path(path), _dumps(doc, separators=(",", ":")).encode())
    mark = doc["timeline"] = f"\u0000timeline {secrets.token_hex(8)}\u0000"  # no other string is this
    head, tail = _dumps(doc, separators=(",", ":")).split(_dumps(mark), 1)
    return write_atomic(Path(path), _chain(head.encode(), _timeline_parts(self.timeline), tail.encode()))

def load(path: str | os.PathLike[str]) -> Profile:
    """Read a saved profile; raises ProfileFormatError with a one-line reason on anything odd."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_LOAD_BYTES:
            raise ProfileFormatError(f"{p}: {size / 1e6:.0f} MB is larger than any advisor profile "
                                     f"(limit {MAX_LOAD_BYTES // 2**20} MiB)")
        raw = p.read_bytes()
    except ProfileFormatError:
        raise
    except OSError as exc:
        raise ProfileFormatError(f"cannot read profile {p}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise ProfileFormatError(f"{p} is empty, not an advisor profile")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ProfileFormatError(f"{p} is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); "
                                 "not an advisor profile") from None
    except (ValueError, RecursionError) as exc:
        raise ProfileFormatError(f"{p} is not valid JSON (truncated or corrupt?): {str(exc)[:80]}") from None
    scan = checks.may_need_scan(raw)
    del raw  # the file's bytes: not held while the columns are decoded (tens of MB for a long run)
    return from_json(data, source=str(p), scan=scan)


def from_json(data: Any, source: str = "profile", scan: bool = True) -> Profile:
    """Build a Profile from parsed JSON, checking format, version and every type and bound.

    ``scan``: look for NaN / Infinity and lone surrogates anywhere (``load`` skips it when the file
    cannot hold them). A lone surrogate is kept as a visible ``\\udXXX`` escape and noted in the
    profile's warnings; every other problem raises ``ProfileFormatError`` naming the field.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProfileFormatError(f"{source} is not an advisor profile (no \"format\": \"{FORMAT}\")")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProfileFormatError(f"{source}: \"version\" must be an integer")
    if version < 1:
        raise ProfileFormatError(f"{source}: \"version\" must be 1 or more (got {version})")
    if version > VERSION:
        raise ProfileFormatError(f"{source} was written by a newer advisor (format version {version}; "
                                 f"this one reads up to {VERSION}); upgrade advisor")
    try:
        fixed: list[str] = []
        if scan:
            data, fixed = checks.scan(data)
        profile = _parse(data, version)
        if fixed:
            note = (f"text in the profile was not valid Unicode (a lone surrogate in {fixed[0]}"
                    f"{f' and {len(fixed) - 1} more' if len(fixed) > 1 else ''}); it is shown escaped (\\udXXX)")
            profile = replace(profile, warnings=profile.warnings + (note,))
        return profile
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)[:120]
        raise ProfileFormatError(f"{source} is damaged: {what}") from None


_MARK = "\u0000timeline\u0000"  # stands for the timeline in ``to_json(timeline=False)``
ENCODING = "zlib+base64"
# column name -> what it holds; "dt_us" is t_us delta-coded (the first value is t_us[0])
COLUMNS = ("dt_us", "stack", "new_from", "interpreted_us", "native_us", "waiting_us", "gc_us")
DTYPES = ("<u1", "<u2", "<u4", "<i8")


def _columns(tl: Timeline) -> Iterator[tuple[str, Any]]:
    import numpy as np

    yield "dt_us", _deltas(tl.t_us)
    yield "stack", tl.stack
    yield "new_from", tl.new_from
    for b, name in enumerate(COLUMNS[3:]):
        yield name, np.ascontiguousarray(tl.split_us[:, b])


def _deltas(t_us: Any, chunk: int = 1 << 18) -> Any:
    """``t_us`` delta-coded (the first value is ``t_us[0]``) in the narrowest type that holds the deltas,
    a chunk at a time (no int64 copy of an eight-hour column)."""
    import numpy as np

    def part(a: int) -> Any:
        seg = t_us[max(a - 1, 0):a + chunk].astype(np.int64)
        return np.diff(seg, prepend=0) if a == 0 else np.diff(seg)

    n, lo, hi = len(t_us), 0, 0
    for a in range(0, n, chunk):
        d = part(a)
        lo, hi = min(lo, int(d.min())), max(hi, int(d.max()))
    dtype = next((t for t in (np.uint8, np.uint16, np.uint32) if lo >= 0 and hi <= np.iinfo(t).max), np.int64)
    out = np.empty(n, dtype=dtype)
    for a in range(0, n, chunk):
        out[a:a + chunk] = part(a)
    return out


def _encode(arr: Any) -> tuple[str, bytes]:
    """(dtype, base64 of the zlib-compressed little-endian bytes) of a 1-D integer array."""
    dtype = arr.dtype.newbyteorder("<")
    data = memoryview(arr.astype(dtype, copy=False)).cast("B")
    return dtype.str.replace("|", "<"), base64.b64encode(zlib.compress(data, _level(data)))


PROBE = 1 << 15  # bytes of a column tried at three places before compressing all of it
STORE_ABOVE = 0.75  # compressed/raw ratio of the probes above which the column is stored, not compressed


def _level(data: memoryview) -> int:
    """zlib level 1, or 0 (stored: still a zlib stream, read the same way) for a long column that does not
    compress (times and splits of a long run are nearly random in their low bytes: compressing them
    costs about 80 ms a million samples to save 10-25%)."""
    n = len(data)
    if n < 8 * PROBE:
        return 1
    probes = [data[i:i + PROBE] for i in (0, (n - PROBE) // 2, n - PROBE)]
    packed = sum(len(zlib.compress(p, 1)) for p in probes)
    return 0 if packed > STORE_ABOVE * len(probes) * PROBE else 1


def _timeline_parts(tl: Timeline) -> Iterator[bytes]:
    yield _dumps({"t0_s": tl.t0_s, "samples": len(tl), "encoding": ENCODING})[:-1].encode() + b',"columns":{'
    for i, (name, arr) in enumerate(_columns(tl)):
        dtype, data = _encode(arr)
        yield f'{"," if i else ""}"{name}":{{"dtype":"{dtype}","data":"'.encode()
        yield data
        yield b'"}'
    yield b"}}"


def _timeline_json(tl: Timeline) -> dict[str, Any]:
    cols = {}
    for name, arr in _columns(tl):
        dtype, data = _encode(arr)
        cols[name] = {"dtype": dtype, "data": data.decode("ascii")}
    return {"t0_s": tl.t0_s, "samples": len(tl), "encoding": ENCODING, "columns": cols}


def _chain(*parts: bytes | Iterator[bytes]) -> Iterator[bytes]:
    for p in parts:
        if isinstance(p, bytes):
            yield p
        else:
            yield from p


def _decode(col: Any, name: str, n: int) -> Any:
    import numpy as np

    if not isinstance(col, dict) or col.get("dtype") not in DTYPES or not isinstance(col.get("data"), str):
        raise TypeError(f"timeline.columns.{name} must be {{\"dtype\": one of {', '.join(DTYPES)}, \"data\": text}}")
    dtype = np.dtype(col["dtype"])
    size = n * dtype.itemsize
    try:
        d = zlib.decompressobj()
        raw = d.decompress(base64.b64decode(col["data"].encode("ascii"), validate=True), size + 1)
    except (zlib.error, ValueError, UnicodeEncodeError):
        raise ValueError(f"timeline.columns.{name} is not {ENCODING} data") from None
    if len(raw) != size or d.unconsumed_tail:
        raise ValueError(f"timeline.columns.{name} holds {len(raw) // dtype.itemsize} values for {n} samples")
    arr = np.frombuffer(raw, dtype=dtype)
    if arr.dtype.kind == "i" and n and (int(arr.min()) < -checks.MAX_COUNT or int(arr.max()) > checks.MAX_COUNT):
        raise ValueError(f"timeline.columns.{name} holds an absurd number")
    return arr


def _split_columns(cols: dict[str, Any], n: int) -> Any:
    """The four split columns decoded one at a time straight into one (n, 4) array (no second copy)."""
    import numpy as np

    declared = [c.get("dtype") for c in (cols.get(name) for name in COLUMNS[3:]) if isinstance(c, dict)]
    split = None
    for b, name in enumerate(COLUMNS[3:]):
        arr = _decode(cols.get(name), name, n)
        if split is None:
            split = np.empty((n, 4), dtype=np.result_type(*(np.dtype(t) for t in declared if t in DTYPES)))
        split[:, b] = arr
    return split


def _parse_timeline(d: Any, n_stacks: int, version: int) -> Timeline:
    """The timeline of a version-3 file (binary columns) or a version-2 file (JSON lists of integers)."""
    import numpy as np

    if not isinstance(d, dict):
        raise TypeError("timeline must be an object")
    t0 = _num(d.get("t0_s", 0.0), "timeline.t0_s", high=float(checks.MAX_COUNT))
    if version >= 3:
        n = _int(d["samples"], "timeline.samples")
        if d.get("encoding") != ENCODING or not isinstance(d.get("columns"), dict):
            raise ValueError(f"timeline.encoding must be {ENCODING!r} with \"columns\"")
        cols = d["columns"]
        c = {name: _decode(cols.get(name), name, n) for name in COLUMNS[:3]}
        t_us = np.cumsum(c["dt_us"], dtype=np.int64)
        if n and (int(t_us.min()) < 0 or int(t_us[-1]) > checks.MAX_COUNT):
            raise ValueError("timeline.columns.dt_us gives a negative or absurd time")
        if n and int(c["new_from"].min()) < 0 or n and int(c["stack"].min()) < 0:
            raise ValueError("timeline holds a negative stack or depth")
        split = _split_columns(cols, n)
        if n and int(split.min()) < 0:
            raise ValueError("timeline splits must not be negative")
        stack, nf = c["stack"], c["new_from"]
    else:  # version 2: JSON lists (migrated to columns on load)
        t, stack, nf, flat = d["t_us"], d["stack"], d["new_from"], d["split_us"]
        for name, col in (("t_us", t), ("stack", stack), ("new_from", nf), ("split_us", flat)):
            if type(col) is not list or not all(type(v) is int for v in col):
                raise TypeError(f"timeline.{name} must be a list of integers")
            if col and (min(col) < 0 or max(col) > checks.MAX_COUNT):
                raise ValueError(f"timeline.{name} holds a negative or absurd number")
        if not len(t) == len(stack) == len(nf) or len(flat) != 4 * len(t):
            raise ValueError("timeline columns differ in length")
        t_us, split = np.asarray(t, dtype=np.int64), np.asarray(flat, dtype=np.int64).reshape(-1, 4)
        stack, nf = np.asarray(stack, dtype=np.int64), np.asarray(nf, dtype=np.int64)
        n = len(t)
    if n and int(stack.max()) >= n_stacks:
        raise ValueError("timeline refers to a stack record that is not in stacks")
    return Timeline.of(t0, t_us, stack, nf, split)


def _parse_timings(d: Any, n_frames: int) -> tuple[StepTiming, ...]:
    if not isinstance(d, list):
        raise TypeError("timings must be a list")
    out = []
    for i, t in enumerate(d):
        frame = _int(t["frame"], f"timings[{i}].frame")
        if frame >= n_frames:
            raise ValueError(f"timings[{i}].frame is not in the frame table")
        line = None if t.get("line") is None else _int(t["line"], f"timings[{i}].line")
        big = float(checks.MAX_COUNT)
        starts = tuple(_num(x, f"timings[{i}].starts", high=big) for x in t["starts"])
        ends = tuple(_num(x, f"timings[{i}].ends", high=big) for x in t["ends"])
        if len(starts) != len(ends):
            raise ValueError(f"timings[{i}]: starts and ends differ in length")
        how = t.get("how", "")
        out.append(StepTiming(frame, line, starts, ends, bool(t.get("exact", False)),
                              how if isinstance(how, str) else ""))
    return tuple(out)


def _num(value: Any, name: str, high: float = checks.MAX_SECONDS) -> float:
    """A finite number in [0, high] (durations, shares of time)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number")
    v = float(value) if isinstance(value, float) or abs(value) <= checks.MAX_COUNT else float("inf")
    if not 0 <= v <= high:  # also NaN
        raise ValueError(f"{name} must be between 0 and {high:g}, got {str(value)[:24]}")
    return v


def _int(value: Any, name: str, low: int | None = 0) -> int:
    """An integer in [low, MAX_COUNT] (counts, line numbers); ``low=None`` for exit codes."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer")
    if (low is not None and value < low) or abs(value) > checks.MAX_COUNT:
        low_s = -checks.MAX_COUNT if low is None else low
        raise ValueError(f"{name} must be between {low_s} and {checks.MAX_COUNT}, got {str(value)[:24]}")
    return value



def _parse(d: dict[str, Any], version: int = VERSION) -> Profile:
    mode = _str(d["mode"], "mode")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    frames = tuple(
        Frame(FrameKey(_str(f["file"], "frame file"), _str(f["qualname"], "frame qualname"),
                       _int(f["line"], "frame line"), _str(f.get("kind", "python"), "frame kind")),
              bool(f["user"]))
        for f in d["frames"]
    )
    n = len(frames)
    stacks = []
    for i, r in enumerate(d["stacks"]):
        # Checked in bulk (a million-sample profile has hundreds of thousands of records).
        ids, lines, split_vals = r["frames"], r["lines"], r["split"]
        if not (type(ids) is list and type(lines) is list and all(type(i) is int for i in ids)
                and all(type(x) is int for x in lines)):
            raise TypeError("stack frames and lines must be lists of integers")
        if ids and (min(ids) < 0 or max(ids) >= n):
            raise ValueError("stack refers to a frame that is not in the frame table")
        if len(lines) != len(ids):
            raise ValueError("stack lines and frames differ in length")
        region = r["region"]
        if region not in REGIONS:
            raise ValueError(f"unknown region {str(region)[:40]!r}")
        if not (type(split_vals) is list and len(split_vals) == 4
                and all(type(v) in (int, float) for v in split_vals)):
            raise ValueError(f"stacks[{i}].split must be a list of four numbers")
        if not all(0 <= v <= checks.MAX_SECONDS for v in split_vals):  # also rejects NaN
            raise ValueError(f"stacks[{i}].split must hold four durations between 0 and "
                             f"{checks.MAX_SECONDS:g} s, got {split_vals!r}"[:160])
        stacks.append(StackRecord(tuple(ids), tuple(lines), region, Split(*map(float, split_vals)),
                                  _int(r["samples"], f"stacks[{i}].samples")))
    step = None
    if d.get("step") is not None:
        s = d["step"]
        frame = _int(s["frame"], "step frame")
        if not 0 <= frame < n:
            raise ValueError("step frame is not in the frame table")
        loop = s.get("loop_lines")
        if loop is not None:
            if not isinstance(loop, list) or len(loop) != 2:
                raise ValueError("loop_lines must be two line numbers")
            loop = (_int(loop[0], "loop line"), _int(loop[1], "loop line"))
        step = StepInfo(frame, _str(s["chosen_by"], "chosen_by"), _str(s["reason"], "reason"),
                        _int(s["calls"], "step.calls"), _int(s["warmup"], "step.warmup"),
                        tuple(_num(x, "step.durations_s") for x in s["durations_s"]), _str(s["timing"], "timing"),
                        loop, bool(s.get("count_exact", False)))
    candidates = tuple(Candidate(_int(c["frame"], "candidate frame"), _int(c["calls"], "candidates.calls"),
                                 _num(c["inclusive_s"], "candidates.inclusive_s")) for c in d.get("candidates", []))
    if any(not 0 <= c.frame < n for c in candidates):
        raise ValueError("candidate frame is not in the frame table")
    calls = None
    if d.get("calls") is not None:
        calls = {int(k): _int(v, f"calls.{k}") for k, v in d["calls"].items()}
    o = d["outcome"]
    outcome = Outcome(_int(o["exit_code"], "outcome.exit_code", low=None), _str(o["stopped_by"], "stopped_by"),
                      _str(o.get("detail", ""), "detail"))
    sources = d.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sources.items()):
        raise TypeError("sources must map file names to text")
    command, env = Command.from_json(d["command"]), d["environment"]
    if not isinstance(env, dict):
        raise TypeError("environment must be an object")
    clock = {str(k): _num(v, f"clock.{k}") for k, v in d.get("clock", {}).items()}
    return Profile(
        mode=mode, interval_s=_num(d["interval_s"], "interval_s", high=3600.0), command=command, environment=env,
        started_at=_str(d["started_at"], "started_at"), wall_s=_num(d["wall_s"], "wall_s"), outcome=outcome,
        frames=frames, stacks=tuple(stacks), step=step, candidates=candidates, calls=calls, sources=sources,
        clock=clock, samples=_int(d.get("samples", 0), "samples"),
        warnings=tuple(_str(w, "warning") for w in d.get("warnings", [])), version=VERSION,
        # version 1 had neither (migration: no timeline, no timings; the saved step stands as it is)
        timeline=None if d.get("timeline") is None else _parse_timeline(d["timeline"], len(stacks), version),
        timings=_parse_timings(d.get("timings", []), n),
        parts=_parts.parts_from_json(d.get("parts")),
    )
