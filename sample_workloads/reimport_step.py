"""Train a bag-of-words classifier whose step re-imports its vocabulary module every time.

What it trains: a logistic regression (NumPy) on synthetic "sentences" of word ids, two classes. The
vocabulary lives in a small module (``vocab_table``, written to a temporary folder at start) whose body
builds a word -> id table and a stop-word list in Python. The step calls ``importlib.reload`` on it, as
code does that wants to "pick up config changes" or that imports lazily inside the step and clears
``sys.modules`` to be safe, so the module body, its loader and its compiled code run again in every step.

What a good advisor should say:
  * step: ``train_step``;
  * the top item is **import once, outside the step** (samples inside ``importlib``'s bootstrap in every
    measured step, most of the step); not a port of ``train_step`` and not the GC;
  * ``--once`` is the fixed variant: the module is imported once before the loop; the step then runs many
    times faster (``benchmarks/fixed_variants.py`` compares the two).

    python sample_workloads/reimport_step.py                # a few seconds
    advisor profile sample_workloads/reimport_step.py
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile

import numpy as np

WORDS = 4000
MODULE = '''
"""Vocabulary: word -> id, and the stop words (built when imported)."""
WORDS = {n}
VOCAB = {{}}
for i in range(WORDS):
    word = "w" + format(i, "x") + ("s" if i % 7 == 0 else "")
    VOCAB[word] = i
STOP = frozenset(w for w, i in VOCAB.items() if i % 13 == 0)
'''


def write_module(folder: str) -> None:
    with open(os.path.join(folder, "vocab_table.py"), "w") as f:
        f.write(MODULE.format(n=WORDS))
    sys.path.insert(0, folder)


def make_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, size=n)
    ids = rng.integers(0, WORDS // 2, size=(n, 20)) + (y[:, None] * (WORDS // 2))
    return ids, y.astype(float)


def featurize(ids: np.ndarray, stop: frozenset, vocab: dict) -> np.ndarray:
    x = np.zeros((len(ids), WORDS))
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])
    np.add.at(x, (rows, ids.ravel()), 1.0)
    return x / ids.shape[1]


def train_step(w: np.ndarray, ids: np.ndarray, y: np.ndarray, lr: float, once: object) -> float:
    vt = once if once is not None else importlib.reload(importlib.import_module("vocab_table"))
    x = featurize(ids, vt.STOP, vt.VOCAB)
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    w -= lr * x.T @ (p - y) / len(y)
    return float(np.mean((p > 0.5) == (y > 0.5)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60, help="mini-batches per epoch")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--once", action="store_true", help="the fixed variant: import once, before the loop")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        write_module(folder)
        once = importlib.import_module("vocab_table") if args.once else None
        rng = np.random.default_rng(0)
        ids, y = make_data(args.steps * 16, rng)
        w = np.zeros(WORDS)
        for epoch in range(args.epochs):
            acc = 0.0
            for s in range(args.steps):
                acc += train_step(w, ids[s * 16:(s + 1) * 16], y[s * 16:(s + 1) * 16], 2.0, once)
            print(f"epoch {epoch + 1}: accuracy {acc / args.steps:.1%}")


if __name__ == "__main__":
    main()
