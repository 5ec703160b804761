"""Deciding the step of a profile: at profile time, and again for ``advisor report --step``.

``apply_step(profile, spec, warmup)`` reads the profile's measurement (its ``timeline``: every sample in
order), runs ``detect.detect`` and returns the profile with the decision filled in: ``step``, the region
of every stack record, ``candidates``. Everything downstream (hotspots, the cost model, renderers) reads
that decision from the profile, so a re-analysed profile gives the same kind of report as a fresh one.
"""

from __future__ import annotations

from dataclasses import replace

from advisor.analysis import detect
from advisor.analysis import step as stepmod
from advisor.errors import StepNotFound, UsageError
from advisor.model import Profile, Split, StackRecord, Timeline

# Notes a decision adds to ``profile.warnings``; a new decision replaces them.
_DECISION_NOTES = ("--step ", "no function was called repeatedly")


def measurement(profile: Profile) -> detect.Measurement:
    """The samples of ``profile`` in order, as step detection reads them (needs ``profile.timeline``)."""
    tl = profile.timeline
    if tl is None:
        raise UsageError("this profile has no sample order (written by an older advisor, format version 1): "
                         "profile the script again to choose another step")
    stacks = profile.stacks
    rows = tuple((stacks[sid].frames, stacks[sid].lines, sp.total, nf)
                 for sid, nf, sp in zip(tl.stack, tl.new_from, tl.splits))
    return detect.Measurement(rows, tuple(f.key for f in profile.frames), tuple(f.user for f in profile.frames),
                              profile.sources, profile.mode, profile.outcome.stopped_by, profile.calls,
                              profile.timings, tuple(tl.t0_s + t for t in tl.t_s))


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
    """Re-aggregate the stack records by the decision's regions and renumber the timeline."""
    tl = profile.timeline
    assert tl is not None
    index: dict[tuple[tuple[int, ...], tuple[int, ...], str], int] = {}
    splits: list[Split] = []
    counts: list[int] = []
    keys: list[tuple[tuple[int, ...], tuple[int, ...], str]] = []
    new_ids = []
    for sid, sp, region in zip(tl.stack, tl.splits, decision.regions):
        rec = profile.stacks[sid]
        k = (rec.frames, rec.lines, region)
        i = index.get(k)
        if i is None:
            i = index[k] = len(keys)
            keys.append(k)
            splits.append(sp)
            counts.append(1)
        else:
            splits[i] = splits[i] + sp
            counts[i] += 1
        new_ids.append(i)
    stacks = tuple(StackRecord(f, ln, r, sp, n) for (f, ln, r), sp, n in zip(keys, splits, counts))
    timeline = Timeline(tl.t0_s, tl.t_s, tuple(new_ids), tl.new_from, tl.splits)
    warnings = tuple(w for w in profile.warnings if not w.startswith(_DECISION_NOTES)) + decision.warnings
    return replace(profile, stacks=stacks, timeline=timeline, step=decision.step,
                   candidates=decision.candidates, warnings=warnings)
