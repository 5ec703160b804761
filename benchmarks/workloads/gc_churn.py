"""An object-heavy step: building and dropping graphs of small objects with reference cycles.

Phases (known nature):
  build_graph  gc-churn     allocates ~30k objects in parent<->child cycles; the cyclic GC runs inside
                            it (its share of the phase is measured exactly with gc.callbacks)
  py_score     interpreted  arithmetic over a list of floats (no allocation worth collecting)
  np_sort      native       sorting a large NumPy array

A long-lived "model" of ~300k objects makes full collections expensive, as in real training code.
"""

import numpy as np

from _truth import Truth, scale

MODEL = [[i, float(i), str(i)] for i in range(100_000)]
VALUES = [float(i % 97) for i in range(200_000)]
ARR = np.random.default_rng(0).standard_normal(400_000)


class Node:
    __slots__ = ("parent", "children", "value", "__weakref__")

    def __init__(self, parent, value):
        self.parent = parent
        self.children = []
        self.value = value


def build_graph():
    roots = []
    for r in range(200):
        root = Node(None, r)
        for c in range(30):
            child = Node(root, c)
            root.children.append(child)
            child.children.append(Node(child, {"v": c}))
        roots.append(root)
    return len(roots)


def py_score():
    total = 0.0
    for v in VALUES:
        total += v * v - 0.5 * v
    return total


def np_sort():
    return np.sort(ARR)


PHASES = (build_graph, py_score, np_sort)
truth = Truth({"build_graph": "gc-churn", "py_score": "interpreted", "np_sort": "native"})


def train_step():
    marks = [truth.mark()]
    for phase in PHASES:
        phase()
        marks.append(truth.mark())
    truth.record(marks)


def main():
    for _ in range(scale(120)):
        train_step()
    truth.write()


if __name__ == "__main__":
    main()
