"""Run baseline and experiment processes in rounds (A B A B ...), within a time budget.

Every run is a fresh process of the unmodified script (``child.py``) with ``ADVISOR_TRY=1`` set, so a
script can skip its side effects (checkpoints, uploads) during ``advisor try``. Each round runs the
baseline, then each experiment still in play; an experiment that the child could not apply (numba
refused, threads already at the maximum) leaves after its first run. Step times come from each run's
profile.json (``step.durations_s``), or, where the step is a function the hook could rebind, from a
timing wrapper around it (exact, not quantised to the sampling interval: see ``apply.Hook._time_step``);
``timing.compare_rounds`` turns them into a ratio.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from advisor.experiments.apply import ENV_CONTEXT, ENV_EXPERIMENT
from advisor.experiments.plan import Experiment, Plan
from advisor.experiments.results import FAILED, NOT_APPLICABLE, NOT_AVAILABLE, NOT_RUN, REFUSED, Run, Tryout
from advisor.experiments.timing import compare_rounds, versus

ENV_TRY = "ADVISOR_TRY"
BASELINE = "baseline"


@dataclass(frozen=True, slots=True)
class TryOptions:
    """How much to run: steps per run, warm-up dropped, rounds, the time budget in seconds."""

    steps: int = 20
    warmup: int = 2
    rounds: int = 5
    budget_s: float = 300.0
    keep_runs: Path | None = None  # keep every run's folder here (for debugging); None: a temp folder


@dataclass(frozen=True, slots=True)
class _Outcome:
    run: Run
    report: dict
    log_tail: str


def _target_args(kind: str, name: str, args: tuple[str, ...]) -> list[str]:
    return (["-m", name] if kind == "module" else [name]) + list(args)


class Driver:
    """Runs the rounds; ``progress(line)`` is called before each run."""

    def __init__(self, target: object, plan: Plan, options: TryOptions,
                 progress: Callable[[str], None] | None = None) -> None:
        self.target, self.plan, self.opts = target, plan, options
        self.progress = progress or (lambda line: None)
        self.t0 = 0.0
        self.work = Path(tempfile.mkdtemp(prefix="advisor-try-")) if options.keep_runs is None else options.keep_runs

    # -- one process ------------------------------------------------------------------------------
    def _run(self, exp: Experiment | None, rnd: int, timeout_s: float) -> _Outcome:
        name = exp.name if exp is not None else BASELINE
        folder = self.work / f"r{rnd}-{name.replace(':', '-')}"
        folder.mkdir(parents=True, exist_ok=True)
        report_path = folder / "experiment.json"
        ctx = {"step": {"file": self.plan.step_file, "qualname": self.plan.step_qualname,
                        "loop": self.plan.step_is_loop},
               "warmup": self.opts.warmup, "report": str(report_path)}
        if exp is not None and exp.function is not None:
            ctx["function"] = {"file": exp.function[0], "qualname": exp.function[1]}
        env = {**os.environ, ENV_TRY: "1", ENV_EXPERIMENT: exp.hook if exp is not None else "none",
               ENV_CONTEXT: json.dumps(ctx)}
        python = sys.executable
        if exp is not None and exp.python:
            python = exp.python
            env["PYTHON_JIT"] = "1"
            root = str(Path(__file__).resolve().parents[2])  # so that interpreter can import advisor
            env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        t = self.target
        cmd = [python, "-m", "advisor.experiments.child", "profile", "--quiet", "--format", "json",
               "--step", self.plan.step_spec, "--warmup", str(self.opts.warmup),
               "--max-steps", str(self.opts.steps), "--out", str(folder),
               *_target_args(t.kind, t.name, t.args)]  # type: ignore[attr-defined]
        log = folder / "output.log"
        start = time.perf_counter()
        with open(log, "wb") as fh:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
            try:
                code = proc.wait(timeout=timeout_s)
            except BaseException:  # timeout, Ctrl-C: end the whole process group, then go on / re-raise
                _kill(proc)
                code = -1
                if not isinstance(sys.exc_info()[1], subprocess.TimeoutExpired):
                    raise
        wall = time.perf_counter() - start
        report = _read_json(report_path)
        exact = report.get("step_times_s") if report.get("timed") else None
        if isinstance(exact, list) and exact and all(isinstance(x, (int, float)) and x >= 0 for x in exact):
            durations, timing = tuple(float(x) for x in exact), "exact"
        else:
            # advisor's own step timer (capture/steptimer.py) times the step at its entry and exit too
            durations, timing = _durations(folder / "profile.json")
        tail = _tail(log)
        note = str(report.get("note", "")) if report else ""
        if code == -1:
            note = f"killed after {timeout_s:.0f} s"
        return _Outcome(Run(name, rnd, durations, wall, code, note, timing), report, tail)

    # -- rounds -----------------------------------------------------------------------------------
    def run(self) -> tuple[Tryout, ...]:
        """Run the rounds; one Tryout per planned experiment, then the plan's skipped ones."""
        self.t0 = time.perf_counter()
        active = list(self.plan.experiments)
        runs: dict[str, list[Run]] = {e.name: [] for e in active}
        base: list[Run] = []
        final: dict[str, Tryout] = {}
        longest_round = 0.0
        try:
            for rnd in range(1, self.opts.rounds + 1):
                elapsed = time.perf_counter() - self.t0
                if not active or (rnd > 1 and elapsed + longest_round > self.opts.budget_s):
                    break
                r0 = time.perf_counter()
                timeout = max(60.0, self.opts.budget_s - elapsed) if rnd == 1 else max(60.0, 5 * longest_round)
                self._say(rnd, BASELINE)
                a = self._run(None, rnd, timeout)
                base.append(a.run)
                if not a.run.durations_s:
                    why = _why_no_steps(a)
                    for e in active:
                        final[e.name] = _tryout(e, FAILED, f"the baseline run measured no step: {why}")
                    active = []
                    break
                for e in list(active):
                    self._say(rnd, e.name)
                    b = self._run(e, rnd, timeout)
                    runs[e.name].append(b.run)
                    status = str(b.report.get("status", "")) if b.report else ""
                    if status in ("refused", "not-applicable", "error"):
                        code = {"refused": REFUSED, "not-applicable": NOT_APPLICABLE, "error": FAILED}[status]
                        final[e.name] = _tryout(e, code, b.run.note, runs[e.name])
                        active.remove(e)
                    elif not b.run.durations_s:
                        code = NOT_AVAILABLE if e.python else FAILED
                        final[e.name] = _tryout(e, code, _why_no_steps(b), runs[e.name])
                        active.remove(e)
                longest_round = max(longest_round, time.perf_counter() - r0)
        finally:
            if self.opts.keep_runs is None:
                shutil.rmtree(self.work, ignore_errors=True)
        tried = [final.get(e.name) or _measured(e, base, runs[e.name]) for e in self.plan.experiments]
        return tuple(tried) + self.plan.skipped

    def _say(self, rnd: int, name: str) -> None:
        elapsed = time.perf_counter() - self.t0
        self.progress(f"advisor try: round {rnd}/{self.opts.rounds} · {name} · {_clock(elapsed)} of "
                      f"{_clock(self.opts.budget_s)} budget")


