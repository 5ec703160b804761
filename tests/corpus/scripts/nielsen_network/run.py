"""Corpus driver (ours): synthetic 784-pixel digits through Nielsen's network.py, as its book does:
``net = network.Network([784, 30, 10]); net.SGD(training_data, epochs, 10, 3.0, test_data=test_data)``.
argv: examples epochs mini_batch_size."""
import sys

import numpy as np

import network

n, epochs, batch = (int(a) for a in sys.argv[1:4])
rng = np.random.default_rng(0)


def vec(j):
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


training_data = [(rng.random((784, 1)), vec(int(rng.integers(10)))) for _ in range(n)]
test_data = [(rng.random((784, 1)), int(rng.integers(10))) for _ in range(50)]
net = network.Network([784, 30, 10])
net.SGD(training_data, epochs, batch, 3.0, test_data=test_data)
