"""A training-like step mixing a pure-Python kernel with NumPy/BLAS reached by calls and by operators.

Phases (known nature):
  py_conv      interpreted  a 1-D convolution written as Python loops over lists
  blas_call    native       np.dot / np.matmul called as functions (multi-threaded OpenBLAS)
  matmul_op    native       the same work through the ``@`` operator (no Python call a hook can see)
  ufunc_op     native       large element-wise ``a * b + c`` through operators
"""

import numpy as np

from _truth import Truth, scale

rng = np.random.default_rng(0)
A = rng.standard_normal((256, 256))
B = rng.standard_normal((256, 256))
X = rng.standard_normal(600_000)
Y = rng.standard_normal(600_000)
Z = rng.standard_normal(600_000)
SIGNAL = [float(v) for v in rng.standard_normal(12000)]
KERNEL = [0.25, 0.5, 0.25, -0.1, 0.05, 0.3, -0.2]


def py_conv():
    out = []
    k = len(KERNEL)
    for i in range(len(SIGNAL) - k):
        acc = 0.0
        for j in range(k):
            acc += SIGNAL[i + j] * KERNEL[j]
        out.append(acc)
    return out


def blas_call():
    c = np.dot(A, B)
    return np.matmul(c, B)


def matmul_op():
    c = A @ B
    return c @ A


def ufunc_op():
    return X * Y + Z * 0.5 - X


PHASES = (py_conv, blas_call, matmul_op, ufunc_op)
truth = Truth({"py_conv": "interpreted", "blas_call": "native", "matmul_op": "native",
               "ufunc_op": "native"})


def train_step():
    marks = [truth.mark()]
    for phase in PHASES:
        phase()
        marks.append(truth.mark())
    truth.record(marks)


def main():
    for _ in range(scale(100)):
        train_step()
    truth.write()


if __name__ == "__main__":
    main()
