"""Deciding the step of a profile: at profile time, and again for ``advisor report --step``.

``apply_step(profile, spec, warmup)`` reads the profile's measurement (its ``timeline``: every sample in
order), runs ``detect.detect`` and returns the profile with the decision filled in: ``step``, the region
of every stack record, ``candidates``. Everything downstream (hotspots, the cost model, renderers) reads
that decision from the profile, so a re-analysed profile gives the same kind of report as a fresh one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator, Sequence

from advisor.analysis import detect
from advisor.analysis import step as stepmod
from advisor.analysis.samples import CHUNK, SampleTable
from advisor.errors import StepNotFound, UsageError
from advisor.model import REGIONS, US, Profile, Split, StackRecord, Timeline

# Notes a decision adds to ``profile.warnings``; a new decision replaces them.
_DECISION_NOTES = ("--step ", "no function was called repeatedly")


def measurement(profile: Profile) -> detect.Measurement:
    """The samples of ``profile`` in order, as step detection reads them (needs ``profile.timeline``)."""
    tl = profile.timeline
    if tl is None:
        raise UsageError("this profile has no sample order (written by an older advisor, format version 1): "
                         "profile the script again to choose another step")
    table = SampleTable([r.frames for r in profile.stacks], [r.lines for r in profile.stacks], tl.stack,
                        _weight_us(tl), tl.new_from, scale=US)
    return detect.Measurement(Rows(table), tuple(f.key for f in profile.frames),
                              tuple(f.user for f in profile.frames), profile.sources, profile.mode,
                              profile.outcome.stopped_by, profile.calls, profile.timings, Times(tl),
                              profile.counted)


def _weight_us(tl: Timeline) -> Any:
    """Each sample's total time in whole microseconds, summed from the split where read (a chunk at a
    time: never a column of its own)."""
    return WeightColumn(tl.split_us)


class WeightColumn:
    """A read-only column ``split.sum(axis=1)``: indexing (an int, a slice, an index or bool array) sums
    only the rows asked for."""

    def __init__(self, split: Any) -> None:
        self._split = split

    def __len__(self) -> int:
        return len(self._split)

    def __getitem__(self, key: Any) -> Any:
        import numpy as np

        if isinstance(key, (int, np.integer)):
            return int(self._split[key].sum(dtype=np.int64))
        rows = self._split[key]
        total = rows[:, 0].astype(np.int64)  # four adds: several times faster than sum(axis=1) on 4 columns
        for b in range(1, rows.shape[1]):
            total += rows[:, b]
        return total


class Times:
    """Sample times on the sampler's clock (seconds), computed only where asked (``at``), never the
    whole column at once (8 bytes a sample)."""

    def __init__(self, tl: Timeline) -> None:
        self._tl = tl

    def __len__(self) -> int:
        return len(self._tl)

    def at(self, index: Any) -> Any:
        return self._tl.t0_s + self._tl.t_us[index] * US

    def __getitem__(self, i: int) -> float:
        return float(self.at(i))


class Rows(Sequence[detect.Row]):
    """The timeline as detection's rows (frame ids, lines, weight, new_from), made as read; detection
    itself reads the columns (``table``) and never makes a row per sample."""

    def __init__(self, table: SampleTable) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __iter__(self) -> Iterator[detect.Row]:
        t = self.table
        for a in range(0, len(t), CHUNK):
            b = a + CHUNK
            for sid, w, nf in zip(t.stack[a:b].tolist(), (t.weight[a:b] * t.scale).tolist(), t.new_from[a:b].tolist()):
                yield t.frames[sid], t.lines[sid], w, nf

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        t = self.table
        sid = int(t.stack[i])
        return t.frames[sid], t.lines[sid], float(t.weight[i] * t.scale), int(t.new_from[i])


def apply_step(profile: Profile, spec: str | None = None, warmup: int | None = None,
               strict: bool = False) -> Profile:
    """``profile`` with its step decided again: ``spec`` as ``--step`` (None: detect), ``warmup`` steps
    dropped (None: as before, else 1).

    Raises ``StepNotFound`` when ``strict`` and ``spec`` matches nothing that ran (listing the closest
    candidates), and ``UsageError`` for a profile without a timeline (format version 1).
    """
    if warmup is None:
        warmup = profile.step.warmup if profile.step is not None else 1
    if warmup < 0:
        raise UsageError("--warmup must be 0 or more")
    decision = detect.detect(measurement(profile), spec, warmup)
    if strict and spec and not decision.matched:
        near = stepmod.closest(spec, list(decision.candidates), [f.key for f in profile.frames])
        listing = ", ".join(profile.frames[c.frame].key.qualname for c in near) or "none"
        raise StepNotFound(f"--step {spec!r} never ran; closest candidates: {listing}")
    return _with_decision(profile, decision)


def _with_decision(profile: Profile, decision: detect.StepDecision) -> Profile:
    """Re-aggregate the stack records by the decision's regions and renumber the timeline (NumPy, a chunk
    of samples at a time; stack records numbered in order of first appearance as before)."""
    import numpy as np

    tl = profile.timeline
    assert tl is not None
    regions = decision.regions
    if not isinstance(regions, np.ndarray):  # names, as a caller may give them
        code = {r: i for i, r in enumerate(REGIONS)}
        regions = np.fromiter((code[r] for r in regions), dtype=np.int8, count=len(regions))
    n_keys = len(profile.stacks) * len(REGIONS)
    counts = np.zeros(n_keys, dtype=np.int64)
    first = np.full(n_keys, len(tl), dtype=np.int64)

    def keys(a: int) -> Any:
        return tl.stack[a:a + CHUNK].astype(np.int64) * len(REGIONS) + regions[a:a + CHUNK]

    for a in range(0, len(tl), CHUNK):
        key = keys(a)
        np.minimum.at(first, key, np.arange(a, a + len(key)))  # each key's first sample
        counts += np.bincount(key, minlength=n_keys)
    used = np.flatnonzero(counts)
    used = used[np.argsort(first[used], kind="stable")]  # records in order of first appearance
    rank = np.full(n_keys, -1, dtype=np.int64)
    rank[used] = np.arange(len(used))
    new_ids = np.empty(len(tl), dtype=np.uint8 if len(used) <= 2**8 else np.uint16 if len(used) <= 2**16 else np.uint32)
    sums = np.zeros((len(used), 4), dtype=np.float64)
    for a in range(0, len(tl), CHUNK):
        ids = rank[keys(a)]
        new_ids[a:a + CHUNK] = ids
        for b in range(4):
            sums[:, b] += np.bincount(ids, weights=tl.split_us[a:a + CHUNK, b], minlength=len(used))
    stacks = []
    for i, k in enumerate(used.tolist()):
        rec = profile.stacks[k // len(REGIONS)]
        stacks.append(StackRecord(rec.frames, rec.lines, REGIONS[k % len(REGIONS)], Split(*(sums[i] * US).tolist()),
                                  int(counts[k])))
    timeline = Timeline.of(tl.t0_s, tl.t_us, new_ids, tl.new_from, tl.split_us)
    warnings = tuple(w for w in profile.warnings if not w.startswith(_DECISION_NOTES)) + decision.warnings
    return replace(profile, stacks=tuple(stacks), timeline=timeline, step=decision.step,
                   candidates=decision.candidates, warnings=warnings)
