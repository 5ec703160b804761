"""Finding the training step: invocations from samples, ``--step`` matching, auto-detection.

Pure functions over frame ids and samples; ``capture/build.py`` calls them once, while building the
profile, so the saved profile already says which function is the step and why.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import PurePath

from advisor.model import Candidate, FrameKey

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
    active: list[Invocation | None] = []
    root = _run_root(samples)
    last_attached: tuple[int, ...] = ()
    gap = False
    for idx, (frames, weight, new_from) in enumerate(samples):
        if frames and frames[0] != root:
            for fid in dict.fromkeys(frames):  # time, but no call identity
                table.inclusive_s[fid] = table.inclusive_s.get(fid, 0.0) + weight
            gap = True
            continue
        if gap:
            new_from = reattach(last_attached, frames)
            gap = False
        last_attached = frames
        seen: set[int] = set()
        nxt: list[Invocation | None] = []
        for depth, fid in enumerate(frames):
            outer = fid not in seen
            inv = active[depth] if depth < new_from and depth < len(active) else None
            if outer:
                seen.add(fid)
                if inv is None or inv.frame != fid:
                    inv = Invocation(fid, idx, idx, 0.0)
                    table.invocations.setdefault(fid, []).append(inv)
                inv.last = idx
                inv.covered_s += weight
                table.inclusive_s[fid] = table.inclusive_s.get(fid, 0.0) + weight
                table.above.setdefault(fid, set()).update(frames[:depth])
                nxt.append(inv)
            else:
                nxt.append(None)
        active = nxt
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


def _named_step(qualname: str) -> bool:
    return "step" in qualname.rpartition(".")[2].lower()


def choose_step(cands: list[Candidate], table: CallTable, user: list[bool],
                names: list[str] | None = None) -> Candidate | None:
    """Pick the step among repeated functions.

    Start from the heaviest (preferring the team's own code when it holds at least a fifth as much time),
    then move down to a descendant that is called at least twice as often and still holds at least three
    quarters of the time: ``train_epoch`` (3 calls) gives way to ``train_step`` (600 calls) below it, but not to a
    helper taking microseconds a call (exact cProfile counts would otherwise pick ``Acc.push``).
    """
    if not cands:
        return None

    def frames_name(fid: int) -> str:
        return names[fid] if names is not None else ""

    best = cands[0]
    users = [c for c in cands if user[c.frame]]
    if users and users[0].inclusive_s >= USER_PREFERENCE * best.inclusive_s:
        best = users[0]
    pool = users if user[best.frame] else cands
    while True:
        if _named_step(frames_name(best.frame)):
            return best  # train_step, training_step, step: the script says what its step is
        finer = [c for c in pool if best.frame in table.above.get(c.frame, set())
                 and c.calls >= 2 * best.calls and c.inclusive_s >= WRAPPED_SHARE * best.inclusive_s
                 and c.inclusive_s / c.calls >= MIN_STEP_S]
        if not finer:
            return best
        best = max(finer, key=lambda c: (c.inclusive_s, c.calls))


def match_step(spec: str, frames: list[FrameKey]) -> list[int]:
    """Frame ids matching ``--step``: ``name``, ``Class.method`` or ``module:qualname``."""
    module, _, qual = spec.rpartition(":")
    hits = []
    for fid, key in enumerate(frames):
        if key.kind != "python":
            continue
        if module:
            if key.qualname != qual or not _file_is_module(key.file, module):
                continue
        elif "." in spec:
            if key.qualname != spec and not key.qualname.endswith("." + spec):
                continue
        elif key.qualname.rpartition(".")[2] != spec:
            continue
        hits.append(fid)
    return hits


def _file_is_module(file: str, module: str) -> bool:
    parts = PurePath(file).with_suffix("").parts
    mod = tuple(module.split("."))
    return parts[-len(mod):] == mod or (parts[-1:] == ("__init__",) and parts[-len(mod) - 1:-1] == mod)


def closest(spec: str, cands: list[Candidate], frames: list[FrameKey], n: int = 5) -> list[Candidate]:
    """The candidates whose names are closest to ``spec`` (for the --step-not-found message)."""
    name = spec.rpartition(":")[2]
    scored = sorted(cands, key=lambda c: -difflib.SequenceMatcher(None, name, frames[c.frame].qualname).ratio())
    return scored[:n]
