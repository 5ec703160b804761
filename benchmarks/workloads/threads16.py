"""Sixteen busy Python threads inside the step: each step hands a fixed amount of pure-Python work to
16 threads and joins them (a thread pool of Python workers; they hold the GIL in turn).

Phases (known nature):
  prepare     interpreted  the main thread builds the work items
  fan_out     waiting      the main thread joins the 16 threads while they compute (its own view: waiting)
"""

import threading

from _truth import Truth, scale

N_THREADS = 16


def _work(n, out, i):
    s = 0
    for k in range(n):
        s += k % 7
    out[i] = s


def prepare():
    out = []
    for j in range(1500):  # Python bytecode only (an earlier sum(range(...)) here ran in C)
        s = 0
        for k in range(j, j + 60):
            s += k
        out.append(s % 5)
    return out


def fan_out():
    out = [0] * N_THREADS
    threads = [threading.Thread(target=_work, args=(15000, out, i)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(out)


truth = Truth({"prepare": "interpreted", "fan_out": "waiting"})


def train_step():
    marks = [truth.mark()]
    prepare()
    marks.append(truth.mark())
    fan_out()
    marks.append(truth.mark())
    truth.record(marks)


def main():
    for _ in range(scale(100)):
        train_step()
    truth.write()


if __name__ == "__main__":
    main()
