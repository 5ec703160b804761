"""What a profiled run captures beside the step thread: other threads (``threads.py``) and child processes
(``children.py``), attached to the final profile as ``Profile.parts`` with their notes as warnings.

Nothing here may stop the run: a failure to set up either is one warning in the profile."""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from advisor.model import Profile

WORKERS_DIR = "workers"


class SideCapture:
    """Set up with the run (``install``), read as it saves (``attach``), removed after (``close``)."""

    def __init__(self, threads: bool, children: bool, out: Path | None, interval_s: float, both: Any) -> None:
        self.notes: list[str] = []
        self.threads = None
        self.children = None
        self._want_children = children
        self._out, self._interval = out, interval_s
        self._tmp: str | None = None
        if threads:
            from advisor.capture.threads import ThreadSamplers

            self.threads = ThreadSamplers(interval_s, threading.get_ident())
            both.side.append(self.threads)

    def install(self) -> None:
        if not self._want_children:
            return
        from advisor.capture.children import ChildCapture

        try:
            if self._out is not None:
                folder = self._out / WORKERS_DIR
            else:
                self._tmp = tempfile.mkdtemp(prefix="advisor-workers-")
                folder = Path(self._tmp)
            self.children = ChildCapture(folder, self._interval).install()
        except Exception as exc:  # the run goes on unprofiled children
            self.notes.append(f"child processes are not profiled: {type(exc).__name__}: {exc}"[:200])

    def attach(self, profile: Profile, user: Any) -> Profile:
        parts: list[Any] = []
        notes = list(self.notes)
        for source in (self.children, self.threads):
            if source is None:
                continue
            try:
                got, more = source.collect() if source is self.children else source.parts(user)
                parts.extend(got)
                notes.extend(more)
            except Exception as exc:
                notes.append(f"could not read the {'child processes' if source is self.children else 'threads'}: "
                             f"{type(exc).__name__}: {exc}"[:200])
        if not parts and not notes:
            return profile
        return replace(profile, parts=tuple(parts)[:64], warnings=profile.warnings + tuple(notes))

    def close(self) -> None:
        if self.children is not None:
            self.children.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
