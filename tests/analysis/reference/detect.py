"""Step detection, in one place: which function or loop is the training step, its count and its regions.

Input is the measurement only (``Measurement``: per sample, in order, the frame ids and lines root→leaf,
its weight in seconds and ``new_from``; the frame table; the user's sources). Output is a
``StepDecision``: the step (``model.StepInfo``), the region of every sample (step / warmup / outside) and
the candidates. ``capture`` never decides; ``analysis.stepping.apply_step`` runs this on a profile, at
profile time and again for ``advisor report --step``.

The rule (docs/how-it-works.md, "Step detection", says it in plain words):

1. **Function.** The heaviest function called at least twice, preferring the team's own code; then
   down to a finer function that wraps nearly all of its time (``train_epoch`` → ``train_step``), never
   to one whose calls are shorter than the sampling interval (a per-example helper); a function named
   like a step (``train_step``, ``update_mini_batch``) is taken as it is.
2. **Epoch function → its batch loop.** When that function repeats the model update (optimizer step or
   ``backward``) several times per call, it is an epoch: the loop inside it that holds the updates is
   the step.
3. **Function → the loop that drives it.** Going up through the frames that call it fewer times, the
   first loop around the call is the step when it holds clearly more time than the function
   (``LOOP_GAIN``: the body also runs backward and the optimizer) or runs the function more than
   ``PART_OF_STEP`` times per round (the function is a part of the step: per layer, per example).
4. **The update belongs to the step.** When the run updates a model but the unit found holds none of
   those updates (a per-action loop in reinforcement learning), the next loop out that holds them is
   the step (the episode loop).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Sequence
from pathlib import PurePath

from tests.analysis.reference import loopstep
from tests.analysis.reference import step as stepmod
from advisor.model import Candidate, FrameKey, StepInfo, StepTiming
from advisor.stepspec import is_loop_spec, match_step

Row = tuple[tuple[int, ...], tuple[int, ...], float, int]  # frame ids, lines, weight (s), new_from

LOOP_GAIN = loopstep.LOOP_GAIN
PART_OF_STEP = 1.5  # more calls per round than this: the function is a part of the step, not the step
MIN_SAMPLES_PER_CALL = 1.5  # fewer: calls shorter than the interval (a helper; its count is a lower bound)
EPOCH_UPDATES = 2  # updates per call at or above which a function is an epoch, not a step
# endings after which the last step was cut short (not a complete step)
CUT_SHORT = ("interrupt", "sigterm", "max-steps", "exception", "checkpoint", "os._exit")


@dataclass(frozen=True, slots=True)
class Measurement:
    """What detection reads: the samples in order, the frame table, user flags and sources."""

    rows: Sequence[Row]  # a tuple, or stepping.Rows (made as read)
    frames: tuple[FrameKey, ...]
    user: tuple[bool, ...]
    sources: dict[str, str]
    mode: str = "sample"
    stopped_by: str = "exit"
    calls: dict[int, int] | None = None  # exact call counts (cprofile)
    timings: tuple[StepTiming, ...] = ()
    times: Sequence[float] = ()  # each row's time on the sampler's clock (what StepTiming uses)


@dataclass(frozen=True, slots=True)
class StepDecision:
    """The step (None: the whole run), the region of each row, candidates, and notes for the user."""

    step: StepInfo | None
    regions: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    warnings: tuple[str, ...] = ()
    matched: bool = True  # False when --step named nothing that ran


@dataclass(slots=True)
class _Ctx:
    m: Measurement
    table: stepmod.CallTable
    run_total: float
    updates: frozenset[int] = frozenset()
    optimizers: frozenset[int] = frozenset()
    _loops: dict[tuple[int, int], list[tuple[int, int, str]]] = field(default_factory=dict)

    def loops_at(self, fid: int, line: int) -> list[tuple[int, int, str]]:
        """Loops of ``fid``'s source around ``line``, innermost first (cached)."""
        key = (fid, line)
        got = self._loops.get(key)
        if got is None:
            src = self.m.sources.get(self.m.frames[fid].file)
            got = self._loops[key] = loopstep.enclosing_loops(src, line) if src else []
        return got

    def loop(self, fid: int, span: tuple[int, int, str]) -> loopstep.Loop:
        src = self.m.sources.get(self.m.frames[fid].file, "")
        return loopstep.Loop(fid, span[0], span[1], span[2], loopstep.nested_spans(src, span[0], span[1]))


