"""advisor's cost on a GC-heavy step or busy threads, in the script's own clock (issue 18, Overhead).

Runs a small GC-heavy script plainly and under ``advisor profile`` (and under other advisor trees given
with ``--tree NAME=PATH``, e.g. an older checkout), the variants interleaved so that a machine's drifting
load is shared out, and prints the median step time of each and its ratio to the plain run. The script
times its own steps (``perf_counter`` and the thread's CPU clock around each; on a loaded machine the
CPU figure is the steadier one, and it holds what the GC walks in the script's thread), so advisor's start-up and report writing are not in
the figure: only what it costs while the script runs. Also prints what the script saw at its start:
modules loaded, GC-tracked objects, objects frozen.

    python -m benchmarks.gc_overhead --repeats 5 [--workload collate|gc_churn|threads4|threads16]
        [--tree before=/path]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STEP = r'''
import gc, json, sys, time
out, workload, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {"modules": len(sys.modules), "objects": len(gc.get_objects()), "frozen": gc.get_freeze_count()}
if workload == "gc_churn":
    sys.path.insert(0, sys.argv[4])
    from gc_churn import build_graph as step
elif workload.startswith("threads"):  # busy Python threads: GIL hand-offs, the switch interval's cost
    import threading
    n = int(workload[len("threads"):])

    def spin(k):
        x = 0
        for i in range(k):
            x += i * i

    def step():
        threads = [threading.Thread(target=spin, args=(600_000 // n,)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
else:
    class Item:
        def __init__(self, i):
            self.i, self.fields, self.owner = i, {"x": [i, i + 1], "y": (i, str(i))}, None

    def step():  # a Python collate: many small containers, some in cycles, dropped each step
        batch = []
        for i in range(4000):
            item = Item(i)
            item.owner = item
            batch.append([item, {"id": i, "tags": [str(i)]}])
        return len(batch)
walked, gc_cpu, t_gc, in_step = [], [0.0], [0.0], [False]


def on_gc(phase, info):  # what each full collection walks, and the collector's CPU time in this thread
    if phase == "start":
        if info["generation"] == 2 and in_step[0]:
            walked.append(sum(len(gc.get_objects(g)) for g in range(3)))
        t_gc[0] = time.thread_time()
    else:
        gc_cpu[0] += time.thread_time() - t_gc[0]


gc.callbacks.append(on_gc)
times, cpu, pcpu, in_gc = [], [], [], []
for _ in range(steps):
    t0, c0, p0, g0 = time.perf_counter(), time.thread_time(), time.process_time(), gc_cpu[0]
    in_step[0] = True
    step()
    in_step[0] = False
    times.append(time.perf_counter() - t0)
    cpu.append(time.thread_time() - c0)
    pcpu.append(time.process_time() - p0)
    in_gc.append(gc_cpu[0] - g0)
seen["median_s"] = sorted(times[3:])[len(times[3:]) // 2]
seen["cpu_s"] = sorted(cpu[3:])[len(cpu[3:]) // 2]
seen["pcpu_s"] = sorted(pcpu[3:])[len(pcpu[3:]) // 2]  # every thread: the step's threads, the sampler
seen["full_gcs"] = len(walked)
seen["walked"] = sorted(walked)[len(walked) // 2] if walked else 0
seen["gc_cpu_s"] = sum(in_gc[3:]) / len(in_gc[3:])  # a mean: full collections come every few steps
json.dump(seen, open(out, "w"))
'''


def _run(cmd: list[str], env: dict[str, str], cwd: str, out: Path) -> dict:
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=600)
    return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--workload", choices=("collate", "gc_churn", "threads4", "threads16"), default="collate")
    ap.add_argument("--verbose", action="store_true", help="each run's median step time, on stderr")
    ap.add_argument("--tree", action="append", default=[], help="NAME=PATH: also run advisor from this tree")
    args = ap.parse_args()
    trees = {"advisor": str(ROOT), **dict(t.split("=", 1) for t in args.tree)}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "step.py"
        script.write_text(STEP)
        res = Path(tmp) / "seen.json"
        tail = [str(res), args.workload, str(args.steps), str(ROOT / "benchmarks" / "workloads")]
        variants = {"plain": ([sys.executable, str(script), *tail], None)}
        for name, path in trees.items():
            variants[name] = ([sys.executable, "-m", "advisor", "profile", "-q", "--format", "json", "--out",
                               str(Path(tmp) / name), str(script), *tail], path)
        seen: dict[str, list[dict]] = {k: [] for k in variants}
        for _ in range(args.repeats):
            for name, (cmd, path) in variants.items():
                env = {**os.environ, **({"PYTHONPATH": path} if path else {})}
                seen[name].append(_run(cmd, env, tmp, res))
    base = statistics.median(s["median_s"] for s in seen["plain"])
    base_cpu = statistics.median(s["cpu_s"] for s in seen["plain"])
    base_p = statistics.median(s["pcpu_s"] for s in seen["plain"])
    print(f"| {args.workload} ({args.repeats} interleaved runs) | step median | × plain | its CPU | × plain | best CPU | process CPU | × plain | GC CPU/step (mean) | modules | GC objects | frozen | full GCs in steps | objects a full GC walks |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, runs in seen.items():
        med = statistics.median(s["median_s"] for s in runs)
        cpu = statistics.median(s["cpu_s"] for s in runs)
        last = runs[-1]
        best = min(s["cpu_s"] for s in runs)
        gcc = statistics.median(s["gc_cpu_s"] for s in runs)
        pc = statistics.median(s["pcpu_s"] for s in runs)
        print(f"| {name} | {med * 1e3:.2f} ms | {med / base:.2f}× | {cpu * 1e3:.2f} ms | {cpu / base_cpu:.2f}× "
              f"| {best * 1e3:.2f} ms | {pc * 1e3:.2f} ms | {pc / base_p:.2f}× | {gcc * 1e3:.2f} ms | {last['modules']} | {last['objects']:,} "
              f"| {last['frozen']:,} | {last['full_gcs']} | {last['walked']:,} |")
    if args.verbose:
        for name, runs in seen.items():
            print(name, " ".join(f"{s['median_s'] * 1e3:.1f}/{s['cpu_s'] * 1e3:.1f}" for s in runs), file=sys.stderr)


if __name__ == "__main__":
    main()
