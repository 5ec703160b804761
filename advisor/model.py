"""The profile model: what one run of a script measured, and its versioned JSON form.

A ``Profile`` is the only thing written to ``profile.json``. It holds aggregated stack records, each with
its measured split (interpreted / native / waiting / gc, in seconds), the region it was sampled in (the
measured step, a warm-up step, or outside the step), the frame table, per-step wall times, the
environment, and the source of the user files that appear in the step, so a report can be rendered on
another machine. ``Profile.save`` writes atomically; ``Profile.load`` refuses anything it does not
understand with a one-line ``ProfileFormatError``.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
import secrets
import statistics
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from advisor import _profile_checks as checks
from advisor.errors import OutputError, ProfileFormatError

if TYPE_CHECKING:  # pragma: no cover
    from advisor.parts import Part

# Bound at import, before any script runs: a script that replaces json.dumps or os.replace (it happens)
# does not change how its profile is written.
_dumps, _replace = json.dumps, os.replace

FORMAT = "advisor-profile"
VERSION = 3  # 3: the timeline as compressed binary columns; 2: "timeline" as JSON lists, "timings"; 1 and 2 load
BUCKETS = ("interpreted", "native", "waiting", "gc")
REGIONS = ("step", "warmup", "outside")
MODES = ("sample", "cprofile", "pyinstrument")
MAX_LOAD_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Split:
    """Time in seconds by what the thread was doing: the split every decision rests on."""

    interpreted: float = 0.0
    native: float = 0.0
    waiting: float = 0.0
    gc: float = 0.0

    @property
    def total(self) -> float:
        return self.interpreted + self.native + self.waiting + self.gc

    def __add__(self, other: Split) -> Split:
        return Split(
            self.interpreted + other.interpreted,
            self.native + other.native,
            self.waiting + other.waiting,
            self.gc + other.gc,
        )

    def scaled(self, factor: float) -> Split:
        return Split(self.interpreted * factor, self.native * factor, self.waiting * factor, self.gc * factor)

    def shares(self) -> dict[str, float]:
        """Each bucket as a fraction of the total (all zero for an empty split)."""
        total = self.total
        if total <= 0:
            return {b: 0.0 for b in BUCKETS}
        return {b: getattr(self, b) / total for b in BUCKETS}

    def as_list(self) -> list[float]:
        return [self.interpreted, self.native, self.waiting, self.gc]

    @classmethod
    def from_list(cls, values: list[float]) -> Split:
        return cls(*(float(v) for v in values))


@dataclass(frozen=True, slots=True)
class FrameKey:
    """A function's identity: file, qualified name, first line; ``kind`` is python or native."""

    file: str
    qualname: str
    line: int
    kind: str = "python"

    @property
    def label(self) -> str:
        short = os.path.basename(self.file) if self.kind == "python" else self.file
        return f"{self.qualname} ({short}:{self.line})" if self.kind == "python" else f"{self.qualname} [{short}]"


@dataclass(frozen=True, slots=True)
class Frame:
    """One entry of the frame table; ``user`` says whether it counts as the team's own code."""

    key: FrameKey
    user: bool


@dataclass(frozen=True, slots=True)
class StackRecord:
    """Samples that share a stack (frame ids root→leaf, the line in each frame) and a region."""

    frames: tuple[int, ...]
    lines: tuple[int, ...]
    region: str
    split: Split
    samples: int


@dataclass(frozen=True, slots=True)
class StepStats:
    """Per-step wall times of the measured (non-warm-up) steps."""

    count: int
    dropped_warmup: int
    mean_s: float
    median_s: float
    p95_s: float
    total_s: float

    @classmethod
    def from_durations(cls, durations: list[float], dropped_warmup: int) -> StepStats:
        if not durations:
            return cls(0, dropped_warmup, 0.0, 0.0, 0.0, 0.0)
        ordered = sorted(durations)
        p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
        return cls(len(durations), dropped_warmup, statistics.fmean(durations), statistics.median(durations),
                   p95, sum(durations))


@dataclass(frozen=True, slots=True)
class StepInfo:
    """Which function is the step, how it was chosen, and its timings."""

    frame: int
    chosen_by: str  # "auto" or "--step"
    reason: str
    calls: int
    warmup: int
    durations_s: tuple[float, ...]
    timing: str  # "sampled" (from sample spans), "cprofile" (exact counts) or "exact" (step boundaries)
    loop_lines: tuple[int, int] | None = None  # the step is this loop's body in ``frame`` (see loopstep.py)
    count_exact: bool = False  # calls and durations come from recorded step boundaries (StepTiming)

    @property
    def stats(self) -> StepStats:
        return StepStats.from_durations(list(self.durations_s), min(self.warmup, self.calls))