def detect(m: Measurement, spec: str | None = None, warmup: int = 1) -> StepDecision:
    """Decide the step of measurement ``m`` (``spec``: ``--step`` as given, or None to detect it)."""
    table = stepmod.track_invocations(_Calls(m.rows))
    cands = stepmod.candidates(table, list(m.frames), m.calls)
    ctx = _Ctx(m, table, _run_total(table), *_update_frames(m.frames))
    if m.mode == "cprofile":
        warmup = 0
    if spec and is_loop_spec(spec):
        return _explicit_loop(ctx, spec, warmup, cands)
    if spec:
        hits = match_step(spec, list(m.frames))
        hits = [h for h in hits if h in table.inclusive_s]
        if not hits:
            return StepDecision(None, ("step",) * len(m.rows), tuple(cands[:50]),
                                (f"--step {spec!r} matched no function that ran",), matched=False)
        fid = max(hits, key=lambda h: table.inclusive_s.get(h, 0.0))
        return _function_step(ctx, fid, warmup, "--step", f"--step {spec}", cands)
    samples = samples_per_frame(table) if m.calls is None else None
    best = choose_function(cands, table.above, list(m.user), [k.qualname for k in m.frames], samples)
    if best is None:
        return StepDecision(None, ("step",) * len(m.rows), tuple(cands[:50]),
                            ("no function was called repeatedly: the whole run is analysed as one step "
                             "(use --step to name the step function)",))
    if m.mode == "cprofile" or m.mode == "pyinstrument":
        return _function_step(ctx, best.frame, warmup, "auto", "auto-detected", cands)
    unit = _refine(ctx, best.frame)
    if isinstance(unit, loopstep.Loop):
        return _loop_step(ctx, unit, best.frame, warmup, "auto", "auto-detected", cands)
    return _function_step(ctx, unit, warmup, "auto", "auto-detected", cands)


# ---- rule 1: the function ------------------------------------------------------------------------------
def named_step(qualname: str) -> bool:
    """``train_step``, ``training_step``, ``step``, ``update_mini_batch``: the script names its step."""
    last = qualname.rpartition(".")[2].lower()
    return "step" in last or last.startswith("update")


def choose_function(cands: list[Candidate], above: dict[int, set[int]], user: list[bool],
                    names: list[str] | None = None,
                    samples: dict[int, int] | None = None) -> Candidate | None:
    """Rule 1: the heaviest repeated function (user code preferred), then down to a finer one.

    A finer function is one called by it (``above[c]``: the frames seen above ``c``), at least twice as
    often, holding at least ``WRAPPED_SHARE`` of its time, taking at least ``MIN_STEP_S`` a call, and
    seen in at least ``MIN_SAMPLES_PER_CALL`` samples a call on average (``samples``: samples per frame;
    shorter calls are per-example helpers whose count is not known). Pure: the ``--max-steps`` watcher
    runs it on the counts it keeps while the script runs.
    """
    if not cands:
        return None
    best = cands[0]
    users = [c for c in cands if user[c.frame]]
    if users and users[0].inclusive_s >= stepmod.USER_PREFERENCE * best.inclusive_s:
        best = users[0]
    elif names is not None and not user[best.frame]:
        named = [c for c in users if named_step(names[c.frame]) and c.calls >= max(best.calls, 3)]
        if named:
            best = named[0]
    pool = users if user[best.frame] else cands
    while True:
        if names is not None and named_step(names[best.frame]):
            return best
        finer = [c for c in pool if best.frame in above.get(c.frame, set())
                 and c.calls >= 2 * best.calls and c.inclusive_s >= stepmod.WRAPPED_SHARE * best.inclusive_s
                 and c.inclusive_s / c.calls >= stepmod.MIN_STEP_S
                 and (samples is None or samples.get(c.frame, 0) >= MIN_SAMPLES_PER_CALL * c.calls)]
        if not finer:
            return best
        best = max(finer, key=lambda c: (c.inclusive_s, c.calls))


def samples_per_frame(table: stepmod.CallTable) -> dict[int, int] | None:
    """Samples seen inside each function's calls (None for exact counts without samples)."""
    if not table.calls:
        return None
    return dict(table.spans)


