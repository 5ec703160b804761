"""Reading the profiled thread's Python stack from the sampler thread, safely.

``stack_reader()`` returns ``read(thread_ident) -> (codes, lines, same, leaf_lasti, depth) | None``
(``codes``/``lines`` root → leaf; ``same``: how many outermost frames are the same calls as at the
previous read (told by a mark in each seen call's frame object, ``f_trace``, which a new call lacks); ``depth``: the full depth, which can exceed ``len(codes)`` for very deep stacks).

Two implementations, the first that works:

* ``_stackread`` (C, built at install where a compiler exists): the whole walk is one C call with the
  GIL held. The profiled thread cannot run meanwhile, no frame object is created, nothing of the user's
  is touched. This is what makes deep recursion and GC-heavy steps safe (docs/how-it-works.md).
* pure Python: ``sys._current_frames()`` and ``f_back``, with the cyclic GC paused for the walk only.
  Walking ``f_back`` creates frame objects; an allocation that starts a collection in the sampler
  thread runs Python code (``gc.callbacks``, finalizers), lets the profiled thread return from the
  frames being walked, and CPython 3.11 then reads freed memory. With automatic collection paused, the
  walk allocates but never collects, so no Python code runs inside an ``f_back``. The collector is
  re-enabled only if it was enabled, right after the walk.
"""

from __future__ import annotations

import gc
import os
import sys
from types import CodeType
from typing import Callable, Optional, Tuple

StackRead = Optional[Tuple[Tuple[CodeType, ...], Tuple[int, ...], int, int, int]]
KEEP = 1024  # frames kept of a deeper stack: the outermost and innermost halves


def stack_reader(prefer_c: bool = True) -> Callable[[int], StackRead]:
    """The best available stack reader for this interpreter (``ADVISOR_STACK_READER=python`` forces the
    pure-Python one, for comparison and for the soak benchmark)."""
    if prefer_c and os.environ.get("ADVISOR_STACK_READER", "") != "python":
        try:
            from advisor.capture import _stackread  # type: ignore[attr-defined]
        except ImportError:
            pass
        else:
            _stackread.reset()
            _stackread.set_mark(_mark)
            return _stackread.read
    return _python_reader()


def reader_name() -> str:
    """Which reader ``stack_reader()`` uses here ("c" or "python"), for the profile's metadata."""
    if os.environ.get("ADVISOR_STACK_READER", "") == "python":
        return "python"
    try:
        from advisor.capture import _stackread  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return "python"
    return "c"


def _mark(frame: object, event: str, arg: object) -> None:
    """Marks a frame object as seen by the sampler (its ``f_trace``, set only where none is set).

    CPython calls it only while a tracer (a debugger, coverage) is active; returning None then removes
    the mark and turns local tracing off for that frame, as if it had never been set.
    """
    return None


