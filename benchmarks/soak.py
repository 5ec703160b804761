"""``python -m benchmarks soak``: run stress scripts under ``advisor profile`` many times and count crashes.

The cases are the ones that used to crash or lose the run: deep recursion while the cyclic GC runs,
steady allocation on a deep stack, GC churn, imports inside the step, threads, generators and
exceptions, the PyTorch sample. Each run is a fresh ``python -m advisor profile`` at a short interval
(so the sampler reads the stack often, while it changes); a run counts as

* ``ok``      — exit 0 and a profile.json that loads, with samples;
* ``crash``   — killed by a signal (SIGSEGV, SIGABRT, ...): the goal is none;
* ``lost``    — exit 0 but no loadable profile;
* ``failed``  — another exit code (the log tail is kept in the results).

A case whose stack hardly changes between samples would prove nothing, so every case moves its stack
all the time (recursion that unwinds and rebuilds, frames created and destroyed by the thousand).
Results go to benchmarks/SOAK.md and the "Soak" section of RESULTS.md is left to point at it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

PRELUDE = "import gc, os, sys, threading, time\nsys.setrecursionlimit(30000)\nSTEPS = int(sys.argv[1])\n"

CASES: dict[str, str] = {
    "deep-1000": """
def rec(n):
    if n == 0:
        return len([[i] for i in range(3000)])  # allocation at the bottom: the GC runs here
    return rec(n - 1) + 1
def train_step():
    return rec(1000)
for _ in range(STEPS * 8):
    train_step()
""",
    "deep-5000": """
def rec(n):
    if n == 0:
        return len([[i] for i in range(3000)])
    return rec(n - 1) + 1
def train_step():
    return rec(5000)
for _ in range(STEPS * 2):
    train_step()
""",
    "deep-10000": """
def rec(n):
    if n == 0:
        return len([[i] for i in range(3000)])
    return rec(n - 1) + 1
def train_step():
    return rec(10000)
for _ in range(STEPS):
    train_step()
""",
    "deep-200-allocating": """
class Node:
    def __init__(self, o):
        self.o = o
def rec(n, keep):
    a = Node(None); b = Node(a); a.o = b  # a cycle per frame: only the cyclic GC frees it
    keep.append(a)
    return rec(n - 1, keep) if n else len(keep)
def train_step():
    for _ in range(30):
        rec(200, [])
for _ in range(STEPS * 4):
    train_step()
""",
    "gc-churn-callbacks": """
gc.callbacks.append(lambda phase, info: [0] * 10)  # the script's own Python code inside the GC
class Node:
    def __init__(self, o):
        self.o = o
        self.p = [1, 2, 3]
    def __del__(self):
        pass  # finalizers: Python code run by the collector, in whichever thread triggered it
def train_step():
    keep = []
    for _ in range(4000):
        a = Node(None); b = Node(a); a.o = b
        keep.append(a)
for _ in range(STEPS * 4):
    train_step()
""",
    "imports-in-step": """
import importlib
NAMES = ["json", "csv", "decimal", "fractions", "statistics", "difflib", "textwrap", "ipaddress",
         "email.parser", "xml.dom.minidom", "html.parser", "calendar", "pprint", "zipfile", "tarfile"]
def train_step(i):
    name = NAMES[i % len(NAMES)]
    if name in sys.modules and i % 3 == 0:
        importlib.reload(sys.modules[name])
    else:
        importlib.import_module(name)
    return sum(range(20000))
for i in range(STEPS * 6):
    train_step(i)
""",
    "threads": """
stop = False
def worker():
    while not stop:
        sum(x * x for x in range(2000))
ts = [threading.Thread(target=worker) for _ in range(4)]
for t in ts:
    t.start()
def train_step():
    return sum(x % 7 for x in range(40000))
for _ in range(STEPS * 3):
    train_step()
stop = True
for t in ts:
    t.join()
""",
    "generators-exceptions": """
def gen(n):
    for i in range(n):
        try:
            if i % 7 == 0:
                raise ValueError(i)
            yield i
        except ValueError:
            yield -i
async def coro(n):
    return sum(i for i in range(n))
def train_step():
    s = sum(gen(5000))
    c = coro(2000)
    try:
        c.send(None)
    except StopIteration as e:
        s += e.value
    return s
for _ in range(STEPS * 8):
    train_step()
