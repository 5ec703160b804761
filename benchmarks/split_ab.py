"""Interleaved A/B of advisor's split: another checkout ("base") against this tree, per phase.

``python -m benchmarks.split_ab BASE_TREE WORKLOADS REPS SCALE [COMPETITORS]``, e.g.
``python -m benchmarks.split_ab /tmp/base c_calls 5 0.4 2``: plain, base and this tree's advisor on each
workload, interleaved and shuffled per repeat, the same workload files (this tree's) for both; prints
the 1-minute load per repeat and, per phase, each side's median split (interp/native/wait/gc %) and
median error against ``accuracy.truth_split``. BASE_TREE is a source tree with its C extension built
(``git archive REV | tar -x -C DIR``, then ``python setup.py build_ext --inplace`` there). Used for the
before/after figures in NOTES.md ("C calls that hold the GIL").
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import accuracy
from benchmarks.tools import Run, base_env, run_tool

USAGE = "usage: python -m benchmarks.split_ab BASE_TREE WORKLOADS REPS SCALE [COMPETITORS]"
SIDES = ("base", "new")


def run(trees: dict[str, str], workloads: list[str], reps: int, scale: float
        ) -> tuple[dict[tuple[str, str], list[Run]], list[float]]:
    runs: dict[tuple[str, str], list[Run]] = {}
    loads = [os.getloadavg()[0]]
    rng = random.Random(1)
    for rep in range(reps):
        order = [(w, t) for w in workloads for t in ("plain", *SIDES)]
        rng.shuffle(order)
        for w, t in order:
            env = base_env(scale)
            env["PYTHONPATH"] = trees.get(t, trees["new"])
            work = Path(tempfile.mkdtemp(prefix="split-ab-"))
            try:
                tool = "plain" if t == "plain" else "advisor-sample"
                r = run_tool(tool, accuracy.WORKLOADS_DIR / f"{w}.py", work, env, rep)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            if r.error:
                print(f"{w} {t}: {r.error}", file=sys.stderr)
            runs.setdefault((w, t), []).append(r)
        loads.append(os.getloadavg()[0])
    return runs, loads


def table(runs: dict[tuple[str, str], list[Run]], workloads: list[str]) -> list[str]:
    buckets = accuracy.BUCKETS
    lines = []
    for w in workloads:
        for p in runs[(w, "plain")][0].truth["phases"]:
            line = f"{w:11s} {p:14s}"
            want = {}
            for t in SIDES:
                errs, got = [], {b: [] for b in buckets}
                for r in runs[(w, t)]:
                    if r.error or not r.truth:
                        continue
                    split = r.splits.get(p, {b: 0.0 for b in buckets})
                    want = accuracy.truth_split(r.truth, p, accuracy.ADVISOR_WARMUP)
                    errs.append(100 * max(abs(split[b] - want[b]) for b in buckets))
                    for b in buckets:
                        got[b].append(100 * split[b])
                if not errs:
                    line += f" | {t}: no run"
                    continue
                shares = "/".join(f"{statistics.median(got[b]):.0f}" for b in buckets)
                line += f" | {t}: {shares:12s} err {statistics.median(errs):5.1f}"
            if want:
                line += " | ref " + "/".join(f"{100 * want[b]:.0f}" for b in buckets)
            lines.append(line)
    return lines


def main(argv: list[str]) -> int:
    if len(argv) < 4 or not Path(argv[0]).is_dir():
        print(USAGE, file=sys.stderr)
        return 2
    try:
        workloads, reps, scale = argv[1].split(","), int(argv[2]), float(argv[3])
        load = int(argv[4]) if len(argv) > 4 else 0
    except ValueError:
        print(USAGE, file=sys.stderr)
        return 2
    trees = {"base": argv[0], "new": str(Path(__file__).resolve().parents[1])}
    competitors = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
    try:
        runs, loads = run(trees, workloads, reps, scale)
    finally:
        for proc in competitors:
            proc.kill()
            proc.wait()
    print(f"load (1-min avg) per rep: {' '.join(f'{x:.1f}' for x in loads)}; competitors {load}; "
          f"reps {reps}; scale {scale}")
    print("\n".join(table(runs, workloads)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
