"""Causes that belong to the whole step, not to one function: the cyclic garbage collector here; set-up
work repeated in every step (a re-import, a re-read, a process start) in ``repeated.py``.

The sampler times the collector exactly (``gc.callbacks``) and charges each pause to the function that was
running when it started: the function whose allocation pushed a generation over its threshold. Spread
over the functions that allocate, the collector looks like a little "tune the GC" on each of them; it is
one cause with one fix (``gc.freeze()`` after set-up, higher thresholds, fewer reference cycles), so it is
measured here once, for the step.

cprofile mode times the collector the same way (capture/deterministic.py: each pause comes out of the
tottime of the Python function running when it started). pyinstrument mode does not: its GC share reads
zero and the pause is charged to whichever function allocated. ``GcCause.visible`` says which case
applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.analysis.hotspots import Hotspot
from advisor.model import FrameKey, Profile, Split

GC_VISIBLE_MODES = ("sample", "cprofile")
MAX_SITES = 5


@dataclass(frozen=True, slots=True)
class GcSite:
    """A function during whose allocations the collector ran (it triggered the collections)."""

    frame: int
    key: FrameKey
    share: float  # the GC time charged to it, as a share of the step


@dataclass(frozen=True, slots=True)
class GcCause:
    """The collector's share of the step and where it was triggered."""

    visible: bool  # False when the capture mode cannot see the collector
    share: float  # of step time (0 when not visible)
    seconds_per_step: float
    sites: tuple[GcSite, ...]
    collections_per_step: float | None = None  # unused: per-generation counts are profile.gc (costmodel/items_gc.py)
    note: str = ""


def gc_cause(profile: Profile, step_split: Split, hotspots: tuple[Hotspot, ...], steps: int) -> GcCause:
    """The step's GC time, its share, and the functions that triggered it (largest first)."""
    if profile.mode not in GC_VISIBLE_MODES:
        return GcCause(False, 0.0, 0.0, (), note=(
            f"{profile.mode} mode cannot see the cyclic garbage collector: its pauses are charged to the "
            "functions that allocate, so object-heavy code may look slow for a reason no port removes; "
            "profile in sample mode to measure the collector"))
    total = step_split.total
    if total <= 0:
        return GcCause(True, 0.0, 0.0, ())
    sites = sorted((h for h in hotspots if h.self_split.gc > 0), key=lambda h: -h.self_split.gc)[:MAX_SITES]
    return GcCause(True, step_split.gc / total, step_split.gc / max(steps, 1),
                   tuple(GcSite(h.frame, h.key, h.self_split.gc / total) for h in sites))


def native_note(profile: Profile) -> str:
    """What a deterministic mode cannot see of native time ("" in sample mode)."""
    if profile.mode == "sample":
        return ""
    return (f"{profile.mode} mode times Python calls with a hook that slows Python code and not C code, "
            "and cannot tell a function's interpreted time from the NumPy or C calls it makes inline: its "
            "native shares are understated, so verdicts here rest on the source and inclusive times, not on "
            "the interpreted/native split; profile in sample mode to measure the split")


__all__ = ["GcCause", "GcSite", "gc_cause", "native_note"]