""",
    "torch-sample": None,  # sample_workloads/torch_cpu.py, when torch is installed
}


# STEPS per case: about one second of plain run each here, so a run takes hundreds of samples.
STEPS = {"deep-1000": 40, "deep-5000": 40, "deep-10000": 36, "deep-200-allocating": 12, "gc-churn-callbacks": 12,
         "imports-in-step": 18, "threads": 8, "generators-exceptions": 24}


def _script(case: str, folder: Path) -> tuple[Path, list[str]] | None:
    if case == "torch-sample":
        try:
            import torch  # noqa: F401
        except ImportError:
            return None
        # a shorter run of the sample (its import of torch is the part that once crashed)
        return REPO / "sample_workloads" / "torch_cpu.py", ["--epochs", "1", "--steps", "15"]
    path = folder / f"{case}.py"
    path.write_text(PRELUDE + CASES[case])
    return path, [str(STEPS[case])]


def run_once(case: str, script: Path, args: list[str], interval: float, reader: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix="advisor-soak-"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    if reader == "python":
        env["ADVISOR_STACK_READER"] = "python"
    cmd = [sys.executable, "-m", "advisor", "profile", "--quiet", "--format", "json", "--interval", str(interval),
           "--out", str(out), str(script), *args]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    rc = proc.returncode
    samples = 0
    try:
        samples = json.loads((out / "profile.json").read_text())["samples"]
    except (OSError, ValueError, KeyError):
        pass
    if rc < 0 or rc in (134, 135, 136, 139):
        verdict = "crash"
    elif rc == 0:
        verdict = "ok" if samples > 0 else "lost"
    else:
        verdict = "failed"
    return {"case": case, "reader": reader, "rc": rc, "verdict": verdict, "samples": samples,
            "seconds": round(time.monotonic() - t0, 2), "log": "" if verdict == "ok" else err[-600:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks soak", description=__doc__)
    ap.add_argument("--runs", type=int, default=40, help="runs per case and reader (default 40)")
    ap.add_argument("--interval", type=float, default=0.0005, help="sampling interval (default 0.5 ms)")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--readers", default="c", help="stack readers to soak: c, python or c,python")
    ap.add_argument("--out", type=Path, default=HERE / "SOAK.md")
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="advisor-soak-scripts-"))
    results: list[dict] = []
    t0 = time.monotonic()
    for reader in args.readers.split(","):
        for case in args.cases.split(","):
            found = _script(case, folder)
            if found is None:
                print(f"{case}: skipped (torch not installed)", file=sys.stderr)
                continue
            script, script_args = found
            for i in range(args.runs):
                r = run_once(case, script, script_args, args.interval, reader)
                results.append(r)
                if r["verdict"] != "ok":
                    print(f"{case} [{reader}] run {i + 1}: {r['verdict']} rc={r['rc']}\n{r['log']}", file=sys.stderr)
            done = [r for r in results if r["case"] == case and r["reader"] == reader]
            print(f"{case} [{reader}]: {sum(r['verdict'] == 'ok' for r in done)}/{len(done)} ok", file=sys.stderr)
    _write(args.out, results, args, time.monotonic() - t0)
    crashes = sum(r["verdict"] == "crash" for r in results)
    print(f"{len(results)} runs, {crashes} crashes; written to {args.out}", file=sys.stderr)
    return 1 if crashes else 0


def _write(path: Path, results: list[dict], args, seconds: float) -> None:
    import platform

    lines = ["# Soak: crashes under `advisor profile`", "",
             f"Generated by `python -m benchmarks soak --runs {args.runs} --interval {args.interval} "
             f"--readers {args.readers}` on {time.strftime('%Y-%m-%d')}: Python {platform.python_version()}, "
             f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; {seconds / 60:.1f} minutes.",
             "", "| case | reader | runs | ok | crash | lost | failed | median samples |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    keys = sorted({(r["case"], r["reader"]) for r in results}, key=lambda k: (k[1], list(CASES).index(k[0])))
    for case, reader in keys:
        rs = [r for r in results if r["case"] == case and r["reader"] == reader]
        samples = sorted(r["samples"] for r in rs)
        counts = {v: sum(r["verdict"] == v for r in rs) for v in ("ok", "crash", "lost", "failed")}
        lines.append(f"| {case} | {reader} | {len(rs)} | {counts['ok']} | {counts['crash']} | {counts['lost']} | "
                     f"{counts['failed']} | {samples[len(samples) // 2]} |")
    total = len(results)
    crashes = sum(r["verdict"] == "crash" for r in results)
    lines += ["", f"**{total} runs, {crashes} crashes.**", ""]
    bad = [r for r in results if r["verdict"] != "ok"]
    if bad:
        lines += ["## Runs that were not ok", ""]
        for r in bad[:20]:
            lines += [f"- {r['case']} [{r['reader']}] rc={r['rc']} ({r['verdict']}):", "", "```",
                      r["log"].strip()[-500:], "```", ""]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
