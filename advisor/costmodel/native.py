"""Native time that is not efficient: a loop of NumPy calls, measured against this machine's own rates.

A function whose NumPy calls run in a Python loop (its own, or its caller's around each call of it) reads
"mostly native", yet its native time is NumPy's per-call dispatch and matrix-vector products that re-read
their matrix, where one batched call does the same maths at the BLAS rate. ``advisor.machine`` measures,
once per machine, what batching such a loop gains here (64 ``np.dot(W, x)`` calls against one ``W @ X``
for vectors of 16, 256 and 1,024 numbers). That measured ratio is the speedup range of "batch the calls":

* low: the smallest of the three ratios (the array size that batching helps least on this machine);
* high: the largest ratio x ``PYTHON_MARGIN``: the benchmark's loop body is one call with no Python around
  it, while a real loop body also builds tuples and dicts that batching removes with the loop
  (ESTIMATE; per_sample_numpy.py measured 18x against a largest ratio of 17-22x here);
* typical: the geometric mean of low and high.

What it cannot see: the capture records no array shapes or per-call arguments, so a call's achieved
FLOP/s is not computed, and a loop whose every iteration works on large, unrelated arrays gains nothing
from batching. With ``--mode cprofile`` the exact calls per step give each call's time, against this
machine's dispatch cost of a tiny NumPy call.
"""

from __future__ import annotations

import math
from typing import Any

from advisor.costmodel.types import Range

PYTHON_MARGIN = 1.5


def machine_rates(profile: Any) -> dict[str, Any] | None:
    m = profile.environment.get("numpy_rates")
    return m if isinstance(m, dict) and isinstance(m.get("loop_vs_batch"), dict) and m["loop_vs_batch"] else None


def batch_speedup(profile: Any) -> Range | None:
    """What batching a loop of NumPy calls gains on the profiled machine (None without its rates)."""
    m = machine_rates(profile)
    if m is None:
        return None
    ratios = [float(v) for v in m["loop_vs_batch"].values() if float(v) > 0]
    if not ratios:
        return None
    low, high = max(1.0, min(ratios)), max(1.0, max(ratios)) * PYTHON_MARGIN
    return Range(low, math.sqrt(low * high), high)


def rates_words(profile: Any) -> str:
    """One sentence with the machine's measured rates, or a note that they were not measured."""
    m = machine_rates(profile)
    if m is None:
        return ("This machine's NumPy rates were not measured (the script did not use NumPy here, or "
                "ADVISOR_MACHINE_BENCH=off): the batching range is the built-in default.")
    ratios = ", ".join(f"{k}: {float(v):.1f}×" for k, v in m["loop_vs_batch"].items())
    return (f"Measured on this machine: a loop of 64 np.dot(W, x) is slower than one W @ X by {ratios} "
            f"(vector length: ratio); BLAS {float(m['gemm_gflops']):.0f} GFLOP/s, memory "
            f"{float(m['copy_gbs']):.0f} GB/s, {float(m['dispatch_us']):.2f} µs per tiny NumPy call. "
            "Array shapes are not recorded, so the achieved FLOP/s of these calls is not known.")


__all__ = ["PYTHON_MARGIN", "batch_speedup", "machine_rates", "rates_words"]
