"""A step whose time is in C code that holds the GIL, and a blocking join: what GIL hand-over timing alone
misreads (a C call gives the GIL up at the bytecode boundary after it, like bytecode does).

Phases (known nature):
  json_parse     native    json.loads of one large document (the C scanner)
  builtin_sort   native    sorted() of a large list of floats
  small_numpy    native    many NumPy operations on an 8-element array (NumPy's C dispatch dominates)
  asarray_lists  native    np.asarray of prebuilt nested Python lists (C iterating Python objects)
  read_shard     cpu-io    reading a 48 MB shard with read() (page cache: the kernel copies, native; a cold
                           disk: waiting); the true split is the thread's CPU time over the phase's wall time
  thread_join    waiting   joining 4 threads that compute in Python meanwhile (they hold the GIL in turn)
"""

import atexit
import json
import os
import random
import tempfile
import threading

import numpy as np

from _truth import Truth, scale

rng = random.Random(0)
DOC = json.dumps([{"id": i, "vals": [rng.random() for _ in range(8)], "name": f"rec{i}"} for i in range(3000)])
FLOATS = [rng.random() for _ in range(60_000)]
ROWS = [[rng.random() for _ in range(64)] for _ in range(1500)]
SMALL = np.ones(8)
SHARD = os.path.join(tempfile.mkdtemp(prefix="bench-shard-"), "shard.bin")
with open(SHARD, "wb") as fh:
    fh.write(os.urandom(48 << 20))
atexit.register(lambda: (os.remove(SHARD), os.rmdir(os.path.dirname(SHARD))))


def json_parse():
    return json.loads(DOC)


def builtin_sort():
    return sorted(FLOATS)


def small_numpy():
    a = SMALL
    for _ in range(6000):  # long enough for ~100 samples a run at the benchmark's scale (1500 gave ~15)
        a = np.sqrt(a * 1.0001 + 0.5)
    return a


def asarray_lists():
    return np.asarray(ROWS)


def read_shard():
    with open(SHARD, "rb", buffering=0) as fh:
        return len(fh.read())


def _spin():
    s = 0
    for i in range(12_000):
        s += i % 7
    return s


def thread_join():
    workers = [threading.Thread(target=_spin) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


truth = Truth({"json_parse": "native", "builtin_sort": "native", "small_numpy": "native",
               "asarray_lists": "native", "read_shard": "cpu-io", "thread_join": "waiting"})


def train_step():
    marks = [truth.mark()]
    json_parse()
    marks.append(truth.mark())
    builtin_sort()
    marks.append(truth.mark())
    small_numpy()
    marks.append(truth.mark())
    asarray_lists()
    marks.append(truth.mark())
    read_shard()
    marks.append(truth.mark())
    thread_join()
    marks.append(truth.mark())
    truth.record(marks)


def main():
    for _ in range(scale(40)):
        train_step()
    truth.write()


if __name__ == "__main__":
    main()
