"""The step's call tree aggregated for the HTML report's icicle chart."""

from __future__ import annotations

import bisect
import itertools
from typing import Any

from advisor.model import Profile, Split
from advisor.render._format import short_path

FLAME_MIN_SHARE = 0.001  # call-tree nodes under 0.1% of the step are merged into "other"


# ---- call tree ---------------------------------------------------------------------------------------
def flame_tree(profile: Profile, min_share: float = FLAME_MIN_SHARE) -> dict[str, Any]:
    """The step's call tree, aggregated for the icicle: nodes under ``min_share`` merge into "other".

    Returns ``{"frames": [[name, file, line, user], ...], "nodes": [[parent, frame, s_i, s_n, s_w, s_g],
    ...], ...}``, root first, parents before children; frame -1 is "other", -2 the synthetic root of a
    profile without a step. Stacks are sorted, so every tree node is a contiguous run of them and its
    split is a difference of prefix sums; pruned runs are skipped without being walked, so a million
    samples cost little more than the nodes that are kept.
    """
    step_frame = profile.step.frame if profile.step is not None else None
    found: list[tuple[tuple[int, ...], Split]] = []
    for rec in profile.stacks:
        if rec.region != "step":
            continue
        frames = rec.frames
        if step_frame is not None:
            try:
                frames = frames[frames.index(step_frame):]
            except ValueError:
                continue
        found.append((frames, rec.split))
    found.sort(key=_first)
    stacks = [f for f, _ in found]
    splits = [s for _, s in found]
    columns = ([s.interpreted for s in splits], [s.native for s in splits], [s.waiting for s in splits],
               [s.gc for s in splits])
    cum = [list(itertools.accumulate(c, initial=0.0)) for c in columns]
    totals = list(itertools.accumulate(map(sum, zip(*columns)), initial=0.0))
    threshold = totals[-1] * min_share
    nodes: list[list[float]] = []
    used: dict[int, int] = {}

    def split(lo: int, hi: int) -> list[float]:
        return [c[hi] - c[lo] for c in cum]

    if step_frame is None:
        nodes.append([-1, -2, *split(0, len(stacks))])
        work = [(0, 0, 0, len(stacks))]
    else:
        work = [(-1, 0, 0, len(stacks))]
    while work:
        parent, depth, lo, hi = work.pop()
        i = _own_end(stacks, depth, lo, hi)  # stacks ending here are the parent's own time
        other = split(i, hi)  # the children's time; kept children are taken out below
        while i < hi:
            fid = stacks[i][depth]
            j = _run_end(stacks, depth, fid, i, hi)
            if totals[j] - totals[i] >= threshold or parent < 0:
                here = split(i, j)
                other = [a - b for a, b in zip(other, here)]
                nodes.append([parent, used.setdefault(fid, len(used)), *here])
                work.append((len(nodes) - 1, depth + 1, i, j))
            i = j
        if parent >= 0 and sum(other) > threshold * 1e-6:
            nodes.append([parent, -1, *other])
    frames_out: list[list[Any]] = [[] for _ in used]
    for fid, idx in used.items():
        key = profile.frames[fid].key
        frames_out[idx] = [key.qualname, short_path(key.file, 3), key.line, int(profile.frames[fid].user)]
    return {"frames": frames_out,
            "nodes": [[int(n[0]), int(n[1])] + [float(f"{max(v, 0.0):.6g}") for v in n[2:]] for n in nodes],
            "total_s": totals[-1], "min_share": min_share}


def _first(pair: tuple[tuple[int, ...], Split]) -> tuple[int, ...]:
    return pair[0]


def _own_end(stacks: list[tuple[int, ...]], depth: int, lo: int, hi: int) -> int:
    while lo < hi and len(stacks[lo]) <= depth:
        lo += 1
    return lo


def _run_end(stacks: list[tuple[int, ...]], depth: int, fid: int, lo: int, hi: int) -> int:
    """End of the run of sorted stacks from ``lo`` whose frame at ``depth`` is ``fid`` (galloping search)."""
    step = 1
    while lo + step < hi and stacks[lo + step][depth] == fid:
        step *= 2
    return bisect.bisect_right(stacks, fid, lo + step // 2, min(lo + step, hi), key=lambda s: s[depth])

