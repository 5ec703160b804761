"""The ``advisor`` command: a thin layer over the library API.

Each command turns options into library arguments, calls one public function, prints, and maps
``AdvisorError`` to a one-line message and its exit code (``errors.py`` lists them). Everything after the
script (or after ``-m MODULE``) belongs to the script, so ``advisor profile train.py --epochs 1`` passes
``--epochs 1`` through untouched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer
from rich.console import Console

from advisor._version import __version__
from advisor.errors import AdvisorError, UsageError
from advisor.ranks import rank_out_dir
from advisor.render._safe import printable

EXIT_INTERNAL = 70
_VALUE_OPTIONS = {"--step-timing", "--threads", "--children", "--checkpoint", "--mode", "--interval", "--step", "--warmup", "--max-steps", "--out", "-o",
                  "--config", "-c", "--user-code", "--export", "-m", "--format", "--only", "--steps", "--rounds", "--budget",
                  "--python"}
_script_args: list[str] = []
_debug = False

app = typer.Typer(
    name="advisor", add_completion=False, no_args_is_help=True, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Profile a training step and tell which code is worth porting to a compiled language.",
    epilog="Examples:\n\n  advisor profile train.py --epochs 1\n\n  advisor profile -m mypkg.train --config run.yaml"
           "\n\n  advisor report advisor-out/profile.json --config team.toml",
)

err = Console(stderr=True, highlight=False, soft_wrap=True,
              width=None if sys.stderr.isatty() else 120)  # logs and CI get full rows, not 80 columns


def _version(value: bool) -> None:
    if value:
        print(f"advisor {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of advisor's own errors."),
) -> None:
    global _debug
    _debug = _debug or debug


@app.command(
    epilog="Everything after SCRIPT (or after -m MODULE) is passed to the script.\n\n"
           "  advisor profile train.py --epochs 1 --lr 0.1\n\n"
           "  advisor profile --step train_step --max-steps 50 train.py\n\n"
           "  advisor profile --mode cprofile -m mypkg.train --config run.yaml",
)
def profile(
    script: Optional[str] = typer.Argument(None, help="The training script, then its own arguments."),
    module: Optional[str] = typer.Option(None, "-m", help="Run a module, like python -m."),
    mode: str = typer.Option("sample", "--mode", help="sample (default), cprofile or pyinstrument."),
    interval: float = typer.Option(0.005, "--interval", help="Seconds between samples."),
    step: Optional[str] = typer.Option(None, "--step", help="The step: name, Class.method or module:qualname."),
    warmup: int = typer.Option(1, "--warmup", help="Step calls dropped as warm-up."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop the script after N measured steps."),
    out: Path = typer.Option(Path("advisor-out"), "--out", "-o", help="Output folder."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Cost-model TOML (default: built-in)."),
    user_code: List[str] = typer.Option([], "--user-code", help="Folder whose files count as your code (repeatable)."),
    export: List[str] = typer.Option([], "--export", help="Also write: speedscope (and pyisession in pyinstrument mode)."),
    formats: List[str] = typer.Option([], "--format", help="Outputs to write: html, xlsx, json, csv (repeatable; default html, xlsx, json)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary, no progress line."),
    step_timing: str = typer.Option("exact", "--step-timing", help="exact (time each step call once the step is known) or sampled."),
    checkpoint: Optional[float] = typer.Option(None, "--checkpoint", help="Seconds between checkpoints of the profile (default 60; kept if the run is killed)."),
    threads: str = typer.Option("main", "--threads", help="main (the step thread) or all (every Python thread, each with its own split)."),
    children: str = typer.Option("on", "--children", help="on (sample forked/spawned child processes: DataLoader workers, pools) or off."),
    try_: bool = typer.Option(False, "--try", help="Then try what the advice suggests, each in a fresh run (advisor try)."),
) -> None:
    """Run a script unmodified, profile its training step, save and summarize the profile."""
    from advisor.api import ProfileOptions, profile_script
    from advisor.capture.runner import Target, check_target

    if (script is None) == (module is None):
        raise UsageError("give a script to profile (advisor profile train.py ...) or -m MODULE")
    out = rank_out_dir(out.absolute(), os.environ)  # absolute: the script may chdir; rank-N/ under torchrun
    target = Target("module" if module else "script", module or script or "", tuple(_script_args))
    options = ProfileOptions(mode=mode, interval_s=interval, step=step, warmup=warmup, max_steps=max_steps,
                             user_code=tuple(user_code), timing=step_timing, threads=threads, children=children)
    options.check()
    from advisor.pipeline import check_exports, load_cost_config, output_names

    check_exports(export, mode)
    cfg = load_cost_config(config)  # ConfigError (exit 2) names the key path, before any script runs
    outputs = output_names(formats)
    code = check_target(target)
    if checkpoint is not None and not (checkpoint > 0):
        raise UsageError(f"--checkpoint must be a number of seconds above 0, got {checkpoint}")
    from advisor.api import OutputLock, prepare_output, retire_outputs

    with OutputLock(prepare_output(out)):  # held through every output: a second run is refused
        retire_outputs(out)
        code_ = _profile_and_report(target, options, out, code, export, cfg, outputs, quiet, checkpoint or 60.0)
        if try_:
            _try_after(target, out, cfg, outputs, quiet, code_, _try_options(max_steps or 20, max(warmup, 1)))
    raise typer.Exit(code_)


@app.command("try", epilog="Everything after SCRIPT (or after -m MODULE) is passed to the script.\n\n"
                            "  advisor try train.py --epochs 1\n\n  advisor try --only gc,threads train.py\n\n"
                            "  advisor try --budget 10m --steps 30 train.py")
def try_command(
    script: Optional[str] = typer.Argument(None, help="The training script, then its own arguments."),
    module: Optional[str] = typer.Option(None, "-m", help="Run a module, like python -m."),
    only: Optional[str] = typer.Option(None, "--only", help="Experiments to consider: gc, threads, jit, interpreter (comma-separated; default all that apply)."),
    steps: int = typer.Option(20, "--steps", help="Measured steps per run."),
    warmup: int = typer.Option(2, "--warmup", help="Step calls dropped as warm-up in every run."),
    rounds: int = typer.Option(5, "--rounds", help="Baseline/experiment rounds (A B A B ...)."),
    budget: str = typer.Option("5m", "--budget", help="Time for the experiment runs: 90s, 5m, 1h."),
    step: Optional[str] = typer.Option(None, "--step", help="The step: name, Class.method or module:qualname."),
    python: Optional[str] = typer.Option(None, "--python", help="A CPython 3.13+ with the JIT for the interpreter experiment."),
    out: Path = typer.Option(Path("advisor-out"), "--out", "-o", help="Output folder."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Cost-model TOML (default: built-in)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary, no progress line."),
) -> None:
    """Profile, then run the cheap fixes that apply (GC, threads, numba, a JIT interpreter) and measure them."""
    from advisor.api import OutputLock, ProfileOptions, prepare_output, retire_outputs
    from advisor.capture.runner import Target, check_target
    from advisor.experiments.plan import parse_only
    from advisor.pipeline import load_cost_config, output_names

    if (script is None) == (module is None):
        raise UsageError("give a script to try (advisor try train.py ...) or -m MODULE")
    families = parse_only(only)
    opts = _try_options(steps, warmup, rounds, budget)
    out = out.absolute()
    target = Target("module" if module else "script", module or script or "", tuple(_script_args))
    options = ProfileOptions(step=step, warmup=warmup, max_steps=steps)
    options.check()
    cfg, outputs, code = load_cost_config(config), output_names([]), check_target(target)
    with OutputLock(prepare_output(out)):
        retire_outputs(out)
        code_ = _profile_and_report(target, options, out, code, [], cfg, outputs, quiet)
        _try_after(target, out, cfg, outputs, quiet, code_, opts, families, python)
    raise typer.Exit(code_)


def _try_options(steps: int, warmup: int, rounds: int = 5, budget: str = "5m") -> Any:
    from advisor.experiments.driver import TryOptions, parse_budget

    if steps < 1 or warmup < 0 or rounds < 1:
        raise UsageError("--steps and --rounds must be 1 or more, --warmup 0 or more")
    return TryOptions(steps=steps, warmup=warmup, rounds=rounds, budget_s=parse_budget(budget))


def _try_after(target: Any, out: Path, cfg: Any, outputs: tuple[str, ...], quiet: bool, script_code: int,
               opts: Any, families: Any = None, python: Optional[str] = None) -> None:
    """Run ``advisor try``'s experiments on the profile just saved in ``out`` and print what they measured."""
    from advisor.experiments.plan import FAMILIES
    from advisor.experiments.session import try_after_profile
    from advisor.render.tryouts import render_tryouts

    if script_code != 0:
        err.print(f"advisor try: the script exited with code {script_code}; nothing was tried", markup=False)
        return
    tty = sys.stderr.isatty()

    def progress(line: str) -> None:
        if not quiet:
            sys.stderr.write(f"\r\x1b[K{line}" if tty else line + "\n")
            sys.stderr.flush()

    report, tryouts = try_after_profile(target, out, cfg, outputs, opts, families or FAMILIES, python,
                                        say=lambda line: err.print(line, markup=False), progress=progress)
    if tty and not quiet:
        sys.stderr.write("\r\x1b[K")
    for name, why in report.failed.items():
        err.print(f"advisor: could not write {name}: {printable(why)}", markup=False)
    if not quiet:
        for line in render_tryouts(tryouts):
            err.print(printable(line), markup=False)
        err.print(f"tryouts saved: {printable(out / 'tryouts.json')}", markup=False)


