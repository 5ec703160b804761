"""The sampler's per-sample records, as typed arrays, and their splits after the run (NumPy, never in the
user's training loop)."""

from __future__ import annotations

from array import array
from typing import Iterator

from advisor.capture.raw import Chunk

INTERP, NATIVE, WAITING = 0, 1, 2  # a sample's state


class Columns:
    """Per-sample records as typed arrays (about 57 bytes a sample instead of ~200 for a tuple)."""

    __slots__ = ("wake", "read", "weight", "state", "gc", "sid", "same", "latency")

    def __init__(self) -> None:
        self.wake, self.read, self.weight = array("d"), array("d"), array("d")
        self.gc, self.latency = array("d"), array("d")
        self.state, self.sid, self.same = array("b"), array("q"), array("q")

    def append(self, wake: float, read: float, weight: float, state: int, gc_s: float, sid: int, same: int,
               latency: float) -> None:
        self.wake.append(wake)
        self.read.append(read)
        self.weight.append(weight)
        self.state.append(state)
        self.gc.append(gc_s)
        self.sid.append(sid)
        self.same.append(same)
        self.latency.append(latency)

    def __len__(self) -> int:
        return len(self.wake)

    def __iter__(self) -> Iterator[tuple[float, float, float, int, float, int, int, float]]:
        """(wake, read, weight, state, gc seconds, stack id, unchanged depth, GIL latency) per sample."""
        return zip(self.wake, self.read, self.weight, self.state, self.gc, self.sid, self.same, self.latency)



def chunk(cols: Columns, a: int, b: int) -> Chunk:
    """Samples ``a..b`` of the sampler's columns with their splits, in NumPy (after the run only).

    A sample's weight splits into the GC seconds in it, the latency less that GC (the thread held the
    GIL: native when the state is native, interpreted when interpreted; a waiting thread did not hold it,
    so its latency is waiting too), and the rest, which goes to the state's bucket.
    """
    import numpy as np

    def col(arr, dtype):  # a view of the array's memory, no copy
        size = np.dtype(dtype).itemsize
        return np.frombuffer(arr, dtype=dtype, count=b - a, offset=a * size)

    weight, state = col(cols.weight, np.float64), col(cols.state, np.int8)
    gc_s = np.minimum(np.maximum(col(cols.gc, np.float64), 0.0), weight)
    held = np.minimum(np.maximum(col(cols.latency, np.float64) - gc_s, 0.0), weight - gc_s)
    rest = weight - gc_s - held
    native = state == NATIVE
    split = np.empty((b - a, 4), dtype=np.float64)
    waiting = state == WAITING  # blocked: the latency was another thread's hold on the GIL, not its own
    split[:, 0] = np.where(native | waiting, 0.0, held) + np.where(state == INTERP, rest, 0.0)
    split[:, 1] = np.where(native, held + rest, 0.0)
    split[:, 2] = np.where(waiting, held + rest, 0.0)
    split[:, 3] = gc_s
    return Chunk(col(cols.read, np.float64).copy(), split, col(cols.sid, np.int64).copy(),
                 col(cols.same, np.int64).copy())
