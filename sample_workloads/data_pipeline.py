"""Train a bag-of-words text classifier whose step is bound by its data pipeline.

What it trains: a logistic-regression sentiment-style classifier over hashed word counts, on synthetic
"reviews" (sentences drawn from a positive or a negative vocabulary plus common filler words).

Set-up (outside the step) writes the corpus as gzip-compressed shards of JSON lines to a temporary
folder. Each training step then does what a naive loader inside the training loop does:

  1. ``read_shard``: read one shard from storage. The shards sit on local disk, so to behave like the
     network or object storage (NFS, S3, a busy shared file system) that training jobs usually read
     from, it sleeps ``--latency-ms`` per request plus ``1/--mb-per-s`` per megabyte read. This is real
     blocking time (``time.sleep`` releases the GIL and takes no CPU), just as a socket read would be;
  2. ``decode_shard``: gunzip and parse the JSON lines;
  3. ``tokenize``: lower-case, strip punctuation, split, hash words into buckets (Python string work);
  4. ``sgd_update``: one small NumPy logistic-regression update on the batch.

What a good advisor should say:
  * step: ``train_step`` (one shard per step);
  * top hotspot: ``read_shard``, well over half of the step, almost all of it **waiting** (the thread
    is off the CPU); tokenizing is a distant second (interpreted), the NumPy update is negligible;
  * verdict: **fix the I/O**, not a port: prefetch shards in a background thread or a DataLoader with
    workers, read larger or local (cached) shards, overlap loading with compute. Porting any of this
    code to C cannot shorten time the thread spends waiting for storage.

    python sample_workloads/data_pipeline.py                 # ~10 s, mostly sleeping
    advisor profile sample_workloads/data_pipeline.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import tempfile
import time
import zlib

import numpy as np

POSITIVE = "great excellent wonderful loved superb brilliant delightful fantastic enjoyable moving".split()
NEGATIVE = "awful terrible boring hated dreadful poor dull disappointing mediocre tedious".split()
FILLER = ("the a film movie plot actor story was is and but it this that with of very quite really "
          "scene ending director music camera script character").split()
TOKEN_RE = re.compile(r"[^a-z ]+")


def write_shards(folder: str, n_shards: int, per_shard: int, seed: int) -> list[str]:
    """Write ``n_shards`` gzip files of JSON lines {"text", "label"}; return their paths."""
    rng = random.Random(seed)
    paths = []
    for s in range(n_shards):
        lines = []
        for _ in range(per_shard):
            label = rng.random() < 0.5
            words = [rng.choice(POSITIVE if label else NEGATIVE) if rng.random() < 0.15
                     else rng.choice(FILLER) for _ in range(rng.randint(20, 60))]
            text = " ".join(words).capitalize() + rng.choice([".", "!", "..."])
            lines.append(json.dumps({"text": text, "label": int(label)}))
        path = os.path.join(folder, f"shard-{s:04d}.jsonl.gz")
        with gzip.open(path, "wt", compresslevel=6) as f:
            f.write("\n".join(lines))
        paths.append(path)
    return paths


def read_shard(path: str, latency_s: float, s_per_mb: float) -> bytes:
    """Read one shard, at the speed of remote storage (see the module docstring)."""
    time.sleep(latency_s)
    with open(path, "rb") as f:
        data = f.read()
    time.sleep(len(data) / 1e6 * s_per_mb)
    return data


def decode_shard(blob: bytes) -> list[dict]:
    text = zlib.decompress(blob, wbits=16 + zlib.MAX_WBITS).decode("utf-8")
    return [json.loads(line) for line in text.splitlines()]


def tokenize(records: list[dict], n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashed bag-of-words counts (rows = records) and labels."""
    x = np.zeros((len(records), n_buckets))
    y = np.empty(len(records))
    for i, rec in enumerate(records):
        words = TOKEN_RE.sub(" ", rec["text"].lower()).split()
        buckets = [zlib.crc32(word.encode()) % n_buckets for word in words]
        x[i] = np.bincount(buckets, minlength=n_buckets)
        y[i] = rec["label"]
    return x, y


def sgd_update(w: np.ndarray, x: np.ndarray, y: np.ndarray, lr: float) -> float:
    """One logistic-regression gradient step; returns the batch's log-loss."""
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    w -= lr * (x.T @ (p - y)) / len(y)
    return float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))


def train_step(w: np.ndarray, path: str, args: argparse.Namespace) -> float:
    """Load one shard and take one SGD step on it."""
    blob = read_shard(path, args.latency_ms / 1000.0, 1.0 / args.mb_per_s)
    records = decode_shard(blob)
    x, y = tokenize(records, args.buckets)
    return sgd_update(w, x, y, args.lr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60, help="shards per epoch")
    parser.add_argument("--per-shard", type=int, default=1000, help="reviews per shard")
    parser.add_argument("--buckets", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--latency-ms", type=float, default=25.0, help="simulated storage latency per read")
    parser.add_argument("--mb-per-s", type=float, default=2.0, help="simulated storage bandwidth")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="advisor-shards-") as folder:
        paths = write_shards(folder, args.steps, args.per_shard, seed=0)
        w = np.zeros(args.buckets)
        for epoch in range(args.epochs):
            losses = [train_step(w, path, args) for path in paths]
            print(f"epoch {epoch + 1}: mean loss {sum(losses) / len(losses):.3f}")


if __name__ == "__main__":
    main()