@dataclass(frozen=True, slots=True)
class StepTiming:
    """Step boundaries recorded by capture for one function (``line`` None) or loop (its header line).

    ``starts[i]``/``ends[i]``: clock readings (seconds, the sampler's clock) at entry and exit of call or
    round ``i``; ``exact``: every boundary was recorded (none missed: the timer started before the first
    call); ``how``: how they were taken (``sys.monitoring`` or ``trampoline``, capture/steptimer.py).
    """

    frame: int
    line: int | None
    starts: tuple[float, ...]
    ends: tuple[float, ...]
    exact: bool
    how: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Timeline:
    """Every sample in order: what step detection reads, so a saved profile can be re-analysed.

    Columns (NumPy arrays, one entry per sample; about 26 bytes a sample): ``t_us`` the sample's time in
    whole microseconds after ``t0_s`` (the sampler's clock, seconds), ``stack`` an index into
    ``Profile.stacks`` (whose frames and lines are this sample's), ``new_from`` the depth from which its
    frames are new calls (frames above it are the same calls as in the previous sample), ``split_us`` its
    measured split (n×4 whole microseconds: interpreted, native, waiting, gc). Build one with ``of``.
    """

    t0_s: float
    t_us: Any
    stack: Any
    new_from: Any
    split_us: Any

    @classmethod
    def of(cls, t0_s: float, t_us: Any, stack: Any, new_from: Any, split_us: Any) -> Timeline:
        """A timeline from any integer sequences, stored in the narrowest types that hold them."""
        import numpy as np

        split = np.asarray(split_us, dtype=np.int64).reshape(-1, 4) if not hasattr(split_us, "dtype") else split_us
        return cls(float(t0_s), _narrow(t_us, np.int64), _narrow(stack, None), _narrow(new_from, None),
                   _narrow(split, None))

    def __len__(self) -> int:
        return len(self.stack)

    @property
    def t_s(self) -> Any:
        """Each sample's time in seconds after ``t0_s`` (float array)."""
        return self.t_us * US

    @property
    def weight_s(self) -> Any:
        """Each sample's total time in seconds (float array)."""
        return self.split_us.sum(axis=1, dtype="int64") * US

    def split(self, i: int) -> Split:
        return Split(*(float(v) * US for v in self.split_us[i]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeline):
            return NotImplemented
        import numpy as np

        return self.t0_s == other.t0_s and all(
            np.array_equal(getattr(self, f), getattr(other, f)) for f in ("t_us", "stack", "new_from", "split_us"))

    __hash__ = None  # type: ignore[assignment]


def _narrow(values: Any, dtype: Any) -> Any:
    """``values`` as a NumPy array of ``dtype``, or (None) of the narrowest of uint8/16/32 or int64."""
    import numpy as np

    arr = np.asarray(values)
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.size == 0:
        return arr.astype(np.uint8)
    lo, hi = int(arr.min()), int(arr.max())
    for t in (np.uint8, np.uint16, np.uint32):
        if lo >= 0 and hi <= np.iinfo(t).max:
            return arr.astype(t, copy=False)
    return arr.astype(np.int64, copy=False)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A function called repeatedly: what step detection chose among (and what --step errors list)."""

    frame: int
    calls: int
    inclusive_s: float


@dataclass(frozen=True, slots=True)
class Command:
    """What was run: ``kind`` (script, module, region, call), the script path or module name, its own
    arguments and the working folder. Saved as the ``command`` object of profile.json."""

    kind: str = ""
    target: str = ""
    args: tuple[str, ...] = ()
    cwd: str = ""

    def line(self) -> str:
        """The command line as the user would type it after ``advisor profile``: ``-m pkg.train --lr 1``."""
        import shlex

        if self.kind == "module":
            return shlex.join(["-m", self.target, *self.args])
        if self.kind == "script":
            return shlex.join([self.target, *self.args])
        return f"({self.kind or 'unknown'}) {self.target}".rstrip()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "args": list(self.args), "cwd": self.cwd}

    @classmethod
    def from_json(cls, d: Any) -> Command:
        """Read the ``command`` object (files from every version: missing keys are empty, others ignored)."""
        if isinstance(d, Command):
            return d
        if not isinstance(d, dict):
            raise TypeError("command must be an object")
        args = d.get("args", [])
        if not isinstance(args, (list, tuple)) or not all(isinstance(a, str) for a in args):
            raise TypeError("command.args must be a list of strings")
        return cls(_str(d.get("kind", ""), "command.kind"), _str(d.get("target", ""), "command.target"),
                   tuple(args), _str(d.get("cwd", ""), "command.cwd"))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the script ended: its exit code and why it stopped."""

    exit_code: int
    stopped_by: str  # exit | exception | interrupt | sigterm | max-steps
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """Everything one profiled run measured. Save with ``save``, read back with ``Profile.load``."""

    mode: str
    interval_s: float
    command: Command  # a dict (capture's form, or an old caller's) is read with Command.from_json
    environment: dict[str, Any]
    started_at: str
    wall_s: float
    outcome: Outcome
    frames: tuple[Frame, ...]
    stacks: tuple[StackRecord, ...]
    step: StepInfo | None
    candidates: tuple[Candidate, ...]
    calls: dict[int, int] | None = None
    sources: dict[str, str] = field(default_factory=dict)
    clock: dict[str, float] = field(default_factory=dict)
    samples: int = 0
    warnings: tuple[str, ...] = ()
    timeline: Timeline | None = None  # None in version-1 files: the step cannot be chosen again
    timings: tuple[StepTiming, ...] = ()
    parts: tuple[Part, ...] = ()  # other threads and child processes (advisor/parts.py); absent: none sampled
    format: str = FORMAT
    version: int = VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.command, Command):
            object.__setattr__(self, "command", Command.from_json(self.command))

    # ---- derived views -------------------------------------------------------------------------------
    def region_split(self, region: str) -> Split:
        """Total split of every stack record sampled in ``region``."""
        total = Split()
        for rec in self.stacks:
            if rec.region == region:
                total = total + rec.split
        return total

    def region_samples(self, region: str) -> int:
        return sum(rec.samples for rec in self.stacks if rec.region == region)

    def frame_label(self, frame_id: int) -> str:
        return self.frames[frame_id].key.label

    # ---- JSON ----------------------------------------------------------------------------------------
    def to_json(self, timeline: bool = True) -> dict[str, Any]:
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

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the profile as JSON atomically (temp file in the same folder, then rename).

        The timeline's columns are compressed and written one at a time, so saving an eight-hour run
        holds one compressed column in memory, not the whole document twice."""
        doc = self.to_json(timeline=False)
        if self.timeline is None:
            return write_atomic(Path(path), _dumps(doc, separators=(",", ":")).encode())
        mark = doc["timeline"] = f"\u0000timeline {secrets.token_hex(8)}\u0000"  # no other string is this
        head, tail = _dumps(doc, separators=(",", ":")).split(_dumps(mark), 1)
        return write_atomic(Path(path), _chain(head.encode(), _timeline_parts(self.timeline), tail.encode()))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
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
        return cls.from_json(data, source=str(p), scan=checks.may_need_scan(raw))

    @classmethod
    def from_json(cls, data: Any, source: str = "profile", scan: bool = True) -> Profile:
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


US = 1e-6  # timeline times and splits are stored as whole microseconds


_MARK = "\u0000timeline\u0000"  # stands for the timeline in ``to_json(timeline=False)``
ENCODING = "zlib+base64"
# column name -> what it holds; "dt_us" is t_us delta-coded (the first value is t_us[0])
COLUMNS = ("dt_us", "stack", "new_from", "interpreted_us", "native_us", "waiting_us", "gc_us")
DTYPES = ("<u1", "<u2", "<u4", "<i8")


def _columns(tl: Timeline) -> Iterator[tuple[str, Any]]:
    import numpy as np

    yield "dt_us", _narrow(np.diff(tl.t_us.astype(np.int64, copy=False), prepend=0), None)
    yield "stack", tl.stack
    yield "new_from", tl.new_from
    for b, name in enumerate(COLUMNS[3:]):
        yield name, np.ascontiguousarray(tl.split_us[:, b])


def _encode(arr: Any) -> tuple[str, bytes]:
    """(dtype, base64 of the zlib-compressed little-endian bytes) of a 1-D integer array."""
    dtype = arr.dtype.newbyteorder("<")
    data = arr.astype(dtype, copy=False)
    return dtype.str.replace("|", "<"), base64.b64encode(zlib.compress(memoryview(data).cast("B"), 1))


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
        c = {name: _decode(d["columns"].get(name), name, n) for name in COLUMNS}
        t_us = np.cumsum(c["dt_us"], dtype=np.int64)
        if n and (int(t_us.min()) < 0 or int(t_us[-1]) > checks.MAX_COUNT):
            raise ValueError("timeline.columns.dt_us gives a negative or absurd time")
        if n and int(c["new_from"].min()) < 0 or n and int(c["stack"].min()) < 0:
            raise ValueError("timeline holds a negative stack or depth")
        split = np.stack([c[name] for name in COLUMNS[3:]], axis=1)
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


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
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


def temp_beside(path: Path) -> tuple[int, Path]:
    """Create an empty temp file next to ``path`` (same folder, so ``os.replace`` is atomic); returns its
    open descriptor and path.

    Created with mode 0666 and the process umask applied by the kernel, as any file the user writes
    (``tempfile.mkstemp`` makes 0600 files, which teammates on a shared folder cannot read). ``O_EXCL`` and
    ``O_NOFOLLOW``: never an existing file, never through a planted symlink.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name beside {path}")  # pragma: no cover - 100 collisions of 48 bits


def write_atomic(path: Path, data: bytes | Iterable[bytes]) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``.

    Readers see the old file or the new one, never a mix; two writers leave one complete file. The file
    gets mode 0666 less the umask, like any file the user writes.
    """
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(path)
        with os.fdopen(fd, "wb") as fh:
            for part in ((data,) if isinstance(data, (bytes, bytearray)) else data):
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
        _replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    return path


import advisor.parts as _parts  # noqa: E402  (parts.py builds on Split and FrameKey above)
