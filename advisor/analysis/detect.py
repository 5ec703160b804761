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

from dataclasses import dataclass
from typing import Any, Mapping
from pathlib import PurePath

from advisor._np import np
from advisor.analysis import loopstep
from advisor.analysis import step as stepmod
from advisor.analysis.decision import CUT_SHORT, Measurement, Row, StepDecision  # noqa: F401  (re-exported)
from advisor.analysis.decision import Ctx as _Ctx, all_step as _all_step, new_calls as _new_calls, sample_table
from advisor.analysis.stepbuild import explicit_loop as _explicit_loop, function_step as _function_step
from advisor.analysis.stepbuild import loop_step as _loop_step
from advisor.model import Candidate, FrameKey
from advisor.stepspec import is_loop_spec, match_step

LOOP_GAIN = loopstep.LOOP_GAIN
PART_OF_STEP = 1.5  # more calls per round than this: the function is a part of the step, not the step
MIN_SAMPLES_PER_CALL = 1.5  # fewer: calls shorter than the interval (a helper; its count is a lower bound)
EPOCH_UPDATES = 2  # updates per call at or above which a function is an epoch, not a step


def detect(m: Measurement, spec: str | None = None, warmup: int = 1) -> StepDecision:
    """Decide the step of measurement ``m`` (``spec``: ``--step`` as given, or None to detect it)."""
    st = sample_table(m)
    table = stepmod.track_invocations(st)
    cands = stepmod.candidates(table, list(m.frames), m.calls)
    ctx = _Ctx(m, st, table, _run_total(table), *_update_frames(m.frames))
    if m.mode == "cprofile":
        warmup = 0
    if spec and is_loop_spec(spec):
        return _explicit_loop(ctx, spec, warmup, cands)
    if spec:
        hits = match_step(spec, list(m.frames))
        hits = [h for h in hits if h in table.inclusive_s]
        if not hits:
            return StepDecision(None, _all_step(st), tuple(cands[:50]),
                                (f"--step {spec!r} matched no function that ran",), matched=False)
        fid = max(hits, key=lambda h: table.inclusive_s.get(h, 0.0))
        return _function_step(ctx, fid, warmup, "--step", f"--step {spec}", cands)
    samples = samples_per_frame(table) if m.calls is None else None
    best = choose_function(cands, table.above, list(m.user), [k.qualname for k in m.frames], samples)
    if best is None:
        return StepDecision(None, _all_step(st), tuple(cands[:50]),
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
                    samples: Mapping[int, int] | None = None) -> Candidate | None:
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
        # The team's function named as a step (train_step) and called at least as often wins over a library
        # one however heavy: a short run's library import-time helper (torch's _disable_dynamo wrapper,
        # 2-5 calls, 2.9 s) outweighed 30 train_step calls of 11 ms.
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


def samples_per_frame(table: stepmod.CallTable) -> Mapping[int, int] | None:
    """Samples seen inside each function's calls (None for exact counts without samples); computed per
    function when asked (``step.Spans``)."""
    if not table.calls:
        return None
    return table.spans


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
    (the heaviest chain over the samples holding ``fid``; a tie: the chain seen first)."""
    st = ctx.st
    n_fid = ctx.table.count(fid) or (ctx.m.calls or {}).get(fid, 0)
    depth = st.depth_of(fid)
    chains: dict[tuple[tuple[int, int], ...], int] = {}
    group = np.full(st.n_stacks, -1, dtype=np.int64)
    for s in np.flatnonzero(depth >= 0).tolist():
        ids, lines = st.frames[s], st.lines[s]
        chain = tuple((ids[k], lines[k]) for k in range(int(depth[s]) - 1, -1, -1)
                      if ctx.m.user[ids[k]] and ids[k] != fid and ctx.table.count(ids[k]) < n_fid)
        group[s] = chains.setdefault(chain, len(chains))
    if not chains or not st.present()[depth >= 0].any():
        return []
    weight = st.sum_by(group, len(chains))
    seen = np.bincount(group[st.present() & (group >= 0)], minlength=len(chains)) > 0
    best = np.flatnonzero(seen & (weight == weight[seen].max()))
    return list(list(chains)[st.first_of(group, best)])


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
    st = ctx.st
    iters = loopstep.loop_iterations(st, loop, marker, _new_calls(st, marker))
    inside = iters >= 0
    time_s = st.weight_where(inside)
    update_s = st.weight_where(inside & _has_update(ctx)[st.stack]) if ctx.updates else 0.0
    n = int(iters.max()) + 1 if len(iters) else 0
    invs = ctx.table.invocations.get(marker)
    calls = int(np.count_nonzero(inside[invs.first])) if invs is not None and len(invs) else 0  # began inside
    return _LoopStats(time_s, max(n, 0), calls, update_s)


def _has_update(ctx: _Ctx) -> Any:
    """Per stack: whether it holds one of the run's model-update frames."""
    return ctx.st.cached("updates", lambda: np.fromiter(
        (any(f in ctx.updates for f in ids) for ids in ctx.st.frames), dtype=bool, count=ctx.st.n_stacks))


