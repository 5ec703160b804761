"""``--max-steps``: count step calls while the script runs, so the sampler can stop it cleanly.

Each watcher is called from the sampler thread with the sampled code objects (root→leaf) and the depth
from which they are new invocations; it returns True when the script should be stopped. Counts come
from samples, so a step shorter than the sampling interval is counted late (the run goes a little
longer than asked, never shorter).
"""

from __future__ import annotations

import sys
from types import CodeType
from typing import Callable

from advisor.analysis.step import match_step
from advisor.capture.sampler import code_key


class NamedStepWatch:
    """Stops after ``warmup + max_steps`` completed calls of the function named by ``--step``."""

    def __init__(self, spec: str, warmup: int, max_steps: int) -> None:
        self.spec = spec
        self.limit = warmup + max_steps
        self.calls = 0
        self.chosen: CodeType | None = None
        self.exact_stop = True  # the user named the step: --max-steps may count its timed calls
        self._cache: dict[CodeType, bool] = {}

    def _is_step(self, code: CodeType) -> bool:
        hit = self._cache.get(code)
        if hit is None:
            hit = self._cache[code] = bool(match_step(self.spec, [code_key(code)]))
        return hit

    def __call__(self, codes: tuple[CodeType, ...], same: int) -> bool:
        for depth, code in enumerate(codes):
            if self._is_step(code):
                self.chosen = code  # the step timer times it from now on (steptimer.py)
                if depth >= same:
                    self.calls += 1  # a new call started: the previous ones are complete
                    return self.calls > self.limit
                return False
        return False


    def scan(self) -> CodeType | None:
        """The step function's code if the script has defined it already (looked up by name in
        ``__main__`` or the named module), so that the step timer starts before its first call."""
        spec = self.spec
        module_name, _, qualname = spec.rpartition(":") if ":" in spec else ("__main__", "", spec)
        module = sys.modules.get(module_name or "__main__")
        if module is None:
            return None
        obj: object = module
        for part in qualname.split("."):
            obj = getattr(obj, part, None) if not isinstance(obj, dict) else obj.get(part)
            if obj is None:
                return None
        code = getattr(getattr(obj, "__func__", obj), "__code__", None)
        if isinstance(code, CodeType) and self._is_step(code):
            return code
        return None


class AutoStepWatch:
    """Without ``--step``: follows the same rule as auto-detection, on counts kept as samples arrive."""

    def __init__(self, warmup: int, max_steps: int, is_user: Callable[[CodeType], bool]) -> None:
        self.limit = warmup + max_steps
        self.is_user = is_user
        self.calls: dict[CodeType, int] = {}
        self.weight: dict[CodeType, int] = {}
        self.depth: dict[CodeType, int] = {}
        self._user: dict[CodeType, bool] = {}
        self._n = 0
        self.chosen: CodeType | None = None
        # an auto-detected choice may still change (a per-op helper first): --max-steps counts samples
        self.exact_stop = False
        # functions the step timer found to be helpers (called thousands of times a second) or could not
        # time: never the step; the sampler fills it
        self.not_steps: dict[CodeType, str] = {}

    def __call__(self, codes: tuple[CodeType, ...], same: int) -> bool:
        for depth, code in enumerate(codes):
            u = self._user.get(code)
            if u is None:
                u = self._user[code] = self.is_user(code) and code.co_name != "<module>"
            if not u:
                continue
            self.weight[code] = self.weight.get(code, 0) + 1
            if depth >= same:
                self.calls[code] = self.calls.get(code, 0) + 1
            if code not in self.depth or depth < self.depth[code]:
                self.depth[code] = depth
        self._n += 1
        if self._n >= 100 and self._n % (5 if self._n < 200 else 50) == 0:
            self.chosen = self.current()  # the step timer times it (after 100 samples, checked often)
        if self._n % 50:
            return False
        step = self.current()
        return step is not None and self.calls[step] > self.limit

    def current(self) -> CodeType | None:
        cands = [c for c, n in self.calls.items() if n >= 2 and c not in self.not_steps]
        if not cands:
            return None
        best = max(cands, key=lambda c: self.weight[c])
        while True:
            finer = [c for c in cands if self.depth[c] > self.depth[best]
                     and self.calls[c] >= 2 * self.calls[best] and self.weight[c] >= 0.5 * self.weight[best]]
            if not finer:
                return best
            best = max(finer, key=lambda c: self.weight[c])
