"""A GC-heavy real step: scalar autograd (a micrograd-style ``Value`` graph) training a small MLP.

The same kind of program as sample_workloads/scalar_autograd.py, cut to three timed phases for the
benchmark's ground truth (issue 18's "GC-heavy real step" row).

Every step builds a graph of ~10k ``Value`` objects whose ``_backward`` closures refer back to their
node (reference cycles), so the cyclic GC runs often, as in real scalar-autograd code.

Phases (known nature; GC seconds measured per phase):
  forward   gc-churn     the MLP's forward pass and the loss: allocates the graph
  backward  gc-churn     topological sort and the chain rule through the closures
  update    interpreted  SGD on the parameters, zeroing the gradients
"""

import math
import random

from _truth import Truth, scale


class Value:
    __slots__ = ("data", "grad", "_backward", "_prev")

    def __init__(self, data, children=()):
        self.data = data
        self.grad = 0.0
        self._backward = _noop
        self._prev = children

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def __sub__(self, other):
        return self + (-1.0 * other)


def _noop():
    pass


rng = random.Random(0)
SIZES = (8, 16, 16, 1)
LAYERS = [[([Value(rng.uniform(-1, 1)) for _ in range(n_in)], Value(0.0)) for _ in range(n_out)]
          for n_in, n_out in zip(SIZES, SIZES[1:])]
PARAMS = [p for layer in LAYERS for ws, b in layer for p in (*ws, b)]
DATA = [([rng.uniform(-1, 1) for _ in range(SIZES[0])], rng.choice((-1.0, 1.0))) for _ in range(6)]


def forward():
    loss = Value(0.0)
    for xs, y in DATA:
        act = [Value(x) for x in xs]
        for i, layer in enumerate(LAYERS):
            act = [sum((w * a for w, a in zip(ws, act)), b) for ws, b in layer]
            if i < len(LAYERS) - 1:
                act = [a.tanh() for a in act]
        d = act[0] - y
        loss = loss + d * d
    return loss


def backward(loss):
    topo, seen = [], set()
    stack = [(loss, False)]
    while stack:
        v, done = stack.pop()
        if done:
            topo.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((c, False) for c in v._prev)
    loss.grad = 1.0
    for v in reversed(topo):
        v._backward()


def update():
    for p in PARAMS:
        p.data -= 0.01 * p.grad
        p.grad = 0.0


truth = Truth({"forward": "gc-churn", "backward": "gc-churn", "update": "interpreted"})


def train_step():
    marks = [truth.mark()]
    loss = forward()
    marks.append(truth.mark())
    backward(loss)
    marks.append(truth.mark())
    update()
    marks.append(truth.mark())
    truth.record(marks)


def main():
    for _ in range(scale(120)):
        train_step()
    truth.write()


if __name__ == "__main__":
    main()
