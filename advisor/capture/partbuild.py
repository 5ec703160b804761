"""A sampled thread or child process boiled down to a ``Part`` (advisor/parts.py): its split and its top
functions, self and inclusive. Runs once, after that thread's sampler stopped (in the child itself for a
child process, so what crosses the process boundary is a few kilobytes)."""

from __future__ import annotations

from advisor.capture.build import UserCode
from advisor.capture.raw import RawCapture
from advisor.model import FrameKey, Split
from advisor.parts import MAX_FUNCTIONS, Part, PartFunction


def summarize(raw: RawCapture, role: str, name: str, wall_s: float, user: UserCode | None = None,
              processes: int = 1, skip_root: int = 0) -> Part:
    """The part of one sampled thread: total split, and per function the split of the samples with it
    innermost (self) and anywhere on the stack (total, once per sample even when recursive).
    ``skip_root``: outermost frames to leave out (a forked child's copy of its parent's stack)."""
    user = user or UserCode.default()
    own: dict[FrameKey, list[float]] = {}
    incl: dict[FrameKey, list[float]] = {}
    count: dict[FrameKey, int] = {}
    total = [0.0, 0.0, 0.0, 0.0]
    for s in raw.samples:
        v = (s.split.interpreted, s.split.native, s.split.waiting, s.split.gc)
        for i in range(4):
            total[i] += v[i]
        frames = s.frames[skip_root:] if len(s.frames) > skip_root else s.frames[-1:]
        if not frames:
            continue
        leaf = own.setdefault(frames[-1], [0.0, 0.0, 0.0, 0.0])
        for i in range(4):
            leaf[i] += v[i]
        for key in set(frames):
            acc = incl.setdefault(key, [0.0, 0.0, 0.0, 0.0])
            for i in range(4):
                acc[i] += v[i]
            count[key] = count.get(key, 0) + 1
    by_total = sorted(incl, key=lambda k: -sum(incl[k]))[:MAX_FUNCTIONS]
    by_self = sorted(own, key=lambda k: -sum(own[k]))[:MAX_FUNCTIONS]
    keep = list(dict.fromkeys(by_self + by_total))
    funcs = tuple(PartFunction(k, user.is_user(k), Split(*own.get(k, (0.0, 0.0, 0.0, 0.0))), Split(*incl[k]),
                               count[k]) for k in keep)
    return Part(role, name, processes, wall_s, len(raw.samples), Split(*total), funcs)


def combine(parts: list[Part], name: str | None = None) -> Part:
    """Several parts of one role and name (a DataLoader worker id across epochs, a pool's children) as
    one: splits and function times added, the top functions kept."""
    if len(parts) == 1 and name is None:
        return parts[0]
    own: dict[FrameKey, tuple[bool, Split, Split, int]] = {}
    for p in parts:
        for f in p.functions:
            was = own.get(f.key)
            own[f.key] = (f.user, f.self_split, f.total, f.samples) if was is None else \
                (f.user, was[1] + f.self_split, was[2] + f.total, was[3] + f.samples)
    keep = list(dict.fromkeys(sorted(own, key=lambda k: -own[k][1].total)[:MAX_FUNCTIONS]
                              + sorted(own, key=lambda k: -own[k][2].total)[:MAX_FUNCTIONS]))
    split = Split()
    for p in parts:
        split = split + p.split
    first = parts[0]
    return Part(first.role, name or first.name, sum(p.processes for p in parts), sum(p.wall_s for p in parts),
                sum(p.samples for p in parts), split, tuple(PartFunction(k, *own[k]) for k in keep),
                sum(p.skipped for p in parts))
