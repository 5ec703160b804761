"""``python -m benchmarks [--quick]``: overhead, accuracy, stability and scale; writes benchmarks/RESULTS.md.

``python -m benchmarks --full [--quick]``: every row of issue 18's table in one run (benchmarks/full.py:
fixed cost, quiet and loaded matrices with py-spy and pyinstrument, a ~30 s run, 1/2/5 ms intervals,
post-processing at scale); writes results.json and RESULTS.md (~25 min; --quick ~3 min).

``python -m benchmarks try``: ``advisor try`` on the sample workloads, predicted against measured
(benchmarks/tryouts.py, writes benchmarks/RESULTS-try.md). ``python -m benchmarks soak``: the soak test.

Not part of the unit-test suite: the machines are shared and noisy, so every figure is a ratio or a
difference measured within this one run, with medians over interleaved repeats.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import accuracy, report, scale
from benchmarks.tools import REPO, TOOLS, Run, base_env

HERE = Path(__file__).resolve().parent
RENDER_BUDGET_S = 120.0  # skip rendering a 10× larger profile when the last one predicts more than this


def _diagnose(workloads: tuple[str, ...], diag_scale: float, log) -> list[dict]:
    """Run ``benchmarks.diagnose`` on each workload in a fresh interpreter (its JSON per workload)."""
    out = []
    for w in workloads:
        proc = subprocess.run([sys.executable, "-c",
                               "import json,sys,dataclasses; from benchmarks.diagnose import diagnose; "
                               f"print(json.dumps(dataclasses.asdict(diagnose({w!r}, {diag_scale}))))"],
                              cwd=REPO, env=base_env(1.0), capture_output=True, text=True, timeout=300)
        try:
            out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            log(f"  diagnosed {w}")
        except (ValueError, IndexError):
            log(f"  diagnosis of {w} failed: {proc.stderr.strip()[-300:]}")
    return out


def _start_competitors(n: int) -> list[subprocess.Popen]:
    """The 'loaded' condition: ``n`` processes that burn a core each until killed (a shared cluster node)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
            for _ in range(max(0, n))]


