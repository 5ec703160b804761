"""Exact rounds of a loop that is the step (Python 3.12+ ``sys.monitoring``).

Many scripts run the step inline (``for batch in loader: ...`` inside ``main``). Once the step function
is known, the step timer (``steptimer.py``) also times the rounds of the loops that stand around its call
site in the calling frames (at most ``MAX_FRAMES`` frames up, every loop around the call line): detection
(``analysis/detect.py``) may decide that such a loop, not the function, is the step, and then reads these
rounds instead of estimating them from samples.

Events are enabled on the calling code objects only (``set_local_events``: no other code pays):

* ``JUMP`` at the loop's back edge (a backward jump to the loop header, or to the first line of its body
  for ``while`` loops, whose test CPython 3.12 repeats at the bottom) ends a round and starts the next;
* ``BRANCH`` at the header (``FOR_ITER``, the ``while`` test): going on confirms a round, leaving ends it;
* the first ``BRANCH`` going on (or, for a ``while True`` loop, which has no test, ``LINE`` at its header)
  starts the first round when the loop is entered; a forward ``JUMP`` out of the loop (``break``), or
  the frame returning or unwinding, ends the round.

Every other jump, branch or line of that code object returns ``DISABLE`` the first time it fires: after
that only the header's branch and the back edge cost anything (two callbacks a round; measured in
docs/how-it-works.md). A round that ended at
the header without its body having run (the iterator was exhausted) is dropped. Rounds are contiguous:
fetching the next batch belongs to the round it feeds. A loop whose rounds come faster than
``MAX_RATE`` a second is an inner per-element loop, not a step: it stops being timed.

On 3.10/3.11 there is no per-code event; a line tracer would cost on every call of every function. Loop
steps stay sampled there (``step.timing`` "sampled", labelled as an estimate; docs/how-it-works.md).
"""

from __future__ import annotations

import dis
import linecache
import os
import sys
import sysconfig
import threading
import types
from dataclasses import dataclass
from typing import Any, Callable

from advisor.loopsource import enclosing_loops, nested_spans

MAX_FRAMES = 3  # calling frames above the step function whose loops are timed
MAX_RATE = 5000.0  # rounds a second above which a loop is an inner per-element loop (after FREQUENT_AFTER)
FREQUENT_AFTER = 2000
# Marks a loop's record among the step timer's records: ``code_key`` of a ``LoopSite`` gives the function's
# file and first line, and its qualname followed by this and the loop's header line (``timing.py`` reads it).
LOOP_MARK = "\x00loop@"
_JUMP, _BRANCH, _LINE = 0, 1, 2
_ROUND_HEADER, _ROUND_BODY = "round, header", "round, body"
_DISABLE = getattr(getattr(sys, "monitoring", None), "DISABLE", None)
AROUND_CALL = "sys.monitoring, loop around the step's call"  # ``how`` of the records watch_callers makes
_NOT_PLAIN = 0x20 | 0x80 | 0x100 | 0x200  # generators and coroutines: their frames suspend mid-loop


@dataclass(frozen=True, slots=True)
class LoopSite:
    """A loop in a code object, keyed by its header line; reads like a code object to ``code_key``."""

    code: types.CodeType
    line: int

    @property
    def co_filename(self) -> str:
        return self.code.co_filename

    @property
    def co_qualname(self) -> str:
        return f"{getattr(self.code, 'co_qualname', self.code.co_name)}{LOOP_MARK}{self.line}"

    @property
    def co_name(self) -> str:
        return self.co_qualname

    @property
    def co_firstlineno(self) -> int:
        return self.code.co_firstlineno


def split_mark(qualname: str) -> tuple[str, int | None]:
    """(the function's qualname, the loop's header line) from a ``LoopSite`` record's qualname."""
    name, mark, line = qualname.partition(LOOP_MARK)
    return (name, int(line)) if mark and line.isdigit() else (qualname, None)


