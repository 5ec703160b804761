"""``--threads all``: every Python thread of the main process sampled, each with its own split.

The step thread keeps its own sampler (the profile proper). A watcher thread looks for new threads every
``POLL_S`` and gives each its own ``Sampler`` (used as a library, one timer thread per sampled thread),
up to ``MAX_THREADS``; a thread that ends stops its sampler. advisor's own threads are left out. As the
run ends each thread becomes a ``Part`` (role ``thread``, named by ``Thread.name``).

Cost: each extra sampler takes the GIL once per interval, so the overhead grows with the number of
threads; extra threads are sampled at ``SLOWER``× the main interval to keep it near the one-thread cost.
"""

from __future__ import annotations

import threading
import time
from typing import Any

POLL_S = 0.1
MAX_THREADS = 8
SLOWER = 2.0


class ThreadSamplers:
    """Samplers for the process's other Python threads, started as the threads appear."""

    def __init__(self, interval_s: float, main_ident: int) -> None:
        self.interval_s = interval_s * SLOWER
        self.main_ident = main_ident
        self._sampled: dict[threading.Thread, tuple[Any, float]] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.over_cap = 0

    def start(self) -> None:
        self._scan()
        self._watcher = threading.Thread(target=self._watch, name="advisor-threads", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self._scan()
            except Exception:  # never disturb the run
                pass

    def _scan(self) -> None:
        from advisor.capture.sampler import Sampler

        for t in threading.enumerate():
            if (t in self._sampled or t.ident is None or t.ident == self.main_ident or t.name.startswith("advisor-")
                    or t is threading.current_thread()):
                continue
            if len(self._sampled) >= MAX_THREADS:
                self.over_cap += 1
                self._sampled[t] = (None, 0.0)
                continue
            s = Sampler(self.interval_s, thread_id=t.ident)
            s.start()
            self._sampled[t] = (s, time.perf_counter())

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        for s, _t0 in self._sampled.values():
            if s is not None:
                s.stop()

    def parts(self, user: Any = None) -> tuple[tuple[Any, ...], list[str]]:
        """One part per sampled thread that gave samples, in order of appearance; notes."""
        from advisor.capture.partbuild import summarize_sampler

        out, now = [], time.perf_counter()
        for t, (s, t0) in self._sampled.items():
            if s is None or not s.records:
                continue
            last = s.records.read[-1] if len(s.records) else now
            out.append(summarize_sampler(s, "thread", t.name[:80], max(last - t0, 0.0), user))
        notes = [f"{self.over_cap} more threads beyond the first {MAX_THREADS} were not sampled"] if self.over_cap else []
        return tuple(out), notes
