"""Calls from samples, candidates, ``--step`` matching: the parts ``detect.py`` builds the rule from.

Pure functions over frame ids and samples (``detect.py`` decides; nothing here is called from capture).
"""

from __future__ import annotations

import difflib
from array import array
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

from advisor.model import Candidate, FrameKey
from advisor.stepspec import is_loop_spec, match_step  # noqa: F401  (re-exported)

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


class Invocations(Mapping[int, list[Invocation]]):
    """Per function, its invocations, made on first request for that function only.

    A long run calls its functions millions of times; ``track_invocations`` keeps per function only the
    count and the samples spanned, plus, per sample, how many of its frames continued the previous
    sample's calls (``continued``, 4 bytes a sample). The invocations of one function are then one cheap
    walk over the samples: the same calls, first and last samples and time as a walk that kept them all.
    """

    def __init__(self, samples: Iterable[tuple[tuple[int, ...], float, int]], continued: array,
                 counts: dict[int, int]) -> None:
        self._samples, self._continued, self._counts = samples, continued, counts
        self._made: dict[int, list[Invocation]] = {}

    def __getitem__(self, fid: int) -> list[Invocation]:
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

    def _walk(self, fid: int) -> list[Invocation]:
        out: list[Invocation] = []
        depth_of: dict[int, int | None] = {}
        keep: list[tuple[int, ...]] = []
        cur: Invocation | None = None
        for idx, ((frames, weight, _nf), n) in enumerate(zip(self._samples, self._continued)):
            if n == DETACHED:
                continue
            key = id(frames)
            d = depth_of.get(key, -1)
            if d == -1:
                keep.append(frames)  # its id stays its own while this runs
                d = depth_of[key] = frames.index(fid) if fid in frames else None
            if d is None:
                cur = None
                continue
            if cur is None or d >= n:
                cur = Invocation(fid, idx, idx, 0.0)
                out.append(cur)
            cur.last = idx
            cur.covered_s += weight
        return out


@dataclass(slots=True)
class CallTable:
    """Per function: invocations seen (outermost calls only), inclusive seconds, frames seen above it;
    ``calls`` and ``spans`` (samples inside its calls) without making the invocations."""

    invocations: Mapping[int, list[Invocation]] = field(default_factory=dict)
    inclusive_s: dict[int, float] = field(default_factory=dict)
    above: dict[int, set[int]] = field(default_factory=dict)
    calls: dict[int, int] = field(default_factory=dict)
    spans: dict[int, int] = field(default_factory=dict)

    def count(self, fid: int) -> int:
        """Invocations of ``fid`` seen (0 if none)."""
        return self.calls.get(fid, 0) if self.calls else len(self.invocations.get(fid, ()))


def track_invocations(samples: list[tuple[tuple[int, ...], float, int]]) -> CallTable:
    """Follow invocations through samples given as (frame ids root→leaf, weight, new_from).

    A frame at depth ``d`` continues the previous sample's invocation when ``d < new_from`` (the sampler
    kept the very same frame objects); otherwise it is a new call. Recursive calls count once, at their
    outermost depth.

    A *detached* sample (its root is not the run's root: while an import runs the sampler keeps only the
    top frame) says nothing about the calls below it, so it neither ends nor starts them; and the sample
    after it, whose ``new_from`` was taken against that one frame, continues the calls it shares with the
    last attached sample (see ``reattach``). Without this, one lazy import inside an iteration (an
    optimizer built on the first batch) made ``main`` look called twice, and ``main`` became the step.
    """
    table = CallTable()
    table_seen: set[int] = set()
    root = _run_root(samples)
    # Per distinct stack (the same tuple object for every sample of it): each frame's outermost depth
    # (None where it recurs), and its weight (inclusive time is added per stack at the end).
    outer: dict[int, list[int | None]] = {}
    stack_w: dict[int, float] = {}
    keep: dict[int, tuple[int, ...]] = {}
    calls, spans = table.calls, table.spans
    continued = array("I")  # per sample: frames that continued the previous sample's calls
    # The open calls, one per depth: [frame, first sample] (None where the frame recurs). Per sample only
    # the frames from the first new call down cost anything.
    active: list[list[int] | None] = []
    last_idx = -1
    last_attached: tuple[int, ...] = ()
    gap = False
    for idx, (frames, weight, new_from) in enumerate(samples):
        key = id(frames)
        od = outer.get(key)
        if od is None:
            keep[key] = frames  # holds the object, so its id is not reused while this runs
            seen: set[int] = set()
            od = outer[key] = []
            for fid in frames:
                od.append(None if fid in seen else fid)
                seen.add(fid)
            stack_w[key] = 0.0
        stack_w[key] += weight
        if frames and frames[0] != root:
            gap = True  # time, but no call identity
            continued.append(DETACHED)
            continue
        if gap:
            new_from = reattach(last_attached, frames)
            gap = False
        if key not in table_seen:
            table_seen.add(key)
            for depth, fid in enumerate(od):
                if fid is not None:
                    table.above.setdefault(fid, set()).update(frames[:depth])
        last_attached = frames
        n = min(max(new_from, 0), len(active), len(frames))
        while n and (active[n - 1][0] if active[n - 1] is not None else None) != od[n - 1]:
            n -= 1  # a continued depth holds the same frame as before (else the input is not consistent)
        continued.append(n)
        for inv in active[n:]:
            if inv is not None:
                spans[inv[0]] += last_idx - inv[1] + 1
        del active[n:]
        for depth in range(n, len(frames)):
            fid = od[depth]
            if fid is None:
                active.append(None)
                continue
            active.append([fid, idx])
            if fid in calls:
                calls[fid] += 1
            else:
                calls[fid], spans[fid] = 1, 0
        last_idx = idx
    for inv in active:
        if inv is not None:
            spans[inv[0]] += last_idx - inv[1] + 1
    inclusive = table.inclusive_s
    for key, w in stack_w.items():
        for fid in outer[key]:
            if fid is not None:
                inclusive[fid] = inclusive.get(fid, 0.0) + w
    table.invocations = Invocations(samples, continued, calls)
    return table


def _run_root(samples: list[tuple[tuple[int, ...], float, int]]) -> int | None:
    """The root frame holding most of the run's time (the script's ``<module>``)."""
    weight: dict[int, float] = {}
    for frames, w, _nf in samples:
        if frames:
            weight[frames[0]] = weight.get(frames[0], 0.0) + w
    return max(weight, key=weight.get) if weight else None


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