def _python_reader() -> Callable[[int], StackRead]:
    current_frames, isenabled, disable, enable = sys._current_frames, gc.isenabled, gc.disable, gc.enable
    prev_ids: list[int] = []

    def read(tid: int) -> StackRead:
        was_on = isenabled()
        if was_on:
            disable()
        try:
            frame = current_frames().get(tid)
            frames = []
            while frame is not None:
                frames.append(frame)
                frame = frame.f_back
        finally:
            if was_on:
                enable()
        if not frames:
            return None
        frames.reverse()
        depth = len(frames)
        if depth > KEEP:
            frames = frames[:KEEP // 2] + frames[-(KEEP // 2):]
        same, limit = 0, min(len(frames), len(prev_ids))
        while same < limit and id(frames[same]) == prev_ids[same] and frames[same].f_trace is _mark:
            same += 1
        for f in frames[same:]:
            if f.f_trace is None:
                f.f_trace = _mark
        codes = tuple(f.f_code for f in frames)
        lines = tuple(f.f_lineno or 0 for f in frames)
        leaf_lasti = frames[-1].f_lasti
        prev_ids[:] = [id(f) for f in frames]
        del frames
        return codes, lines, same, leaf_lasti, depth

    return read


# What sleep_probe reports (0: unknown): bytecode; a C call confirmed; off the CPU; runnable but waiting
# for a core under a call / under an operator that may call C; moved on from such an instruction
# (bytecode); on the same instruction / moved on after running long (ambiguous). WOKEN is the sampler's
# own judgement: preempted at an instruction where it usually blocks.
BYTECODE, C_CALL, BLOCKED, PREEMPTED, MOVED, PREEMPTED_OP, WOKEN, SAME_LONG, MOVED_LONG = 1, 2, 4, 5, 6, 7, 8, 9, 10


# Generic (unspecialized) forms of instructions that run a type's C slot: ``a + b`` or ``x[i]`` on NumPy
# arrays or tensors spends its time in C under these. Their specialized forms (BINARY_OP_ADD_INT,
# BINARY_SUBSCR_LIST_INT, COMPARE_OP_FLOAT...) are the interpreter's own fast paths: interpreted time.
_SLOT_OPS = ("BINARY_OP", "BINARY_OP_ADAPTIVE", "BINARY_SUBSCR", "BINARY_SUBSCR_ADAPTIVE", "STORE_SUBSCR",
             "STORE_SUBSCR_ADAPTIVE", "BINARY_SLICE", "STORE_SLICE", "UNARY_NEGATIVE", "UNARY_INVERT")


# Call instructions in their generic form on 3.11+ (the interpreter specializes calls of Python functions,
# builtin functions and methods of builtin types; a site left generic calls what it cannot specialize: a
# ufunc or another extension's callable object, a class, a keyword call). The thread under one of these
# at the wake-up is in the call's C code: the callee's, or the dispatch and argument handling around a
# Python callee, whose own bytecode runs in its own frame. Like a generic ``+``: C at once, if the thread
# runs (``_stackread.c``).
_GENERIC_CALLS = ("CALL", "CALL_ADAPTIVE", "CALL_FUNCTION_EX", "CALL_KW")


# Calls the interpreter does inline, without calling out (``len``, ``isinstance``, ``list.append``,
# ``type(x)``): part of the bytecode's own cost, which a compiled port removes.
_INLINE_CALLS = ("_LEN", "ISINSTANCE", "LIST_APPEND", "TYPE_1")


class SiteRecords:
    """What the probe found at each instruction that may call C (its address): when it could tell, the
    thread staying in the call (C), moving on (bytecode) or blocked there; and after a long run (a busy
    machine), on the same instruction again or not. A thread the probe could not judge at such an
    instruction (it waited for a core) is judged by that record, so the split of a busy machine reads
    like a quiet one's (docs/how-it-works.md, "The native probe"). A read that finds the thread running
    at a site where it is usually blocked (a lock's acquire, a join) is its wake-up from that wait.

    (Turning "moved on" reads into C at a site often seen staying was tried and dropped: in a loop of
    tiny calls the thread is back on the same instruction at a poll often enough, under load, to make
    ``dict.get`` read as a C call. Short C calls are caught by the generic-call rule instead.)"""

    __slots__ = ("seen",)
    MIN_SEEN = 2  # clear reads before a site's record is trusted
    MIN_LONG = 3  # long reads before their proportion is
    LONG_C = 0.6  # the share of long reads on the same instruction that means a C call
    MAX_SITES = 100_000  # bounded memory on a long run with much generated code
    _SLOT = {C_CALL: 0, MOVED: 1, BLOCKED: 2, SAME_LONG: 3, MOVED_LONG: 4}

    def __init__(self) -> None:
        self.seen: dict[int, list[int]] = {}

    def judge(self, kind: int, site: int) -> int:
        record = self.seen.get(site)
        slot = self._SLOT.get(kind)
        if slot is not None:
            if record is None and len(self.seen) < self.MAX_SITES:
                record = self.seen[site] = [0, 0, 0, 0, 0]
            if record is not None:
                record[slot] += 1
            if kind == C_CALL and record is not None and record[2] >= self.MIN_SEEN and record[2] > record[0]:
                return WOKEN  # running where it is usually blocked (a lock, a join): woken from that wait
            if kind != SAME_LONG and kind != MOVED_LONG:
                return kind
        if record is None:
            return 0  # unknown: hand-over timing decides (a long C call shows there)
        c, moved, blocked, same_long, moved_long = record
        if c + moved + blocked >= self.MIN_SEEN:
            best = max(c, moved, blocked)
            return C_CALL if best == c else MOVED if best == moved else WOKEN
        if same_long + moved_long >= self.MIN_LONG:
            return C_CALL if same_long >= self.LONG_C * (same_long + moved_long) else MOVED
        return 0


def _call_opcodes() -> bytes:
    """(opcode, 1 | 2 | 3 | 4) pairs, specialized opcodes included, of instructions under which the thread
    runs C code it called: 1 for call instructions that may call a C function, 2 on 3.11+ for the generic
    forms of the operator instructions (``_SLOT_OPS``; 3 for BINARY_OP, whose oparg says more), 4 on
    3.11+ for the generic call forms (``_GENERIC_CALLS``). On 3.10, which does not specialize, operators on
    ints would count as C too, so only calls count there (and all of them are watched)."""
    import dis
    import opcode

    names: dict[str, int] = dict(getattr(dis, "_all_opmap", None) or dis.opmap)
    names.update(getattr(opcode, "_specialized_opmap", None) or {})
    for i, n in enumerate(getattr(opcode, "_specialized_instructions", [])):  # 3.11: numbered after opmap
        if n not in names and hasattr(dis, "_all_opname") and n in dis._all_opname:  # type: ignore[attr-defined]
            names[n] = dis._all_opname.index(n)  # type: ignore[attr-defined]
    calls = {v: 1 for n, v in names.items() if "CALL" in n and "INTRINSIC" not in n and "CALL_PY_" not in n
             and "ENTER_INIT" not in n and "PYFUNC" not in n and not n.startswith("INSTRUMENTED_") and 0 <= v < 256
             and not any(inline in n for inline in _INLINE_CALLS)}
    if sys.version_info >= (3, 11):
        calls.update({names[n]: 3 if n.startswith("BINARY_OP") else 2
                      for n in _SLOT_OPS if n in names and 0 <= names[n] < 256})
        calls.update({names[n]: 4 for n in _GENERIC_CALLS if n in names and 0 <= names[n] < 256})
    return bytes(b for op in sorted(calls) for b in (op, calls[op]))


def _sure_opargs() -> bytes:
    """BINARY_OP arguments (+ - * @ and their in-place forms) that the interpreter specializes for ints
    and floats: their generic form runs another type's C slot (a NumPy array, a tensor, a list)."""
    import opcode

    ops = getattr(opcode, "_nb_ops", None) or []
    want = {"NB_ADD", "NB_SUBTRACT", "NB_MULTIPLY", "NB_MATRIX_MULTIPLY", "NB_INPLACE_ADD", "NB_INPLACE_SUBTRACT",
            "NB_INPLACE_MULTIPLY", "NB_INPLACE_MATRIX_MULTIPLY"}
    return bytes(i for i, entry in enumerate(ops) if entry[0] in want and i < 256)


def native_probe(thread_ident: int, native_id: int | None) -> Callable[[float], tuple] | None:
    """``sleep_probe(seconds) -> (kind, probe seconds, site, code)`` (see ``_stackread.c``) for the given
    thread, or None where the probe is not available: it needs the C extension, Linux x86-64/arm64 and
    ``process_vm_readv`` on the process itself (no ptrace, no signal). ``ADVISOR_NATIVE_PROBE=off`` turns it
    off (the split then rests on GIL hand-over timing alone, docs/how-it-works.md)."""
    if os.environ.get("ADVISOR_NATIVE_PROBE", "").lower() in ("off", "0", "no") or native_id is None:
        return None
    if os.environ.get("ADVISOR_STACK_READER", "") == "python":
        return None
    try:
        from advisor.capture import _stackread  # type: ignore[attr-defined]
    except ImportError:
        return None
    install = getattr(_stackread, "probe_install", None)
    if install is None:
        return None
    try:
        if not install(thread_ident, native_id, _call_opcodes(), _sure_opargs()):
            return None
    except (OSError, ValueError, TypeError, OverflowError):
        return None
    return _stackread.sleep_probe


def remove_probe() -> None:
    try:
        from advisor.capture import _stackread  # type: ignore[attr-defined]
    except ImportError:
        return
    remove = getattr(_stackread, "probe_remove", None)
    if remove is not None:
        remove()
