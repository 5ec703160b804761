"""The ``threads`` experiment: raise the framework's and BLAS's intra-op thread pools to the free cores.

``torch.set_num_threads`` for PyTorch (when the script imported it) and threadpoolctl for the BLAS and
OpenMP libraries NumPy and others loaded. Applied at the step's first call, after the script's own
set-up (which may have lowered them) and before any measured step.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_keep: list[Any] = []  # threadpoolctl's limiter object, kept alive for the rest of the run


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), or os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def pools() -> list[tuple[str, int]]:
    """(name, threads) of every pool that can be resized now: torch's, then threadpoolctl's."""
    found: list[tuple[str, int]] = []
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_num_threads"):
        found.append(("torch", int(torch.get_num_threads())))
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return found
    for info in threadpool_info():
        found.append((f"{info.get('internal_api', '?')} ({os.path.basename(str(info.get('filepath', '')))})",
                      int(info.get("num_threads", 0))))
    return found


def raise_threads(target: int = 0) -> tuple[bool, str]:
    """Raise every pool below ``target`` threads (0: the usable cores) to it; (changed, one line)."""
    n = target if target > 0 else usable_cores()
    before = pools()
    if not before:
        return False, "no thread pool to resize (neither PyTorch nor a BLAS/OpenMP library is loaded)"
    low = [(name, k) for name, k in before if k < n]
    if not low:
        return False, f"every pool already uses {n} threads ({', '.join(f'{a} {k}' for a, k in before)})"
    torch = sys.modules.get("torch")
    if torch is not None and any(name == "torch" for name, _ in low):
        torch.set_num_threads(n)
    if any(name != "torch" for name, _ in low):
        from threadpoolctl import threadpool_limits

        _keep.append(threadpool_limits(limits=n))
    return True, "threads raised to " + str(n) + ": " + ", ".join(f"{a} {k} → {n}" for a, k in low)
