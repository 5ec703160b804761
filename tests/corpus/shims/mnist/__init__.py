"""Stand-in for the ``mnist`` package: ``CORPUS_N`` synthetic 28x28 uint8 digits per set."""
import os

import numpy as np

_RNG = np.random.default_rng(0)


def _n():
    return int(os.environ.get("CORPUS_N", "100"))


def train_images():
    return _RNG.integers(0, 256, size=(_n(), 28, 28), dtype=np.uint8)


def train_labels():
    return _RNG.integers(0, 10, size=_n())


test_images, test_labels = train_images, train_labels
