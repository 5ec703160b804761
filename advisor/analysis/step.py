"""Calls from samples, candidates, ``--step`` matching: the parts ``detect.py`` builds the rule from.

Pure functions over frame ids and samples (``detect.py`` decides; nothing here is called from capture).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from advisor.model import Candidate, FrameKey
from advisor.stepspec import is_loop_spec, match_step  # noqa: F401  (re-exported)

if TYPE_CHECKING:  # pragma: no cover
    from advisor.analysis.samples import SampleTable

# NumPy is imported where the samples are read, not here: advisor.api imports this module for ``closest``
# and the profiled process must not load NumPy (tests/test_packaging.py).

MIN_CALLS = 2  # "called repeatedly"
DETACHED = 2**32 - 1  # ``continued`` of a sample that is not attached to the run's root
USER_PREFERENCE = 0.2  # the team's own repeated function wins over a library one 5x heavier (torch internals)
WRAPPED_SHARE = 0.75  # a wrapper (train_epoch) spends nearly all its time in the step it calls;
# a step spends only part of its time in a per-example forward pass called many times
MIN_STEP_S = 2e-4  # a training step takes longer than this per call; a 100k-calls helper does not


@dataclass(slots=True)
class Invocation:
    """One call of one function, as seen by consecutive samples (index range and time covered)."""

    frame: int
    first: int
    last: int
    covered_s: float


class InvocationList(Sequence[Invocation]):
    """The invocations of one function, held as columns: ``first``, ``last`` (sample indices) and
    ``covered_s`` (seconds), NumPy arrays in call order. Indexing gives an ``Invocation``; slicing gives
    another ``InvocationList``."""

    def __init__(self, frame: int, first: Any, last: Any, covered_s: Any) -> None:
        self.frame, self.first, self.last, self.covered_s = frame, first, last, covered_s

    @classmethod
    def empty(cls, frame: int) -> InvocationList:
        import numpy as np

        return cls(frame, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))

    def __len__(self) -> int:
        return len(self.first)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return InvocationList(self.frame, self.first[i], self.last[i], self.covered_s[i])
        return Invocation(self.frame, int(self.first[i]), int(self.last[i]), float(self.covered_s[i]))

    def __iter__(self) -> Iterator[Invocation]:
        for a, b, c in zip(self.first.tolist(), self.last.tolist(), self.covered_s.tolist()):
            yield Invocation(self.frame, a, b, c)


class Invocations(Mapping[int, InvocationList]):
    """Per function, its invocations, made on first request for that function only.

    A long run calls its functions millions of times; ``track_invocations`` keeps per function only the
    count and the samples spanned, plus, per sample, how many of its frames continued the previous
    sample's calls (``continued``). The invocations of one function are then a few NumPy passes over the
    samples: a new call where the function is in the sample's stack and either was not in the previous
    attached sample's or stands at a depth that did not continue (``depth >= continued``).
    """

    def __init__(self, table: SampleTable, continued: Any, detached: int, counts: dict[int, int]) -> None:
        self._table, self._continued, self._detached, self._counts = table, continued, detached, counts
        self._made: dict[int, InvocationList] = {}

    def __getitem__(self, fid: int) -> InvocationList:
        if fid not in self._counts:
            raise KeyError(fid)
        got = self._made.get(fid)
        if got is None:
            got = self._made[fid] = self._walk(fid)
        return got

    def __iter__(self) -> Iterator[int]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def _walk(self, fid: int) -> InvocationList:
        """A chunk of attached samples at a time (the only state carried: whether the last one held
        ``fid``, and the calls so far)."""
        import numpy as np

        from advisor.analysis import samples

        st, cont_all = self._table, self._continued
        depth = st.depth_of(fid)
        att = None
        if (cont_all == self._detached).any():
            att = np.flatnonzero(cont_all != self._detached)
        n = len(cont_all) if att is None else len(att)
        firsts, lasts, last_ids, covered = [], [], [], []
        held, calls = False, 0
        for a in range(0, n, samples.CHUNK):
            rows = slice(a, a + samples.CHUNK) if att is None else att[a:a + samples.CHUNK]
            d, cont, weight = depth[st.stack[rows]], cont_all[rows], st.weight[rows]
            inside = d >= 0
            new = inside & ((d >= cont) | ~samples.previous(inside, held))
            pos = np.flatnonzero(inside)
            call = calls - 1 + np.cumsum(new)[pos]  # the call each sample holding fid is in
            start = np.flatnonzero(new)
            firsts.append(start + a)
            if len(pos):
                end = np.ones(len(pos), dtype=bool)
                end[:-1] = call[1:] != call[:-1]
                last_ids.append(call[end])
                lasts.append(pos[end] + a)
                lo = int(call[0])
                covered.append((lo, np.bincount(call - lo, weights=weight[pos])))
            held = bool(inside[-1]) if len(inside) else held
            calls += len(start)
        first = np.concatenate(firsts) if firsts else np.zeros(0, dtype=np.int64)
        last = np.zeros(calls, dtype=np.int64)
        total = np.zeros(calls, dtype=np.float64)
        for ids, pos in zip(last_ids, lasts):
            last[ids] = pos  # a call running on into the next chunk: the later chunk's last sample wins
        for lo, part in covered:
            total[lo:lo + len(part)] += part
        if att is not None:
            first, last = att[first], att[last]
        return InvocationList(fid, first, last, total * st.scale)


class Spans(Mapping[int, int]):
    """Per function, the samples inside its calls (first to last sample of each call, summed), computed
    on first request from its invocations."""

    def __init__(self, invocations: Invocations) -> None:
        self._invocations = invocations

    def __getitem__(self, fid: int) -> int:
        invs = self._invocations[fid]
        return int((invs.last - invs.first).sum()) + len(invs)

    def __iter__(self) -> Iterator[int]:
        return iter(self._invocations)

    def __len__(self) -> int:
        return len(self._invocations)


@dataclass(slots=True)
class CallTable:
    """Per function: invocations seen (outermost calls only), inclusive seconds, frames seen above it;
    ``calls`` and ``spans`` (samples inside its calls) without making the invocations."""

    invocations: Mapping[int, Sequence[Invocation]] = field(default_factory=dict)
    inclusive_s: dict[int, float] = field(default_factory=dict)
    above: dict[int, set[int]] = field(default_factory=dict)
    calls: dict[int, int] = field(default_factory=dict)
    spans: Mapping[int, int] = field(default_factory=dict)
    continued: Any = None  # per sample: the depths that continued the previous attached sample's calls
    detached: int = DETACHED  # ``continued`` of a sample not attached to the run's root

    def count(self, fid: int) -> int:
        """Invocations of ``fid`` seen (0 if none)."""
        return self.calls.get(fid, 0) if self.calls else len(self.invocations.get(fid, ()))


def track_invocations(samples: Iterable[tuple[tuple[int, ...], float, int]] | SampleTable) -> CallTable:
    """Follow invocations through samples given as (frame ids root→leaf, weight, new_from), or as a
    ``SampleTable``.

    A frame at depth ``d`` continues the previous sample's invocation when ``d < new_from`` (the sampler
    kept the very same frame objects); otherwise it is a new call. Recursive calls count once, at their
    outermost depth.

    A *detached* sample (its root is not the run's root: while an import runs the sampler keeps only the
    top frame) says nothing about the calls below it, so it neither ends nor starts them; and the sample
    after it, whose ``new_from`` was taken against that one frame, continues the calls it shares with the
    last attached sample (see ``reattach``). Without this, one lazy import inside an iteration (an
    optimizer built on the first batch) made ``main`` look called twice, and ``main`` became the step.

    Vectorised (``calls.py``): per distinct stack a few Python facts, per sample NumPy columns.
    """
    from advisor.analysis import calls
    from advisor.analysis.samples import SampleTable

    st = samples if isinstance(samples, SampleTable) else SampleTable.of(
        (ids, (), w, nf) for ids, w, nf in samples)
    return calls.track(st)


def _run_root(samples: Iterable[tuple[tuple[int, ...], float, int]]) -> int | None:
    """The root frame holding most of the run's time (the script's ``<module>``)."""
    from advisor.analysis import calls
    from advisor.analysis.samples import SampleTable

    return calls.run_root(SampleTable.of((ids, (), w, nf) for ids, w, nf in samples))


def reattach(before: tuple[int, ...], after: tuple[int, ...]) -> int:
    """``new_from`` for the first sample after detached ones: the calls it shares with the last attached
    sample, less the deepest shared one (that may have returned and been called again meanwhile; the
    frames above it cannot have, since a detached gap is a few samples inside one import). A guess, not a
    measurement: it only ever applies to the sample right after an import."""
    n = 0
    while n < min(len(before), len(after)) and before[n] == after[n]:
        n += 1
    return max(n - 1, 0) if n < len(before) or n < len(after) else n


def candidates(table: CallTable, frames: list[FrameKey], calls: dict[int, int] | None = None) -> list[Candidate]:
    """Python functions called at least twice, heaviest first; exact counts override sampled ones."""
    out = []
    for fid, inclusive in table.inclusive_s.items():
        key = frames[fid]
        if key.kind != "python" or key.qualname == "<module>" or _is_machinery(key.file):
            continue
        n = calls.get(fid, 0) if calls is not None else table.count(fid)
        if n >= MIN_CALLS:
            out.append(Candidate(fid, n, inclusive))
    out.sort(key=lambda c: (-c.inclusive_s, c.calls))  # a tie: the outer (fewer calls) first
    return out


def _is_machinery(file: str) -> bool:
    """Import machinery and other interpreter internals are never the training step."""
    return file.startswith("<") or "importlib" in file.replace("\\", "/").split("/")


def closest(spec: str, cands: list[Candidate], frames: list[FrameKey], n: int = 5) -> list[Candidate]:
    """The candidates whose names are closest to ``spec`` (for the --step-not-found message)."""
    name = spec.rpartition(":")[2]
    scored = sorted(cands, key=lambda c: -difflib.SequenceMatcher(None, name, frames[c.frame].qualname).ratio())
    return scored[:n]

