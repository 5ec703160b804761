"""``python -m benchmarks try``: ``advisor try`` on the sample workloads, predicted against measured.

For each case this runs the real command (``python -m advisor try --only ... --format json``) in a
subprocess, reads tryouts.json, and records per experiment the cost model's prediction, the measured
step speedup and its spread, and whether every round fell inside, above or below the prediction. Where
``benchmarks/fixed_variants.py`` times the same fix in-process (the GC fix on scalar_autograd), that
figure is shown beside it: two independent measurements of one change.

It then checks the default GC lever (``levers.gc_removable`` in advisor/costmodel/defaults.toml): the
share of the collector's time each GC experiment removed, ``(1 - 1/speedup) / gc share``, against the
lever's low–high range. The result is written to benchmarks/RESULTS-try.md (generated; do not edit) and
benchmarks/results-try.json, and the record of earlier runs kept in results-try.json is carried over, so
the table grows across benchmark runs.

    python -m benchmarks try                 # ~5-10 minutes on 2 cores
    python -m benchmarks try --quick         # fewer steps and rounds
    python -m benchmarks try --report-only   # re-render RESULTS-try.md from results-try.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLES = ROOT / "sample_workloads"
KEEP_RUNS = 20  # benchmark runs kept in results-try.json


@dataclass(frozen=True)
class Case:
    """One workload and the experiment families tried on it."""

    script: str
    args: tuple[str, ...]
    only: str
    needs: str = ""           # a module the workload or experiment needs ("torch", "numba")
    step_args: str = "--steps"  # the script's own option for iterations per epoch (set to cover the run)


CASES = (
    Case("scalar_autograd.py", ("--epochs", "1", "--batch", "16"), "gc,threads"),
    Case("pure_python_kernel.py", ("--epochs", "1", "--window", "1024"), "jit,gc", needs="numba"),
    Case("per_sample_numpy.py", ("--epochs", "1", "--batch", "16"), "threads,gc"),
    Case("torch_cpu.py", ("--epochs", "1",), "threads,gc", needs="torch"),
)


@dataclass
class Row:
    """One experiment on one workload in one benchmark run."""

    workload: str
    experiment: str
    status: str
    detail: str = ""
    predicted: list[float] | None = None
    predicted_basis: str = ""
    ratio: float | None = None
    low: float | None = None
    high: float | None = None
    rounds: int = 0
    steps: int = 0
    noise: float = 0.0
    versus: str = ""
    seconds: float = 0.0
    gc_share: float | None = None      # the collector's share of the profiled step (for the lever check)
    fixed_variant: float | None = None  # the same fix timed in-process by fixed_variants.py


@dataclass
class BenchRun:
    date: str
    machine: str
    steps: int
    rounds: int
    rows: list[Row] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _run_case(case: Case, steps: int, warmup: int, rounds: int, budget: str, log) -> tuple[list[Row], str]:
    """``advisor try`` on one workload; returns its rows, or ([], why) when it could not run."""
    if case.needs and importlib.util.find_spec(case.needs) is None:
        return [], f"{case.script}: {case.needs} is not installed"
    with tempfile.TemporaryDirectory(prefix="advisor-bench-try-") as tmp:
        out = Path(tmp) / "out"
        per_epoch = str(warmup + steps + 4)  # every run reaches --max-steps before the script ends
        cmd = [sys.executable, "-m", "advisor", "try", "--only", case.only, "--steps", str(steps),
               "--warmup", str(warmup), "--rounds", str(rounds), "--budget", budget,
               "--out", str(out), str(SAMPLES / case.script), case.step_args, per_epoch, *case.args]
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        log(f"  {case.script}: exit {proc.returncode} in {time.time() - t0:.0f} s")
        if proc.returncode != 0 or not (out / "tryouts.json").exists():
            return [], f"{case.script}: advisor try failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
        tried = json.loads((out / "tryouts.json").read_text())["tryouts"]
        advice = json.loads((out / "advice.json").read_text())
    gc_share = advice["step"]["split"].get("gc")
    rows = []
    for t in tried:
        pred = t.get("predicted")
        rows.append(Row(case.script, t["name"], t["status"], t.get("detail", ""),
                        [pred["low"], pred["high"]] if pred else None, t.get("predicted_basis", ""), t.get("ratio"),
                        t.get("low"), t.get("high"), t.get("rounds", 0), t.get("steps", 0), t.get("noise", 0.0),
                        t.get("versus_prediction", ""), t.get("seconds", 0.0),
                        gc_share if t["name"].startswith("gc") else None))
    return rows, ""


def _fixed_variant(log) -> float | None:
    """The GC fix on scalar_autograd timed in-process (fixed_variants.py), in a fresh interpreter."""
    code = ("import json; from benchmarks.fixed_variants import scalar_autograd_gc as f; "
            "b, a = f(); print(json.dumps(b / a))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=900)
    try:
        value = float(json.loads(proc.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        log(f"  fixed variant failed: {proc.stderr.strip()[-300:]}")
        return None
    log(f"  fixed variant (gc off in the step, collect between): {value:.2f}×")
    return value


def run(steps: int, warmup: int, rounds: int, budget: str, log) -> BenchRun:
    from benchmarks.report import environment

    env = environment()
    bench = BenchRun(time.strftime("%Y-%m-%d %H:%M %Z"), "; ".join(env), steps, rounds)
    for case in CASES:
        rows, why = _run_case(case, steps, warmup, rounds, budget, log)
        bench.rows += rows
        if why:
            bench.skipped.append(why)
    fixed = _fixed_variant(log)
    for r in bench.rows:
        if r.workload == "scalar_autograd.py" and r.experiment == "gc:off":
            r.fixed_variant = fixed
    return bench


# ---- the record and its report ---------------------------------------------------------------------------

def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}×"


def removed_fraction(row: Row) -> float | None:
    """The share of the collector's time the experiment removed: (1 - 1/speedup) / gc share."""
    if row.ratio is None or not row.gc_share or row.status not in ("faster", "slower", "no-gain"):
        return None
    return (1.0 - 1.0 / row.ratio) / row.gc_share


