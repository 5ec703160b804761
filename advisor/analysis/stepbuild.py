"""The step's ``StepInfo`` and each sample's region, once the rule (``detect.py``) has chosen a function or
a loop: counts and per-step times from the samples, replaced by the step timer's recorded boundaries
where capture has them (``finish``)."""

from __future__ import annotations

import re
from typing import Any
from pathlib import PurePath

from advisor._np import np
from advisor.analysis import loopstep
from advisor.analysis import step as stepmod
from advisor.analysis.decision import (CUT_SHORT, OUTSIDE, STEP, WARMUP, Ctx, StepDecision, all_step,
                                       new_calls)
from advisor.analysis.samples import CHUNK, times_at
from advisor.model import Candidate, StepInfo, StepTiming


def leave_out_counted(ctx: Ctx, regions: Any) -> Any:
    """Samples taken while calls were counted (capture/callcount.py) ran slowed by the count: they move
    from the step to the warm-up region, out of the step's split, as the counted step is out of its
    times."""
    if not ctx.m.counted or not len(regions):
        return regions
    for a in range(0, len(regions), CHUNK):  # a chunk of sample times at a time (8 h: millions)
        t = times_at(ctx.m.times, np.arange(a, min(a + CHUNK, len(regions))))
        part = regions[a:a + CHUNK]
        for w in ctx.m.counted:
            part[(t >= w.start) & (t <= w.end) & (part == STEP)] = WARMUP
    return regions


def _exact_timing(ctx: Ctx, fid: int, line: int | None) -> StepTiming | None:
    for t in ctx.m.timings:
        if t.frame == fid and t.line == line and t.ends:
            return t
    return None


def _finish(ctx: Ctx, info: StepInfo, line: int | None, iters: list[int | None] | None = None) -> StepInfo:
    """Recorded boundaries, where capture has them for this step, replace the sampled count and times.

    ``exact`` timings cover every call: count and durations are exact. Otherwise the timer started during
    a call (capture/steptimer.py): the timed calls' durations are exact, the calls before it are counted
    from the samples (at least the one that was running), and the count is a lower bound ("timed"). For a
    loop (``line``), the rounds before the timer are counted from the samples' round numbers (``iters``)."""
    t = _exact_timing(ctx, info.frame, line)
    if t is None:
        return info
    windows = [(w.start, w.end) for w in ctx.m.counted]

    def kept(pairs: Any) -> tuple[float, ...]:
        # a call inside a counted window ran slowed by the count (capture/callcount.py): not measured
        return tuple(max(0.0, e - s) for s, e in pairs if not any(a <= s and e <= b for a, b in windows))

    if t.exact:
        n = len(t.starts)
        durations = kept(zip(t.starts[info.warmup:], t.ends[info.warmup:]))
        reason = _COUNT.sub(lambda mt: f"{n} {mt.group(2)}{mt.group(3)}exact", info.reason, count=1)
        return StepInfo(info.frame, info.chosen_by, reason, n, info.warmup, durations, "exact", info.loop_lines,
                        count_exact=True)
    since, times = t.starts[0], ctx.m.times
    if line is not None and iters is not None:
        before = loopstep.rounds_before(iters, times, since)
    else:
        invs = ctx.table.invocations.get(info.frame)
        first = invs.first[invs.first < len(times)] if invs is not None else np.zeros(0, dtype=np.int64)
        before = int(np.count_nonzero(times_at(times, first) < since))
    untimed = max(before, 1)
    drop = max(0, info.warmup - untimed)  # warm-up calls not already among the untimed ones
    durations = kept(zip(t.starts[drop:], t.ends[drop:]))
    n = untimed + len(t.ends)
    reason = _COUNT.sub(lambda mt: f"at least {n} {mt.group(2)}{mt.group(3)}timed from call {untimed + 1}",
                        info.reason, count=1)
    return StepInfo(info.frame, info.chosen_by, reason, n, info.warmup, durations, "timed", info.loop_lines,
                    count_exact=False)


_COUNT = re.compile(r"(\d+) (calls|iterations)(, | \()sampled estimate")


