"""The ``advisor`` command: a thin layer over the library API.

Each command turns options into library arguments, calls one public function, prints, and maps
``AdvisorError`` to a one-line message and its exit code (``errors.py`` lists them). Everything after the
script (or after ``-m MODULE``) belongs to the script, so ``advisor profile train.py --epochs 1`` passes
``--epochs 1`` through untouched.

The commands are declared with typer in ``commands.py``. ``advisor profile`` in its plain forms is parsed
without it (``quickargs.py``), so that typer, click, rich and pydantic are not imported in the user's
process before the script runs; they load after it ends, for the summary and the reports.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from advisor.errors import AdvisorError, StepNotFound, UsageError
from advisor.ranks import rank_out_dir

EXIT_INTERNAL = 70
_VALUE_OPTIONS = {"--step-timing", "--threads", "--children", "--checkpoint", "--mode", "--interval", "--step", "--warmup", "--max-steps", "--out", "-o",
                  "--config", "-c", "--user-code", "--export", "-m", "--format", "--only", "--steps", "--rounds", "--budget",
                  "--python"}
_console: Any = None


def _err() -> Any:
    """The rich console on stderr, created on first use (after the script, or for an error)."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True, highlight=False, soft_wrap=True,
                           width=None if sys.stderr.isatty() else 120)  # logs and CI get full rows, not 80 columns
    return _console


def __getattr__(name: str) -> Any:  # PEP 562: ``cli.app`` and ``cli.err`` load typer / rich on first use
    if name == "app":
        from advisor.commands import app

        return app
    if name == "err":
        return _err()
    raise AttributeError(f"module 'advisor.cli' has no attribute {name!r}")


def _say(line: str) -> None:
    from advisor.render._safe import printable

    _err().print(printable(line), markup=False)


def _target(script: Optional[str], module: Optional[str], verb: str, script_args: tuple[str, ...]) -> Any:
    """The Target to run; its arguments are the script's own, split off by ``run``."""
    from advisor.capture.runner import Target

    if (script is None) == (module is None):
        raise UsageError(f"give a script to {verb} (advisor {verb} train.py ...) or -m MODULE")
    return Target("module" if module else "script", module or script or "", tuple(script_args))


def profile_run(script_args: tuple[str, ...], script: Optional[str] = None, module: Optional[str] = None,
                mode: str = "sample", interval: float = 0.005, step: Optional[str] = None, warmup: int = 1,
                max_steps: Optional[int] = None, out: Path = Path("advisor-out"), config: Optional[Path] = None,
                user_code: list[str] = (), export: list[str] = (), formats: list[str] = (),  # type: ignore[assignment]
                quiet: bool = False, step_timing: str = "exact", checkpoint: Optional[float] = None,
                threads: str = "main", children: str = "on", try_: bool = False) -> int:
    """``advisor profile``: check everything, run the script under the profiler, summarize; returns the
    script's exit code. Imports only what capture needs until the script has ended."""
    from advisor.api import ProfileOptions
    from advisor.capture.runner import check_target
    from advisor.pipeline import check_exports, output_names, try_options

    target = _target(script, module, "profile", script_args)
    out = rank_out_dir(out.absolute(), os.environ)  # absolute: the script may chdir; rank-N/ under torchrun
    options = ProfileOptions(mode=mode, interval_s=interval, step=step, warmup=warmup, max_steps=max_steps,
                             user_code=tuple(user_code), timing=step_timing, threads=threads, children=children)
    options.check()
    check_exports(list(export), mode)
    cfg: Any = None  # the built-in defaults: loaded after the run (the cost model is not needed before)
    if config is not None:
        from advisor.pipeline import load_cost_config

        cfg = load_cost_config(config)  # ConfigError (exit 2) names the key path, before any script runs
    outputs = output_names(list(formats))
    code = check_target(target)
    if checkpoint is not None and not (checkpoint > 0):
        raise UsageError(f"--checkpoint must be a number of seconds above 0, got {checkpoint}")
    then = (try_options(max_steps or 20, max(warmup, 1)),) if try_ else None  # checked before the run
    return _profile_then(target, options, out, code, cfg, outputs, quiet, list(export), checkpoint or 60.0, then)


def _profile_then(target: Any, options: Any, out: Path, code: Any, cfg: Any, outputs: tuple[str, ...], quiet: bool,
                  export: list[str] | None = None, checkpoint_s: float = 60.0,
                  then: Optional[tuple[Any, ...]] = None) -> int:
    """Profile under the output lock, print the summary, then try (``then``: ``_try_after``'s options).
    Exits with the script's code, or 4 (``RenderError``) when an output could not be written."""
    from advisor.api import OutputLock, prepare_output, retire_outputs
    from advisor.pipeline import profile_and_finish, raise_for_failed

    progress = None
    if not quiet and sys.stderr.isatty():
        from advisor.render.progress import ProgressLine

        progress = ProgressLine(_err())
    with OutputLock(prepare_output(out)):  # held through every output: a second run is refused
        retire_outputs(out)
        shown: dict[str, str] = {}

        def first(rep: Any) -> None:  # the summary before report.html and roi.xlsx are rendered
            saved = out / "profile.json"  # absent if the folder went away: save_profile printed where it went
            _show(rep, quiet, {"profile saved": str(saved)} if saved.is_file() else {})
            shown.update(rep.written)

        try:
            rep = profile_and_finish(target, options, out, config=cfg, outputs=outputs, export=export or (),
                                     code=code, progress=progress, checkpoint_s=checkpoint_s, exit_after_save=True,
                                     first=first)
        except StepNotFound:
            _say(f"profile saved: {out / 'profile.json'}")
            raise
        for label, path in rep.written.items():
            if label not in shown and not quiet:
                _say(f"{label}: {path}")
        failed, code_ = dict(rep.failed), rep.profile.outcome.exit_code
        if then is not None and code_ != 0:
            _err().print(f"advisor try: the script exited with code {code_}; nothing was tried", markup=False)
        elif then is not None:
            if cfg is None:
                from advisor.pipeline import load_cost_config

                cfg = load_cost_config(None)
            failed |= _try_after(target, out, cfg, outputs, quiet, *then)
    raise_for_failed(failed)
    return int(code_)