def lever_check(runs: list[BenchRun], lever: tuple[float, float, float]) -> list[str]:
    """Every measured GC experiment against ``levers.gc_removable`` (gc:freeze is the change the GC item's
    prior stands for; gc:off its upper bound)."""
    lines = ["| run | workload | experiment | GC share of the step | step speedup | GC time removed | "
             f"inside gc_removable {lever[0]:.0%}–{lever[2]:.0%}? |", "|---|---|---|---|---|---|---|"]
    for b in runs:
        for r in b.rows:
            f = removed_fraction(r)
            if f is None:
                continue
            inside = "yes" if lever[0] <= f <= lever[2] else ("above" if f > lever[2] else "below")
            if r.status == "no-gain":
                inside += " (no measurable gain)"
            lines.append(f"| {b.date} | {r.workload} | {r.experiment} | {r.gc_share:.0%} | {_x(r.ratio)} | "
                         f"{f:.0%} | {inside} |")
    return lines


def table(b: BenchRun) -> list[str]:
    lines = ["| workload | experiment | predicted | measured (spread, rounds × steps) | noise | result | "
             "versus prediction | fixed variant, in-process |", "|---|---|---|---|---|---|---|---|"]
    for r in b.rows:
        pred = f"{_x(r.predicted[0])}–{_x(r.predicted[1])}" if r.predicted else "—"
        if r.ratio is None:
            lines.append(f"| {r.workload} | {r.experiment} | {pred} | — | — | {r.status}: {r.detail[:90]} | — | — |")
            continue
        meas = f"{_x(r.ratio)} ({_x(r.low)}–{_x(r.high)}, {r.rounds} × {r.steps // max(r.rounds, 1)})"
        result = {"no-gain": "no measurable gain"}.get(r.status, r.status)
        vs = f"**{r.versus}**" if r.versus in ("above", "below") else (r.versus or "—")
        lines.append(f"| {r.workload} | {r.experiment} | {pred} | {meas} | ±{r.noise:.0%} | {result} | {vs} | "
                     f"{_x(r.fixed_variant)} |")
    return lines


