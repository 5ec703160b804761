"""``--max-steps``: count step calls while the script runs, so the sampler can stop it cleanly.

Each watcher is called from the sampler thread with the sampled code objects (root→leaf) and the depth
from which they are new invocations; it returns True when the script should be stopped. Sampled counts
are lower bounds (a step shorter than the sampling interval is counted late: the run goes a little
longer than asked, never shorter).

When the step timer runs (``steptimer.py``), the watcher's ``chosen`` step is timed and the run stops
after exactly ``--max-steps`` timed calls of it (``Sampler.on_timed_return``); ``exact_stop`` says when
the timer, not the sampled count, decides. For an auto-detected step the choice can change while the
script runs (a per-op helper such as a scalar-autograd ``__mul__`` looks like the step in the first
samples): a sampled stop then waits until the choice has held for ``STABLE_CHECKS`` checks, and the
timed stop only counts calls of the step chosen last.
"""

from __future__ import annotations

import linecache
import sys
from types import CodeType
from typing import Any, Callable

from advisor.capture.looptimer import LoopSite
from advisor.capture.sampler import code_key
from advisor.loopsource import enclosing_loops
from advisor.model import Candidate
from advisor.stepspec import match_step


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


STABLE_CHECKS = 10  # an auto-detected choice that held this many checks in a row may stop the run on samples

class LoopStepWatch:
    """``--step FILE:LINE`` (Python 3.12+, where loop rounds can be timed): the loop at that line is the
    step. As soon as a sample shows a code object of that file (the script's ``<module>`` in the first
    sample), the code object holding the line is looked up among it and the code objects it defines
    (``main`` before it is called), ``chosen`` names the loop (``looptimer.LoopSite``) and the step timer
    times its rounds from before the loop starts (the count is then exact; if the loop was already
    running, "at least"). ``--max-steps`` counts timed rounds."""

    def __init__(self, spec: str, warmup: int, max_steps: int) -> None:
        file, _, line = spec.rpartition(":")
        self.file = file.replace("\\", "/").lstrip("./")
        self.line = int(line)
        self.limit = warmup + max_steps
        self.chosen: LoopSite | None = None
        self.exact_stop = True
        self._seen: set[CodeType] = set()

    def __call__(self, codes: tuple[CodeType, ...], same: int) -> bool:
        if self.chosen is None:
            for code in reversed(codes):
                if code not in self._seen:
                    self._seen.add(code)
                    site = self._find(code)
                    if site is not None:
                        self.chosen = site
                        break
        return False  # the timer counts the rounds and stops the run (Sampler.on_timed_return)

    def _find(self, code: CodeType) -> LoopSite | None:
        """The loop in ``code`` or in a code object it defines, innermost first."""
        for const in code.co_consts:
            if isinstance(const, CodeType):
                site = self._find(const)
                if site is not None:
                    return site
        return self._site(code)

    def _site(self, code: CodeType) -> LoopSite | None:
        name = code.co_filename.replace("\\", "/")
        if not (name == self.file or name.endswith("/" + self.file)):
            return None
        lines = [ln for _a, _b, ln in code.co_lines() if ln is not None]
        if not lines or not code.co_firstlineno <= self.line <= max(lines):
            return None
        loops = enclosing_loops("".join(linecache.getlines(code.co_filename)), self.line)
        if not loops or loops[0][0] < code.co_firstlineno:
            return None
        return LoopSite(code, loops[0][0])


# The rule: (candidates, frames seen above each, user flags, names, samples per frame) -> the chosen
# candidate; ``advisor.analysis.detect.choose_function``, the same rule 1 that decides the saved step.
Rule = Callable[..., Any]


