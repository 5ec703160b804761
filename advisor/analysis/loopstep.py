"""A training step that is a loop body, not a function.

Many real scripts (nanoGPT, makemore, the PyTorch examples) run the step inline::

    while True:                       # or: for batch in loader:
        logits, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

The heaviest repeated function is then ``model.forward``, a part of the step only: backward and the
optimizer would land "outside the step". When the function found runs inside a loop of a function that
runs once (``<module>`` or ``main``), and that loop holds clearly more time than the function, the loop
body is the step: samples whose once-running frame stands on a line of the loop are in the step, and
each new call of the marker function (the function found) starts a new iteration.
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
    nested: frozenset[int] = frozenset()  # lines inside loops nested in this one


def innermost_loop(source: str, line: int) -> tuple[int, int, str] | None:
    """The innermost loop statement of ``source`` whose span contains ``line`` (not inside a nested
    function or class body that starts within the loop)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    best: tuple[int, int, str] | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            end = getattr(node, "end_lineno", None) or node.lineno
            if node.lineno <= line <= end and (best is None or end - node.lineno < best[1] - best[0]):
                if not _inside_nested_def(node, line):
                    best = (node.lineno, end, "while" if isinstance(node, ast.While) else "for")
    return best


def nested_loop_lines(source: str, start: int, end: int) -> frozenset[int]:
    """Lines of ``source`` inside loops nested in the loop spanning ``start``..``end``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            last = getattr(node, "end_lineno", None) or node.lineno
            if start < node.lineno and last <= end:
                lines.update(range(node.lineno, last + 1))
    return frozenset(lines)


def _inside_nested_def(loop: ast.AST, line: int) -> bool:
    for node in ast.walk(loop):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            end = getattr(node, "end_lineno", None) or node.lineno
            if node.lineno <= line <= end:
                return True
    return False


def loop_iterations(rows: list[tuple[tuple[int, ...], tuple[int, ...], float]], loop: Loop,
                    marker: int, new_call: list[bool]) -> list[int | None]:
    """For each row (frame ids, lines, weight): the iteration it belongs to, or None outside the loop.

    An iteration starts where the loop's frame stands on an earlier line of the body than in the previous
    sample (it went round), or on the same line inside a new call of ``marker`` (``new_call[i]``).
    Sampled: iterations shorter than the sampling interval merge, so the count is a lower bound.
    """
    out: list[int | None] = []
    started = 0
    prev_line = -1
    for i, (ids, lines, _w) in enumerate(rows):
        try:
            depth = ids.index(loop.frame)
        except ValueError:
            out.append(None)
            continue
        line = lines[depth]
        if not loop.start <= line <= loop.end:
            out.append(None)
            prev_line = -1
            continue
        # Back to an earlier line of the body (not the header, not inside an inner loop): a new round.
        # On the same line, a new call of the marker says the same (two rounds, one line each).
        outer = line not in loop.nested and prev_line not in loop.nested
        went_round = outer and loop.start < line < prev_line
        same_line_new_call = line == prev_line and new_call[i] and marker in ids[depth:]
        if went_round or same_line_new_call or prev_line < 0:  # (re-)entering the loop: a new round
            started += 1
        prev_line = line
        out.append(max(started - 1, 0))
    return out