def function_step(ctx: Ctx, fid: int, warmup: int, chosen_by: str, head: str,
                   cands: list[Candidate]) -> StepDecision:
    m, st = ctx.m, ctx.st
    invs = ctx.table.invocations.get(fid) or stepmod.InvocationList.empty(fid)
    n_calls = m.calls.get(fid, len(invs)) if m.calls is not None else len(invs)
    share = ctx.table.inclusive_s.get(fid, 0.0) / ctx.run_total if ctx.run_total else 0.0
    if m.mode == "cprofile":
        durations: tuple[float, ...] = ()
        timing, what = "cprofile", "exact count"
    else:
        complete = invs[:-1] if m.stopped_by in CUT_SHORT and invs else invs
        durations = tuple(complete.covered_s[warmup:].tolist())
        timing, what = "sampled", "sampled estimate"
    tail = "; --step to choose" if chosen_by == "auto" else ""
    reason = f"{head}: {n_calls} calls ({what}), {share:.0%} of run time{tail}"
    info = _finish(ctx, StepInfo(fid, chosen_by, reason, n_calls, warmup, durations, timing), None)
    inside = st.per_sample(st.depth_of(fid) >= 0)
    regions = np.full(len(st), OUTSIDE, dtype=np.int8)
    regions[inside] = STEP
    for inv in invs[:warmup]:
        part = regions[inv.first:inv.last + 1]
        part[inside[inv.first:inv.last + 1]] = WARMUP
    return StepDecision(info, leave_out_counted(ctx, regions), tuple(cands[:50]))


def loop_step(ctx: Ctx, loop: loopstep.Loop, marker: int | None, warmup: int, chosen_by: str, head: str,
               cands: list[Candidate]) -> StepDecision:
    m, st = ctx.m, ctx.st
    mk = marker if marker is not None else -1
    iters = loopstep.loop_iterations(st, loop, mk, new_calls(st, mk))
    inside = iters >= 0
    n = int(iters.max()) + 1 if inside.any() else 0
    per_iter = (st.sum_by_sample(iters, n) * st.scale).tolist()
    complete = n - 1 if m.stopped_by in CUT_SHORT and n else n
    durations = tuple(per_iter[warmup:complete])
    regions = np.full(len(st), OUTSIDE, dtype=np.int8)
    regions[inside] = STEP
    regions[inside & (iters < warmup)] = WARMUP
    in_loop = sum(per_iter)
    where = f"{PurePath(m.frames[loop.frame].file.replace(chr(92), '/')).name}:{loop.start}"
    tail = "; --step to choose" if chosen_by == "auto" else ""
    reason = (f"{head}: the {loop.kind} loop at {where} ({n} iterations, sampled estimate), "
              f"{in_loop / ctx.run_total if ctx.run_total else 0:.0%} of run time{tail}")
    info = StepInfo(loop.frame, chosen_by, reason, n, warmup, durations, "sampled", (loop.start, loop.end))
    return StepDecision(_finish(ctx, info, loop.start, iters), leave_out_counted(ctx, regions), tuple(cands[:50]))


def explicit_loop(ctx: Ctx, spec: str, warmup: int, cands: list[Candidate]) -> StepDecision:
    """``--step FILE:LINE``: the loop at that line of that file is the step."""
    m = ctx.m
    file, _, line_s = spec.rpartition(":")
    line = int(line_s)
    want = file.replace("\\", "/").lstrip("./")
    for fid, key in enumerate(m.frames):
        kf = key.file.replace("\\", "/")
        if key.kind != "python" or not (kf == file or kf.endswith("/" + want)):
            continue
        spans = ctx.loops_at(fid, line)
        if not spans:
            continue
        loop = ctx.loop(fid, spans[0])
        st = ctx.st
        child = np.full(st.n_stacks, -1, dtype=np.int64)  # per stack in the loop: the repeated function it calls
        hit = False
        for s, ids in enumerate(st.frames):
            if fid in ids and st.present()[s]:
                d = ids.index(fid)
                if loop.start <= st.lines[s][d] <= loop.end:
                    hit = True
                    if d + 1 < len(ids) and ctx.table.count(ids[d + 1]) >= 2:
                        child[s] = ids[d + 1]
        if hit:
            marker = None
            if (child >= 0).any():
                weight = st.sum_by(child, int(child.max()) + 1)
                seen = np.bincount(child[child >= 0], minlength=len(weight)) > 0
                marker = st.first_of(child, np.flatnonzero(seen & (weight == weight[seen].max())))
            return loop_step(ctx, loop, marker, warmup, "--step", f"--step {spec}", cands)
    return StepDecision(None, all_step(ctx.st), tuple(cands[:50]),
                        (f"--step {spec!r}: no loop at that line ran",), matched=False)
