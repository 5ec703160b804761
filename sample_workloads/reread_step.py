"""Train a linear regression whose step re-reads the whole data set from disk every time.

What it trains: a least-squares linear model (NumPy) on synthetic features, 64-row mini-batches. The
data set (``.npy``, ~6 MB, written to a temporary folder at start) never changes, but the step opens and
loads it again with ``np.load`` to take one mini-batch, as code does that reads "the latest" data or keeps
its loading inside the step for simplicity.

What a good advisor should say:
  * step: ``train_step``;
  * the top item is **read once and cache** (samples inside ``np.load`` in every measured step, most of
    the step); not a port of ``train_step``;
  * ``--cached`` is the fixed variant: the array is loaded once before the loop; the step then runs many
    times faster (``benchmarks/fixed_variants.py`` compares the two).

    python sample_workloads/reread_step.py                # a few seconds
    advisor profile sample_workloads/reread_step.py
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

ROWS, DIM = 12_000, 64


def write_data(folder: str, rng: np.random.Generator) -> str:
    x = rng.normal(size=(ROWS, DIM + 1))
    x[:, -1] = x[:, :-1] @ np.linspace(-1.0, 1.0, DIM) + 0.1 * rng.normal(size=ROWS)
    path = os.path.join(folder, "train.npy")
    np.save(path, x)
    return path


def train_step(w: np.ndarray, path: str, rows: np.ndarray, lr: float, cached: np.ndarray | None) -> float:
    data = cached if cached is not None else np.load(path)
    x, y = data[rows, :-1], data[rows, -1]
    err = x @ w - y
    w -= lr * x.T @ err / len(rows)
    return float(np.mean(err * err))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=80, help="mini-batches per epoch")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--cached", action="store_true", help="the fixed variant: load once, before the loop")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        path = write_data(folder, rng)
        cached = np.load(path) if args.cached else None
        batches = [rng.integers(0, ROWS, size=64) for _ in range(args.steps)]
        w = np.zeros(DIM)
        for epoch in range(args.epochs):
            loss = 0.0
            for b in batches:
                loss += train_step(w, path, b, 0.05, cached)
            print(f"epoch {epoch + 1}: mse {loss / len(batches):.4f}")


if __name__ == "__main__":
    main()
