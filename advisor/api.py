"""The library API the CLI, notebooks and tests share: profile a script, or a region of code."""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any, Iterator

from advisor.analysis import step as stepmod
from advisor.analysis.detect import choose_function
from advisor.analysis.stepping import apply_step
from advisor.capture.build import UserCode, build_profile
from advisor.capture.guard import Pristine, RunGuard
from advisor.capture.environment import collect_environment
from advisor.capture.raw import RawCapture
from advisor.capture.runner import Target, check_target, run_target
from advisor.capture.sampler import Sampler, StopProfiling, code_key
from advisor.capture.steptimer import StepTimer
from advisor.capture.stepwatch import AutoStepWatch, LoopStepWatch, NamedStepWatch
from advisor.errors import StepNotFound, UsageError
from advisor.model import Outcome, Profile
from advisor.output_lock import OutputLock
# re-exported: the CLI, pipeline and tests import these from here
from advisor.outfolder import RUN_FILES, _announce_save, prepare_output, retire_outputs, save_profile  # noqa: F401

DEFAULT_INTERVAL_S = 0.005
PROFILE_NAME = "profile.json"


@dataclass(frozen=True, slots=True)
class ProfileOptions:
    """How to profile: mode, interval, step focus, user-code folders."""

    mode: str = "sample"
    interval_s: float = DEFAULT_INTERVAL_S
    step: str | None = None
    warmup: int = 1
    max_steps: int | None = None
    user_code: tuple[str, ...] = field(default_factory=tuple)
    timing: str = "exact"  # "exact": time the step's calls (capture/steptimer.py); "sampled": samples only
    threads: str = "main"  # "all": every Python thread, each its own part (capture/threads.py)
    children: str = "on"  # "on": child processes sample themselves (capture/children.py), sample mode only

    def check(self) -> None:
        if self.mode not in ("sample", "cprofile", "pyinstrument"):
            raise UsageError(f"unknown --mode {self.mode!r}; choose sample, cprofile or pyinstrument")
        if not (self.interval_s > 0) or self.interval_s > 10:
            raise UsageError(f"--interval must be between 0 and 10 seconds, got {self.interval_s}")
        if self.timing not in ("exact", "sampled"):
            raise UsageError(f"unknown --step-timing {self.timing!r}; choose exact or sampled")
        if self.threads not in ("main", "all"):
            raise UsageError(f"unknown --threads {self.threads!r}; choose main or all")
        if self.children not in ("on", "off"):
            raise UsageError(f"unknown --children {self.children!r}; choose on or off")
        if self.warmup < 0:
            raise UsageError("--warmup must be 0 or more")
        if self.max_steps is not None and self.max_steps < 1:
            raise UsageError("--max-steps must be 1 or more")
        for p in self.user_code:
            if not Path(p).is_dir():
                raise UsageError(f"--user-code {p}: no such folder")


def _loop_spec(spec: str) -> bool:
    return ":" in spec and spec.rpartition(":")[2].isdigit()


def _capturer(options: ProfileOptions, target: Target, user: UserCode, count_steps: bool = False):
    """The profiler object for the mode, plus a watch-only sampler when --max-steps needs one
    (``count_steps``: count steps for a progress line even without --max-steps)."""
    watch = None
    limit = options.max_steps if options.max_steps is not None else 10**15
    if options.step and not _loop_spec(options.step):
        watch = NamedStepWatch(options.step, options.warmup, limit)
    elif options.step and options.mode == "sample" and options.timing == "exact" and hasattr(sys, "monitoring"):
        watch = LoopStepWatch(options.step, options.warmup, limit)  # its rounds are timed (3.12+)
    elif options.max_steps is not None or options.mode == "sample":
        # In sample mode always: the step watch tells the step timer which function to time.
        watch = AutoStepWatch(options.warmup, limit, lambda c: user.is_user(code_key(c)), rule=choose_function)
    if options.mode == "sample":
        sampler = Sampler(options.interval_s, step_watch=watch)
        if options.timing == "exact" and watch is not None:
            sampler.timer = StepTimer(threading.get_ident(), on_return=sampler.on_timed_return)
            sampler.max_steps, sampler.warmup = options.max_steps, options.warmup
        return sampler, None
    watcher = Sampler(0.01, step_watch=watch) if watch is not None and options.max_steps is not None else None
    if options.mode == "cprofile":
        from advisor.capture.deterministic import DeterministicProfiler

        return DeterministicProfiler(), watcher
    from advisor.capture.pyinstr import PyinstrumentProfiler

    return PyinstrumentProfiler(options.interval_s), watcher


