"""Train a tiny MLP classifier with a scalar autograd engine (micrograd-style): one Python object per number.

What it trains: a 2-16-16-1 tanh MLP on a synthetic "two moons" data set with a hinge loss and L2
regularisation, by SGD on mini-batches. Every weight, activation and intermediate is a ``Value`` object
that remembers its children (a tuple) and a ``_backward`` closure; the closure refers to the node that
owns it, so every node of the graph sits in a reference cycle and only CPython's cyclic garbage
collector can free it. One step builds a graph of tens of thousands of such objects, walks it
backwards, and throws it away.

What a good advisor should say:
  * step: ``train_step`` (one call per mini-batch; not the per-example ``MLP.__call__`` inside it);
  * the step is dominated by **gc**: CPython's cyclic collector runs over and over while the graph
    grows and scans tens of thousands of live nodes each time. Measured on CPython 3.11 with
    ``gc.callbacks`` and ``perf_counter`` around ``train_step``: 74% of the step is in the collector;
    with the collector off during the step (``gc.disable()``, one ``gc.collect()`` between steps) the
    step runs about 4x faster. The rest is **interpreted**: object creation, attribute access,
    closures, the topological sort. The top hotspots are the ``Value`` operators
    (``Value.__add__``, ``Value.__mul__``, ``Value.__init__``) that allocate when a collection starts;
  * verdict: **tune the GC** first (``gc.disable()``/``gc.freeze()`` around the step and collect
    between steps, or a much higher ``gc.set_threshold``): a one-line change worth ~4x. Then it is
    object-heavy interpreted code, and a port comes with caveats: the cost is one Python object per
    scalar, so it only pays if it changes the data layout (tensors, a graph of arrays), which is
    "vectorize with NumPy/PyTorch" rather than a line-by-line port of ``Value`` to C.

    python sample_workloads/scalar_autograd.py               # ~10 s on one core
    advisor profile sample_workloads/scalar_autograd.py
"""

from __future__ import annotations

import argparse
import math
import random


class Value:
    """A scalar with a gradient, the operation that made it, and how to push its gradient back."""

    __slots__ = ("data", "grad", "_prev", "_backward", "__weakref__")

    def __init__(self, data: float, children: tuple[Value, ...] = ()) -> None:
        self.data = data
        self.grad = 0.0
        self._prev = children
        self._backward = _noop

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward  # closure -> out -> closure: a reference cycle
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward() -> None:
            self.grad += (1.0 - t * t) * out.grad
        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(self.data if self.data > 0 else 0.0, (self,))

        def _backward() -> None:
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def backward(self) -> None:
        """Reverse-mode autodiff: topologically sort the graph, then apply each node's ``_backward``."""
        topo: list[Value] = []
        visited: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                topo.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for child in node._prev:
                if id(child) not in visited:
                    stack.append((child, False))
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


def _noop() -> None:
    pass


class Neuron:
    def __init__(self, n_in: int, rng: random.Random, linear: bool) -> None:
        self.w = [Value(rng.uniform(-1, 1) / math.sqrt(n_in)) for _ in range(n_in)]
        self.b = Value(0.0)
        self.linear = linear

    def __call__(self, x: list[Value]) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act if self.linear else act.tanh()

    def parameters(self) -> list[Value]:
        return self.w + [self.b]


class MLP:
    def __init__(self, sizes: list[int], rng: random.Random) -> None:
        self.layers = [[Neuron(sizes[i], rng, linear=i == len(sizes) - 2) for _ in range(sizes[i + 1])]
                       for i in range(len(sizes) - 1)]

    def __call__(self, x: list[float]) -> Value:
        h: list[Value] = [Value(v) for v in x]
        for layer in self.layers:
            h = [neuron(h) for neuron in layer]
        return h[0]

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for n in layer for p in n.parameters()]


def make_moons(n: int, rng: random.Random) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles with noise; labels are -1 and +1."""
    xs, ys = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2:
            x, y, label = math.cos(t), math.sin(t), -1.0
        else:
            x, y, label = 1.0 - math.cos(t), 0.5 - math.sin(t), 1.0
        xs.append([x + rng.gauss(0, 0.1), y + rng.gauss(0, 0.1)])
        ys.append(label)
    return xs, ys


def train_step(model: MLP, params: list[Value], xb: list[list[float]], yb: list[float],
               lr: float) -> tuple[float, float]:
    """One SGD step on one mini-batch: build the graph, hinge loss + L2, backward, update."""
    scores = [model(x) for x in xb]
    losses = [(1.0 + -y * s).relu() for y, s in zip(yb, scores)]
    data_loss = sum(losses, Value(0.0)) * (1.0 / len(losses))
    reg_loss = sum((p * p for p in params), Value(0.0)) * 1e-4
    loss = data_loss + reg_loss
    for p in params:
        p.grad = 0.0
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    accuracy = sum((s.data > 0) == (y > 0) for s, y in zip(scores, yb)) / len(yb)
    return loss.data, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60, help="mini-batches per epoch")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    rng = random.Random(0)
    xs, ys = make_moons(512, rng)
    model = MLP([2, args.hidden, args.hidden, 1], rng)
    params = model.parameters()
    for epoch in range(args.epochs):
        loss_sum = acc_sum = 0.0
        for _ in range(args.steps):
            idx = [rng.randrange(len(xs)) for _ in range(args.batch)]
            loss, acc = train_step(model, params, [xs[i] for i in idx], [ys[i] for i in idx], args.lr)
            loss_sum += loss
            acc_sum += acc
        print(f"epoch {epoch + 1}: loss {loss_sum / args.steps:.3f}, accuracy {acc_sum / args.steps:.1%}")


if __name__ == "__main__":
    main()
