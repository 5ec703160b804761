"""The timeline's columns in profile.json (format 3): written delta-coded, narrow, zlib-compressed and
base64-encoded a column at a time (``_timeline_parts``), read back and checked (``_parse_timeline``;
version-2 JSON lists are migrated). See docs/profile-format.md, "The timeline's columns"."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any, Iterator

from advisor import _profile_checks as checks
from advisor.model import Timeline, _int, _num

_dumps = json.dumps  # bound at import, before any script runs (a script may replace json.dumps)


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