def render(runs: list[BenchRun], lever: tuple[float, float, float]) -> str:
    last = runs[-1]
    md = ["# `advisor try` on the sample workloads: predicted against measured", "",
          "Generated by `python -m benchmarks try` (benchmarks/tryouts.py); do not edit by hand. Each row is "
          "`advisor try` run as a user runs it: baseline and experiment processes interleaved (A B A B ...), "
          "each a fresh run of the unmodified script; *predicted* is the cost model's range for that change "
          "(for gc:freeze the GC item's range, `levers.gc_removable` of the collector's share; for jit the "
          "Numba estimate; for gc:off and threads an Amdahl bound), *measured* the median over rounds of "
          "baseline step / experiment step. **above/below** = every round outside the predicted range.", "",
          f"## Latest run: {last.date}", "", f"{last.steps} measured steps per run, {last.rounds} rounds. "
          f"{last.machine}", "", *table(last), ""]
    if last.skipped:
        md += ["Not run: " + "; ".join(last.skipped) + ".", ""]
    md += ["## The GC lever against the measurements (all recorded runs)", "",
           "`levers.gc_removable` in advisor/costmodel/defaults.toml is the share of the collector's time "
           "that tuning removes. Each GC experiment implies one: (1 − 1/step speedup) / GC share of the step. "
           "Values above 100% mean the change saved more than the collector's sampled time (fewer collections "
           "also mean less cache disruption and allocation work).", "", *lever_check(runs, lever), ""]
    if len(runs) > 1:
        md += ["## Earlier runs", ""]
        for b in reversed(runs[:-1]):
            md += [f"### {b.date}", "", f"{b.steps} steps, {b.rounds} rounds.", "", *table(b), ""]
    notes = HERE / "NOTES-try.md"
    if notes.exists():
        md += ["## Reading (hand-written; benchmarks/NOTES-try.md)", "", notes.read_text().strip(), ""]
    return "\n".join(md)


def results_section(record: Path = HERE / "results-try.json") -> list[str]:
    """The section of benchmarks/RESULTS.md on ``advisor try``: the latest run's table and the lever check
    over every recorded run ([] when nothing is recorded)."""
    runs = _load(record)
    if not runs:
        return []
    from advisor.costmodel import load_config

    lv = load_config().levers.gc_removable
    last = runs[-1]
    return ["## Advice accuracy: `advisor try`, predicted against measured (`python -m benchmarks try`)", "",
            f"The latest of {len(runs)} recorded run(s) ({last.date}, {last.steps} steps × {last.rounds} rounds); "
            "every run, the method and a reading are in benchmarks/RESULTS-try.md.", "", *table(last), "",
            *lever_check(runs, (lv.low, lv.typical, lv.high)), ""]


def _load(path: Path) -> list[BenchRun]:
    if not path.exists():
        return []
    raw = json.loads(path.read_text())
    return [BenchRun(**{**b, "rows": [Row(**r) for r in b["rows"]]}) for b in raw]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks try", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 steps, 3 rounds")
    ap.add_argument("--steps", type=int, help="measured steps per run (default 15, quick 8)")
    ap.add_argument("--rounds", type=int, help="rounds (default 5, quick 3)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--budget", default="10m", help="per workload (advisor try --budget)")
    ap.add_argument("--report-only", action="store_true", help="re-render RESULTS-try.md from results-try.json")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS-try.md")
    args = ap.parse_args(argv)
    from advisor.costmodel import load_config

    lv = load_config().levers.gc_removable
    lever = (lv.low, lv.typical, lv.high)
    record = args.out.parent / "results-try.json"
    runs = _load(record)
    if not args.report_only:
        steps = args.steps or (8 if args.quick else 15)
        rounds = args.rounds or (3 if args.quick else 5)

        def log(msg: str) -> None:
            print(msg, file=sys.stderr, flush=True)

        log(f"advisor try on {len(CASES)} sample workloads: {steps} steps × {rounds} rounds "
            f"(load average {os.getloadavg()[0]:.1f})")
        runs = (runs + [run(steps, args.warmup, rounds, args.budget, log)])[-KEEP_RUNS:]
        record.write_text(json.dumps([asdict(b) for b in runs], indent=1) + "\n")
    if not runs:
        print("no recorded runs in " + str(record), file=sys.stderr)
        return 1
    args.out.write_text(render(runs, lever))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
