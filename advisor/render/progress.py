"""The live status line shown while a long run is profiled (only when stderr is a terminal).

rich's ``Live`` keeps the line at the bottom and prints the script's own output above it, so the
script's lines are not garbled; it refreshes once a second to stay out of the profile's way.
"""

from __future__ import annotations

import sys

import time
from typing import Callable, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text


class ProgressLine:
    """``start(read)`` shows the line; ``read()`` returns (samples, steps or None); ``stop()`` clears it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None
        self._read: Callable[[], tuple[int, int | None]] = lambda: (0, None)
        self._t0 = 0.0

    def __rich__(self) -> Text:
        samples, steps = self._read()
        elapsed = time.perf_counter() - self._t0
        parts = [f"{elapsed:,.0f} s", f"{samples:,} samples"]
        if steps is not None:
            parts.insert(0, f"{steps:,} steps")
        return Text("advisor: profiling · " + " · ".join(parts) + " · Ctrl-C stops and keeps the profile",
                    style="dim")

    def start(self, read: Callable[[], tuple[int, int | None]]) -> None:
        self._read, self._t0 = read, time.perf_counter()
        # The script's stdout is the script's: it is routed around the status line only when it goes to the
        # same terminal; redirected to a file or a pipe (`advisor profile train.py > out.txt`), it is left alone.
        to_terminal = _isatty(sys.stdout)
        self._live = Live(self, console=self.console, refresh_per_second=1, transient=True,
                          redirect_stdout=to_terminal, redirect_stderr=True)
        self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class StatusLine:
    """A status line for runs that print no output of their own (``advisor try``): rewritten in place on
    a terminal, one line each elsewhere (logs, CI), nothing when ``quiet``. Call it with the text."""

    def __init__(self, stream: TextIO, quiet: bool = False) -> None:
        self.stream, self.quiet, self.tty = stream, quiet, _isatty(stream)

    def __call__(self, line: str) -> None:
        if not self.quiet:
            self.stream.write(f"\r\x1b[K{line}" if self.tty else line + "\n")
            self.stream.flush()

    def clear(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False
