"""Raw records: what every capture mode hands to ``build.py``.

All three modes (the default sampler, cProfile, pyinstrument) produce the same ``RawCapture``, so one
builder turns any of them into a ``Profile`` (no twin pipelines). The sampler hands its samples over as
``SampleColumns`` (its typed arrays, read in chunks: no Python object per sample, so an eight-hour run
is post-processed in bounded memory); the other modes, whose pseudo-samples are few, hand a list of
``RawSample``. Both are sequences of ``RawSample`` to a reader that wants one sample at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Sequence, Union

from advisor.model import FrameKey, Split

if TYPE_CHECKING:
    import numpy as np

CHUNK = 1 << 18  # samples per chunk: bounded temporaries (a few MB) whatever the run's length


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


@dataclass(frozen=True, slots=True)
class Chunk:
    """Samples ``start``..``start + len(t)`` as NumPy columns: time (s), split (n×4 s: interpreted, native,
    waiting, gc), stack id (an index into ``SampleColumns.stacks``) and ``new_from``."""

    t: np.ndarray
    split: np.ndarray
    stack: np.ndarray
    new_from: np.ndarray


class SampleColumns(Sequence[RawSample]):
    """Samples as columns: ``stacks[i]`` is a distinct (frames, lines) stack; ``read(start, stop)`` returns
    the ``Chunk`` of samples ``start..stop``. Indexing or iterating makes ``RawSample``s one at a time
    (for small captures and tests); ``build.py`` reads ``chunks`` instead."""

    __slots__ = ("stacks", "_n", "_read")

    def __init__(self, n: int, stacks: list[tuple[tuple[FrameKey, ...], tuple[int, ...]]],
                 read: Callable[[int, int], Chunk]) -> None:
        self.stacks = stacks
        self._n = n
        self._read = read

    def __len__(self) -> int:
        return self._n

    def chunks(self, size: int = CHUNK) -> Iterator[Chunk]:
        for start in range(0, self._n, size):
            yield self._read(start, min(self._n, start + size))

    def __iter__(self) -> Iterator[RawSample]:
        for c in self.chunks():
            for t, sp, sid, nf in zip(c.t.tolist(), c.split.tolist(), c.stack.tolist(), c.new_from.tolist()):
                frames, lines = self.stacks[sid]
                yield RawSample(t, Split(*sp), frames, lines, nf)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        c = self._read(i, i + 1)
        frames, lines = self.stacks[int(c.stack[0])]
        return RawSample(float(c.t[0]), Split(*c.split[0].tolist()), frames, lines, int(c.new_from[0]))

    @classmethod
    def from_samples(cls, samples: Sequence[RawSample]) -> SampleColumns:
        """Columns of a list of ``RawSample`` (cProfile and pyinstrument modes, tests)."""
        import numpy as np

        if isinstance(samples, SampleColumns):
            return samples
        index: dict[tuple[tuple[FrameKey, ...], tuple[int, ...]], int] = {}
        stacks: list[tuple[tuple[FrameKey, ...], tuple[int, ...]]] = []
        sid = []
        for s in samples:
            k = (s.frames, s.lines)
            i = index.get(k)
            if i is None:
                i = index[k] = len(stacks)
                stacks.append(k)
            sid.append(i)
        t = np.array([s.t for s in samples], dtype=np.float64)
        split = np.array([(s.split.interpreted, s.split.native, s.split.waiting, s.split.gc) for s in samples],
                         dtype=np.float64).reshape(-1, 4)
        stack = np.array(sid, dtype=np.int64)
        nf = np.array([s.new_from for s in samples], dtype=np.int64)
        return cls(len(samples), stacks, lambda a, b: Chunk(t[a:b], split[a:b], stack[a:b], nf[a:b]))


Samples = Union[list[RawSample], SampleColumns]


@dataclass(slots=True)
class RawCapture:
    """Everything a capture mode measured, before any analysis."""

    mode: str
    interval_s: float
    samples: Samples = field(default_factory=list)
    calls: dict[FrameKey, int] | None = None  # exact call counts (cProfile mode)
    per_call_s: dict[FrameKey, float] | None = None  # cumulative time per call (cProfile mode)
    thread_cpu_s: float | None = None  # CPU clock of the profiled thread over the run
    dropped: int = 0
    # exact step boundaries (steptimer.py): FrameKey -> {"starts", "ends", "since", "in_call", "how"}
    timings: dict[FrameKey, dict] = field(default_factory=dict)
    # calls counted over one step (callcount.py): {"step", "start", "end", "complete", "calls": {FrameKey: n}}
    counted: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # the cyclic GC per generation (sample mode, gc.callbacks): {"collections": [n0, n1, n2], "seconds": [...]}
    gc: dict | None = None
