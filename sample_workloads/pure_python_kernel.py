"""Train a 1-D convolution filter to denoise a signal, written with plain Python lists and loops.

What it trains: a single FIR filter (``--taps`` weights) that maps a noisy sine-mixture signal to its
clean version, by SGD on the mean squared error. Each training step takes one window of the signal and
runs the forward convolution, the loss and its gradient, and the weight gradient, which is itself a
convolution (of the input with the error), as in any CNN.

Everything numeric is hand-written: ``conv1d`` is a double loop over Python lists of floats. This is the
code a team writes first and then wonders why training is slow.

What a good advisor should say:
  * step: ``train_step`` (one call per window);
  * top hotspot: ``conv1d``, well over half of the step, almost all of it **interpreted** (bytecode
    of a tight loop, no native library underneath);
  * verdict: **JIT / vectorize first**, then **port** ``conv1d``: a small, self-contained numeric
    kernel over flat arrays is the best case for a compiled port (C/Cython/Rust), but numba's ``@njit``
    with NumPy arrays in place of lists (or ``np.convolve``) gets most of that gain for a fraction of
    the effort, so the cost model should name the cheap route first and a port as the alternative.
    Nothing here waits or allocates many objects, so neither the GC nor I/O matters.

    python sample_workloads/pure_python_kernel.py            # ~6 s on one core
    advisor profile sample_workloads/pure_python_kernel.py
"""

from __future__ import annotations

import argparse
import math
import random


def make_signal(n: int, seed: int) -> tuple[list[float], list[float]]:
    """A clean sum of sines and the same signal with Gaussian noise."""
    rng = random.Random(seed)
    clean = [math.sin(0.05 * i) + 0.5 * math.sin(0.013 * i + 1.0) for i in range(n)]
    noisy = [c + rng.gauss(0.0, 0.3) for c in clean]
    return noisy, clean


def conv1d(x: list[float], w: list[float]) -> list[float]:
    """'Valid' 1-D convolution (cross-correlation, as in deep learning): len(x) - len(w) + 1 outputs."""
    k = len(w)
    out = []
    for i in range(len(x) - k + 1):
        acc = 0.0
        for j in range(k):
            acc += x[i + j] * w[j]
        out.append(acc)
    return out


def mse_loss(pred: list[float], target: list[float]) -> tuple[float, list[float]]:
    """Mean squared error and its gradient with respect to ``pred``."""
    n = len(pred)
    loss = 0.0
    grad = []
    for p, t in zip(pred, target):
        d = p - t
        loss += d * d
        grad.append(2.0 * d / n)
    return loss / n, grad


def train_step(w: list[float], x: list[float], target: list[float], lr: float) -> float:
    """One SGD step on one window: forward, loss, weight gradient (a convolution), update in place."""
    pred = conv1d(x, w)
    loss, grad_out = mse_loss(pred, target)
    grad_w = conv1d(x, grad_out)  # dL/dw[j] = sum_i grad_out[i] * x[i + j]
    for j in range(len(w)):
        w[j] -= lr * grad_w[j]
    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300, help="training windows per epoch")
    parser.add_argument("--window", type=int, default=4096)
    parser.add_argument("--taps", type=int, default=31)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    noisy, clean = make_signal(args.window * 8, seed=0)
    w = [0.0] * args.taps
    half = args.taps // 2
    starts = list(range(0, len(noisy) - args.window, args.window // 2))
    rng = random.Random(1)
    for epoch in range(args.epochs):
        total = 0.0
        for _ in range(args.steps):
            s = rng.choice(starts)
            x = noisy[s:s + args.window]
            target = clean[s + half:s + args.window - half]
            total += train_step(w, x, target, args.lr)
        print(f"epoch {epoch + 1}: mean loss {total / args.steps:.4f}")


if __name__ == "__main__":
    main()