class _Both:
    """Starts the profiler, an optional watch-only sampler and an optional progress line together."""

    def __init__(self, main, extra, progress=None) -> None:
        self.main, self.extra, self.progress = main, extra, progress
        self.side: list[Any] = []  # other threads' samplers (--threads all): started and stopped with the rest
        self.on_stop: Any = None  # the run guard's shield: from here on Ctrl-C cannot lose the profile
        self._stopped = False
        self._stop_lock = threading.Lock()

    def _read(self) -> tuple[int, int | None]:
        sampler = self.main if isinstance(self.main, Sampler) else self.extra
        if sampler is None:
            return 0, None
        watch = sampler._step_watch
        steps = getattr(watch, "calls", None)
        if isinstance(steps, dict):
            current = watch.current()
            steps = steps.get(current) if current is not None else None
        return len(sampler.records), steps

    def start(self) -> None:
        if self.progress is not None:
            self.progress.start(self._read)
        if self.extra is not None:
            self.extra.start()
        self.main.start()
        for s in self.side:
            s.start()

    def stop(self) -> None:
        """Stop everything once (the run's end and a guard's save may both ask)."""
        if self.on_stop is not None:
            self.on_stop()
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.main.stop()
        for s in self.side:
            s.stop()
        if self.extra is not None:
            self.extra.stop()
        if self.progress is not None:
            self.progress.stop()


