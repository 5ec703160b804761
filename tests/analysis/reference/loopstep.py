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


def loop_iterations(rows: list[tuple[tuple[int, ...], tuple[int, ...], float, int]], loop: Loop,
                    marker: int, new_call: list[bool]) -> list[int | None]:
    """For each row (frame ids, lines, weight, new_from): its round of the loop, or None outside it.

    A round starts where the loop's frame stands on an earlier line of the body than in the previous
    sample (it went round; a line inside a nested loop counts as that loop's header), or on the same line
    inside a new call (of ``marker``, or of the same function the previous sample was in on that line,
    when that line calls it once a round). Sampled: rounds shorter than the sampling interval merge, so
    the count is a lower bound.
    """
    markers = _once_per_round(rows, loop)
    out: list[int | None] = []
    started = 0
    prev_line = -1
    prev_child = -1
    for i, (ids, lines, _w, new_from) in enumerate(rows):
        try:
            depth = ids.index(loop.frame)
        except ValueError:
            out.append(None)
            prev_line = -1
            continue
        line = lines[depth]
        if not loop.start <= line <= loop.end:
            out.append(None)
            prev_line = -1
            continue
        child = ids[depth + 1] if depth + 1 < len(ids) else -1
        went_round = loop.position(line) < loop.position(prev_line)
        same_line = line == prev_line and not loop.in_nested(line)
        new_child = child >= 0 and depth + 1 >= new_from and (
            (child == marker and new_call[i]) or (child == prev_child and (line, child) in markers))
        if went_round or (same_line and new_child) or prev_line < 0:  # (re-)entering the loop: a new round
            started += 1
        prev_line, prev_child = line, child
        out.append(max(started - 1, 0))
    return out


def _once_per_round(rows: list[tuple[tuple[int, ...], tuple[int, ...], float, int]],
                    loop: Loop) -> set[tuple[int, int]]:
    """(line, function) pairs of the loop's frame whose new calls mark new rounds: between two rounds
    told apart by line order, they started at most once in most rounds (``list(map(f, xs))`` on one
    line starts ``f`` many times a round and is left out)."""
    per_round: dict[tuple[int, int], list[int]] = {}
    current: dict[tuple[int, int], int] = {}
    prev = -1
    for ids, lines, _w, new_from in rows:
        if loop.frame not in ids:
            continue
        d = ids.index(loop.frame)
        line = lines[d]
        if not loop.start <= line <= loop.end or loop.in_nested(line):
            continue
        if prev >= 0 and loop.position(line) < loop.position(prev):
            for k, v in current.items():
                per_round.setdefault(k, []).append(v)
            current = {}
        prev = line
        if d + 1 < len(ids) and d + 1 >= new_from:
            key = (line, ids[d + 1])
            current[key] = current.get(key, 0) + 1
    for k, v in current.items():
        per_round.setdefault(k, []).append(v)
    return {k for k, counts in per_round.items() if sum(c > 1 for c in counts) * 2 < len(counts)}


def rounds_before(iters: list[int | None], times: tuple[float, ...] | list[float], since: float) -> int:
    """Rounds (as ``loop_iterations`` numbers them) that had started before ``since``, the moment the
    step timer began timing the loop: the untimed rounds a timed count adds to (sampled, so a lower
    bound; at least the round that was running when the timer started)."""
    seen = {it for it, t in zip(iters, times) if it is not None and t < since}
    return max(len(seen), 1)
