"""The GC item: the cyclic collector as one cause for the whole step, with what triggers it (collections
per step by generation, the collector's time per generation) and a range that includes the sampling
uncertainty of its share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.analysis import Analysis
from advisor.analysis.stepwide import gc_cause
from advisor.costmodel import formulas as fm
from advisor.costmodel import measured as ms
from advisor.costmodel.config import CostConfig
from advisor.costmodel.item import GC, Item, _measured_item, _removal_item, _span
from advisor.costmodel.types import Range

GEN2_HEAVY = 0.5  # gen-2 (full) collections at least this share of the GC seconds: a gen-2-heavy step


@dataclass(frozen=True, slots=True)
class Generations:
    """Collections per measured step and the share of GC seconds, per generation (0, 1, 2)."""

    per_step: tuple[float, float, float]
    time_share: tuple[float, float, float]
    step_fraction: float  # the measured steps' share of the run's GC seconds (what scaled the run totals)

    @property
    def total_per_step(self) -> float:
        return sum(self.per_step)

    @property
    def gen2_heavy(self) -> bool:
        return self.time_share[2] >= GEN2_HEAVY


def generations(analysis: Analysis) -> Generations | None:
    """The run's per-generation counts scaled to one measured step (None when the capture did not record
    them: a deterministic mode, or a profile written before the field existed).

    The callback counts collections over the whole run; the step's part is taken in proportion to its GC
    seconds (``analysis.step_split.gc`` over the run's GC seconds), per generation alike."""
    g = analysis.profile.gc
    steps = analysis.stats.count
    if g is None or g.total_s <= 0 or steps <= 0:
        return None
    frac = min(analysis.step_split.gc / g.total_s, 1.0)
    per = tuple(n * frac / steps for n in g.collections)
    share = tuple(s / g.total_s for s in g.seconds)
    return Generations(per, share, frac)  # type: ignore[arg-type]


def _count(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 or x == round(x) else f"{x:.1f}"


def generation_words(gen: Generations | None) -> str:
    """"12 collections a step: 11 gen-0, 1 gen-2 (85% of GC time)." and the fix that fits the mix."""
    if gen is None:
        return ("Call gc.freeze() after set-up and raise the thresholds (gc.set_threshold), or disable it "
                "during the step and collect between steps. Collections per step and generations were not recorded (a deterministic mode, or a profile "
                "from an older advisor); check the memory after the change.")
    parts = [f"{_count(n)} gen-{i}" for i, n in enumerate(gen.per_step) if n >= 0.05]
    top = max(range(3), key=lambda i: gen.time_share[i])
    lead = (f"About {_count(gen.total_per_step)} collections a step: {', '.join(parts) or 'fewer than one'} "
            f"(gen-{top} takes {gen.time_share[top]:.0%} of the collector's time; the run's counts scaled to "
            f"the measured steps, which hold {gen.step_fraction:.0%} of its GC time).")
    if gen.gen2_heavy:
        fix = (" A gen-2-heavy step: each full collection walks every tracked object, the long-lived ones "
               "included. Call gc.freeze() after set-up (model, data and caches leave the collector's reach) "
               "and raise the third threshold (gc.set_threshold(700, 10, 100)), or gc.disable() during the "
               "step and gc.collect() between steps.")
    else:
        fix = (" Mostly young collections: raise the first threshold (gc.set_threshold(50_000, 20, 20)) so "
               "short-lived objects die before a collection sees them; gc.freeze() after set-up keeps the "
               "survivors out of it.")
    return lead + fix + " Check the memory after the change."


def gc_share_bounds(analysis: Analysis, share: float) -> tuple[float, float, int, int]:
    """The GC share as a 95% Wilson interval, kept around the measured share, with k and n.

    The collector's seconds are timed exactly, but they reach the step through the samples that carry
    them (each sample holds the GC seconds since the previous one), and the step's time is the samples'
    weight: the share is read as k = share × n of the step's n samples."""
    n = analysis.step_samples
    if n <= 0 or share <= 0:
        return share, share, 0, n
    k = round(share * n)
    lo, hi = fm.wilson(k, n)
    return min(lo, share), max(hi, share), k, n


def widened(frac: Range, share: float, lo: float, hi: float) -> Range:
    """``frac`` (the share removed) widened by the share's own interval: the low end takes its lower
    bound, the high end its upper one (at most all of the step's time)."""
    if share <= 0:
        return frac
    return Range(frac.low * lo / share, frac.typical, min(frac.high * hi / share, 1.0 / share))


def gc_item(analysis: Analysis, cfg: CostConfig, measured: tuple[Any, ...] = ()) -> Item | None:
    """The GC item: the prior (``levers.gc_removable`` of the GC share, widened by the share's sampling
    interval), or what ``advisor try`` measured."""
    cause = gc_cause(analysis.profile, analysis.step_split, analysis.hotspots, analysis.stats.count)
    t = ms.gc_result(measured)
    if not cause.visible or (cause.share < cfg.thresholds.min_share and t is None):
        return None
    lv = cfg.levers
    sites = ", ".join(f"{s.key.qualname} {s.share:.0%}" for s in cause.sites[:3])
    lo, hi, k, n = gc_share_bounds(analysis, cause.share)
    wide = widened(lv.gc_removable, cause.share, lo, hi)
    probe = _removal_item(GC, "", "", cause.share, wide, lv.gc_weeks, cfg, "", (), ())
    reason = (f"The cyclic garbage collector is {cause.share:.0%} of the step "
              f"({cause.seconds_per_step * 1e3:.1f} ms a step; {lo:.0%}–{hi:.0%} at 95% confidence from "
              f"{n:,} samples), triggered by allocations in {sites}. "
              f"{generation_words(generations(analysis))} Removing "
              f"{lv.gc_removable.low:.0%}–{lv.gc_removable.high:.0%} of it makes the step "
              f"{_span(probe.end_to_end)} faster.")
    it = _removal_item(GC, "Tune the cyclic GC (gc.freeze(), thresholds)", "the whole step", cause.share,
                       wide, lv.gc_weeks, cfg, reason,
                       ("profile.stacks: GC seconds of the measured step (gc.callbacks)",
                        "formulas.wilson: the share's 95% interval, as k = share × n of the step's samples",
                        "profile.gc: collections and seconds per generation over the run (gc.callbacks)",
                        "levers.gc_removable", "levers.gc_weeks"), tuple(s.frame for s in cause.sites))
    return it if t is None else _measured_item(it, t, cfg, lv.gc_weeks)


__all__ = ["Generations", "gc_item", "gc_share_bounds", "generation_words", "generations", "widened"]