class LoopRounds:
    """The state machine of one loop: which events end a round, which start one."""

    def __init__(self, code: types.CodeType, start: int, end: int, nested: tuple[tuple[int, int], ...],
                 record: Any, clock: Callable[[], float]) -> None:
        self.start, self.end, self.nested = start, end, nested
        self.record = record  # a steptimer.Calls: starts, ends, since, in_call
        self.clock = clock
        self.open = False
        self.confirmed = False
        self.dead = False
        self.site: LoopSite | None = None  # set for a named loop: its rounds are reported to on_round
        self.on_round: Callable[[Any, int], None] | None = None
        self.line_of = _line_table(code)
        self.next_of = _next_table(code)
        body = [o for o, ln in self.line_of.items() if start < ln <= end]
        self.body_start = min(body) if body else -1
        heads = [i for i in dis.get_instructions(code) if self.line_of.get(i.offset) == start]
        self.tested = any(i.opname == "FOR_ITER" or i.opname.startswith("POP_JUMP") for i in heads)

    # ---- static classification (the same answer every time for an offset: DISABLE is safe) ------------
    def _inside(self, line: int | None) -> bool:
        return line is not None and self.start <= line <= self.end

    def _nested(self, line: int | None) -> bool:
        return line is not None and any(s <= line <= e for s, e in self.nested)

    def jump_kind(self, src: int, dest: int) -> str:
        ls, ld = self.line_of.get(src), self.line_of.get(dest)
        if not self._inside(ls):
            return ""
        if dest < src and not self._nested(ld):
            if dest == self.body_start:
                return _ROUND_BODY  # straight into the body (while True; a while test repeated at the bottom)
            if ld == self.start:
                return _ROUND_HEADER  # to the header: a test (FOR_ITER, the while test) may still end it
        if not self._inside(ld):
            return "exit"
        return ""

    def branch_kind(self, src: int, dest: int) -> str:
        if self.line_of.get(src) != self.start:
            return ""
        ld = self.line_of.get(dest)
        if dest == self.next_of.get(src) or (ld is not None and self.start < ld <= self.end):
            return "go on"
        return "exit"

    # ---- rounds ------------------------------------------------------------------------------------------
    def _open(self, now: float, confirmed: bool) -> None:
        self.record.starts.append(now)
        self.open, self.confirmed = True, confirmed

    def close(self, now: float) -> None:
        if not self.open:
            return
        self.open = False
        if self.confirmed:
            self.record.ends.append(now)
            if self.on_round is not None:
                self.on_round(self.site, len(self.record.ends))
        else:
            self.record.starts.pop()  # the header ran, the body did not: not a round

    def on(self, kind: str, now: float) -> None:
        if kind is _ROUND_HEADER or kind is _ROUND_BODY:  # the back edge: the hot path, kept short
            if self.open:
                self.close(now)
            if len(self.record.ends) < FREQUENT_AFTER or not self._too_often(now):
                self.record.starts.append(now)
                self.open, self.confirmed = True, kind is _ROUND_BODY or not self.tested
        elif kind == "go on":
            if not self.open:
                self._open(now, confirmed=True)
            self.confirmed = True
        elif kind == "exit":
            self.close(now)
        elif kind == "enter" and not self.open:
            self._open(now, confirmed=not self.tested)

    def _too_often(self, now: float) -> bool:
        n = len(self.record.ends)
        if n >= FREQUENT_AFTER and now - self.record.since < n / MAX_RATE:
            self.dead = True  # an inner per-element loop: its rounds are not steps
            self.record.starts.clear()
            self.record.ends.clear()
            return True
        return False


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # advisor itself (the runner)
    return tuple(os.path.join(r, "") for r in roots)


_LIBRARY = _library_roots()


def _not_users(filename: str) -> bool:
    """Loops in the standard library, installed packages or advisor are never the step (detection only
    takes loops in the user's frames); leaving them out also keeps the set-up short (no large files
    parsed while the script waits for the GIL)."""
    return filename.startswith("<") or os.path.abspath(filename).startswith(_LIBRARY)


def _mask(loops: list[LoopRounds]) -> int:
    """The events the loops of one code object need: ``LINE`` only for a loop without a test at its header
    (``while True``), whose entry no branch announces; one event fewer a round for the others."""
    ev = sys.monitoring.events  # type: ignore[attr-defined]
    mask = ev.JUMP | ev.BRANCH | ev.PY_RETURN
    return mask | ev.LINE if any(not r.tested for r in loops) else mask


def _line_table(code: types.CodeType) -> dict[int, int]:
    out: dict[int, int] = {}
    for a, b, line in code.co_lines():
        if line is not None:
            for off in range(a, b, 2):
                out[off] = line
    return out


def _next_table(code: types.CodeType) -> dict[int, int]:
    ins = list(dis.get_instructions(code))
    return {a.offset: b.offset for a, b in zip(ins, ins[1:])}