def _epoch_loop(ctx: _Ctx, fid: int) -> loopstep.Loop | None:
    """Rule 2: a function that repeats the model update within one call is an epoch; the loop in its own
    frame that holds those updates (and most of its time) is the step."""
    counted = ctx.optimizers or ctx.updates
    calls = ctx.table.count(fid)
    if not counted or not calls:
        return None
    st = ctx.st
    depth = st.depth_of(fid)
    keys: dict[tuple[int, int, str], int] = {}
    group = np.full(st.n_stacks, -1, dtype=np.int64)
    for s in np.flatnonzero((depth >= 0) & st.present()).tolist():
        spans = ctx.loops_at(fid, st.lines[s][int(depth[s])])
        if spans:
            group[s] = keys.setdefault(spans[-1], len(keys))
    if not keys:
        return None
    weight = st.sum_by(group, len(keys))
    best = np.flatnonzero(weight == weight.max())
    span = list(keys)[st.first_of(group, best)]
    if weight[keys[span]] * st.scale < stepmod.WRAPPED_SHARE * ctx.table.inclusive_s.get(fid, 0.0):
        return None
    loop = ctx.loop(fid, span)
    stats = _loop_stats(ctx, loop, -1)
    updates = _update_calls(ctx, loop, counted)
    if stats.iterations >= EPOCH_UPDATES * calls and updates >= EPOCH_UPDATES * calls:
        return loop
    return None


def _update_calls(ctx: _Ctx, loop: loopstep.Loop, counted: frozenset[int]) -> int:
    """Calls of update frames (outermost per sample) that started while ``loop``'s frame stood in it."""
    st = ctx.st
    first = np.full(st.n_stacks, -1, dtype=np.int64)  # per stack: depth of the first update below the loop
    for s, ids in enumerate(st.frames):
        if loop.frame not in ids:
            continue
        d = ids.index(loop.frame)
        if not loop.start <= st.lines[s][d] <= loop.end:
            continue
        first[s] = next((k for k in range(d + 1, len(ids)) if ids[k] in counted), -1)
    k = first[st.stack]
    return int(np.count_nonzero((k >= 0) & (k >= st.new_from)))


def _with_update(ctx: _Ctx, unit: int | loopstep.Loop, fid: int, outer: list[loopstep.Loop]) -> int | loopstep.Loop:
    """Rule 4: a unit without any of the run's model updates gives way to the next loop out holding them."""
    if not ctx.updates:
        return unit
    if isinstance(unit, loopstep.Loop):
        if _loop_stats(ctx, unit, fid).update_s > 0:
            return unit
    elif any(ctx.st.present()[s] and fid in ids and any(f in ctx.updates for f in ids[ids.index(fid):])
             for s, ids in enumerate(ctx.st.frames)):
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


# ---- helpers -------------------------------------------------------------------------------------------
def _run_total(table: stepmod.CallTable) -> float:
    """Total sampled time = the inclusive time of the root frames (each sample counted once)."""
    roots = {fid for fid, above in table.above.items() if not above}
    return sum(table.inclusive_s[f] for f in roots)