def _profile_and_report(target: Any, options: Any, out: Path, code: Any, export: list[str], cfg: Any,
                        outputs: tuple[str, ...], quiet: bool, checkpoint_s: float = 60.0) -> int:
    from advisor.api import profile_script
    from advisor.errors import StepNotFound

    progress = None
    if not quiet and sys.stderr.isatty():
        from advisor.render.progress import ProgressLine

        progress = ProgressLine(err)
    try:
        prof = profile_script(target, options, out_dir=out, code=code, progress=progress, lock=False,
                              checkpoint_s=checkpoint_s, exit_after_save=True)
    except StepNotFound:
        err.print(f"profile saved: {printable(out / 'profile.json')}", markup=False)
        raise
    _summarize(prof, out, export, cfg, outputs, quiet, {"profile saved": str(out / "profile.json")})
    return prof.outcome.exit_code


def _summarize(prof: Any, out: Path, export: list[str], cfg: Any, outputs: tuple[str, ...], quiet: bool,
               saved: dict[str, str]) -> None:
    """Run the shared pipeline (analyse, advise, write), report failed outputs, print the summary."""
    from advisor.pipeline import finish

    result = finish(prof, out, cfg, outputs, export)
    for name, why in result.failed.items():
        err.print(f"advisor: could not write {name}: {printable(why)}", markup=False)
    if not quiet:
        from advisor.render.terminal import render_summary

        render_summary(result.analysis, err, {**saved, **result.written}, advice=result.advice)