def _measured(e: Experiment, base: list[Run], runs: list[Run]) -> Tryout:
    by_round = {r.round: r for r in base if r.durations_s}
    pairs = [(by_round[r.round], r) for r in runs if r.durations_s and r.round in by_round]
    if not pairs:
        return _tryout(e, NOT_RUN, "the time budget ran out before it ran", runs)
    c = compare_rounds([(a.durations_s, b.durations_s) for a, b in pairs])
    note = next((r.note for r in runs if r.note), "")
    return Tryout(e.name, e.label, c.status, note, c.ratio, c.low, c.high, c.rounds,
                  sum(len(b.durations_s) for _, b in pairs), sum(len(a.durations_s) for a, _ in pairs), c.noise,
                  e.predicted, e.predicted_basis, versus(c.low, c.high, e.predicted),
                  sum(b.wall_s for _, b in pairs), _function(e), tuple(x for pair in pairs for x in pair))


def _tryout(e: Experiment, status: str, detail: str, runs: list[Run] | None = None) -> Tryout:
    return Tryout(e.name, e.label, status, detail, predicted=e.predicted, predicted_basis=e.predicted_basis,
                  seconds=sum(r.wall_s for r in runs or ()), function=_function(e), runs=tuple(runs or ()))


def _function(e: Experiment) -> str:
    return e.function[1] if e.function is not None else ""


def _why_no_steps(o: _Outcome) -> str:
    if o.run.note.startswith("killed"):
        return o.run.note
    last = [ln for ln in o.log_tail.splitlines() if ln.strip()]
    return (f"exit code {o.run.exit_code}" + (f": {last[-1].strip()[:200]}" if last else ""))


def _durations(path: Path) -> tuple[tuple[float, ...], str]:
    """The step durations saved in a run's profile, and "exact" where the step timer measured them
    (``step.timing`` exact or timed: every timed call's entry and exit), else "sampled"."""
    from advisor.errors import AdvisorError
    from advisor.model import Profile

    try:
        prof = Profile.load(path)
    except (AdvisorError, OSError):
        return (), "sampled"
    if prof.step is None:
        return (), "sampled"
    return tuple(prof.step.durations_s), "exact" if prof.step.timing in ("exact", "timed") else "sampled"


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _tail(path: Path, n: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-n:].decode("utf-8", "replace")


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def parse_budget(text: str) -> float:
    """``5m``, ``90s``, ``1h`` or plain seconds → seconds; raises UsageError."""
    from advisor.errors import UsageError

    t = text.strip().lower()
    scale = {"s": 1, "m": 60, "h": 3600}.get(t[-1:], None) if t else None
    try:
        value = float(t[:-1] if scale else t) * (scale or 1)
    except ValueError:
        raise UsageError(f"--budget {text!r}: give seconds or e.g. 90s, 5m, 1h") from None
    if not (value > 0) or value > 7 * 86400:
        raise UsageError(f"--budget {text!r}: must be above 0 and at most a week")
    return value
