"""A scalar-autograd training script (micrograd-style: one `Value` per number, thousands of tiny
`__mul__`/`__add__` calls and closures per step, GC-heavy). Used by tests/capture/test_step_rows.py.

Usage: scalar_autograd.py STEPS OUT.json [SIZE]: writes its own per-step perf_counter times, its step
count and its `Value.__mul__` count (SIZE*SIZE + SIZE a step; SIZE 32: 1,056)."""
import json, random, sys, time

class Value:
    def __init__(self, data, _children=()):
        self.data = data
        self.grad = 0.0
        self._prev = _children
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))
        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        MULS[0] += 1
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))
        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, seen = [], set()
        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

MULS = [0]
SIZE = int(sys.argv[3]) if len(sys.argv) > 3 else 32
random.seed(0)
W = [[Value(random.uniform(-1, 1)) for _ in range(SIZE)] for _ in range(SIZE)]
params = [w for row in W for w in row]
CALLS = [0]

def train_step(xs):
    CALLS[0] += 1
    out = Value(0.0)
    for row in W:
        s = Value(0.0)
        for w, x in zip(row, xs):
            s = s + w * x
        out = out + s * s
    for p in params:
        p.grad = 0.0
    out.backward()
    for p in params:
        p.data -= 1e-4 * p.grad
    return out.data

mine = []
try:
    for i in range(int(sys.argv[1])):
        xs = [random.uniform(-1, 1) for _ in range(SIZE)]
        t0 = time.perf_counter()
        train_step(xs)
        mine.append(time.perf_counter() - t0)
finally:
    with open(sys.argv[2], "w") as fh:
        json.dump({"times": mine, "calls": CALLS[0], "muls": MULS[0]}, fh)
