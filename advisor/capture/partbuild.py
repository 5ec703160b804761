"""A sampled thread or child process boiled down to a ``Part`` (advisor/parts.py): its split and its top
functions, self and inclusive. Runs once, after that thread's sampler stopped (in the child itself for a
child process, so what crosses the process boundary is a few kilobytes)."""

from __future__ import annotations

from typing import Any

from advisor.capture.columns import Columns
from advisor.capture.build import UserCode
from advisor.capture.raw import RawCapture, RawSample
from advisor.model import FrameKey, Split
from advisor.parts import MAX_FUNCTIONS, Part, PartFunction

CHUNK = 20_000  # samples turned into RawSamples at a time (memory stays flat for an hour-long worker)
MAX_SUMMARY = 100_000  # beyond this, every k-th sample is summarised, weighted k (an unbiased estimate)


def summarize_sampler(sampler: Any, role: str, name: str, wall_s: float, user: UserCode | None = None,
                      skip_root: int = 0) -> Part:
    """``summarize`` of a stopped ``Sampler``'s records, chunk by chunk (no full ``to_raw`` list); a
    child's exit stays short however long it lived: at most ``MAX_SUMMARY`` samples are turned over
    (about 1 s here), every k-th one weighted k beyond that."""
    cols = sampler.records
    n = len(cols)
    k = -(-n // MAX_SUMMARY) if n > MAX_SUMMARY else 1
    acc = _Acc()
    for lo in range(0, n, CHUNK * k):
        hi = min(lo + CHUNK * k, n)
        rows = Columns()  # every k-th sample of this chunk (array slices are copies)
        for col in Columns.__slots__:
            setattr(rows, col, getattr(cols, col)[lo:hi:k])
        acc.add(list(sampler._raw(rows, sampler.stacks).samples), k)
    return acc.part(role, name, wall_s, user or UserCode.default(), skip_root)


def summarize(raw: RawCapture, role: str, name: str, wall_s: float, user: UserCode | None = None,
              skip_root: int = 0) -> Part:
    """The part of one sampled thread: total split, and per function the split of the samples with it
    innermost (self) and anywhere on the stack (total, once per sample even when recursive).
    ``skip_root``: outermost frames to leave out (a forked child's copy of its parent's stack)."""
    acc = _Acc()
    acc.add(raw.samples)
    return acc.part(role, name, wall_s, user or UserCode.default(), skip_root)


class _Acc:
    """Samples added up per stack first (a few hundred distinct stacks for millions of samples), then
    per function once per stack."""

    def __init__(self) -> None:
        self.by_stack: dict[tuple[FrameKey, ...], list[float]] = {}
        self.samples = 0

    def add(self, samples: list[RawSample], weight: int = 1) -> None:
        by_stack = self.by_stack
        for s in samples:
            acc = by_stack.get(s.frames)
            if acc is None:
                acc = by_stack[s.frames] = [0.0, 0.0, 0.0, 0.0, 0]
            sp = s.split
            acc[0] += sp.interpreted * weight
            acc[1] += sp.native * weight
            acc[2] += sp.waiting * weight
            acc[3] += sp.gc * weight
            acc[4] += weight
        self.samples += len(samples) * weight

    def part(self, role: str, name: str, wall_s: float, user: UserCode, skip_root: int) -> Part:
        own: dict[FrameKey, list[float]] = {}
        incl: dict[FrameKey, list[float]] = {}
        count: dict[FrameKey, int] = {}
        total = [0.0, 0.0, 0.0, 0.0]
        for stack, v in self.by_stack.items():
            for i in range(4):
                total[i] += v[i]
            frames = stack[skip_root:] if len(stack) > skip_root else stack[-1:]
            if not frames:
                continue
            leaf = own.setdefault(frames[-1], [0.0, 0.0, 0.0, 0.0])
            for i in range(4):
                leaf[i] += v[i]
            for key in set(frames):
                a = incl.setdefault(key, [0.0, 0.0, 0.0, 0.0])
                for i in range(4):
                    a[i] += v[i]
                count[key] = count.get(key, 0) + int(v[4])
        by_total = sorted(incl, key=lambda k: -sum(incl[k]))[:MAX_FUNCTIONS]
        by_self = sorted(own, key=lambda k: -sum(own[k]))[:MAX_FUNCTIONS]
        keep = list(dict.fromkeys(by_self + by_total))
        funcs = tuple(PartFunction(k, user.is_user(k), Split(*own.get(k, (0.0, 0.0, 0.0, 0.0))), Split(*incl[k]),
                                   count[k]) for k in keep)
        return Part(role, name, 1, wall_s, self.samples, Split(*total), funcs)


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
