"""Code category of a hotspot, from its source (AST) and its measured split, with the evidence.

The category picks the speedup column of PRIORS.md §1.2: numeric-loop, object-heavy, small-numpy-calls,
vectorized, strings, io-bound or mixed. The AST says what the code *does* (loops, NumPy calls inside them,
arithmetic, attribute traffic, string methods, I/O calls); the split says where the time *went*. When
the source was not saved with the profile, the split alone decides and the evidence says so.

Size (lines, decorators included) and cyclomatic complexity (radon) feed the effort estimate.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from advisor.analysis import Hotspot
from advisor.analysis.stepwide import GC_VISIBLE_MODES
from advisor.costmodel.types import Category
from advisor.model import Profile

ARRAY_MODULES = ("numpy", "torch", "scipy", "jax", "tensorflow")
FRAMEWORK_MODULES = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}
STRING_METHODS = {"split", "join", "strip", "lstrip", "rstrip", "lower", "upper", "replace", "encode",
                  "decode", "startswith", "endswith", "format", "find", "partition", "splitlines", "translate"}
IO_NAMES = {"open", "read", "readline", "readlines", "write", "recv", "send", "sleep", "urlopen", "imread",
            "load", "loads", "fetch", "get", "post", "listdir", "stat", "fromfile", "tofile"}
IO_MODULES = {"os", "io", "socket", "pickle", "json", "shutil", "requests", "urllib", "time", "pathlib", "h5py"}
ARITH_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
ASSUMED_LINES = 50  # when the source is unavailable (documented in docs/cost-model.md)
ASSUMED_COMPLEXITY = 5


@dataclass(slots=True)
class Features:
    """Counts read from one function's AST (inside loops unless named otherwise)."""

    loops: int = 0
    depth: int = 0
    array_calls_in_loop: int = 0
    array_calls: int = 0
    arith_in_loop: int = 0
    object_ops_in_loop: int = 0
    string_ops: int = 0
    io_calls: int = 0
    framework_calls: int = 0  # calls into torch / jax / tensorflow (a subset of array_calls)
    framework: str = ""  # the framework most called
    char_ops: int = 0  # ord / chr / str.is* / `in` / one-character == on a loop variable: a per-character loop