def _try_after(target: Any, out: Path, cfg: Any, outputs: tuple[str, ...], quiet: bool, opts: Any,
               families: Any = None, python: Optional[str] = None) -> dict[str, str]:
    """``advisor try``'s experiments on the profile just saved; prints what they measured, returns the
    outputs that could not be rewritten (name → reason)."""
    from advisor.experiments.plan import FAMILIES
    from advisor.experiments.session import try_after_profile
    from advisor.render._safe import printable
    from advisor.render.progress import StatusLine
    from advisor.render.tryouts import render_tryouts

    status = StatusLine(sys.stderr, quiet)
    report, tryouts = try_after_profile(target, out, cfg, outputs, opts, families or FAMILIES, python,
                                        say=lambda line: _err().print(line, markup=False), progress=status)
    status.clear()
    if not quiet:
        for line in render_tryouts(tryouts, report.advice):
            _err().print(printable(line), markup=False)
        _err().print(f"tryouts saved: {printable(out / 'tryouts.json')}", markup=False)
    return dict(report.failed)


def _show(rep: Any, quiet: bool, saved: dict[str, str]) -> None:
    """The terminal summary of a ``pipeline.Report`` on stderr (failed outputs are raised by the caller)."""
    if not quiet:
        from advisor.render.terminal import render_summary

        render_summary(rep.analysis, _err(), {**saved, **rep.written}, advice=rep.advice)


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split ``advisor profile ...`` arguments into advisor's and the script's.

    Advisor's options come first; the first positional argument is the script, and ``-m MODULE`` names
    the module: everything after either belongs to the script.
    """
    if not argv or argv[0] not in ("profile", "try"):
        return argv, []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return argv[:i] + argv[i + 1:i + 2], argv[i + 2:]
        if a == "-m":
            return argv[:i + 2], argv[i + 2:]
        if a.startswith("-") and a != "-":
            i += 2 if (a in _VALUE_OPTIONS) else 1
            continue
        return argv[:i + 1], argv[i + 1:]
    return argv, []


def run(argv: list[str] | None = None, standalone: bool = True) -> int:
    """Run the CLI on ``argv``; returns the exit code (the script's own after ``profile``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = next((c for c in ("profile", "try") if c in argv), None)
    debug = "--debug" in argv[: argv.index(cmd)] if cmd else "--debug" in argv
    head = []
    while argv and argv[0] in ("--debug",):
        head.append(argv.pop(0))
    ours, script_args = split_argv(argv)
    from advisor.quickargs import parse_profile

    quick = parse_profile(ours)
    if quick is not None:  # the plain forms of `advisor profile`: typer is not imported before the script
        return _guarded(lambda: profile_run(tuple(script_args), **quick), debug)
    from advisor.commands import app

    return _guarded(lambda: app(head + ours, prog_name="advisor", standalone_mode=False,
                                obj={"script_args": tuple(script_args)}), debug)


def _typer_exit(exc: Exception) -> int | None:
    """The exit code for typer's and click's own exceptions (None for any other; typer may be unloaded)."""
    typer = sys.modules.get("typer")
    if typer is None:
        return None
    from typer._click import exceptions as click  # typer ≥ 0.26 vendors click (pyproject.toml pins it)

    if isinstance(exc, typer.Exit):
        return int(exc.exit_code)
    if isinstance(exc, click.ClickException):
        _say(f"advisor: error: {exc.format_message()}")
        return 2
    if isinstance(exc, typer.Abort):
        return 130
    return None


def _guarded(call: Callable[[], Any], debug: bool = False) -> int:
    try:
        result = call()
        return result if isinstance(result, int) else 0
    except AdvisorError as exc:
        if debug:
            raise
        # Messages quote names and paths from profiles and configs: shown escaped, on one line.
        _say(f"advisor: error: {exc.message}")
        if exc.hint:
            _say(f"advisor: hint: {exc.hint}")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in advisor: one line, not a traceback
        code = _typer_exit(exc)
        if code is not None:
            return code
        if debug:
            raise
        _say(f"advisor: internal error: {type(exc).__name__}: {exc} (this is a bug in advisor; "
             "rerun with --debug for the traceback)")
        return EXIT_INTERNAL


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
