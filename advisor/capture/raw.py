"""Raw records: what every capture mode hands to ``build.py``.

All three modes (the default sampler, cProfile, pyinstrument) produce the same ``RawCapture``, so one
builder turns any of them into a ``Profile`` (no twin pipelines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from advisor.model import FrameKey, Split


@dataclass(slots=True)
class RawSample:
    """One sample (or one pseudo-sample in cProfile mode).

    ``frames`` and ``lines`` run root→leaf. ``new_from`` is the depth from which the frames are new
    invocations compared with the previous sample (frames above it are the very same frame objects).
    """

    t: float
    split: Split
    frames: tuple[FrameKey, ...]
    lines: tuple[int, ...]
    new_from: int


@dataclass(slots=True)
class RawCapture:
    """Everything a capture mode measured, before any analysis."""

    mode: str
    interval_s: float
    samples: list[RawSample] = field(default_factory=list)
    calls: dict[FrameKey, int] | None = None  # exact call counts (cProfile mode)
    per_call_s: dict[FrameKey, float] | None = None  # cumulative time per call (cProfile mode)
    thread_cpu_s: float | None = None  # CPU clock of the profiled thread over the run
    dropped: int = 0
    # exact step boundaries (steptimer.py): FrameKey -> {"starts", "ends", "since", "in_call", "how"}
    timings: dict[FrameKey, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