@app.command()
def report(
    profile_path: Path = typer.Argument(..., metavar="PROFILE", help="A saved profile.json."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: the profile's)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Cost-model TOML (default: built-in)."),
    export: List[str] = typer.Option([], "--export", help="Also write: speedscope."),
    formats: List[str] = typer.Option([], "--format", help="Outputs to write: html, xlsx, json, csv (repeatable; default html, xlsx, json)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
    step: Optional[str] = typer.Option(None, "--step", help="Analyse another step: name, Class.method, module:qualname or FILE:LINE (a loop)."),
    warmup: Optional[int] = typer.Option(None, "--warmup", help="Steps dropped as warm-up (default: as profiled)."),
) -> None:
    """Summarize a saved profile again, without re-running anything (--step: with another step)."""
    from advisor.api import prepare_output
    from advisor.model import Profile

    from advisor.pipeline import check_exports, load_cost_config, output_names

    check_exports(export, "sample")
    cfg = load_cost_config(config)
    outputs = output_names(formats)
    prof = Profile.load(profile_path)
    if step is not None or warmup is not None:
        from advisor.analysis.stepping import apply_step

        prof = apply_step(prof, step, warmup, strict=True)
    out_dir = prepare_output(out if out is not None else profile_path.parent)
    from advisor.api import OutputLock

    with OutputLock(out_dir):
        _summarize(prof, out_dir, export, cfg, outputs, quiet, {})


@app.command(epilog="  advisor compare before/ after/ --html compare.html\n\n"
                     "  advisor compare base/profile.json pr/profile.json --json compare.json")
def compare(
    before: Path = typer.Argument(..., help="The before run: its output folder or profile.json."),
    after: Path = typer.Argument(..., help="The after run: its output folder or profile.json."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Recompute the before advice with this TOML."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the comparison as JSON."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Also write an HTML page."),
    force: bool = typer.Option(False, "--force", help="Compare runs that differ in interval, mode, machine or step."),
) -> None:
    """Did the change deliver? Step time, functions side by side, each prediction against the measurement."""
    from advisor.compare import compare_paths
    from advisor.model import write_atomic
    from advisor.render.compare import render_compare_html, render_compare_json, render_compare_text

    result = compare_paths(before, after, config=config, force=force)
    print(render_compare_text(result), end="")
    if json_out is not None:
        write_atomic(json_out, render_compare_json(result).encode("utf-8"))
    if html_out is not None:
        write_atomic(html_out, render_compare_html(result).encode("utf-8"))


@app.command(epilog="  torchrun --nproc-per-node 4 -m advisor profile --out runs/job train.py\n\n"
                     "  advisor merge runs/job\n\n  advisor merge node0-out/ node1-out/ --out merged/")
def merge(
    folders: List[Path] = typer.Argument(..., metavar="DIR...", help="Run folders holding rank-N/profile.json."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where merged.json and merged.html go (default: the first DIR)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
) -> None:
    """The ranks of one distributed run side by side: stragglers, waiting on other ranks, merged hotspots."""
    from advisor.api import OutputLock, prepare_output
    from advisor.merge import merge_paths
    from advisor.model import write_atomic
    from advisor.render.merge import render_merged_html, render_merged_json, render_merged_text

    merged = merge_paths(folders)
    target = out if out is not None else (folders[0] if folders[0].is_dir() else folders[0].parent)
    out_dir = prepare_output(target)
    with OutputLock(out_dir):
        paths = [write_atomic(out_dir / "merged.json", render_merged_json(merged).encode("utf-8")),
                 write_atomic(out_dir / "merged.html", render_merged_html(merged).encode("utf-8"))]
    if not quiet:
        print(render_merged_text(merged), end="")
    for p in paths:
        err.print(f"saved: {printable(p)}", markup=False)


@app.command(epilog="  advisor check advisor-out/profile.json --budget advisor-budget.toml --baseline base/profile.json")
def check(
    profile_path: Path = typer.Argument(..., metavar="PROFILE", help="A profile.json or output folder."),
    budget: Path = typer.Option(Path("advisor-budget.toml"), "--budget", help="The budget TOML (docs/ci.md)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Profile (or folder) to compare step time with."),
    force: bool = typer.Option(False, "--force", help="Check against a baseline from another machine or interval."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the breaches."),
) -> None:
    """Fail (exit 1, one line per breach) when a profile crosses the budget; for CI."""
    from advisor.check import check as run_check
    from advisor.check import load_budget
    from advisor.compare import load_side

    rules = load_budget(budget)
    prof, _ = load_side(profile_path)
    base = load_side(baseline)[0] if baseline is not None else None
    result = run_check(prof, rules, base, force=force)
    if not quiet:
        for line in result.passed:
            print(f"ok: {line}")
        for line in result.notes:
            print(f"note: {line}")
    for line in result.breaches:
        err.print(f"advisor: budget exceeded: {line}", markup=False)
    raise typer.Exit(0 if result.ok else 1)


config_app = typer.Typer(no_args_is_help=True, help="Write or check a cost-model configuration (TOML).")
app.add_typer(config_app, name="config")


@config_app.command("init")
def config_init(
    path: Path = typer.Argument(Path("advisor.toml"), help="Where to write the file."),
    preset: str = typer.Option("cpu-cluster", "--preset", help="cpu-cluster, gpu-cluster or workstation."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented configuration with every default and its source."""
    from advisor.costmodel import preset_text
    from advisor.model import write_atomic

    text = preset_text(preset)
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; use --force to overwrite it")
    write_atomic(path, text.encode("utf-8"))
    print(f"wrote {printable(path)} (preset {preset}); set [cluster] and [team] to your figures, then run "
          f"`advisor config check {path}`")


@config_app.command("check")
def config_check(file: Path = typer.Argument(..., help="The TOML file to validate.")) -> None:
    """Validate a configuration; exit 2 with the key path at fault."""
    from advisor.costmodel import load_config

    cfg = load_config(file)
    c = cfg.cluster
    print(f"{printable(file)}: OK · {c.nodes} × {printable(c.instance)} · ${cfg.monthly_bill_usd:,.0f}/month · "
          f"engineer ${cfg.team.engineer_cost_per_week:,.0f}/week · horizon {cfg.team.horizon_months:g} months · "
          f"{len(cfg.targets)} targets")


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
    global _script_args, _debug
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = next((c for c in ("profile", "try") if c in argv), None)
    _debug = "--debug" in argv[: argv.index(cmd)] if cmd else "--debug" in argv
    head = []
    while argv and argv[0] in ("--debug",):
        head.append(argv.pop(0))
    ours, _script_args = split_argv(argv)
    return _guarded(lambda: app(head + ours, prog_name="advisor", standalone_mode=False))


def _click_exceptions() -> Any:
    """typer ≥ 0.20 vendors click as ``typer._click``; older ones use click itself."""
    try:
        from typer._click import exceptions  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions
    return exceptions


def _guarded(call: Callable[[], Any]) -> int:
    click = _click_exceptions()

    try:
        result = call()
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        err.print(f"advisor: error: {printable(exc.format_message())}", markup=False)
        return 2
    except typer.Abort:
        return 130
    except AdvisorError as exc:
        if _debug:
            raise
        # Messages quote names and paths from profiles and configs: shown escaped, on one line.
        err.print(f"advisor: error: {printable(exc.message)}", markup=False)
        if exc.hint:
            err.print(f"advisor: hint: {printable(exc.hint)}", markup=False)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in advisor: one line, not a traceback
        if _debug:
            raise
        err.print(f"advisor: internal error: {type(exc).__name__}: {printable(exc)} (this is a bug in advisor; "
                  "rerun with --debug for the traceback)", markup=False)
        return EXIT_INTERNAL


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
