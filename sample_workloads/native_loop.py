"""Fit a tanh layer by gradient descent, one row at a time: native time that is not efficient.

What it trains: a 256 -> 256 tanh layer (least squares against a noisy teacher layer) on synthetic data,
by mini-batch gradient descent. The step loops over the rows of the mini-batch in Python and, for each
row, calls ``np.dot(W, x)`` (a matrix-vector product that re-reads the whole 512 KB matrix),
``np.tanh``, and ``np.outer`` plus an in-place add into the 256 x 256 gradient. Every call is NumPy, so
the step samples ~90% native and reads as "already fast".

What a good advisor should say:
  * step: ``train_step``; top hotspot ``train_step`` itself, mostly **native**;
  * not "leave it, already native" and not a port: the native time is matrix-vector products and
    per-row outer products where one batched call does the same maths at the BLAS rate
    (``H = X @ W.T``, ``grad = G.T @ X``). Its top item is **batch the loop's NumPy calls**, with a range
    from this machine's own loop-vs-batch measurement;
  * ``--batched`` is the fixed variant (the same maths on the whole mini-batch, same result to rounding);
    benchmarks/fixed_variants.py times the two.

    python sample_workloads/native_loop.py                  # ~10 s on one core
    advisor profile sample_workloads/native_loop.py
"""

from __future__ import annotations

import argparse

import numpy as np

DIM = 256


def train_step(w: np.ndarray, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
    """One step, row by row: forward, error and the gradient's outer product for each example."""
    grad = np.zeros_like(w)
    loss = 0.0
    for x, y in zip(xb, yb):
        a = np.tanh(np.dot(w, x))
        err = a - y
        grad += np.outer(err * (1.0 - a * a), x)
        loss += float(np.dot(err, err))
    w -= lr / len(xb) * grad
    return loss / len(xb)


def train_step_batched(w: np.ndarray, xb: np.ndarray, yb: np.ndarray, lr: float) -> float:
    """The same step on the whole mini-batch at once: two matmuls instead of 2 x batch calls."""
    a = np.tanh(xb @ w.T)
    err = a - yb
    grad = (err * (1.0 - a * a)).T @ xb
    w -= lr / len(xb) * grad
    return float(np.einsum("ij,ij->", err, err)) / len(xb)


def make_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    teacher = rng.normal(scale=DIM ** -0.5, size=(DIM, DIM))
    x = rng.normal(size=(n, DIM))
    return x, np.tanh(x @ teacher.T) + rng.normal(scale=0.05, size=(n, DIM))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=150, help="mini-batches per epoch")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--batched", action="store_true", help="the fixed variant: one call per batch")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x, y = make_data(4096, rng)
    w = np.zeros((DIM, DIM))
    step = train_step_batched if args.batched else train_step
    for epoch in range(args.epochs):
        loss = 0.0
        for _ in range(args.steps):
            idx = rng.integers(0, len(x), size=args.batch)
            loss += step(w, x[idx], y[idx], args.lr)
        print(f"epoch {epoch + 1}: mean loss {loss / args.steps:.4f}")


if __name__ == "__main__":
    main()