def find_function(tree: ast.Module, qualname: str, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function whose first line (decorator or ``def``) is ``line``; else the one named ``qualname``."""
    by_name = None
    leaf = qualname.rpartition(".")[2]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if line in (first, node.lineno) and node.name == leaf:
                return node
            if node.name == leaf and by_name is None:
                by_name = node
    return by_name


def _array_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the array module it comes from (``np`` -> numpy, ``F`` -> torch, ``nn`` -> torch)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                if top in ARRAY_MODULES:
                    names[a.asname or top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ARRAY_MODULES:
            for a in node.names:
                names[a.asname or a.name] = node.module.split(".")[0]
    return names


CHAR_METHODS = {"isalpha", "isdigit", "isspace", "isalnum", "isupper", "islower", "isdecimal", "isnumeric"}


def _loop_targets(node: ast.AST) -> list[ast.Name]:
    """The plain names a loop binds (``for ch in text``, ``[... for ch in text]``)."""
    if isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        targets = [g.target for g in node.generators]
    else:
        return []
    return [t for t in targets if isinstance(t, ast.Name)]


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


class _Visitor(ast.NodeVisitor):
    def __init__(self, arrays: dict[str, str]) -> None:
        self.f = Features()
        self.arrays = arrays
        self.level = 0
        self.by_framework: dict[str, int] = {}
        self.loop_vars: list[str] = []

    def _loop(self, node: ast.AST) -> None:
        self.f.loops += 1
        self.level += 1
        self.f.depth = max(self.f.depth, self.level)
        names = [t.id for t in _loop_targets(node)]
        self.loop_vars += names
        self.generic_visit(node)
        del self.loop_vars[len(self.loop_vars) - len(names):]
        self.level -= 1

    visit_For = visit_While = visit_AsyncFor = _loop
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _loop

    def visit_Call(self, node: ast.Call) -> None:
        root = _root(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if self.loop_vars and (
                (isinstance(node.func, ast.Attribute) and attr in CHAR_METHODS
                 and isinstance(node.func.value, ast.Name) and node.func.value.id in self.loop_vars)
                or (attr in ("ord", "chr") and node.args and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in self.loop_vars)):
            self.f.char_ops += 1
        if root in self.arrays:
            self.f.array_calls += 1
            self.f.array_calls_in_loop += self.level > 0
            fw = FRAMEWORK_MODULES.get(self.arrays[root], "")
            if fw:
                self.f.framework_calls += 1
                self.by_framework[fw] = self.by_framework.get(fw, 0) + 1
        elif attr in STRING_METHODS or root == "re":
            self.f.string_ops += 1
        elif attr in IO_NAMES or root in IO_MODULES:
            self.f.io_calls += 1
        elif self.level and (attr[:1].isupper() or attr in ("append", "pop", "add", "get", "setdefault")):
            self.f.object_ops_in_loop += 1
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        """``ch in PUNCT`` or ``ch == "x"`` on a loop variable: the loop walks a text one character at a time."""
        if self.loop_vars and isinstance(node.left, ast.Name) and node.left.id in self.loop_vars:
            one_char = [c for c in node.comparators if isinstance(c, ast.Constant) and isinstance(c.value, str)
                        and len(c.value) == 1]
            if any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) or one_char:
                self.f.char_ops += 1
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if self.level:
            if isinstance(node.op, ast.MatMult):
                self.f.array_calls_in_loop += 1
            elif isinstance(node.op, ARITH_OPS):
                self.f.arith_in_loop += 1
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if self.level and isinstance(node.op, ARITH_OPS):
            self.f.arith_in_loop += 1
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (self.level and _root(node) not in self.arrays and node.attr not in STRING_METHODS
                and isinstance(node.ctx, (ast.Load, ast.Store))):
            self.f.object_ops_in_loop += 1
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self.f.string_ops += 1
        self.generic_visit(node)


def features(func: ast.FunctionDef | ast.AsyncFunctionDef, tree: ast.Module) -> Features:
    """Count what ``func`` does (nested functions included: they run as part of it)."""
    v = _Visitor(_array_aliases(tree))
    for stmt in func.body:
        v.visit(stmt)
    if v.by_framework:
        v.f.framework = max(v.by_framework, key=lambda k: v.by_framework[k])
    return v.f


def size_and_complexity(func: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
    """Lines (decorators included) and radon's cyclomatic complexity of ``func``."""
    from radon.complexity import cc_visit_ast

    first = min([func.lineno] + [d.lineno for d in func.decorator_list])
    lines = (func.end_lineno or func.lineno) - first + 1
    blocks = cc_visit_ast(ast.Module(body=[func], type_ignores=[]))
    return lines, max((b.complexity for b in blocks), default=1)


def classify(hotspot: Hotspot, profile: Profile) -> Category:
    """The category of ``hotspot`` with its evidence, size and complexity."""
    s = hotspot.self_split.shares()
    gc_visible = profile.mode in GC_VISIBLE_MODES
    func = tree = None
    source = profile.sources.get(hotspot.key.file)
    if source is not None and hotspot.key.kind == "python":
        try:
            tree = _parse(source)
            func = find_function(tree, hotspot.key.qualname, hotspot.key.line)
        except (SyntaxError, ValueError, RecursionError):
            func = None
    if func is None or tree is None:
        name = _from_split(s)
        fw = hotspot.framework
        return Category(name, f"source not available: from the split alone ({_split_words(s)}); size assumed "
                              f"{ASSUMED_LINES} lines, complexity {ASSUMED_COMPLEXITY}" + _fw_words(fw, hotspot),
                        ASSUMED_LINES, ASSUMED_COMPLEXITY, framework=fw, gc_visible=gc_visible)
    f = features(func, tree)
    lines, cc = size_and_complexity(func)
    fw = hotspot.framework or (f.framework if f.framework_calls * 2 >= f.array_calls else "")
    name = decide(f, s)
    why = evidence(f, s) + _fw_words(fw, hotspot)
    if fw:
        # Framework code: its per-call cost is the framework's dispatch, which NumPy cannot batch away.
        if name == "small-numpy-calls":
            name = "vectorized" if s["native"] >= s["interpreted"] else "mixed"
        return Category(name, why, lines, cc, framework=fw, gc_visible=gc_visible)
    numpy_calls = f.array_calls - f.framework_calls
    owner = hotspot.frame if f.array_calls_in_loop else (_caller_loop(hotspot, profile) if numpy_calls else None)
    if owner is not None and name in ("vectorized", "mixed", "small-numpy-calls"):
        # NumPy calls in a Python loop (this function's, or its caller's around each call of it): batching
        # the calls is what pays, whatever share their C dispatch samples as native. Decided from the
        # source alone, so the same at every --interval and in every mode; exact counts only add words.
        where = "in its loop" if owner == hotspot.frame else f"called in a loop of {profile.frames[owner].key.qualname}"
        tiny = _tiny_calls(hotspot, profile)
        return Category("small-numpy-calls", f"{why}; NumPy calls {where}" + (f"; {tiny}" if tiny else ""),
                        lines, cc, dispatch_bound=True, gc_visible=gc_visible, loop_owner=owner)
    if name == "small-numpy-calls":
        name = "vectorized" if s["native"] >= s["interpreted"] else "mixed"
    return Category(name, why, lines, cc, gc_visible=gc_visible)


def _caller_loop(hotspot: Hotspot, profile: Profile) -> int | None:
    """The user function that calls ``hotspot`` inside one of its loops (its heaviest caller), or None.

    Never for the step itself: the loop that calls the step is the training loop (one call a step), not a
    loop of NumPy calls to batch; counting it made the whole step a "native-loop" item over its phases."""
    if profile.step is not None and hotspot.frame == profile.step.frame:
        return None
    weight: dict[int, float] = {}
    for rec in profile.stacks:
        fr = rec.frames
        for i in range(1, len(fr)):
            if fr[i] == hotspot.frame and profile.frames[fr[i - 1]].user:
                weight[fr[i - 1]] = weight.get(fr[i - 1], 0.0) + rec.split.total
                break
    if not weight:
        return None
    caller = max(weight, key=lambda f: weight[f])
    key = profile.frames[caller].key
    source = profile.sources.get(key.file)
    if source is None or key.kind != "python":
        return None
    try:
        func = find_function(_parse(source), key.qualname, key.line)
    except (SyntaxError, ValueError, RecursionError):
        return None
    leaf = hotspot.key.qualname.rpartition(".")[2]
    return caller if func is not None and _calls_in_loop(func, leaf) else None


def _calls_in_loop(func: ast.AST, name: str) -> bool:
    loops = (ast.For, ast.While, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    for loop in ast.walk(func):
        if isinstance(loop, loops):
            for node in ast.walk(loop):
                if isinstance(node, ast.Call):
                    f = node.func
                    called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                    if called == name:
                        return True
    return False


def _fw_words(fw: str, hotspot: Hotspot) -> str:
    if not fw:
        return ""
    if hotspot.framework_share > 0:
        return f"; {hotspot.framework_share:.0%} of its time under {fw} frames"
    return f"; calls {fw}"


TINY_CALL_S = 200e-6  # a call this short is mostly dispatch (B14: ~0.7 µs per NumPy call, a few per call)


def _tiny_calls(hotspot: Hotspot, profile: Profile) -> str:
    """Words on how short each call is, from exact counts (cprofile mode), or ''.

    Only words: the category is decided from the source, so that it does not depend on the mode. Sampled
    counts are not used at all: "nearly every sample caught a new call" only says each call is shorter
    than the sampling interval, which changes with ``--interval``.
    """
    if profile.step is not None and profile.step.frame == hotspot.frame:
        return ""  # the step itself is called once a step, however short
    if profile.mode == "cprofile":
        calls = hotspot.calls or (profile.calls or {}).get(hotspot.frame, 0)
        if calls < 100:
            return ""
        per_call = hotspot.inclusive_split.total / calls
        if per_call >= TINY_CALL_S:
            return ""
        return f"{calls:,} calls of {per_call * 1e6:.0f} µs each (exact counts)"
    return ""  # sampled counts depend on --interval: they never decide anything


@lru_cache(maxsize=32)
def _parse(source: str) -> ast.Module:
    return ast.parse(source)


def _from_split(s: dict[str, float]) -> str:
    top = max(s, key=lambda b: s[b])
    if s[top] <= 0:
        return "mixed"
    return {"waiting": "io-bound", "native": "vectorized", "gc": "object-heavy"}.get(top, "mixed")


def decide(f: Features, s: dict[str, float]) -> str:
    """The category from AST features and the hotspot's own split shares."""
    if s["waiting"] >= 0.5 or (f.io_calls and s["waiting"] >= max(s.values())):
        return "io-bound"
    # Small NumPy calls spend much of their time in NumPy's C dispatch (B14), which samples as native or
    # interpreted depending on the sampling interval; so a NumPy call inside a loop decides it, not the
    # split. (A per-example function called from its caller's loop is found by ``classify``.)
    if f.array_calls_in_loop:
        return "small-numpy-calls"  # from the source only: the split changes with the sampling interval
    if f.char_ops:
        return "strings"  # a per-character loop (from the source): one C-level string operation is the target
    if s["native"] >= max(s.values()) and s["native"] > 0 and (f.array_calls or not f.loops):
        return "vectorized"  # a loop with no array-library call is not vectorized code, whatever it sampled
    if s["gc"] >= 0.25:
        return "object-heavy"
    if not f.loops:
        return "object-heavy" if f.object_ops_in_loop else ("strings" if f.string_ops else "mixed")
    scores = {"numeric-loop": f.arith_in_loop, "object-heavy": f.object_ops_in_loop, "strings": f.string_ops}
    best = max(scores, key=lambda k: scores[k])
    if scores[best] == 0:
        return "mixed"
    second = sorted(scores.values())[-2]
    return best if scores[best] >= 1.5 * second else "mixed"


def _split_words(s: dict[str, float]) -> str:
    parts = [f"{s['interpreted']:.0%} interpreted", f"{s['native']:.0%} native"]
    parts += [f"{s[b]:.0%} {label}" for b, label in (("waiting", "waiting"), ("gc", "GC")) if s[b] >= 0.05]
    return ", ".join(parts)


def evidence(f: Features, s: dict[str, float]) -> str:
    """One line of evidence, e.g. "3 nested for-loops, 88% interpreted, no NumPy calls in the loop"."""
    parts = []
    if f.loops:
        parts.append(f"{f.depth} nested loops" if f.depth > 1 else
                     ("1 loop" if f.loops == 1 else f"{f.loops} loops, none nested"))
    else:
        parts.append("no loops")
    parts.append(_split_words(s))
    if f.loops:
        parts.append(f"{f.array_calls_in_loop} array-library calls in the loop" if f.array_calls_in_loop
                     else "no NumPy calls in the loop")
        if f.arith_in_loop:
            parts.append(f"{f.arith_in_loop} arithmetic operations in the loop")
        if f.object_ops_in_loop:
            parts.append(f"{f.object_ops_in_loop} attribute/object operations in the loop")
    elif f.array_calls:
        parts.append(f"{f.array_calls} array-library calls")
    if f.string_ops:
        parts.append(f"{f.string_ops} string operations")
    if f.char_ops:
        parts.append(f"{f.char_ops} string operations on each character (a per-character loop)")
    if f.io_calls:
        parts.append(f"{f.io_calls} I/O calls")
    return ", ".join(parts)
