"""Hotspots: the team's own functions ranked by their share of step time, with split and line heat.

Time spent in library code (NumPy, PyTorch, the standard library, C built-ins) is charged to the
deepest *user-code* function that called it, keeping its measured bucket: a NumPy matmul called from
``forward`` makes ``forward`` hot and native, not ``numpy.matmul`` a hotspot nobody can port.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.model import FrameKey, Profile, Split, StackRecord


@dataclass(frozen=True, slots=True)
class LineHeat:
    """Time on one line of a hotspot (inclusive of what the line calls)."""

    line: int
    split: Split
    share: float  # of step time


@dataclass(frozen=True, slots=True)
class Hotspot:
    """A user-code function: its own time (with the library calls it makes) and its inclusive time."""

    frame: int
    key: FrameKey
    self_split: Split
    inclusive_split: Split
    self_share: float
    inclusive_share: float
    samples: int
    calls: int | None
    lines: tuple[LineHeat, ...]


def _step_position(rec: StackRecord, step_frame: int | None) -> int:
    if step_frame is None:
        return 0
    try:
        return rec.frames.index(step_frame)
    except ValueError:
        return -1


def rank_hotspots(profile: Profile, region: str = "step") -> tuple[Hotspot, ...]:
    """Rank user functions in ``region`` by self share (then inclusive share)."""
    step_frame = profile.step.frame if profile.step else None
    user = [f.user for f in profile.frames]
    self_t: dict[int, Split] = {}
    incl_t: dict[int, Split] = {}
    nsamp: dict[int, int] = {}
    lines: dict[int, dict[int, Split]] = {}
    total = 0.0
    for rec in profile.stacks:
        if rec.region != region:
            continue
        pos = _step_position(rec, step_frame)
        if pos < 0:
            continue
        total += rec.split.total
        below = rec.frames[pos:]
        owner_depth = pos
        seen: set[int] = set()
        for depth in range(pos, len(rec.frames)):
            fid = rec.frames[depth]
            if not user[fid] and depth != pos:
                continue
            owner_depth = depth
            if fid in seen:
                continue
            seen.add(fid)
            incl_t[fid] = incl_t.get(fid, Split()) + rec.split
            nsamp[fid] = nsamp.get(fid, 0) + rec.samples
            per_line = lines.setdefault(fid, {})
            ln = rec.lines[depth]
            per_line[ln] = per_line.get(ln, Split()) + rec.split
        del below
        owner = rec.frames[owner_depth]
        self_t[owner] = self_t.get(owner, Split()) + rec.split
    if total <= 0:
        return ()
    out = []
    for fid, incl in incl_t.items():
        key = profile.frames[fid].key
        if not user[fid] and fid != step_frame:
            continue
        own = self_t.get(fid, Split())
        heat = tuple(sorted((LineHeat(ln, sp, sp.total / total) for ln, sp in lines.get(fid, {}).items()),
                            key=lambda h: h.line))
        calls = profile.calls.get(fid) if profile.calls is not None else None
        out.append(Hotspot(fid, key, own, incl, own.total / total, incl.total / total, nsamp.get(fid, 0),
                           calls, heat))
    out.sort(key=lambda h: (-h.self_share, -h.inclusive_share))
    return tuple(out)
