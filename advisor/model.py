"""The profile model: what one run of a script measured, and its versioned JSON form.

A ``Profile`` is the only thing written to ``profile.json``. It holds aggregated stack records, each with
its measured split (interpreted / native / waiting / gc, in seconds), the region it was sampled in (the
measured step, a warm-up step, or outside the step), the frame table, per-step wall times, the
environment, and the source of the user files that appear in the step, so a report can be rendered on
another machine. ``Profile.save`` writes atomically; ``Profile.load`` refuses anything it does not
understand with a one-line ``ProfileFormatError``.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor import _profile_checks as checks

if TYPE_CHECKING:  # pragma: no cover
    from advisor.parts import Part

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


@dataclass(frozen=True, slots=True)
class CountedStep:
    """Every Python call counted over one step of the profiled thread (capture/callcount.py).

    From the return of one call of the step function ``frame`` (``start``, the sampler's clock) to the
    return of its next call (``end``): that call and what ran between the two. ``calls``: (frame id,
    calls) for the functions of the profile's frame table that were called. ``complete``: the count ran
    to the step's return (not cut by the run's end or the event cap). The count slows that stretch, so
    its samples and its step are left out of the step's figures (analysis/stepbuild.py)."""

    frame: int
    start: float
    end: float
    calls: tuple[tuple[int, int], ...]
    complete: bool

    def calls_of(self, fid: int) -> int:
        return next((n for f, n in self.calls if f == fid), 0)


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
class GcStats:
    """The cyclic GC over the whole run, per generation (0, 1, 2), as ``gc.callbacks`` saw it (sample mode).

    Run totals, not per step: ``costmodel.items_gc`` scales them to the measured step by its GC seconds."""

    collections: tuple[int, int, int]
    seconds: tuple[float, float, float]

    @property
    def total_s(self) -> float:
        return sum(self.seconds)

    def to_json(self) -> dict[str, Any]:
        return {"collections": list(self.collections), "seconds": list(self.seconds)}

    @classmethod
    def from_json(cls, d: Any) -> "GcStats | None":
        """None for an absent field (profiles written before it existed); TypeError/ValueError on a bad one."""
        if d is None:
            return None
        if not isinstance(d, dict):
            raise TypeError("gc must be an object")
        n, s = d.get("collections"), d.get("seconds")
        if not isinstance(n, list) or not isinstance(s, list) or len(n) != 3 or len(s) != 3:
            raise ValueError("gc.collections and gc.seconds must be lists of 3 (generations 0, 1, 2)")
        return cls(tuple(_int(x, "gc.collections") for x in n),  # type: ignore[arg-type]
                   tuple(_num(x, "gc.seconds") for x in s))  # type: ignore[arg-type]


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
    counted: tuple[CountedStep, ...] = ()  # calls counted over one step (capture/callcount.py)
    parts: tuple[Part, ...] = ()  # other threads and child processes (advisor/parts.py); absent: none sampled
    gc: GcStats | None = None  # collections and seconds per GC generation over the run; None: not recorded
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

    # ---- JSON (advisor/model_io.py, model_columns.py) --------------------------------------------------
    def to_json(self, timeline: bool = True) -> dict[str, Any]:
        """The JSON document (``timeline=False``: without the timeline's columns, which ``save`` streams)."""
        return _io().to_json(self, timeline)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the profile as JSON atomically (temp file in the same folder, then rename); the timeline's
        columns are compressed and written one at a time."""
        return _io().save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        """Read a saved profile; raises ProfileFormatError with a one-line reason on anything odd."""
        return _io().load(path)

    @classmethod
    def from_json(cls, data: Any, source: str = "profile", scan: bool = True) -> Profile:
        """Build a Profile from parsed JSON, checking format, version and every type and bound."""
        return _io().from_json(data, source, scan)


def _io() -> Any:
    from advisor import model_io

    return model_io


US = 1e-6  # timeline times and splits are stored as whole microseconds


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


from advisor.atomic import temp_beside, write_atomic  # noqa: E402,F401  (re-exported: callers import them here)
