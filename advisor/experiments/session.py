"""``advisor try`` after the profile: plan from the advice, run the rounds, save tryouts.json, advise again
with the measured results. The CLI's ``try`` command and ``profile --try`` both call ``try_after_profile``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from advisor.experiments.driver import Driver, TryOptions
from advisor.experiments.plan import FAMILIES, plan_experiments
from advisor.experiments.results import Tryout, save_tryouts

TRYOUTS_NAME = "tryouts.json"


def try_after_profile(target: Any, out: Path, config: Any, outputs: tuple[str, ...], options: TryOptions,
                      only: tuple[str, ...] = FAMILIES, python: str | None = None,
                      say: Callable[[str], None] = lambda line: None,
                      progress: Callable[[str], None] | None = None) -> tuple[Any, tuple[Tryout, ...]]:
    """Run the experiments that apply to ``out/profile.json`` and rewrite the outputs with them.

    Args:
        target: the ``capture.runner.Target`` that was profiled (run again, unmodified, per experiment).
        out: the output folder holding profile.json; tryouts.json and the outputs are written there.
        config, outputs: as ``pipeline.finish``.
        options: steps, warm-up, rounds, budget.
        only: experiment families to consider (``plan.FAMILIES``).
        python: another interpreter for the ``interpreter`` experiment (default: look on PATH).
        say: gets the warning printed before the runs start.
        progress: gets a status line before each run.

    Returns:
        (``pipeline.Report`` with ``advice.measured``, the tryouts).
    """
    from advisor.model import Profile
    from advisor.pipeline import finish

    prof = Profile.load(out / "profile.json")
    plan = plan_experiments(finish(prof, None, config).advice, only, python)
    if plan.experiments:
        runs = options.rounds * (1 + len(plan.experiments))
        say(f"advisor try: runs the script up to {runs} more times ({options.rounds} rounds × baseline + "
            f"{', '.join(e.name for e in plan.experiments)}; {options.steps} steps each, budget "
            f"{options.budget_s:.0f} s); its side effects happen each time: ADVISOR_TRY=1 is set so it can skip them")
    tryouts = Driver(target, plan, options, progress).run()
    meta = {"step": plan.step_spec, "steps": options.steps, "warmup": options.warmup, "rounds": options.rounds,
            "budget_s": options.budget_s, "command": prof.command.to_json()}
    save_tryouts(out / TRYOUTS_NAME, tryouts, meta)
    return finish(prof, out, config, outputs, tryouts=tryouts), tryouts