def profile_script(target: Target, options: ProfileOptions = ProfileOptions(),
                   out_dir: str | os.PathLike[str] | None = "advisor-out",
                   code: CodeType | None = None, progress: Any = None, lock: bool = True,
                   checkpoint_s: float | None = 60.0, exit_after_save: bool = False) -> Profile:
    """Run ``target`` under the profiler and return its Profile, saved to ``out_dir/profile.json``.

    Checks run first (options, script, output folder); the profile is saved atomically before this
    returns. Raises ``StepNotFound`` *after* saving when ``--step`` named a function that never ran.
    ``progress`` (e.g. ``render.progress.ProgressLine``) gets ``start(read)`` / ``stop()`` around the run.
    ``lock``: hold ``OutputLock`` on ``out_dir`` for the run (pass False when the caller holds it).
    ``checkpoint_s``: write the profile so far every so often (None: never), so that a run killed hard
    keeps what it measured (capture/guard.py). ``exit_after_save`` (the CLI): once the profile is
    written, Ctrl-C or SIGTERM end the process at once instead of raising in the caller.
    The script's own exit code is in ``profile.outcome.exit_code``.
    """
    options.check()
    if code is None:
        code = check_target(target)
    out = prepare_output(out_dir).resolve() if out_dir is not None else None  # the script may chdir
    if out is not None and lock:
        with OutputLock(out):
            retire_outputs(out)
            return profile_script(target, options, out, code, progress, lock=False, checkpoint_s=checkpoint_s,
                                  exit_after_save=exit_after_save)
    user = UserCode.default(tuple(str(Path(p).resolve()) for p in options.user_code) or ())
    profiler, watcher = _capturer(options, target, user, count_steps=progress is not None)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    command = {"kind": target.kind, "target": target.name, "args": list(target.args), "cwd": os.getcwd()}
    both = _Both(profiler, watcher, progress)
    side = _side_capture(options, out, both)
    t0 = time.perf_counter()
    pid = os.getpid()
    recursion_limit = sys.getrecursionlimit()
    pristine = Pristine()
    saved: dict[str, Any] = {}

    def save(outcome: Outcome, final: bool) -> str | None:
        """Build the profile from what was measured and write it (the final one, or a checkpoint)."""
        if final:
            both.stop()
            pristine.restore()  # json.dumps, os.replace... as they were before the script ran
            if sys.getrecursionlimit() < recursion_limit:  # the script lowered it; building needs it
                sys.setrecursionlimit(recursion_limit)
            raw = profiler.to_raw()
            _announce_save(len(raw.samples))
        else:
            raw = profiler.snapshot()
        if final and options.mode == "pyinstrument" and out is not None:
            _save_pyisession(profiler, out, raw)
        profile = build_profile(raw, decide=apply_step, command=command, environment=collect_environment(), outcome=outcome,
                                wall_s=time.perf_counter() - t0, started_at=started, step_spec=options.step,
                                warmup=options.warmup, user_code=user)
        if final:
            profile = side.attach(profile, user)
            saved["profile"] = profile
        if out is None:
            return None
        path = save_profile(profile, out / PROFILE_NAME, announce=final)
        if final:
            saved["path"] = path
        return str(path)

    sampler = profiler if isinstance(profiler, Sampler) else watcher
    guard = RunGuard(save, threading.get_ident(),
                     own_callbacks=lambda obj: getattr(obj, "__self__", None) in (profiler, watcher),
                     checkpoint_s=checkpoint_s if (out is not None and hasattr(profiler, "snapshot")) else None,
                     exit_after_save=exit_after_save and out is not None)
    if sampler is not None:
        sampler.on_stop = lambda: guard.request_stop(StopProfiling, Outcome(0, "max-steps", ""))
    both.on_stop = guard.shield
    guard.install()
    side.install()  # after the guard: a forked child's hooks run after the guard's reset
    # advisor's own objects (its modules, the sampler, the options...) go to the permanent generation, so
    # the script's collections do not walk objects a plain run does not have, and the collector's
    # thresholds see the script's objects only. Safe: a frozen object is never collected, but everything
    # alive here (after the collect) lives for the whole run anyway. It is unfrozen after the run for
    # callers of this function in a long-lived process (a notebook), whose own objects were frozen too.
    import gc

    gc.collect()
    gc.freeze()
    try:
        try:
            outcome = run_target(target, both, code)
        except KeyboardInterrupt:  # a second Ctrl-C as the script ended, before the shield was up
            outcome = Outcome(130, "interrupt", "interrupted (Ctrl-C)")
        if os.getpid() != pid:
            # A child the script forked (os.fork without exec) came back through here: it must not write
            # or print anything; it leaves with its own exit code.
            os._exit(outcome.exit_code)
        guard.save_final(outcome)
    finally:
        if os.getpid() == pid:
            side.close()
            guard.close()
            gc.unfreeze()
    profile = saved["profile"]
    if options.step and profile.step is None:
        raise_step_not_found(options.step, profile)
    return profile


def _side_capture(options: ProfileOptions, out: Path | None, both: _Both) -> Any:
    """Other threads (``--threads all``) and child processes of the run, captured beside the step thread
    (sample mode only; see ``capture/sides.py``)."""
    from advisor.capture.sides import SideCapture

    return SideCapture(options.mode == "sample" and options.threads == "all",
                       options.mode == "sample" and options.children == "on", out, options.interval_s, both)


def raise_step_not_found(spec: str, profile: Profile) -> None:
    keys = [f.key for f in profile.frames]
    near = stepmod.closest(spec, list(profile.candidates), keys)
    listing = ", ".join(f"{keys[c.frame].qualname} ({c.calls} calls)" for c in near) or "none were called repeatedly"
    raise StepNotFound(f"--step {spec!r} never ran; closest candidates: {listing}",
                       hint="the profile was saved; rerun with one of these, or `advisor report` it as is")


def _save_pyisession(profiler, out: Path, raw: RawCapture) -> None:
    try:
        profiler.session.save(str(out / "profile.pyisession"))
    except Exception as exc:  # keep going: the advisor profile matters more
        raw.warnings.append(f"could not save the pyinstrument session: {exc}")