class LoopWatch:
    """Times the loops around the step's call site (3.12+), on the step timer's ``sys.monitoring`` tool."""

    def __init__(self, tool: int, thread_id: int, clock: Callable[[], float], records: dict,
                 new_record: Callable[[bool], Any], on_round: Callable[[Any, int], None] | None = None) -> None:
        self.tool, self.thread_id, self.clock = tool, thread_id, clock
        self.on_round = on_round  # called in the profiled thread after each round ends (--max-steps)
        self.records = records  # the step timer's ``calls``: LoopSite -> Calls
        self.new_record = new_record
        self.by_code: dict[types.CodeType, list[LoopRounds]] = {}
        self._codes: dict[int, tuple[types.CodeType, list[LoopRounds]]] = {}  # id(code) -> (code, loops)
        self._cache: dict[tuple[int, int, int, int], tuple[tuple[LoopRounds, str], ...]] = {}
        mon = sys.monitoring  # type: ignore[attr-defined]
        ev = mon.events
        mon.register_callback(tool, ev.JUMP, self._jump)
        mon.register_callback(tool, ev.BRANCH, self._branch)
        mon.register_callback(tool, ev.LINE, self._line)

    # ---- choosing the loops ------------------------------------------------------------------------------
    def watch_callers(self, step: types.CodeType) -> dict[types.CodeType, int]:
        """Time the loops around the call of ``step`` in up to ``MAX_FRAMES`` calling frames (read from the
        profiled thread's stack now). Returns the event mask each newly watched code object needs."""
        frame = sys._current_frames().get(self.thread_id)
        stack = []
        while frame is not None:
            stack.append(frame)
            frame = frame.f_back
        stack.reverse()  # root first
        at = next((i for i, f in enumerate(stack) if f.f_code is step), None)
        if at is None:
            return {}
        masks = {}
        for f in reversed(stack[max(0, at - MAX_FRAMES):at]):
            code = f.f_code
            if code in self.by_code or code.co_flags & _NOT_PLAIN or _not_users(code.co_filename):
                continue
            source = "".join(linecache.getlines(code.co_filename, f.f_globals))
            line = f.f_lineno
            spans = enclosing_loops(source, line) if source and line else []
            loops = []
            for start, end, _kind in spans:
                if not code.co_firstlineno <= start:
                    continue
                record = self.new_record(True)  # the frame stands in the loop: rounds before now are missed
                record.how = AROUND_CALL
                rounds = LoopRounds(code, start, end, nested_spans(source, start, end), record, self.clock)
                self.records[LoopSite(code, start)] = record
                loops.append(rounds)
            if loops:
                self._add(code, loops)
                masks[code] = _mask(loops)
        return masks

    def watch_site(self, site: LoopSite) -> dict[types.CodeType, int]:
        """Time one named loop: missed rounds only if its frame stands inside it now."""
        code = site.code
        if code in self.by_code or code.co_flags & _NOT_PLAIN:
            return {}
        source = "".join(linecache.getlines(code.co_filename))
        span = next((s for s in enclosing_loops(source, site.line) if s[0] == site.line), None)
        if span is None:
            return {}
        frame = sys._current_frames().get(self.thread_id)
        missed = False
        while frame is not None:
            if frame.f_code is code and span[0] <= (frame.f_lineno or 0) <= span[1]:
                missed = True
            frame = frame.f_back
        record = self.new_record(missed)
        rounds = LoopRounds(code, span[0], span[1], nested_spans(source, span[0], span[1]), record, self.clock)
        rounds.site, rounds.on_round = site, self.on_round
        self.records[site] = record
        self._add(code, [rounds])
        return {code: _mask([rounds])}

    # ---- events ------------------------------------------------------------------------------------------
    # The callbacks run at every round: they look things up by ``id(code)`` (hashing a code object hashes
    # its bytecode and constants) and cache each event's meaning (the same for a given offset).
    def _dispatch(self, key: tuple[int, int, int, int], code: types.CodeType, src: int, dest: int) -> Any:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._classify(key[1], code, src, dest)
        if not hit:
            return _DISABLE
        if threading.get_ident() != self.thread_id:
            return None
        now = self.clock()
        for r, k in hit:
            r.on(k, now)
            if r.dead:
                self._cache.clear()  # a dropped loop: its events mean nothing any more
        return None

    def _classify(self, event: int, code: types.CodeType, src: int, dest: int) -> tuple[tuple[LoopRounds, str], ...]:
        entry = self._codes.get(id(code))
        if entry is None or entry[0] is not code:
            return ()
        out = []
        for r in entry[1]:
            if r.dead:
                continue
            k = (r.jump_kind(src, dest) if event == _JUMP else r.branch_kind(src, dest) if event == _BRANCH
                 else "enter" if src == r.start else "")
            if k:
                out.append((r, k))
        return tuple(out)

    def _jump(self, code: types.CodeType, src: int, dest: int) -> Any:
        return self._dispatch((id(code), _JUMP, src, dest), code, src, dest)

    def _branch(self, code: types.CodeType, src: int, dest: int) -> Any:
        return self._dispatch((id(code), _BRANCH, src, dest), code, src, dest)

    def _line(self, code: types.CodeType, line: int) -> Any:
        return self._dispatch((id(code), _LINE, line, 0), code, line, 0)

    def _add(self, code: types.CodeType, loops: list[LoopRounds]) -> None:
        self.by_code[code] = loops
        self._codes[id(code)] = (code, loops)
        self._cache.clear()

    def owns(self, code: types.CodeType) -> bool:
        entry = self._codes.get(id(code))
        return entry is not None and entry[0] is code

    def leave(self, code: types.CodeType) -> None:
        """The frame of ``code`` returned or unwound: open rounds end (called from the timer's callbacks)."""
        entry = self._codes.get(id(code))
        if entry is not None and entry[0] is code and threading.get_ident() == self.thread_id:
            now = self.clock()
            for r in entry[1]:
                r.close(now)

    def close(self) -> None:
        mon = sys.monitoring  # type: ignore[attr-defined]
        for ev in (mon.events.JUMP, mon.events.BRANCH, mon.events.LINE):
            mon.register_callback(self.tool, ev, None)
