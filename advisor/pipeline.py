"""What happens after capture, in one place: analyse once, advise once, write the chosen outputs.

``advisor profile``, ``advisor report``, the notebook magics and ``advisor.api.profile_call`` all call
``finish(profile, ...)`` and read the ``Report`` it returns, so a notebook gets exactly the numbers and
files the command line gets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from advisor.analysis import Analysis, analyze
from advisor.errors import RenderError, UsageError
from advisor.model import Profile, write_atomic
from advisor.outputs import DEFAULT_FORMATS as DEFAULT_OUTPUTS
from advisor.outputs import FORMATS

EXPORTS = ("speedscope", "pyisession")
QUICK_OUTPUTS = ("advice",)  # written before ``finish``'s ``first`` callback; the slower reports after it


@dataclass(frozen=True, slots=True, repr=False)
class Report:
    """The result of one pipeline run: the analysis, the advice, and what was written where.

    ``written`` maps a label ("advice saved", "speedscope", ...) to a path; ``failed`` maps an output
    name to a one-line reason. In a notebook the object shows itself as a compact HTML summary.
    """

    profile: Profile
    analysis: Analysis
    advice: Any  # costmodel.Advice
    written: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        a = self.analysis
        top = ", ".join(f"{h.key.qualname} {h.self_share:.0%}" for h in a.hotspots[:3])
        return (f"<advisor Report: step {a.step_name}, {a.stats.count} steps, mean {a.stats.mean_s * 1e3:.3g} ms; "
                f"top: {top or 'none'}; {len(self.written)} files written"
                + (f"; FAILED: {', '.join(self.failed)}" if self.failed else "") + ">")

    def _repr_html_(self) -> str:
        from advisor.render.summary_html import render_summary_html

        return render_summary_html(self.advice, self.written, failed=self.failed)

    def raise_for_failed(self) -> None:
        """Raise ``RenderError`` (exit 4) naming every output that could not be written, if any."""
        raise_for_failed(self.failed)


def raise_for_failed(failed: dict[str, str]) -> None:
    """``RenderError`` for the outputs in ``failed`` (output name → reason); nothing when it is empty."""
    if failed:
        raise RenderError("could not write " + "; ".join(f"{name}: {why}" for name, why in failed.items()),
                          hint="the profile and the other outputs were written")


def output_names(formats: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """``--format`` values (html, xlsx, json, csv) → output names; none given → the default three."""
    if not formats:
        return DEFAULT_OUTPUTS
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise UsageError(f"unknown --format {bad[0]!r}; choose from {', '.join(FORMATS)}")
    return tuple(FORMATS[f] for f in formats)


def check_exports(export: list[str] | tuple[str, ...], mode: str) -> None:
    """Refuse an unknown ``--export`` before anything runs."""
    for e in export:
        if e not in EXPORTS:
            raise UsageError(f"unknown --export {e!r}; choose speedscope or pyisession")
        if e == "pyisession" and mode != "pyinstrument":
            raise UsageError("--export pyisession needs --mode pyinstrument")


def load_cost_config(config: Any = None) -> Any:
    """A validated ``CostConfig``: ``None`` → built-in defaults, a path → that file, a CostConfig → itself.

    Raises ``UsageError`` for a missing file and ``ConfigError`` (naming the key path) for a bad one.
    """
    from advisor.costmodel import CostConfig, load_config

    if isinstance(config, CostConfig):
        return config
    if config is not None and not Path(config).is_file():
        raise UsageError(f"--config {config}: no such file")
    return load_config(Path(config) if config is not None else None)


def finish(profile: Profile, out_dir: str | os.PathLike[str] | None = None, config: Any = None,
           outputs: tuple[str, ...] = DEFAULT_OUTPUTS, export: tuple[str, ...] | list[str] = (),
           tryouts: tuple[Any, ...] = (), first: Callable[[Report], None] | None = None) -> Report:
    """Analyse ``profile``, advise on it, and write ``outputs`` (and ``export``s) into ``out_dir``.

    Args:
        profile: a captured or loaded Profile.
        out_dir: folder for the outputs; None writes nothing (a notebook may only want the objects).
        config: CostConfig, a TOML path, or None for the built-in defaults.
        outputs: names from ``advisor.outputs.OUTPUTS`` (see ``output_names`` for ``--format`` values).
        export: "speedscope" and/or "pyisession" (the latter is written during capture; listed here).
        tryouts: measured results of ``advisor try`` (``experiments.results.Tryout``): the cost model uses
            a measured step speedup instead of its prior (``costmodel.measured``).
        first: called with the Report so far once advice.json (and the exports) are written and before
            report.html, roi.xlsx and kernels.csv are rendered, so the CLI can print its summary while
            the user would otherwise wait for them; the returned Report lists every output.

    Returns:
        A ``Report``. One failing renderer is recorded in ``failed``; the others are still written;
        ``Report.raise_for_failed()`` turns that into ``RenderError``.
    """
    from advisor.costmodel import advise
    from advisor.machine import with_machine_rates

    profile = with_machine_rates(profile)  # post-run: this machine's NumPy rates, measured once and cached
    analysis = analyze(profile)
    advice = advise(analysis, load_cost_config(config), tuple(tryouts))
    written: dict[str, str] = {}
    failed: dict[str, str] = {}
    quick = tuple(o for o in outputs if o in QUICK_OUTPUTS) if first is not None else outputs
    if out_dir is not None:
        written, failed = _write(profile, advice, Path(out_dir), quick, tuple(export))
    if first is not None:
        first(Report(profile, analysis, advice, dict(written), dict(failed)))
        rest = tuple(o for o in outputs if o not in quick)
        if out_dir is not None and rest:
            more, more_failed = _write(profile, advice, Path(out_dir), rest, ())
            written, failed = written | more, failed | more_failed
    return Report(profile, analysis, advice, written, failed)


def profile_and_finish(target: Any, options: Any, out_dir: Path, *, config: Any = None,
                       outputs: tuple[str, ...] = DEFAULT_OUTPUTS, export: tuple[str, ...] | list[str] = (),
                       code: Any = None, progress: Any = None, checkpoint_s: float | None = 60.0,
                       exit_after_save: bool = False, first: Callable[[Report], None] | None = None) -> Report:
    """What ``advisor profile`` does: run ``target`` under the profiler, save profile.json, then ``finish``.

    The caller holds ``OutputLock`` on ``out_dir`` (the CLI keeps it through ``advisor try`` too).
    ``StepNotFound`` is raised after the profile is saved. Failed outputs are in ``Report.failed``.
    ``first``: as in ``finish``.
    """
    from advisor.api import profile_script

    prof = profile_script(target, options, out_dir=out_dir, code=code, progress=progress, lock=False,
                          checkpoint_s=checkpoint_s, exit_after_save=exit_after_save)
    return finish(prof, out_dir, config, outputs, export, first=first)


def report_saved(profile_path: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None,
                 config: Any = None, outputs: tuple[str, ...] = DEFAULT_OUTPUTS,
                 export: tuple[str, ...] | list[str] = (), step: str | None = None,
                 warmup: int | None = None) -> Report:
    """What ``advisor report`` does: load a saved profile, optionally choose another step (``--step``,
    ``--warmup``), and ``finish`` it into ``out_dir`` (default: the profile's folder) under OutputLock."""
    from advisor.api import OutputLock, prepare_output

    prof = Profile.load(profile_path)
    if step is not None or warmup is not None:
        from advisor.analysis.stepping import apply_step

        prof = apply_step(prof, step, warmup, strict=True)
    out = prepare_output(out_dir if out_dir is not None else Path(profile_path).parent)
    with OutputLock(out):
        return finish(prof, out, config, outputs, export)


def try_options(steps: int, warmup: int, rounds: int = 5, budget: str = "5m") -> Any:
    """``experiments.driver.TryOptions`` from the command's values; ``UsageError`` for impossible ones."""
    from advisor.experiments.driver import TryOptions, parse_budget

    if steps < 1 or warmup < 0 or rounds < 1:
        raise UsageError("--steps and --rounds must be 1 or more, --warmup 0 or more")
    return TryOptions(steps=steps, warmup=warmup, rounds=rounds, budget_s=parse_budget(budget))


def _write(profile: Profile, advice: Any, out: Path, outputs: tuple[str, ...],
           export: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    from advisor.outputs import write_outputs

    written: dict[str, str] = {}
    if "speedscope" in export:
        from advisor.render.speedscope import render_speedscope

        written["speedscope"] = str(write_atomic(out / "profile.speedscope.json",
                                                 render_speedscope(profile).encode()))
    if "pyisession" in export:
        written["pyinstrument session"] = str(out / "profile.pyisession")
    result = write_outputs(advice, out, outputs)
    written.update({f"{name} saved": path for name, path in result.paths.items()})
    return written, dict(result.failed)
