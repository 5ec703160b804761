"""Overhead of profiling a DataLoader with 4 workers: plain run vs ``advisor profile`` (workers sampled)
vs ``advisor profile --children off``, repeated and interleaved. Writes benchmarks/RESULTS-workers.md.

    python -m benchmarks.workers [--repeats 3] [--items 480]

The script times its own training loop (``loop_s``: from the first batch asked to the last step done,
workers started inside it), so interpreter and torch start-up, which advisor does not change, are left
out; the run's wall time is reported beside it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKLOAD = """
import sys, time
import torch
from torch.utils.data import DataLoader, Dataset

ITEMS = int(sys.argv[1])

class Augmented(Dataset):
    def __len__(self):
        return ITEMS

    def __getitem__(self, i):
        return torch.tensor(augment(i))

def augment(i):
    x = [float((i * j) % 7) for j in range(64)]
    for _ in range(200):
        x = [v * 0.5 + 1.0 for v in x]
    return x

model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 8))
opt = torch.optim.SGD(model.parameters(), lr=0.01)

def train_step(batch):
    opt.zero_grad()
    model(batch).sum().backward()
    opt.step()

if __name__ == "__main__":
    t0 = time.perf_counter()
    for batch in DataLoader(Augmented(), batch_size=8, num_workers=4):
        train_step(batch)
    print(f"loop_s={time.perf_counter() - t0:.4f}", file=sys.stderr)
"""

VARIANTS = {"plain": [], "advisor (workers sampled)": ["-m", "advisor", "profile", "-q", "--format", "json"],
            "advisor --children off": ["-m", "advisor", "profile", "-q", "--format", "json", "--children", "off"]}


def run_once(variant: list[str], script: Path, items: int, out: Path) -> tuple[float, float]:
    cmd = [sys.executable, *variant]
    if variant:
        cmd += ["--out", str(out)]
    cmd += [str(script), str(items)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    loop = next(float(line.split("=", 1)[1]) for line in proc.stderr.splitlines() if line.startswith("loop_s="))
    return loop, wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--items", type=int, default=480)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS-workers.md"))
    args = ap.parse_args()
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "dl4.py"
        script.write_text(WORKLOAD)
        for r in range(args.repeats):
            for name, variant in VARIANTS.items():  # interleaved: load on the machine hits every variant
                results[name].append(run_once(variant, script, args.items, Path(tmp) / f"out-{r}"))
                print(f"repeat {r + 1} {name}: loop {results[name][-1][0]:.2f} s", file=sys.stderr)
    base = statistics.median(x[0] for x in results["plain"])
    lines = ["# Overhead with 4 DataLoader workers", "",
             f"`python -m benchmarks.workers --repeats {args.repeats} --items {args.items}` on "
             f"{platform.python_version()}, {os.cpu_count()} cores ({platform.machine()}), "
             f"{time.strftime('%Y-%m-%d')}. Workload: a DataLoader with `num_workers=4`, batch 8, {args.items} items, "
             "each augmented in pure Python in the workers; a small MLP step in the main process. `loop` is the "
             "script's own timing of its training loop (workers started inside it); `wall` the whole process.", "",
             "| variant | loop median (s) | loop runs (s) | × plain | wall median (s) |", "|---|---|---|---|---|"]
    for name, xs in results.items():
        loops = [x[0] for x in xs]
        med = statistics.median(loops)
        lines.append(f"| {name} | {med:.2f} | {', '.join(f'{v:.2f}' for v in loops)} | {med / base:.2f}× | "
                     f"{statistics.median(x[1] for x in xs):.2f} |")
    lines.append("")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
