"""A training step that is a loop body, not a function.

Many real scripts (nanoGPT, makemore, the PyTorch examples) run the step inline::

    while True:                       # or: for batch in loader:
        logits, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

The heaviest repeated function is then ``model.forward``, a part of the step only: backward and the
optimizer would land "outside the step". ``detect.py`` decides when a loop is the step; this module
holds the source side (which loops stand around a line) and the sample side (which round of a loop each
sample belongs to): samples whose frame stands on a line of the loop are in the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor._np import np
from advisor.analysis.samples import CHUNK, SampleTable, previous, times_at

from advisor.loopsource import enclosing_loops, innermost_loop, nested_spans  # noqa: F401  (re-exported)

LOOP_GAIN = 1.25  # the loop must hold at least this much more time than the function to be the step


@dataclass(frozen=True, slots=True)
class Loop:
    """A ``for``/``while`` statement: the frame it runs in and its line span."""

    frame: int
    start: int
    end: int
    kind: str  # "for" or "while"
    nested: tuple[tuple[int, int], ...] = ()  # spans of the outermost loops nested in this one

    def position(self, line: int) -> int:
        """Where ``line`` stands in one round: a line inside a nested loop counts as that loop's header,
        so going from after a nested loop back into it reads as a new round."""
        for start, end in self.nested:
            if start <= line <= end:
                return start
        return line

    def in_nested(self, line: int) -> bool:
        return any(start <= line <= end for start, end in self.nested)


@dataclass(frozen=True, slots=True)
class _Facts:
    """Per stack, where the loop's frame stands: its line (-1: not in the loop), the line's position in a
    round, whether the line is in a nested loop, the frame it calls there (-1: none) and that depth."""

    inside: Any
    line: Any
    pos: Any
    nested: Any
    child: Any
    child_depth: Any


def _facts(st: SampleTable, loop: Loop) -> _Facts:
    def make() -> _Facts:
        k = st.n_stacks
        line, pos, child, cdepth = (np.full(k, -1, dtype=np.int64) for _ in range(4))
        nested = np.zeros(k, dtype=bool)
        for s, ids in enumerate(st.frames):
            if loop.frame not in ids:
                continue
            d = ids.index(loop.frame)
            ln = st.lines[s][d]
            if not loop.start <= ln <= loop.end:
                continue
            line[s], pos[s], nested[s], cdepth[s] = ln, loop.position(ln), loop.in_nested(ln), d + 1
            if d + 1 < len(ids):
                child[s] = ids[d + 1]
        return _Facts(line >= 0, line, pos, nested, child, cdepth)

    return st.cached(("loop", loop), make)


def loop_iterations(st: SampleTable, loop: Loop, marker: int, new_call: Any) -> Any:
    """For each sample: its round of the loop, or -1 outside it (a NumPy array).

    A round starts where the loop's frame stands on an earlier line of the body than in the previous
    sample (it went round; a line inside a nested loop counts as that loop's header), or on the same line
    inside a new call (of ``marker``, or of the same function the previous sample was in on that line,
    when that line calls it once a round). Sampled: rounds shorter than the sampling interval merge, so
    the count is a lower bound. ``new_call``: per sample, whether it starts a new call of ``marker``.
    A chunk of samples at a time; what carries over is the previous sample's place and the rounds so far.
    """
    f = _facts(st, loop)
    markers = _once_per_round(st, loop)
    marks = np.fromiter(((int(f.line[s]), int(f.child[s])) in markers for s in range(st.n_stacks)),
                        dtype=bool, count=st.n_stacks)
    n = len(st)
    out = np.empty(n, dtype=np.int64 if n >= 2**31 else np.int32)
    last_in, last_line, last_pos, last_child, started = False, -1, -1, -1, 0
    for a in range(0, n, CHUNK):
        sid = st.stack[a:a + CHUNK]
        inside, line, pos, child = f.inside[sid], f.line[sid], f.pos[sid], f.child[sid]
        prev_in = previous(inside, last_in)
        prev_line = np.where(prev_in, previous(line, last_line), -1)
        went_round = pos < np.where(prev_in, previous(pos, last_pos), -1)
        same_line = (line == prev_line) & ~f.nested[sid]
        new_child = (child >= 0) & (f.child_depth[sid] >= st.new_from[a:a + CHUNK]) & (
            ((child == marker) & np.asarray(new_call[a:a + CHUNK], dtype=bool))
            | ((child == previous(child, last_child)) & marks[sid]))
        new_round = inside & (went_round | (same_line & new_child) | (prev_line < 0))
        rounds = started + np.cumsum(new_round)
        out[a:a + CHUNK] = np.where(inside, np.maximum(rounds - 1, 0), -1)
        if len(sid):
            last_in, last_line, last_pos = bool(inside[-1]), int(line[-1]), int(pos[-1])
            last_child, started = int(child[-1]), int(rounds[-1])
    return out


def _once_per_round(st: SampleTable, loop: Loop) -> set[tuple[int, int]]:
    """(line, function) pairs of the loop's frame whose new calls mark new rounds: between two rounds
    told apart by line order, they started at most once in most rounds (``list(map(f, xs))`` on one
    line starts ``f`` many times a round and is left out). A chunk of samples at a time."""
    f = _facts(st, loop)
    keys: dict[tuple[int, int], int] = {}
    kid = np.full(st.n_stacks, -1, dtype=np.int64)
    for s in np.flatnonzero(f.inside & ~f.nested & (f.child >= 0)).tolist():
        kid[s] = keys.setdefault((int(f.line[s]), int(f.child[s])), len(keys))
    if not keys:
        return set()
    counts = f.inside & ~f.nested  # per stack: its samples count (the loop's frame on a line of its own)
    pairs, tallies = [], []
    last_line, rounds_so_far = -1, 0
    for a in range(0, len(st), CHUNK):
        k = np.flatnonzero(counts[st.stack[a:a + CHUNK]])
        if not len(k):
            continue
        sid = st.stack[a:a + CHUNK][k]
        line = f.line[sid]
        turn = line < previous(line, last_line)  # a round boundary: back to an earlier line
        if last_line < 0:
            turn[0] = False
        rounds = rounds_so_far + np.cumsum(turn)
        new = (kid[sid] >= 0) & (f.child_depth[sid] >= st.new_from[a:a + CHUNK][k])
        uniq, cnt = np.unique(kid[sid][new] + len(keys) * rounds[new], return_counts=True)  # (key, round)
        pairs.append(uniq)
        tallies.append(cnt)
        last_line, rounds_so_far = int(line[-1]), int(rounds[-1])
    if not pairs:
        return set()
    uniq, where = np.unique(np.concatenate(pairs), return_inverse=True)  # a pair split by a chunk edge: one
    cnt = np.bincount(where.reshape(-1), weights=np.concatenate(tallies), minlength=len(uniq))
    which = uniq % len(keys)
    n_rounds = np.bincount(which, minlength=len(keys))
    many = np.bincount(which, weights=(cnt > 1).astype(np.float64), minlength=len(keys))
    names = list(keys)
    return {names[i] for i in np.flatnonzero((n_rounds > 0) & (many * 2 < n_rounds)).tolist()}


def rounds_before(iters: Any, times: Any, since: float) -> int:
    """Rounds (as ``loop_iterations`` numbers them) that had started before ``since``, the moment the
    step timer began timing the loop: the untimed rounds a timed count adds to (sampled, so a lower
    bound; at least the round that was running when the timer started). ``times``: as ``times_at`` reads."""
    idx = np.flatnonzero(np.asarray(iters) >= 0)
    idx = idx[idx < len(times)]  # samples without a time (none given) are not counted
    seen = np.unique(np.asarray(iters)[idx][times_at(times, idx) < since])
    return max(len(seen), 1)
