"""Loop statements in source text: which ``for``/``while`` loops stand around a line, and the loops nested
in one. Shared by capture (the step timer times the rounds of the loops around the step's call site,
``capture/looptimer.py``) and analysis (``analysis/loopstep.py``: a loop body as the step); pure
functions over source text.
"""

from __future__ import annotations

import ast


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
