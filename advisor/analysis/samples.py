"""The samples as step detection reads them: per-sample NumPy columns over a table of distinct stacks.

Detection asks questions of the form "for each sample, does its stack hold frame f, at which depth, on
which line, is that call new" over millions of samples. Every such answer depends on the sample's stack
only, plus its ``new_from``; so it is computed once per distinct stack (a small Python table) and spread
over the samples with one NumPy gather (``per_sample``), and sums over samples are ``np.bincount`` with
weights (``group_sum``, in bounded chunks so no float copy of a whole column is made at once).

``SampleTable.of(rows)`` builds one from detection's rows (frame ids, lines, weight, new_from); the
profile's timeline builds one directly from its columns (``analysis.stepping.measurement``), so a long
run never makes a Python object per sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from advisor._np import np

CHUNK = 1 << 18  # samples per chunk: temporaries stay a few MB however long the run


@dataclass(eq=False)
class SampleTable:
    """Distinct stacks (``frames[s]``, ``lines[s]``: ids and lines root→leaf) and per-sample columns:
    ``stack`` (index into them), ``weight`` (the sample's time; seconds = ``weight * scale``: a timeline
    keeps whole microseconds) and ``new_from`` (the depth from which the sample's frames are new calls)."""

    frames: Sequence[tuple[int, ...]]
    lines: Sequence[tuple[int, ...]]
    stack: Any
    weight: Any
    new_from: Any
    scale: float = 1.0
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, rows: Iterable[tuple[tuple[int, ...], tuple[int, ...], float, int]]) -> SampleTable:
        """From detection's rows; rows with equal frames and lines share a stack."""
        index: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        frames: list[tuple[int, ...]] = []
        lines: list[tuple[int, ...]] = []
        sid: list[int] = []
        weight: list[float] = []
        nf: list[int] = []
        for ids, ls, w, n in rows:
            key = (tuple(ids), tuple(ls))
            s = index.get(key)
            if s is None:
                s = index[key] = len(frames)
                frames.append(key[0])
                lines.append(key[1])
            sid.append(s)
            weight.append(float(w))
            nf.append(int(n))
        return cls(frames, lines, np.asarray(sid, dtype=np.int64), np.asarray(weight, dtype=np.float64),
                   np.asarray(nf, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.stack)

    @property
    def n_stacks(self) -> int:
        return len(self.frames)

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        got = self._cache.get(key)
        if got is None:
            got = self._cache[key] = make()
        return got

    def per_sample(self, table: Any) -> Any:
        """``table[stack[i]]`` for every sample (``table``: one value per stack)."""
        return np.asarray(table)[self.stack]

    def present(self) -> Any:
        """Per stack: whether any sample has it."""
        return self.cached("present", lambda: np.bincount(self.stack, minlength=self.n_stacks) > 0)

    def stack_weight(self) -> Any:
        """Per stack: the time of its samples (seconds), summed in sample order."""
        return self.cached("stack_weight", lambda: group_sum(self.stack, self.n_stacks, self.weight) * self.scale)

    def depth_of(self, fid: int) -> Any:
        """Per stack: the outermost depth of frame ``fid``, -1 where it is absent (int32)."""
        return self.cached(("depth", fid), lambda: np.fromiter(
            (f.index(fid) if fid in f else -1 for f in self.frames), dtype=np.int32, count=self.n_stacks))

    def sum_by(self, groups: Any, n: int) -> Any:
        """Per group: the time (in ``weight`` units, not scaled) of the samples whose stack is in it
        (``groups``: a group id per stack, -1 for none), summed in sample order a chunk at a time."""
        groups = np.asarray(groups)
        out = np.zeros(n, dtype=np.float64)
        for a in range(0, len(self.stack), CHUNK):
            g = groups[self.stack[a:a + CHUNK]]
            keep = g >= 0
            out += np.bincount(g[keep], weights=self.weight[a:a + CHUNK][keep], minlength=n)
        return out

    def first_of(self, groups: Any, among: Any) -> int:
        """Of the group ids ``among``, the one whose first sample comes first (``groups`` as in ``sum_by``)."""
        among = np.asarray(among)
        if len(among) == 1:
            return int(among[0])
        for a in range(0, len(self.stack), CHUNK):
            g = np.asarray(groups)[self.stack[a:a + CHUNK]]
            hit = np.flatnonzero(np.isin(g, among))
            if len(hit):
                return int(g[hit[0]])
        return int(among[0])

    def weight_where(self, mask: Any) -> float:
        """Total time (seconds) of the samples where ``mask`` (one bool per sample) holds, in sample order."""
        total = 0.0
        for a in range(0, len(self.stack), CHUNK):
            w = self.weight[a:a + CHUNK][mask[a:a + CHUNK]]
            total += float(np.bincount(np.zeros(len(w), dtype=np.intp), weights=w, minlength=1)[0])
        return total * self.scale

    def sum_by_sample(self, groups: Any, n: int) -> Any:
        """Per group 0..n-1: the time (``weight`` units) of the samples in it (``groups``: one id per
        sample, -1 for none), a chunk at a time."""
        out = np.zeros(n, dtype=np.float64)
        for a in range(0, len(self.stack), CHUNK):
            g = groups[a:a + CHUNK]
            keep = g >= 0
            out += np.bincount(g[keep], weights=self.weight[a:a + CHUNK][keep], minlength=n)
        return out


def group_sum(groups: Any, n: int, weight: Any) -> Any:
    """``np.bincount(groups, weights=weight, minlength=n)``, a chunk at a time (sequential sums, as a
    Python loop adding in sample order would make them)."""
    out = np.zeros(n, dtype=np.float64)
    for a in range(0, len(groups), CHUNK):
        part = np.bincount(groups[a:a + CHUNK], weights=weight[a:a + CHUNK], minlength=n)
        out[:len(part)] += part  # 0.0 + x is x: one chunk sums exactly as bincount does
    return out


def previous(values: Any, fill: Any) -> Any:
    """``values`` shifted one sample later: ``out[i] = values[i-1]``, ``out[0] = fill``."""
    out = np.empty_like(values)
    if len(values):
        out[0] = fill
        out[1:] = values[:-1]
    return out


def times_at(times: Any, index: Any) -> Any:
    """Sample times (seconds, the sampler's clock) at ``index`` (an index array): ``times`` is a
    sequence, an array, or an object with ``at(index)`` (a timeline computes them only when asked)."""
    at = getattr(times, "at", None)
    if at is not None:
        return at(index)
    return np.asarray(times, dtype=np.float64)[index]
