"""``advisor``'s commands declared with typer; ``cli.py`` runs them (and parses plain ``advisor profile``
without typer, ``quickargs.py``). Each command turns options into library arguments and calls one function."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from advisor._version import __version__
from advisor.cli import _err, _profile_then, _show, _target, profile_run
from advisor.errors import UsageError
from advisor.render._safe import printable

app = typer.Typer(
    name="advisor", add_completion=False, no_args_is_help=True, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Profile a training step and tell which code is worth porting to a compiled language.",
    epilog="Examples:\n\n  advisor profile train.py --epochs 1\n\n"
           "  advisor profile --max-steps 50 -- train.py --config run.yaml   (after -- or SCRIPT: the script's)"
           "\n\n  advisor report advisor-out/profile.json --config team.toml",
)


def _version(value: bool) -> None:
    if value:
        print(f"advisor {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of advisor's own errors (before the command)."),
) -> None:
    pass  # --debug is read by run() before parsing (it decides how errors are shown); declared for --help


@app.command(
    epilog="Everything after SCRIPT (or after -m MODULE) is passed to the script.\n\n"
           "  advisor profile train.py --epochs 1 --lr 0.1\n\n"
           "  advisor profile --step train_step --max-steps 50 train.py\n\n"
           "  advisor profile --max-steps 50 -- train.py --config run.yaml   (-- ends advisor's options)",
)
def profile(
    ctx: typer.Context,
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
    raise typer.Exit(profile_run(tuple(ctx.obj["script_args"]), script, module, mode, interval, step, warmup,
                                 max_steps, out, config, user_code, export, formats, quiet, step_timing, checkpoint,
                                 threads, children, try_))


@app.command("try", epilog="Everything after SCRIPT (or after -m MODULE) is passed to the script.\n\n"
                            "  advisor try train.py --epochs 1\n\n  advisor try --only gc,threads train.py\n\n"
                            "  advisor try --budget 10m --steps 30 train.py")
def try_command(
    ctx: typer.Context,
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
    from advisor.api import ProfileOptions
    from advisor.capture.runner import check_target
    from advisor.experiments.plan import parse_only
    from advisor.pipeline import load_cost_config, output_names, try_options

    target = _target(script, module, "try", tuple(ctx.obj["script_args"]))
    families = parse_only(only)
    opts = try_options(steps, warmup, rounds, budget)
    out = out.absolute()
    options = ProfileOptions(step=step, warmup=warmup, max_steps=steps)
    options.check()
    cfg, outputs, code = load_cost_config(config), output_names([]), check_target(target)
    raise typer.Exit(_profile_then(target, options, out, code, cfg, outputs, quiet, then=(opts, families, python)))


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
    from advisor.pipeline import check_exports, load_cost_config, output_names, report_saved

    check_exports(export, "sample")
    rep = report_saved(profile_path, out, load_cost_config(config), output_names(formats), export, step, warmup)
    _show(rep, quiet, {})
    rep.raise_for_failed()


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
    from advisor.outputs import write_comparison
    from advisor.render.compare import render_compare_text

    result = compare_paths(before, after, config=config, force=force)
    print(render_compare_text(result), end="")
    write_comparison(result, json_out, html_out)


@app.command(epilog="  torchrun --nproc-per-node 4 -m advisor profile --out runs/job train.py\n\n"
                     "  advisor merge runs/job\n\n  advisor merge node0-out/ node1-out/ --out merged/")
def merge(
    folders: List[Path] = typer.Argument(..., metavar="DIR...", help="Run folders holding rank-N/profile.json."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where merged.json and merged.html go (default: the first DIR)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
) -> None:
    """The ranks of one distributed run side by side: stragglers, waiting on other ranks, merged hotspots."""
    from advisor.api import prepare_output
    from advisor.merge import merge_paths
    from advisor.outputs import write_merged
    from advisor.render.merge import render_merged_text

    merged = merge_paths(folders)
    target = out if out is not None else (folders[0] if folders[0].is_dir() else folders[0].parent)
    paths = write_merged(merged, prepare_output(target))
    if not quiet:
        print(render_merged_text(merged), end="")
    for p in paths:
        _err().print(f"saved: {printable(p)}", markup=False)


@app.command(epilog="  advisor check advisor-out/profile.json --budget advisor-budget.toml --baseline base/profile.json")
def check(
    profile_path: Path = typer.Argument(..., metavar="PROFILE", help="A profile.json or output folder."),
    budget: Path = typer.Option(Path("advisor-budget.toml"), "--budget", help="The budget TOML (docs/ci.md)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Profile (or folder) to compare step time with."),
    force: bool = typer.Option(False, "--force", help="Check against a baseline from another machine or interval."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the breaches."),
) -> None:
    """Fail (exit 1, one line per breach) when a profile crosses the budget; for CI."""
    from advisor.check import check_paths

    result = check_paths(profile_path, budget, baseline, force)
    if not quiet:
        for line in result.passed:
            print(f"ok: {line}")
        for line in result.notes:
            print(f"note: {line}")
    for line in result.breaches:
        _err().print(f"advisor: budget exceeded: {line}", markup=False)
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