# ---- rules 2-4: function or loop -----------------------------------------------------------------------
def _refine(ctx: _Ctx, fid: int) -> int | loopstep.Loop:
    """Rules 2-4 applied to the function ``fid`` found by rule 1."""
    name = ctx.m.frames[fid].qualname
    if named_step(name):
        return fid
    inner = _epoch_loop(ctx, fid)
    if inner is not None:
        return inner
    chain = _callers(ctx, fid)
    unit: int | loopstep.Loop = fid
    rest: list[loopstep.Loop] = []
    for i, (pfid, line) in enumerate(chain):
        spans = ctx.loops_at(pfid, line)
        if not spans:
            continue
        loops = [ctx.loop(pfid, s) for s in spans]
        first = loops[0]
        stats = _loop_stats(ctx, first, fid)
        if stats.iterations < 2:
            rest = loops[1:] + _outer_loops(ctx, chain[i + 1:])
            continue
        fn_s = ctx.table.inclusive_s.get(fid, 0.0)
        if stats.time_s >= LOOP_GAIN * fn_s or stats.marker_calls > PART_OF_STEP * stats.iterations:
            unit = first
            loops = loops[1:]
        rest = loops + _outer_loops(ctx, chain[i + 1:])
        break
    return _with_update(ctx, unit, fid, rest)


def _callers(ctx: _Ctx, fid: int) -> list[tuple[int, int]]:
    """User frames above ``fid`` that run fewer times than it, nearest first, with the line they stand on
    (the heaviest chain over the samples holding ``fid``)."""
    weight: dict[tuple[tuple[int, int], ...], float] = {}
    n_fid = ctx.table.count(fid) or (ctx.m.calls or {}).get(fid, 0)
    for ids, lines, w, _nf in ctx.m.rows:
        try:
            d = ids.index(fid)
        except ValueError:
            continue
        chain = tuple((ids[k], lines[k]) for k in range(d - 1, -1, -1)
                      if ctx.m.user[ids[k]] and ids[k] != fid
                      and ctx.table.count(ids[k]) < n_fid)
        weight[chain] = weight.get(chain, 0.0) + w
    if not weight:
        return []
    return list(max(weight, key=weight.__getitem__))


def _outer_loops(ctx: _Ctx, chain: list[tuple[int, int]]) -> list[loopstep.Loop]:
    out = []
    for pfid, line in chain:
        out.extend(ctx.loop(pfid, s) for s in ctx.loops_at(pfid, line))
    return out


@dataclass(frozen=True, slots=True)
class _LoopStats:
    time_s: float
    iterations: int
    marker_calls: int  # calls of the function found that started inside the loop
    update_s: float  # time in model updates (optimizer step, backward) inside the loop


def _loop_stats(ctx: _Ctx, loop: loopstep.Loop, marker: int) -> _LoopStats:
    iters = loopstep.loop_iterations(_simple(ctx.m.rows), loop, marker, _new_calls(ctx.m.rows, marker))
    time_s = update_s = 0.0
    for (ids, _l, w, _nf), it in zip(ctx.m.rows, iters):
        if it is None:
            continue
        time_s += w
        if ctx.updates and any(f in ctx.updates for f in ids):
            update_s += w
    n = max((it for it in iters if it is not None), default=-1) + 1
    calls = sum(1 for inv in ctx.table.invocations.get(marker, ()) if iters[inv.first] is not None)  # began inside
    return _LoopStats(time_s, n, calls, update_s)


def _epoch_loop(ctx: _Ctx, fid: int) -> loopstep.Loop | None:
    """Rule 2: a function that repeats the model update within one call is an epoch; the loop in its own
    frame that holds those updates (and most of its time) is the step."""
    counted = ctx.optimizers or ctx.updates
    calls = ctx.table.count(fid)
    if not counted or not calls:
        return None
    by_loop: dict[tuple[int, int, str], float] = {}
    for ids, lines, w, _nf in ctx.m.rows:
        if fid not in ids:
            continue
        spans = ctx.loops_at(fid, lines[ids.index(fid)])
        if spans:
            by_loop[spans[-1]] = by_loop.get(spans[-1], 0.0) + w
    if not by_loop:
        return None
    span = max(by_loop, key=by_loop.__getitem__)
    if by_loop[span] < stepmod.WRAPPED_SHARE * ctx.table.inclusive_s.get(fid, 0.0):
        return None
    loop = ctx.loop(fid, span)
    stats = _loop_stats(ctx, loop, -1)
    updates = _update_calls(ctx, loop, counted)
    if stats.iterations >= EPOCH_UPDATES * calls and updates >= EPOCH_UPDATES * calls:
        return loop
    return None


