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

    ``new_call[i]`` says whether row ``i`` starts a new call of ``marker``; iteration k runs from the
    k-th new call to the next one (time in the loop before the first call counts to iteration 0).
    """
    out: list[int | None] = []
    started = 0
    for i, (ids, lines, _w) in enumerate(rows):
        try:
            depth = ids.index(loop.frame)
        except ValueError:
            out.append(None)
            continue
        if not loop.start <= lines[depth] <= loop.end:
            out.append(None)
            continue
        if new_call[i] and marker in ids[depth:]:
            started += 1
        out.append(max(started - 1, 0))
    return out