class profiling:
    """Profile a region of code in the current thread (for notebooks and tests).

    >>> with profiling() as region:          # doctest: +SKIP
    ...     train_for_a_while()
    >>> region.profile.step                  # doctest: +SKIP
    """

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S, step: str | None = None, warmup: int = 1,
                 user_code: UserCode | None = None) -> None:
        self.options = ProfileOptions(interval_s=interval_s, step=step, warmup=warmup)
        self.user_code = user_code
        self.profile: Profile | None = None

    def __enter__(self) -> profiling:
        self.options.check()
        step, warmup = self.options.step, self.options.warmup
        if step and not _loop_spec(step):
            watch: Any = NamedStepWatch(step, warmup, 10**15)
        else:
            user = UserCode.default()
            watch = AutoStepWatch(warmup, 10**15, lambda c: user.is_user(code_key(c)), rule=choose_function)
        self._sampler = Sampler(self.options.interval_s, thread_id=threading.get_ident(), step_watch=watch)
        # the region's step timed at its entry and exit, as in `advisor profile` (capture/steptimer.py)
        self._sampler.timer = StepTimer(threading.get_ident(), on_return=self._sampler.on_timed_return)
        found = watch.scan() if isinstance(watch, NamedStepWatch) else None
        if found is not None:  # defined already: timed from its first call in the region, so counted exactly
            watch.chosen = found
            self._sampler.timer.watch(found, in_call=False)
        self._t0 = time.perf_counter()
        self._sampler.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._sampler.stop()
        wall = time.perf_counter() - self._t0
        outcome = Outcome(0, "exit") if exc_type is None else Outcome(1, "exception", f"{exc_type.__name__}: {exc}")
        self.profile = build_profile(self._sampler.to_raw(), command={"kind": "region", "target": "", "args": []},
                                     environment=collect_environment(), outcome=outcome, wall_s=wall,
                                     step_spec=self.options.step, warmup=self.options.warmup,
                                     **({"user_code": self.user_code} if self.user_code is not None else {}))

    def report(self, out_dir: str | os.PathLike[str] | None = None, config: Any = None,
               formats: list[str] | None = None) -> Any:
        """Analyse, advise and write the chosen outputs for the region just profiled (see ``pipeline.finish``)."""
        if self.profile is None:
            raise UsageError("nothing profiled yet: use `with profiling() as region:` first")
        return finish_region(self.profile, out_dir, config, formats)

    def __iter__(self) -> Iterator[None]:  # pragma: no cover - not iterable, helps type checkers
        raise TypeError("use `with profiling():`")


def finish_region(profile: Profile, out_dir: str | os.PathLike[str] | None = None, config: Any = None,
                  formats: list[str] | None = None) -> Any:
    """The pipeline after capture for an in-process profile: optional folder, then ``pipeline.finish``."""
    from advisor.pipeline import finish, load_cost_config, output_names

    outputs, cfg = output_names(formats), load_cost_config(config)  # checked before anything is written
    out = None
    if out_dir is not None:
        out = prepare_output(out_dir)
        profile.save(out / PROFILE_NAME)
    return finish(profile, out, cfg, outputs)


def profile_call(fn: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, *,
                 interval_s: float = DEFAULT_INTERVAL_S, step: str | None = None, warmup: int = 1,
                 out_dir: str | os.PathLike[str] | None = None, config: Any = None,
                 formats: list[str] | None = None, user_code: UserCode | None = None) -> Any:
    """Profile ``fn(*args, **kwargs)`` in this thread, then do what ``advisor profile`` does after capture.

    Args:
        fn: the code to profile, e.g. a function that runs a few training steps.
        interval_s, step, warmup: as ``advisor profile --interval/--step/--warmup``.
        out_dir: write profile.json and the chosen outputs there; None writes nothing.
        config: cost-model CostConfig or TOML path (None: built-in defaults).
        formats: ``--format`` values (html, xlsx, json, csv); None: html, xlsx and json.
        user_code: which files count as the team's code (default: outside stdlib and site-packages).

    Returns:
        ``pipeline.Report`` (analysis, advice, files written); it renders itself in a notebook.

    Raises:
        ``UsageError``/``ConfigError`` for bad options, before ``fn`` runs; whatever ``fn`` raises.
    """
    from advisor.pipeline import load_cost_config, output_names

    output_names(formats), load_cost_config(config)  # fail before running fn
    region = profiling(interval_s=interval_s, step=step, warmup=warmup, user_code=user_code)
    with region:
        fn(*args, **(kwargs or {}))
    assert region.profile is not None
    return finish_region(region.profile, out_dir, config, formats)