def _update_calls(ctx: _Ctx, loop: loopstep.Loop, counted: frozenset[int]) -> int:
    """Calls of update frames (outermost per sample) that started while ``loop``'s frame stood in it."""
    n = 0
    for ids, lines, _w, new_from in ctx.m.rows:
        if loop.frame not in ids:
            continue
        d = ids.index(loop.frame)
        if not loop.start <= lines[d] <= loop.end:
            continue
        for k in range(d + 1, len(ids)):
            if ids[k] in counted:
                n += k >= new_from
                break
    return n


def _with_update(ctx: _Ctx, unit: int | loopstep.Loop, fid: int, outer: list[loopstep.Loop]) -> int | loopstep.Loop:
    """Rule 4: a unit without any of the run's model updates gives way to the next loop out holding them."""
    if not ctx.updates:
        return unit
    if isinstance(unit, loopstep.Loop):
        if _loop_stats(ctx, unit, fid).update_s > 0:
            return unit
    elif any(fid in ids and any(f in ctx.updates for f in ids[ids.index(fid):]) for ids, _l, _w, _nf in ctx.m.rows):
        return unit
    for loop in outer:
        stats = _loop_stats(ctx, loop, fid)
        if stats.iterations >= 2 and stats.update_s > 0:
            return loop
    return unit


def _update_frames(frames: tuple[FrameKey, ...]) -> tuple[frozenset[int], frozenset[int]]:
    """(update frames, optimizer frames): an optimizer's code (a file under an ``optim`` folder:
    ``torch/optim``) or a function named ``backward`` (autograd, micrograd's ``Value.backward``)."""
    optim, upd = set(), set()
    for fid, key in enumerate(frames):
        if key.kind != "python":
            continue
        parts = PurePath(key.file.replace("\\", "/")).parts
        if any(p in ("optim", "optimizers") for p in parts[:-1]):
            optim.add(fid)
            upd.add(fid)
        elif key.qualname.rpartition(".")[2] == "backward":
            upd.add(fid)
    return frozenset(upd), frozenset(optim)


# ---- building the StepInfo -----------------------------------------------------------------------------
def _exact_timing(ctx: _Ctx, fid: int, line: int | None) -> StepTiming | None:
    for t in ctx.m.timings:
        if t.frame == fid and t.line == line and t.ends:
            return t
    return None


def _finish(ctx: _Ctx, info: StepInfo, line: int | None, iters: list[int | None] | None = None) -> StepInfo:
    """Recorded boundaries, where capture has them for this step, replace the sampled count and times.

    ``exact`` timings cover every call: count and durations are exact. Otherwise the timer started during
    a call (capture/steptimer.py): the timed calls' durations are exact, the calls before it are counted
    from the samples (at least the one that was running), and the count is a lower bound ("timed"). For a
    loop (``line``), the rounds before the timer are counted from the samples' round numbers (``iters``)."""
    t = _exact_timing(ctx, info.frame, line)
    if t is None:
        return info
    if t.exact:
        n = len(t.starts)
        durations = tuple(max(0.0, e - s) for s, e in zip(t.starts[info.warmup:], t.ends[info.warmup:]))
        reason = _COUNT.sub(lambda mt: f"{n} {mt.group(2)}{mt.group(3)}exact", info.reason, count=1)
        return StepInfo(info.frame, info.chosen_by, reason, n, info.warmup, durations, "exact", info.loop_lines,
                        count_exact=True)
    since, times = t.starts[0], ctx.m.times
    if line is not None and iters is not None:
        before = loopstep.rounds_before(iters, times, since)
    else:
        before = sum(1 for inv in ctx.table.invocations.get(info.frame, [])
                     if inv.first < len(times) and times[inv.first] < since)
    untimed = max(before, 1)
    drop = max(0, info.warmup - untimed)  # warm-up calls not already among the untimed ones
    durations = tuple(max(0.0, e - s) for s, e in zip(t.starts[drop:], t.ends[drop:]))
    n = untimed + len(t.ends)
    reason = _COUNT.sub(lambda mt: f"at least {n} {mt.group(2)}{mt.group(3)}timed from call {untimed + 1}",
                        info.reason, count=1)
    return StepInfo(info.frame, info.chosen_by, reason, n, info.warmup, durations, "timed", info.loop_lines,
                    count_exact=False)


_COUNT = re.compile(r"(\d+) (calls|iterations)(, | \()sampled estimate")


