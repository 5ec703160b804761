"""The profilers compared, how each is launched on a workload, and how its output becomes phase shares.

Every tool runs the unmodified workload script in a fresh interpreter. From each output we read, per
phase function, its *inclusive* share of the step function's time (``train_step``):

* advisor (sample / cprofile modes): ``advisor.analysis.analyze`` on the saved profile; a phase's
  hotspot gives its inclusive share of the measured step and its interpreted/native/waiting/gc split.
* pyinstrument: the raw ``frame_records`` of its saved session (no render-time processors).
* cProfile: cumulative time of the phase function over cumulative time of ``train_step``.
* py-spy: raw collapsed stacks (``--format raw --idle``), counting samples under each function.
"""

from __future__ import annotations

import json
import os
import pstats
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEP = "train_step"
PYSPY_RATE = 200  # samples/s: the same rate as advisor's default 5 ms interval
TOOLS = ("plain", "advisor-sample", "advisor-cprofile", "pyinstrument", "cProfile", "py-spy")


@dataclass
class Run:
    """One run of one tool on one workload."""

    tool: str
    workload: str
    rep: int
    wall_s: float = 0.0
    truth: dict | None = None
    shares: dict[str, float] = field(default_factory=dict)  # phase -> inclusive share of the step
    splits: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> bucket -> fraction
    top: list[tuple[str, float]] = field(default_factory=list)  # advisor: top hotspots (self share)
    step_name: str = ""
    error: str = ""
    verdicts: dict[str, list] = field(default_factory=dict)  # advisor: function -> [verdict, self share]


def command(tool: str, script: Path, work: Path) -> list[str]:
    py = sys.executable
    if tool == "plain":
        return [py, str(script)]
    if tool.startswith("advisor-"):
        mode, _, ms = tool.split("-", 1)[1].partition("@")  # advisor-sample@1ms: --interval 0.001
        interval = ["--interval", str(float(ms.removesuffix("ms")) / 1000)] if ms else []
        return [py, "-m", "advisor", "profile", "--quiet", "--mode", mode, *interval, "--out", str(work / "adv"),
                str(script)]
    if tool == "pyinstrument":
        return [py, "-m", "pyinstrument", "-r", "pyisession", "-o", str(work / "out.pyisession"), str(script)]
    if tool == "cProfile":
        return [py, "-m", "cProfile", "-o", str(work / "out.prof"), str(script)]
    if tool == "py-spy":
        return ["py-spy", "record", "--format", "raw", "--idle", "-r", str(PYSPY_RATE), "-o",
                str(work / "out.raw"), "--", py, str(script)]
    raise ValueError(tool)


def run_tool(tool: str, script: Path, work: Path, env: dict[str, str], rep: int, timeout: float = 300) -> Run:
    """Run ``script`` under ``tool`` in ``work``; wall time, ground truth and parsed shares."""
    run = Run(tool, script.stem, rep)
    truth_path = work / "truth.json"
    env = {**env, "BENCH_TRUTH": str(truth_path)}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(command(tool, script, work), cwd=work, env=env, capture_output=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        run.error = f"{type(exc).__name__}: {exc}"[:300]
        return run
    run.wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or b"").decode(errors="replace").strip().splitlines()[-3:]
        run.error = f"exit {proc.returncode}: {' | '.join(tail)}"[:300]
        return run
    try:
        run.truth = json.loads(truth_path.read_text())
        phases = list(run.truth["phases"])
        if tool != "plain":
            PARSERS[tool.partition("@")[0]](run, work, phases)
    except Exception as exc:  # a parser failure is a result to report, not a crash
        run.error = f"parse: {type(exc).__name__}: {exc}"[:300]
    return run


# ---- parsers ---------------------------------------------------------------------------------------
def _parse_advisor(run: Run, work: Path, phases: list[str]) -> None:
    from advisor.analysis import analyze
    from advisor.model import Profile

    analysis = analyze(Profile.load(work / "adv" / "profile.json"))
    run.step_name = analysis.step_name
    for h in analysis.hotspots:
        if h.key.qualname in phases:
            run.shares[h.key.qualname] = h.inclusive_share
            run.splits[h.key.qualname] = h.inclusive_split.shares()
    for p in phases:
        run.shares.setdefault(p, 0.0)
    run.top = [(h.key.qualname, h.self_share) for h in analysis.hotspots[:5]]
    advice = work / "adv" / "advice.json"
    if advice.is_file():
        # the verdict a user sees: the item a function points to ("see #1: Tune the cyclic GC") where an
        # item owns its time, else its own
        run.verdicts = {k["function"]: [f"see:{k['see']['kind']}" if k.get("see") else k.get("verdict"),
                                        k.get("self_share", 0.0)]
                        for k in json.loads(advice.read_text()).get("kernels", [])}


def _shares_from_stacks(stacks: list[tuple[list[str], float]], phases: list[str]) -> dict[str, float]:
    """Inclusive share of each phase among stacks that pass through the step function."""
    step_t = 0.0
    per = {p: 0.0 for p in phases}
    for names, weight in stacks:
        if STEP not in names:
            continue
        step_t += weight
        below = set(names[names.index(STEP) + 1:])
        for p in phases:
            if p in below:
                per[p] += weight
    if step_t <= 0:
        raise ValueError(f"no samples inside {STEP}")
    return {p: t / step_t for p, t in per.items()}


def _parse_pyinstrument(run: Run, work: Path, phases: list[str]) -> None:
    from pyinstrument.session import Session

    session = Session.load(str(work / "out.pyisession"))
    stacks = [([ident.split("\x00", 1)[0] for ident in stack], t) for stack, t in session.frame_records]
    run.shares = _shares_from_stacks(stacks, phases)
    run.step_name = STEP


def _parse_cprofile(run: Run, work: Path, phases: list[str]) -> None:
    stats = pstats.Stats(str(work / "out.prof")).stats  # type: ignore[attr-defined]
    cum: dict[str, float] = {}
    for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
        if file.endswith(f"{run.workload}.py"):
            cum[name] = cum.get(name, 0.0) + ct
    step_t = cum.get(STEP, 0.0)
    if step_t <= 0:
        raise ValueError(f"{STEP} not in the cProfile output")
    run.shares = {p: cum.get(p, 0.0) / step_t for p in phases}
    run.step_name = STEP


def _parse_pyspy(run: Run, work: Path, phases: list[str]) -> None:
    stacks = []
    for line in (work / "out.raw").read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        names = [f.split(" (", 1)[0] for f in stack.split(";")]
        stacks.append((names, float(count)))
    run.shares = _shares_from_stacks(stacks, phases)
    run.step_name = STEP


PARSERS = {"advisor-sample": _parse_advisor, "advisor-cprofile": _parse_advisor,
           "pyinstrument": _parse_pyinstrument, "cProfile": _parse_cprofile, "py-spy": _parse_pyspy}


def base_env(scale: float) -> dict[str, str]:
    env = dict(os.environ)
    env["BENCH_SCALE"] = str(scale)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.pop("BENCH_TRUTH", None)
    # As on a user's machine, where pip compiled the bytecode at install: a shell that forbids writing it
    # (PYTHONDONTWRITEBYTECODE) makes every run compile the modules changed since the last write, which
    # once added ~0.3-0.5 s to advisor's fixed cost here (and nothing to the tools installed by pip).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
