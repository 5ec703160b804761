"""Calls from samples, candidates, ``--step`` matching: the parts ``detect.py`` builds the rule from.

Pure functions over frame ids and samples (``detect.py`` decides; nothing here is called from capture).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from advisor.model import Candidate, FrameKey
from advisor.stepspec import is_loop_spec, match_step  # noqa: F401  (re-exported)

MIN_CALLS = 2  # "called repeatedly"
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


@dataclass(slots=True)
class CallTable:
    """Per function: invocations seen (outermost calls only), inclusive seconds, frames seen above it."""

    invocations: dict[int, list[Invocation]] = field(default_factory=dict)
    inclusive_s: dict[int, float] = field(default_factory=dict)
    above: dict[int, set[int]] = field(default_factory=dict)


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
    # Per distinct stack (the same tuple object for every sample of it, or equal tuples): the depth of
    # each frame's outermost occurrence, and its weight (inclusive time is added per stack at the end).
    outer: dict[int, list[int | None]] = {}
    stack_w: dict[int, float] = {}
    keep: dict[int, tuple[int, ...]] = {}
    # Invocations continue while the samples keep their frame; each open one holds, in ``covered_s``,
    # minus the attached weight before it started, and gets the cumulative weight at its last sample
    # when it ends: per sample, only the frames from ``new_from`` down cost anything.
    active: list[Invocation | None] = []
    cum = 0.0  # weight of the attached samples so far
    last_idx, last_cum = -1, 0.0
    last_attached: tuple[int, ...] = ()
    gap = False

    def close(inv: Invocation | None) -> None:
        if inv is not None:
            inv.last = last_idx
            inv.covered_s += last_cum

    for idx, (frames, weight, new_from) in enumerate(samples):
        key = id(frames)
        od = outer.get(key)
        if od is None:
            keep[key] = frames  # holds the object, so its id is not reused while this runs
            seen: set[int] = set()
            od = outer[key] = []
            for depth, fid in enumerate(frames):
                if fid in seen:
                    od.append(None)
                else:
                    seen.add(fid)
                    od.append(fid)
            stack_w[key] = 0.0
        stack_w[key] += weight
        if frames and frames[0] != root:
            gap = True  # time, but no call identity
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
        while n and (active[n - 1].frame if active[n - 1] is not None else None) != od[n - 1]:
            n -= 1  # a continued depth holds the same frame as before (else the input is not consistent)
        for inv in active[n:]:
            close(inv)
        del active[n:]
        for depth in range(n, len(frames)):
            fid = od[depth]
            if fid is None:
                active.append(None)
                continue
            inv = Invocation(fid, idx, idx, -cum)
            table.invocations.setdefault(fid, []).append(inv)
            active.append(inv)
        cum += weight
        last_idx, last_cum = idx, cum
    for inv in active:
        close(inv)
    inclusive = table.inclusive_s
    for key, w in stack_w.items():
        for fid in outer[key]:
            if fid is not None:
                inclusive[fid] = inclusive.get(fid, 0.0) + w
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
        n = calls.get(fid, 0) if calls is not None else len(table.invocations.get(fid, []))
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
