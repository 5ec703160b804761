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

import ast
from dataclasses import dataclass

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


def _loops(source: str) -> list[ast.AST]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.AsyncFor, ast.While))]


def _span(node: ast.AST) -> tuple[int, int, str]:
    end = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
    return node.lineno, end, "while" if isinstance(node, ast.While) else "for"  # type: ignore[attr-defined]


def enclosing_loops(source: str, line: int) -> list[tuple[int, int, str]]:
    """The loop statements of ``source`` whose span contains ``line``, innermost first (a loop whose
    body holds ``line`` only inside a nested function or class is not one of them)."""
    spans = [_span(n) for n in _loops(source)
             if _span(n)[0] <= line <= _span(n)[1] and not _inside_nested_def(n, line)]
    return sorted(set(spans), key=lambda s: s[1] - s[0])


def innermost_loop(source: str, line: int) -> tuple[int, int, str] | None:
    """The innermost loop statement of ``source`` whose span contains ``line``."""
    loops = enclosing_loops(source, line)
    return loops[0] if loops else None


def nested_spans(source: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """Spans of the outermost loops nested in the loop spanning ``start``..``end``."""
    inner = sorted({_span(n)[:2] for n in _loops(source) if start < _span(n)[0] and _span(n)[1] <= end})
    out: list[tuple[int, int]] = []
    for s, e in inner:
        if not out or s > out[-1][1]:
            out.append((s, e))
    return tuple(out)


def _inside_nested_def(loop: ast.AST, line: int) -> bool:
    for node in ast.walk(loop):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            end = getattr(node, "end_lineno", None) or node.lineno
            if node.lineno <= line <= end:
                return True
    return False


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
