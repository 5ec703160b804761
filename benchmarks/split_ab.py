"""Interleaved A/B of advisor's split: another checkout ("base") against this tree, per phase.

``python -m benchmarks.split_ab BASE_TREE WORKLOADS REPS SCALE [COMPETITORS]``, e.g.
``python -m benchmarks.split_ab /tmp/base c_calls 5 0.4 2``: plain, base and this tree's advisor on each
workload, interleaved and shuffled per repeat, the same workload files (this tree's) for both; prints
the 1-minute load per repeat and, per phase, each side's median split (interp/native/wait/gc %) and
median error against ``accuracy.truth_split``. BASE_TREE is a source tree with its C extension built
(``git archive REV | tar -x -C DIR``, then ``python setup.py build_ext --inplace`` there). Used for the
before/after figures in NOTES.md ("C calls that hold the GIL").
"""
import os, sys, random, shutil, tempfile, statistics, subprocess
from pathlib import Path
from benchmarks import accuracy
from benchmarks.tools import run_tool, base_env
if len(sys.argv) < 5:
    print("usage: python -m benchmarks.split_ab BASE_TREE WORKLOADS REPS SCALE [COMPETITORS]", file=sys.stderr)
    sys.exit(2)
base_tree = sys.argv[1]
wl = sys.argv[2].split(","); reps = int(sys.argv[3]); scale = float(sys.argv[4]); load = int(sys.argv[5]) if len(sys.argv) > 5 else 0
trees = {"base": base_tree, "new": str(Path(__file__).resolve().parents[1])}
comp = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
runs = {}
loads = [os.getloadavg()[0]]
try:
    rng = random.Random(1)
    for rep in range(reps):
        order = [(w, t) for w in wl for t in ("plain", "base", "new")]
        rng.shuffle(order)
        for w, t in order:
            env = base_env(scale); env["PYTHONPATH"] = trees.get(t, trees["new"])
            work = Path(tempfile.mkdtemp(prefix="ab-"))
            try:
                r = run_tool("plain" if t == "plain" else "advisor-sample", accuracy.WORKLOADS_DIR / f"{w}.py", work, env, rep)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            if r.error: print("ERR", w, t, r.error, file=sys.stderr)
            runs.setdefault((w, t), []).append(r)
        loads.append(os.getloadavg()[0])
finally:
    for p in comp: p.kill(); p.wait()
print(f"load (1-min avg) per rep: {' '.join(f'{x:.1f}' for x in loads)}; competitors {load}; reps {reps}; scale {scale}")
B = accuracy.BUCKETS
for w in wl:
    phases = list(runs[(w, "plain")][0].truth["phases"])
    for p in phases:
        line = f"{w:11s} {p:14s}"
        for t in ("base", "new"):
            errs, got = [], {b: [] for b in B}
            for r in runs[(w, t)]:
                if r.error or not r.truth: continue
                s = r.splits.get(p, {b: 0.0 for b in B}); want = accuracy.truth_split(r.truth, p, 1)
                errs.append(100 * max(abs(s[b] - want[b]) for b in B))
                for b in B: got[b].append(100 * s[b])
            want = accuracy.truth_split(runs[(w, t)][0].truth, p, 1)
            line += f" | {t}: {'/'.join(f'{statistics.median(got[b]):.0f}' for b in B):12s} err {statistics.median(errs):5.1f}"
        line += f" | ref {'/'.join(f'{100*want[b]:.0f}' for b in B)}"
        print(line)