def _function_step(ctx: _Ctx, fid: int, warmup: int, chosen_by: str, head: str,
                   cands: list[Candidate]) -> StepDecision:
    m = ctx.m
    invs = ctx.table.invocations.get(fid, [])
    n_calls = m.calls.get(fid, len(invs)) if m.calls is not None else len(invs)
    share = ctx.table.inclusive_s.get(fid, 0.0) / ctx.run_total if ctx.run_total else 0.0
    if m.mode == "cprofile":
        durations: tuple[float, ...] = ()
        timing, what = "cprofile", "exact count"
    else:
        complete = invs[:-1] if m.stopped_by in CUT_SHORT and invs else invs
        durations = tuple(inv.covered_s for inv in complete[warmup:])
        timing, what = "sampled", "sampled estimate"
    tail = "; --step to choose" if chosen_by == "auto" else ""
    reason = f"{head}: {n_calls} calls ({what}), {share:.0%} of run time{tail}"
    info = _finish(ctx, StepInfo(fid, chosen_by, reason, n_calls, warmup, durations, timing), None)
    warm: set[int] = set()
    for inv in invs[:warmup]:
        warm.update(range(inv.first, inv.last + 1))
    regions = tuple("outside" if fid not in row[0] else ("warmup" if i in warm else "step")
                    for i, row in enumerate(m.rows))
    return StepDecision(info, regions, tuple(cands[:50]))


def _loop_step(ctx: _Ctx, loop: loopstep.Loop, marker: int | None, warmup: int, chosen_by: str, head: str,
               cands: list[Candidate]) -> StepDecision:
    m = ctx.m
    mk = marker if marker is not None else -1
    iters = loopstep.loop_iterations(_simple(m.rows), loop, mk, _new_calls(m.rows, mk))
    per_iter: dict[int, float] = {}
    for (_ids, _lines, w, _nf), it in zip(m.rows, iters):
        if it is not None:
            per_iter[it] = per_iter.get(it, 0.0) + w
    n = (max(per_iter) + 1) if per_iter else 0
    complete = n - 1 if m.stopped_by in CUT_SHORT and n else n
    durations = tuple(per_iter.get(i, 0.0) for i in range(warmup, complete))
    regions = tuple("outside" if it is None else ("warmup" if it < warmup else "step") for it in iters)
    in_loop = sum(per_iter.values())
    where = f"{PurePath(m.frames[loop.frame].file.replace(chr(92), '/')).name}:{loop.start}"
    tail = "; --step to choose" if chosen_by == "auto" else ""
    reason = (f"{head}: the {loop.kind} loop at {where} ({n} iterations, sampled estimate), "
              f"{in_loop / ctx.run_total if ctx.run_total else 0:.0%} of run time{tail}")
    info = StepInfo(loop.frame, chosen_by, reason, n, warmup, durations, "sampled", (loop.start, loop.end))
    return StepDecision(_finish(ctx, info, loop.start, iters), regions, tuple(cands[:50]))


def _explicit_loop(ctx: _Ctx, spec: str, warmup: int, cands: list[Candidate]) -> StepDecision:
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
        children: dict[int, float] = {}
        hit = False
        for ids, lines, w, _nf in m.rows:
            if fid in ids:
                d = ids.index(fid)
                if loop.start <= lines[d] <= loop.end:
                    hit = True
                    if d + 1 < len(ids) and ctx.table.count(ids[d + 1]) >= 2:
                        children[ids[d + 1]] = children.get(ids[d + 1], 0.0) + w
        if hit:
            marker = max(children, key=children.__getitem__) if children else None
            return _loop_step(ctx, loop, marker, warmup, "--step", f"--step {spec}", cands)
    return StepDecision(None, ("step",) * len(m.rows), tuple(cands[:50]),
                        (f"--step {spec!r}: no loop at that line ran",), matched=False)


# ---- helpers -------------------------------------------------------------------------------------------
def _simple(rows: Sequence[Row]) -> Sequence[Row]:
    return rows


class _Calls:
    """(frame ids, weight, new_from) of each row, as ``track_invocations`` reads them (twice), made as read."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[tuple[tuple[int, ...], float, int]]:
        return ((ids, w, nf) for ids, _l, w, nf in self._rows)


def _new_calls(rows: Sequence[Row], marker: int) -> list[bool]:
    """Whether each row starts a new call of ``marker`` (its outermost frame is past ``new_from``)."""
    return [marker in ids and ids.index(marker) >= nf for ids, _l, _w, nf in rows]


def _run_total(table: stepmod.CallTable) -> float:
    """Total sampled time = the inclusive time of the root frames (each sample counted once)."""
    roots = {fid for fid, above in table.above.items() if not above}
    return sum(table.inclusive_s[f] for f in roots)
