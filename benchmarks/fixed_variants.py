"""Advice accuracy against measured fixes: is advisor's top item the fix that helps most, in range?

For each sample workload with a known step-wide fix, this (1) profiles the original script with advisor
(a subprocess, JSON outputs only) and reads the top item of advice.json, (2) times the step of the
original and of the fixed variant in one process, same data, same machine, same run, and (3) scores a
*hit* when the top item's kind is the fix's kind, and *in range* when the measured step speedup lies in
the item's low–high end-to-end range.

    python -m benchmarks.fixed_variants            # prints a Markdown table for benchmarks/RESULTS.md
"""

from __future__ import annotations

import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_workloads"


def _best(fn, repeats: int = 3) -> float:
    return min(fn() for _ in range(repeats))


def scalar_autograd_gc(steps: int = 8) -> tuple[float, float]:
    """Original step vs the step with the collector off during the step and one collect between steps."""
    sys.path.insert(0, str(SAMPLES))
    import scalar_autograd as sa

    rng = random.Random(0)
    xs, ys = sa.make_moons(512, rng)
    model = sa.MLP([2, 16, 16, 1], rng)
    params = model.parameters()
    batches = [[rng.randrange(len(xs)) for _ in range(32)] for _ in range(steps)]

    def run(tuned: bool) -> float:
        total = 0.0
        for idx in batches:
            if tuned:
                gc.disable()
            t = time.perf_counter()
            sa.train_step(model, params, [xs[i] for i in idx], [ys[i] for i in idx], 0.1)
            total += time.perf_counter() - t
            if tuned:
                gc.enable()
                gc.collect()  # between steps, outside the step's time: the fix moves it there
        return total

    return _best(lambda: run(False)), _best(lambda: run(True))


def input_pipeline_cache(steps: int = 20) -> tuple[float, float]:
    """Original step vs the step reading features preprocessed once (``--cached``)."""
    sys.path.insert(0, str(SAMPLES))
    import input_pipeline as ip
    import numpy as np

    texts, labels = ip.corpus(steps * 64, random.Random(0))
    batches = [list(range(s * 64, (s + 1) * 64)) for s in range(steps)]
    cache = {b[0]: ip.make_batch(texts, labels, b) for b in batches}

    def run(c) -> float:
        w = np.zeros(ip.WIDTH)
        t = time.perf_counter()
        for b in batches:
            ip.train_step(w, texts, labels, b, 2.0, c)
        return time.perf_counter() - t

    return _best(lambda: run(None)), _best(lambda: run(cache))


CASES = (
    ("scalar_autograd.py", ["--steps", "12", "--epochs", "1"], "gc", "gc disabled in the step, collect between",
     scalar_autograd_gc),
    ("input_pipeline.py", ["--steps", "20", "--epochs", "2"], "input-pipeline", "features cached once",
     input_pipeline_cache),
)


def top_item(script: str, args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "advisor", "profile", "-q", "-o", out, "--format", "json",
                        str(SAMPLES / script), *args], check=True, timeout=600, capture_output=True)
        items = json.loads((Path(out) / "advice.json").read_text())["items"]
    return items[0] if items else {"kind": "none", "end_to_end": {"low": 1, "typical": 1, "high": 1}}


def main() -> None:
    rows, hits, inside = [], 0, 0
    for script, args, kind, fix, measure in CASES:
        top = top_item(script, args)
        before, after = measure()
        speedup = before / after
        r = top["end_to_end"]
        hit = top["kind"] == kind
        within = r["low"] <= speedup <= (r["high"] or float("inf"))
        hits += hit
        inside += within
        rows.append(f"| {script} | {fix} | {speedup:.2f}× | {top['kind']}: {r['typical']:.2f}× "
                    f"({r['low']:.2f}–{r['high']:.2f}×) | {'yes' if hit else 'no'} | {'yes' if within else 'no'} |")
    print("| workload | fix measured | measured step speedup | advisor's top item (range) | top = fix | in range |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nhit rate: {hits}/{len(CASES)} top item = measured fix; {inside}/{len(CASES)} measured speedup in range")


if __name__ == "__main__":
    main()
