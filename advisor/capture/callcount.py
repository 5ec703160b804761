"""Exact calls per step: every Python call of the profiled thread counted over one step.

Samples cannot count calls: a function called a thousand times a step in 1 us calls is seen once or
twice, a function called twice in 12 ms calls is seen at most a few times, and from the samples alone the
two look alike. The cost model needs the count (each call of a ported function crosses the language
boundary), so once the step timer times the chosen step function (steptimer.py), advisor counts calls
over one step, the way torch.profiler records a few scheduled steps in detail:

* at the return of the step's ``AFTER``-th timed call, ``sys.setprofile`` installs a counting function
  in the profiled thread only; it adds one to a per-code-object count at each Python ``call`` event;
* at the return of the next call of the same function it is removed: the window holds one whole step
  and what ran between the two calls (loading the next batch);
* the counting slows that stretch (a Python callback per call and return), so analysis leaves its samples
  and its step out of the step's figures (analysis/stepbuild.py) and ``--max-steps`` measures one more.

Safety first: nothing is counted when a profile function is already set (pyinstrument mode, a debugger,
the user's own profiler), at most ``MAX_EVENTS`` calls are counted (the function then removes itself and
the count is marked incomplete), a process forked during the window removes it at once, and whatever
is still open when the run ends is removed from the profiled thread.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, Callable

AFTER = 2  # count the step that follows the return of this many timed calls (past the first, warm-up)
MAX_WINDOWS = 2  # the chosen step may change once while auto-detection settles
MAX_EVENTS = 2_000_000  # calls counted at most (about a second of callbacks); then the count stops


@dataclass(slots=True)
class Window:
    code: CodeType
    start: float
    end: float = 0.0
    counts: dict[CodeType, int] = field(default_factory=dict)
    complete: bool = False


class CallCounter:
    """Counts calls in the profiled thread over one step of the chosen step function."""

    def __init__(self, thread_id: int, clock: Callable[[], float]) -> None:
        self.thread_id = thread_id
        self.clock = clock
        self.windows: list[Window] = []
        self._open: Window | None = None
        self._events = 0
        self._hook: Callable[[Any, str, Any], None] | None = None

    def on_return(self, code: CodeType, ended: int, chosen: object) -> None:
        """After a timed call of ``code`` ended (``ended`` calls so far), in the profiled thread."""
        w = self._open
        if w is not None:
            if code is w.code:
                self._close(True)
            return
        if (code is not chosen or ended < AFTER or len(self.windows) >= MAX_WINDOWS
                or any(x.code is code for x in self.windows) or threading.get_ident() != self.thread_id
                or sys.getprofile() is not None):
            return
        w = Window(code, self.clock())
        counts = w.counts
        self._events = 0

        def hook(frame: Any, event: str, arg: Any) -> None:
            if self._open is not w:  # closed from another thread: remove itself from this one
                sys.setprofile(None)
                return
            if event == "call":
                c = frame.f_code
                counts[c] = counts.get(c, 0) + 1
                self._events += 1
                if self._events >= MAX_EVENTS:
                    sys.setprofile(None)
                    self._close(False)

        self._hook = hook
        self._open = w
        self.windows.append(w)
        _ACTIVE.add(self)
        sys.setprofile(hook)

    def _close(self, complete: bool) -> None:
        w = self._open
        if w is None:
            return
        if sys.getprofile() is self._hook:
            sys.setprofile(None)
        else:
            complete = False  # someone replaced it (or the cap removed it): the count is partial
        w.end = self.clock()
        w.complete = complete
        self._open = None
        self._hook = None
        _ACTIVE.discard(self)

    def close(self) -> None:
        """At the end of the run: remove what is still open (its count is incomplete). From another
        thread the profile function cannot be removed; it is disarmed instead."""
        if self._open is None:
            return
        if threading.get_ident() == self.thread_id:
            self._close(False)
            return
        w = self._open
        w.end, w.complete = self.clock(), False
        self._open = None
        w.counts = dict(w.counts)
        _ACTIVE.discard(self)

    def after_fork_child(self) -> None:
        if self._hook is not None and sys.getprofile() is self._hook:
            sys.setprofile(None)
        self._open = None
        self._hook = None

    def records(self) -> list[dict[str, Any]]:
        """The finished windows: {"code", "start", "end", "counts", "complete"}."""
        return [{"code": w.code, "start": w.start, "end": w.end, "counts": dict(w.counts), "complete": w.complete}
                for w in self.windows if w.end > 0.0]


_ACTIVE: set[CallCounter] = set()


def _forked() -> None:
    for c in list(_ACTIVE):
        c.after_fork_child()
    _ACTIVE.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