class AutoStepWatch:
    """Without ``--step``: counts calls per user function as samples arrive and asks the rule which one
    is the step (``rule``: step detection's own function rule, passed in so capture holds no copy)."""

    def __init__(self, warmup: int, max_steps: int, is_user: Callable[[CodeType], bool],
                 rule: Rule | None = None) -> None:
        if rule is None:
            # Transitional, until the caller passes the rule (advisor.api): looked up lazily, so importing
            # capture never imports analysis.
            from advisor.analysis.detect import choose_function as rule
        self.rule = rule
        self.limit = warmup + max_steps
        self.is_user = is_user
        self.calls: dict[CodeType, int] = {}
        self.weight: dict[CodeType, int] = {}
        self.above: dict[CodeType, set[CodeType]] = {}
        self._user: dict[CodeType, bool] = {}
        self._n = 0
        self.chosen: CodeType | None = None
        self._held = 0  # checks in a row that chose ``chosen``
        self.timed = False  # a step timer runs (set when the sampler hands over its refused dict)
        # functions the step timer found to be helpers (called thousands of times a second) or could not
        # time: never the step
        self._not_steps: dict[CodeType, str] = {}

    @property
    def not_steps(self) -> dict[CodeType, str]:
        return self._not_steps

    @not_steps.setter
    def not_steps(self, refused: dict[CodeType, str]) -> None:
        """The sampler hands over the step timer's ``refused`` dict (the same object) when a timer runs."""
        self._not_steps = refused
        self.timed = True

    @property
    def exact_stop(self) -> bool:
        """Whether ``--max-steps`` counts the timed calls of ``chosen`` (the timer runs and can time it)."""
        return self.timed and self.chosen is not None and self.chosen not in self._not_steps

    def __call__(self, codes: tuple[CodeType, ...], same: int) -> bool:
        users: list[CodeType] = []
        for depth, code in enumerate(codes):
            u = self._user.get(code)
            if u is None:
                u = self._user[code] = self.is_user(code) and code.co_name != "<module>"
            if not u:
                continue
            if code in users:
                continue  # recursion: the outermost call counts
            self.weight[code] = self.weight.get(code, 0) + 1
            if depth >= same:
                self.calls[code] = self.calls.get(code, 0) + 1
            above = self.above.get(code)
            if above is None:
                above = self.above[code] = set()
            above.update(users)
            users.append(code)
        self._n += 1
        if self._n >= 100 and self._n % (5 if self._n < 200 else 50) == 0:
            self._choose(self.current(), codes)  # the step timer times it (after 100 samples, checked often)
        if self._n % 50:
            return False
        step = self.chosen
        if step is None or self._held < STABLE_CHECKS:
            return False  # the choice may still change: no stop yet
        if self.exact_stop:
            return False  # the timer counts this step's calls and stops the run (Sampler.on_timed_return)
        return self.calls[step] > self.limit

    def _choose(self, step: CodeType | None, codes: tuple[CodeType, ...]) -> None:
        """Take ``step`` as the choice, but only at a sample inside one of its calls: the sampler starts
        the step timer right after, so the timer knows a call of it already ran untimed (``in_call``:
        the count is "at least", never a wrongly "exact" one missing the calls seen before)."""
        if step is self.chosen:
            self._held += 1
        elif step is not None and step in codes:
            self.chosen, self._held = step, 1
        else:
            self._held = 0

    def current(self) -> CodeType | None:
        codes = [c for c, n in self.calls.items() if n >= 2 and c not in self.not_steps]
        if not codes:
            return None
        index = {c: i for i, c in enumerate(codes)}
        cands = sorted((Candidate(i, self.calls[c], float(self.weight[c])) for i, c in enumerate(codes)),
                       key=lambda c: (-c.inclusive_s, c.calls))
        above = {index[c]: {index[a] for a in self.above.get(c, ()) if a in index} for c in codes}
        names = [getattr(c, "co_qualname", c.co_name) for c in codes]
        best = self.rule(cands, above, [True] * len(codes), names, {i: self.weight[c] for c, i in index.items()})
        return codes[best.frame] if best is not None else None
