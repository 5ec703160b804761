"""advisor's cost on a GC-heavy step or busy threads, in the script's own clock (issue 18, Overhead).

Runs a small GC-heavy script plainly and under ``advisor profile`` (and under other advisor trees given
with ``--tree NAME=PATH``, e.g. an older checkout), the variants interleaved so that a machine's drifting
load is shared out, and prints the median step time of each and its ratio to the plain run. The script
times its own steps (``perf_counter`` around each), so advisor's start-up and report writing are not in
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
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
seen["median_s"] = sorted(times[3:])[len(times[3:]) // 2]
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
    print(f"| {args.workload} ({args.repeats} interleaved runs) | step median | × plain | modules | GC objects | frozen |")
    print("|---|---|---|---|---|---|")
    for name, runs in seen.items():
        med = statistics.median(s["median_s"] for s in runs)
        last = runs[-1]
        print(f"| {name} | {med * 1e3:.2f} ms | {med / base:.2f}× | {last['modules']} | {last['objects']:,} "
              f"| {last['frozen']:,} |")


if __name__ == "__main__":
    main()