def condition(meta: dict) -> str:
    """One line: under what load the numbers were taken."""
    cores, comp = meta.get("cores"), meta.get("competitors", 0)
    line = (f"**Condition: loaded**, {comp} competing CPU-bound processes on {cores} cores." if comp
            else f"**Condition: as found** (no competitors added) on {cores} cores.")
    limit = meta.get("max_load")
    if cores and max(meta["load"]) > 1.5 * cores + (comp or 0):
        line += (f" The load average reached {max(meta['load']):.1f}, above 1.5 × cores plus the competitors: "
                 "other work ran on this machine meanwhile, so read every figure below as taken on a busy, "
                 "shared machine.")
    elif limit == 0:
        line += " Started with the load check off (--max-load 0)."
    return line


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["soak"]:
        from benchmarks import soak

        return soak.main(argv[1:])
    if argv[:1] == ["try"]:
        from benchmarks import tryouts

        return tryouts.main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--full", action="store_true",
                    help="every row of issue 18's table in one run (benchmarks/full.py; ~25 minutes)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, shorter workloads (~3 minutes)")
    ap.add_argument("--reps", type=int, help="interleaved repeats (default 4, quick 2)")
    ap.add_argument("--scale", type=float, help="workload length factor (default 0.4, quick 0.25)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of: " + ", ".join(TOOLS))
    ap.add_argument("--workloads", default=",".join(accuracy.WORKLOADS))
    ap.add_argument("--no-scale", action="store_true", help="skip the synthetic-profile scale test")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--report-only", action="store_true", help="re-render RESULTS.md from benchmarks/results.json")
    ap.add_argument("--load", type=int, default=0, metavar="N",
                    help="the 'loaded' condition: run N competing CPU-bound processes throughout (e.g. one per core)")
    ap.add_argument("--max-load", type=float, default=None, metavar="X",
                    help="refuse to start when the 1-minute load average (before --load adds its own) is above X; "
                         "default: 1.5 × cores. Use 0 to never refuse")
    args = ap.parse_args(argv)
    if args.report_only:
        raw = json.loads((args.out.parent / "results.json").read_text())
        if raw["meta"].get("full"):
            from benchmarks import fullreport

            fullreport.write(raw, args.out)
        else:
            write_results(raw, args.out)
        return 0
    reps = args.reps or (2 if args.quick else 4)
    wscale = args.scale or (0.25 if args.quick else 0.4)
    tools = tuple(t for t in args.tools.split(",") if t)
    if "plain" not in tools:
        tools = ("plain", *tools)
    workloads = tuple(w for w in args.workloads.split(",") if w)
    sizes = (10_000,) if args.quick else scale.SIZES

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    cores = os.cpu_count() or 1
    limit = 1.5 * cores if args.max_load is None else args.max_load
    load0 = os.getloadavg()
    if limit and load0[0] > limit:
        print(f"python -m benchmarks: the machine is busy (load average {load0[0]:.1f} > {limit:.1f}); "
              "numbers taken now would measure the other work. Wait, or pass --max-load 0 to run anyway "
              "(RESULTS.md then says so).", file=sys.stderr)
        return 2
    if args.full:
        return _full(args, cores, load0[0], limit, log)
    t0 = time.time()
    competitors = _start_competitors(args.load)
    try:
        log(f"accuracy and overhead: {len(workloads)} workloads × {len(tools)} tools × {reps} repeats"
            + (f", with {args.load} competing CPU-bound processes" if args.load else ""))
        runs = accuracy.run_all(workloads, tools, reps, wscale, log)
        log("diagnosis of advisor's sampler")
        diags = _diagnose(workloads, wscale, log)
    finally:
        for proc in competitors:
            proc.kill()
            proc.wait()
    scale_results = []
    if not args.no_scale:
        log("scale")
        skip = ""
        for n in sizes:
            r = scale.measure_isolated(n, timeout=300, log=log, skip_render=skip)
            scale_results.append(r)
            took = r.seconds.get("render")
            if not skip and took is not None and took * 10 > RENDER_BUDGET_S:
                skip = (f"render not run: it took {took:.0f} s at {n:,} samples, so ~{10 * took:.0f} s "
                        "expected at 10× (linear)")
    load1 = os.getloadavg()
    elapsed = time.time() - t0

    raw = {"meta": {"quick": args.quick, "reps": reps, "scale": wscale, "elapsed_s": elapsed,
                    "load": [load0[0], load1[0]], "competitors": args.load, "cores": cores, "max_load": limit, "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                    "environment": report.environment()},
           "runs": [dataclasses.asdict(r) for r in runs], "scale": [dataclasses.asdict(s) for s in scale_results],
           "diagnosis": diags}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    (args.out.parent / "results.json").write_text(json.dumps(raw))
    write_results(raw, args.out)
    log(f"wrote {args.out} ({elapsed / 60:.1f} min)")
    return 0


def _full(args: argparse.Namespace, cores: int, load0: float, limit: float, log) -> int:
    from benchmarks import full, fullreport

    competitors = args.load or cores
    settings = full.Settings.quick(competitors) if args.quick else full.Settings(competitors=competitors)
    if args.reps or args.scale:
        settings = dataclasses.replace(settings, reps=args.reps or settings.reps, scale=args.scale or settings.scale)
    workloads = full.WORKLOADS if args.workloads == ",".join(accuracy.WORKLOADS) else \
        tuple(w for w in args.workloads.split(",") if w)
    raw = full.run(settings, log, workloads)
    raw["meta"].update({"load_at_start": load0, "max_load": limit, "quick": args.quick})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    (args.out.parent / "results.json").write_text(json.dumps(raw))
    fullreport.write(raw, args.out)
    log(f"wrote {args.out} ({raw['meta']['elapsed_s'] / 60:.1f} min)")
    return 0


def write_results(raw: dict, out: Path) -> None:
    """RESULTS.md from the raw results (also used by ``--report-only`` to re-render a saved run)."""
    meta = raw["meta"]
    runs = [Run(**r) for r in raw["runs"]]
    scale_results = [scale.ScaleResult(**r) for r in raw["scale"]]
    diags = raw["diagnosis"]
    cells = accuracy.summarize(runs)
    truth = accuracy.truth_table(runs)
    stab = accuracy.stability(runs)
    errors = sorted({f"{r.workload}/{r.tool}: {r.error}" for r in runs if r.error})
    md = [
        "# Benchmarks: overhead and attribution accuracy against ground truth",
        "",
        f"Generated by `python -m benchmarks{' --quick' if meta['quick'] else ''}` on {meta['date']} "
        f"in {meta['elapsed_s'] / 60:.1f} min: {meta['reps']} interleaved repeats per workload × tool, workload scale {meta['scale']}. "
        f"Load average {meta['load'][0]:.1f} at the start, {meta['load'][1]:.1f} at the end (the machine is shared).",
        "",
        condition(meta),
        "",
        *meta['environment'],
        "",
        "How to read: every figure is a median over the repeats of a per-repeat ratio or difference against the "
        "plain run of the same repeat. Ground truth is the plain run's own `perf_counter` timing of each phase "
        "(benchmarks/workloads/, phases of known nature, called from a repeated `train_step`). advisor runs with "
        "its defaults (auto-detected step, warm-up 1, interval 5 ms); pyinstrument with its default 1 ms interval; "
        f"py-spy with `record --format raw --idle -r 200`. **Bold** = goal missed.",
        "",
        "## Goals missed in this run",
        "",
        *report.goal_check(cells, scale_results),
        "",
        "## Ground truth (plain run)",
        "",
        "The last column is the spread (max − min) of the true share over the plain repeats: how much the "
        "program itself varies between runs on this machine. A share error much below it cannot be "
        "resolved against the plain run; the own-run column of section 2 can.",
        "",
        "| workload | phase | nature | share of step | GC share of the phase | spread over plain repeats |",
        "|---|---|---|---|---|---|",
        *[f"| {w} | {p} | {n} | {s:.1f}% | {g:.0f}% | {sp:.1f} pp |" for w, ph in truth.items()
          for p, (s, n, g, sp) in ph.items()],
        "",
        f"## 1. Overhead (goal: advisor sample ≤ {report.GOAL_OVERHEAD}×, below pyinstrument and cProfile)",
        "",
        "Whole-command wall time ÷ plain (in brackets: time inside the measured `train_step` calls ÷ plain, i.e. "
        "how much the training loop itself was slowed; the whole-command figure adds each tool's start-up and "
        "its output writing).",
        "",
        *report.overhead_table(cells),
        "",
        f"## 2. Share error, pp (goal ≤ {report.GOAL_SHARE_PP} pp)",
        "",
        "|profiled share − true share| of each phase in the step, in percentage points (in brackets: the "
        "profiled share). The last column compares advisor with the timing of its *own* run, which removes "
        "the perturbation and leaves misattribution only.",
        "",
        *report.share_table(cells, truth),
        "",
        f"## 3. Split error, pp (goal ≤ {report.GOAL_SPLIT_PP} pp)",
        "",
        "Largest |measured − true| over the four buckets, for each phase. The true split is the phase's "
        "known nature, with its GC seconds (measured with `gc.callbacks` in the same run) moved to gc.",
        "",
        "### advisor, sample mode (default)",
        "",
        *report.split_table(cells, truth, "advisor-sample"),
        "",
        "### advisor, cprofile mode (classification by function kind, for comparison)",
        "",
        *report.split_table(cells, truth, "advisor-cprofile"),
        "",
        "## 4. Scale: synthetic profiles",
        "",
        "Profiles built directly (advisor.model), a random call tree; see benchmarks/scale.py. Render = "
        "`advisor.outputs.write_outputs(advise(analysis), dir)` (all outputs that exist in this build). "
        f"Goal: 1M samples load+analyse+render ≤ {report.GOAL_SCALE_S} s, report.html ≤ {report.GOAL_HTML_MB} MB, "
        "cost linear or better (µs/sample flat or falling).",
        "",
        *(report.scale_table(scale_results) if scale_results else ["(skipped)"]),
        "",
        "## 5. Sampling stability (advisor sample mode, repeated runs)",
        "",
        *report.stability_table(stab),
        "",
        "## 6. Diagnosis: advisor's sampler, sample by sample",
        "",
        "From `benchmarks/diagnose.py`: each workload run in-process under advisor's real `Sampler`; each sample "
        "is placed on the workload's own `perf_counter` timeline. *True phase* = the phase running when the "
        "sampler meant to sample (its wake-up); *charged to other phases* = share of that weight whose stack, "
        "read once the sampler got the GIL, showed another phase; *read latency* = wake-up → stack read.",
        "",
        *report.diagnosis_tables(diags),
        "",
    ]
    if errors:
        md += ["## Runs that failed", "", *[f"- {e}" for e in errors], ""]
    notes = HERE / "NOTES.md"
    if notes.exists():
        md += ["## Analysis (hand-written for the committed run; see benchmarks/NOTES.md)", "",
               notes.read_text().strip(), ""]
    from benchmarks.tryouts import results_section

    md += results_section()
    out.write_text("\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
