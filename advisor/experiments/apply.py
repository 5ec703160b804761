"""Inside the experiment process: apply one experiment to the unmodified script, at the right moment.

``install_from_env()`` reads ``ADVISOR_EXPERIMENT`` (``none``, ``gc:freeze``, ``gc:off``, ``threads:max``,
``jit``) and ``ADVISOR_EXPERIMENT_CONTEXT`` (JSON: the step function, the warm-up, the function to JIT,
where to write the report) and sets a profile function (``sys.setprofile``) on this thread. The profile
function only looks for the step's and the JIT target's code objects; once the step's warm-up calls have
returned and every change is in place it removes itself, so the measured steps run without it. The
baseline runs install the same hook with nothing to apply, so both sides pay the same warm-up cost.

The hook never raises into the script: a failure is recorded in the report and the hook removes itself.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from typing import Any

ENV_EXPERIMENT = "ADVISOR_EXPERIMENT"
ENV_CONTEXT = "ADVISOR_EXPERIMENT_CONTEXT"
GEN0_THRESHOLD = 50_000  # young collections every 50,000 allocations instead of CPython's 700 (3.11)


class _Match:
    """A function to look for, by file and qualified name."""

    def __init__(self, spec: dict[str, Any] | None) -> None:
        spec = spec or {}
        self.file = os.path.realpath(spec["file"]) if spec.get("file") else ""
        self.qualname = str(spec.get("qualname", ""))
        self.name = self.qualname.rpartition(".")[2]
        self._seen: dict[Any, bool] = {}

    def hit(self, code: Any) -> bool:
        known = self._seen.get(code)
        if known is None:
            qual = getattr(code, "co_qualname", None)  # 3.11+; 3.10 has only co_name
            same_name = qual == self.qualname if qual is not None else code.co_name == self.name
            known = self._seen[code] = bool(self.file) and same_name and \
                os.path.realpath(code.co_filename) == self.file
        return known


class Hook:
    """The profile function: waits for the step's warm-up (and the JIT target's first call), applies."""

    def __init__(self, experiment: str, context: dict[str, Any]) -> None:
        self.experiment = experiment
        self.ctx = context
        self.step = _Match(context.get("step"))
        self.loop = bool((context.get("step") or {}).get("loop"))
        self.warmup = max(0, int(context.get("warmup", 1)))
        self.func = _Match(context.get("function")) if experiment == "jit" else None
        self.names = {m.name for m in (self.step, self.func) if m is not None and m.name}
        self.returns = 0
        self.step_times: list[float] = []  # exact durations of the step calls after the first (see _time_step)
        self.step_seen = False
        self.warm = False
        self.gc_in_step = False  # gc:off, once warm: the step wrapper turns the collector off inside each step
        self.jit_pending = self.func is not None
        self.watch: dict[Any, Any] = {}  # frame -> what to do when it returns
        self.report: dict[str, Any] = {"experiment": experiment, "applied": False, "status": "waiting",
                                       "note": "", "pid": os.getpid()}
        self._write()

    # -- the profile function ---------------------------------------------------------------------
    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        try:
            if event == "call":
                if frame.f_code.co_name in self.names:
                    self._on_call(frame)
            elif event == "return" and frame in self.watch:
                self.watch.pop(frame)(frame, arg)
        except BaseException as exc:  # never into the script
            self._finish("error", f"advisor's experiment hook failed: {type(exc).__name__}: {exc}")

    def _on_call(self, frame: Any) -> None:
        code = frame.f_code
        if self.step.hit(code):
            if not self.step_seen:
                self.step_seen = True
                if not self.loop:
                    self._time_step(frame)
                self._first_step()
            if self.loop or self.warmup == 0:
                self._warmed_up()
            else:
                self.watch[frame] = self._step_returned
        elif self.func is not None and self.jit_pending and self.func.hit(code) and \
                not any(v == self._jit_returned for v in self.watch.values()):
            from advisor.experiments.jit import FirstCall

            self._first_call = FirstCall.capture(frame)
            self.watch[frame] = self._jit_returned

    def _step_returned(self, frame: Any, arg: Any) -> None:
        self.returns += 1
        if self.returns >= self.warmup:
            self._warmed_up()

    def _jit_returned(self, frame: Any, result: Any) -> None:
        from advisor.experiments.jit import swap_in_njit

        self.jit_pending = False
        ok, note = swap_in_njit(self._first_call, result)
        self._first_call = None
        if ok:
            self.report.update(applied=True, note=note)
        else:
            self.report.update(status="refused", note=note)
        self._maybe_done()

    def _time_step(self, frame: Any) -> None:
        """Rebind the step function to a timing wrapper, so that every later call is timed exactly.

        The sampled step times in profile.json resolve no better than the sampling interval, too coarse
        for a short step made shorter still; one wrapper call per step costs well under a microsecond.
        Where the step is not a module-level function or a class attribute, nothing is rebound and the
        driver falls back to profile.json.
        """
        code, name = frame.f_code, frame.f_code.co_name
        outer = self.step.qualname.rpartition(".")[0]
        if "<" in outer:
            return  # a nested function: nothing to rebind
        owner: Any = None
        if outer:  # a method: Class.method (or Outer.Inner.method)
            owner = frame.f_globals.get(outer.split(".")[0])
            for part in outer.split(".")[1:]:
                owner = getattr(owner, part, None)
            fn = getattr(owner, "__dict__", {}).get(name)
        else:
            fn = frame.f_globals.get(name)
        if getattr(fn, "__code__", None) is not code:
            return
        import functools
        import time

        times, clock, hook = self.step_times, time.perf_counter, self

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            off = hook.gc_in_step
            if off:  # gc:off: the collector off inside the step, its work moved between steps
                gc.disable()
            try:
                t0 = clock()
                result = fn(*args, **kwargs)
                times.append(clock() - t0)
            finally:
                if off:
                    gc.enable()
                    gc.collect()  # between steps, outside the step's time (as the fix would do)
            return result

        if owner is None:
            frame.f_globals[name] = timed
        else:
            setattr(owner, name, timed)
        self.report["timed"] = True

    def finish_run(self) -> None:
        """After the script: write the exact step times (past the warm-up) into the report."""
        # The first call ran before the wrapper existed: it is one of the warm-up calls.
        self.report["step_times_s"] = self.step_times[max(0, self.warmup - 1):]
        self._write()

    # -- the changes ------------------------------------------------------------------------------
    def _first_step(self) -> None:
        if self.experiment == "threads:max":
            from advisor.experiments.threads import raise_threads

            changed, note = raise_threads(int(self.ctx.get("threads") or 0))
            self.report.update(applied=changed, note=note)
            if not changed:
                self.report["status"] = "not-applicable"

    def _warmed_up(self) -> None:
        if self.warm:
            return
        self.warm = True
        if self.experiment == "gc:freeze":
            gc.collect()
            gc.freeze()
            old = gc.get_threshold()
            gc.set_threshold(GEN0_THRESHOLD, *old[1:])
            self.report.update(applied=True, note=f"gc.freeze() after {self.warmup} warm-up step(s) "
                               f"({gc.get_freeze_count():,} objects frozen); gen-0 threshold {old[0]:,} → "
                               f"{GEN0_THRESHOLD:,}")
        elif self.experiment == "gc:off" and self.report.get("timed"):
            self.gc_in_step = True
            self.report.update(applied=True, note=f"collector off inside each step after {self.warmup} warm-up "
                               "step(s), one collection between steps (outside the step's time)")
        elif self.experiment == "gc:off":  # the step could not be wrapped: off for the rest of the run
            gc.disable()
            self.report.update(applied=True, note=f"collector off after {self.warmup} warm-up step(s), for the "
                               "rest of the run (the step could not be wrapped to collect between steps)")
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self.warm and not self.jit_pending:
            status = self.report["status"]
            self._finish(status if status != "waiting" else "ready", self.report["note"])

    def _finish(self, status: str, note: str) -> None:
        sys.setprofile(None)
        self.report.update(status=status, note=note)
        self._write()

    def _write(self) -> None:
        path = self.ctx.get("report")
        if not path:
            return
        try:
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self.report, fh)
            os.replace(tmp, path)
        except OSError:
            pass


def install_from_env(environ: Any = None) -> Hook | None:
    """Read ``ADVISOR_EXPERIMENT`` and its context and set the hook on this thread; None when unset."""
    env = os.environ if environ is None else environ
    experiment = env.get(ENV_EXPERIMENT, "")
    if not experiment:
        return None
    try:
        context = json.loads(env.get(ENV_CONTEXT, "") or "{}")
    except ValueError:
        context = {}
    hook = Hook(experiment, context if isinstance(context, dict) else {})
    sys.setprofile(hook)
    return hook
