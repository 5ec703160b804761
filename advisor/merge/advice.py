"""What to do about a distributed run: imbalance and overlap, not a port.

Time waiting on other ranks is not the waiting rank's to fix: porting or vectorising its code moves the
wait, it does not shorten the step. Only two things do: make the slowest rank's own work smaller or
equal to the others' (imbalance), or hide the transfer behind compute (overlap). Every sentence names
its numbers, as the per-rank advice does.
"""

from __future__ import annotations

import statistics

from advisor.merge.core import MIN_SAMPLES, MergeAdvice, Merged, MergedHotspot  # core imports this lazily
from advisor.render._format import fmt_duration, fmt_pct

OVERLAP_SHARE = 0.15  # even the last rank to arrive spends this share of its step in collectives
OWN_HOTSPOT_SHARE = 0.10  # a function explains this share of the imbalance at least
MAX_OWN = 3
BALANCED_SPREAD = 0.20  # own work per step within 20% across ranks, and no straggler: balanced


def straggler_hotspots(m: Merged, rank: int) -> list[tuple[MergedHotspot, float]]:
    """The functions where ``rank`` is busier than the median of the other ranks, most excess first:
    (hotspot, excess seconds per step)."""
    idx = [r.rank for r in m.ranks].index(rank)
    out = []
    for h in m.hotspots:
        others = [v for i, v in enumerate(h.per_rank_s) if i != idx]
        excess = h.per_rank_s[idx] - (statistics.median(others) if others else 0.0)
        if excess > 0 and excess >= OWN_HOTSPOT_SHARE * m.imbalance_s:
            out.append((h, excess))
    return sorted(out, key=lambda t: -t[1])[:MAX_OWN]


def _straggler(m: Merged) -> list[MergeAdvice]:
    out = []
    waiting = [r for r in m.ranks if r.rank not in m.stragglers]
    for rank in m.stragglers[:3]:
        row = m.row(rank)
        wait = statistics.fmean(r.wait_s for r in waiting) if waiting else 0.0
        share = statistics.fmean(r.wait_share for r in waiting) if waiting else 0.0
        text = (f"rank {rank} is a straggler: {fmt_duration(row.busy_s)} of its own work per step against "
                f"{fmt_duration(m.typical_busy_s)} on the other ranks, which wait {fmt_duration(wait)} per step "
                f"({fmt_pct(share)} of their step) for it in collectives.")
        own = straggler_hotspots(m, rank)
        if own:
            text += " Its own extra work: " + "; ".join(
                f"{h.label} +{fmt_duration(x)} per step over the other ranks" for h, x in own) + "."
            text += (" Work only one rank does (logging, metrics, checkpointing, evaluation on rank 0) belongs "
                     "outside the step or spread across ranks; speeding up anything else moves the wait, "
                     "not the step.")
        else:
            text += (" No function of yours is busier there than on the other ranks: look at its data (larger "
                     "batches, longer sequences: bucket by length or balance tokens per rank) or its host.")
        hosts = {r.host for r in waiting}
        if row.host not in hosts and hosts:
            text += f" It runs on {row.host}, the others on {', '.join(sorted(hosts)[:3])}: check that node."
        out.append(MergeAdvice("straggler", text))
    if m.stragglers:
        lost = m.imbalance_s / max(m.row(m.slowest).mean_s, 1e-12)
        out.append(MergeAdvice("imbalance", f"with the straggler's work down to the others', each step would be about "
                               f"{fmt_duration(m.imbalance_s)} shorter ({fmt_pct(lost)} of the step) on every rank."))
    return out


def _overlap(m: Merged) -> list[MergeAdvice]:
    floor = min(r.wait_s for r in m.ranks)
    step = statistics.median(r.mean_s for r in m.ranks)
    if step <= 0 or floor / step < OVERLAP_SHARE:
        return []
    return [MergeAdvice("overlap", (
        f"even the rank that arrives last spends {fmt_duration(floor)} per step ({fmt_pct(floor / step)}) in "
        "collectives: that is the transfer itself, not a straggler. Overlap it with compute: in DDP tune "
        "bucket_cap_mb (25 MB by default; smaller buckets start all-reducing earlier in backward), set "
        "gradient_as_bucket_view=True and static_graph=True where the graph allows; accumulate gradients "
        "over k micro-batches under model.no_sync() so the all-reduce runs once per k steps; or compress "
        "gradients with a DDP communication hook (fp16/bf16)."))]


def advise_merged(m: Merged, cuda: bool) -> tuple[MergeAdvice, ...]:
    """Advice for a merged run: stragglers and their own hotspots, the imbalance, the transfer cost, and
    caveats on how the waiting was measured."""
    out = _straggler(m) + _overlap(m)
    few = min(r.samples for r in m.ranks) < MIN_SAMPLES
    if len(m.ranks) > 1 and not m.stragglers and not few and m.spread_share > BALANCED_SPREAD:
        fast = min(m.ranks, key=lambda r: r.busy_s)
        out.insert(0, MergeAdvice("imbalance", (
            f"no single straggler, but own work per step ranges from {fmt_duration(fast.busy_s)} (rank {fast.rank}) "
            f"to {fmt_duration(m.row(m.slowest).busy_s)} (rank {m.slowest}): in a synchronous job every rank waits "
            "for the slowest; balance the data per rank (samples, tokens, sequence lengths) or the hosts.")))
    if len(m.ranks) > 1 and not out and not few:
        out.append(MergeAdvice("balanced", (
            f"ranks are balanced (own work per step differs by {fmt_duration(m.spread_s)}, "
            f"{fmt_pct(m.spread_share)}) and collectives are a small part of the step: nothing to gain "
            "between ranks; the per-rank advice (advisor report rank-N/profile.json) applies to every rank.")))
    inferred = sum(r.wait_inferred_s for r in m.ranks)
    if inferred > 0 and cuda:
        out.append(MergeAdvice("caveat", (
            "part of the waiting was read from DDP's backward (no collective frame there) and this run used "
            "CUDA: on a GPU the main thread also waits in backward for the device's own work, so that part "
            "overstates the waiting on other ranks; compare ranks, not absolute figures.")))
    return tuple(out)
