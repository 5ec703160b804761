"""The worst case for setprofile-based profilers: millions of tiny Python calls, next to native work.

Phases (known nature):
  tiny_calls   interpreted  200k calls of one-line functions and methods per step
  np_reduce    native       reductions over a large array (np.sum / np.cumsum calls)
"""

import numpy as np

from _truth import Truth, scale

ARR = np.random.default_rng(0).standard_normal(2_000_000)


def add(a, b):
    return a + b


class Acc:
    __slots__ = ("v",)

    def __init__(self):
        self.v = 0

    def push(self, x):
        self.v = add(self.v, x)


def tiny_calls():
    acc = Acc()
    for i in range(100_000):
        acc.push(i)
    return acc.v


def np_reduce():
    return float(np.sum(ARR)) + float(np.cumsum(ARR)[-1])


PHASES = (tiny_calls, np_reduce)
truth = Truth({"tiny_calls": "interpreted", "np_reduce": "native"})


def train_step():
    marks = [truth.mark()]
    for phase in PHASES:
        phase()
        marks.append(truth.mark())
    truth.record(marks)


def main():
    for _ in range(scale(180)):
        train_step()
    truth.write()


if __name__ == "__main__":
    main()
