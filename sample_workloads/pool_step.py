"""Train a linear model whose step starts a new process pool every time.

What it trains: a least-squares linear model (NumPy) whose gradient is computed in two shards by a
``multiprocessing.Pool``. The step creates the pool, maps the shards and closes it again, as code does
that wraps its parallel part in ``with Pool(...) as pool:`` inside the step: the worker processes (fresh
interpreters: the "spawn" start method, the default on macOS and Windows) are started and shut down in
every step, and that costs far more than the small gradient they compute.

What a good advisor should say:
  * step: ``train_step``;
  * the top item is **create the pool once** (samples in ``multiprocessing``'s pool start-up and
    shut-down in every measured step); not a port of ``train_step``;
  * ``--reuse`` is the fixed variant: one pool for the whole run; the step then runs many times faster
    (``benchmarks/fixed_variants.py`` compares the two).

    python sample_workloads/pool_step.py                # a few seconds
    advisor profile sample_workloads/pool_step.py
"""

from __future__ import annotations

import argparse
import multiprocessing as mp

import numpy as np

DIM, WORKERS = 32, 2


def shard_grad(args: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    x, y, w = args
    return x.T @ (x @ w - y)


def train_step(w: np.ndarray, x: np.ndarray, y: np.ndarray, lr: float, pool=None) -> float:
    shards = [(x[i::WORKERS], y[i::WORKERS], w) for i in range(WORKERS)]
    if pool is None:
        with mp.get_context("spawn").Pool(WORKERS) as p:
            grads = p.map(shard_grad, shards)
    else:
        grads = pool.map(shard_grad, shards)
    w -= lr * sum(grads) / len(y)
    return float(np.mean((x @ w - y) ** 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="mini-batches per epoch")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="the fixed variant: one pool for the whole run")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    true_w = np.linspace(-1.0, 1.0, DIM)
    xs = rng.normal(size=(args.steps, 128, DIM))
    ys = xs @ true_w
    w = np.zeros(DIM)
    pool = mp.get_context("spawn").Pool(WORKERS) if args.reuse else None
    try:
        for epoch in range(args.epochs):
            loss = 0.0
            for s in range(args.steps):
                loss += train_step(w, xs[s], ys[s], 0.1, pool)
            print(f"epoch {epoch + 1}: mse {loss / args.steps:.4f}")
    finally:
        if pool is not None:
            pool.close()
            pool.join()


if __name__ == "__main__":
    main()
