"""The environment a profile was taken in: Python, platform, CPU, host, array-library versions, and the
process's rank when it is one rank of a distributed job (``advisor/ranks.py``)."""

from __future__ import annotations

import os
import platform
import socket
import sys
from typing import Mapping

from advisor._version import __version__
from advisor.errors import UsageError
from advisor.ranks import rank_info

_gethostname = socket.gethostname  # bound before any script runs (a script may patch socket)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _distributed(env: Mapping[str, str]) -> dict[str, object] | None:
    try:
        info = rank_info(env)
    except UsageError:  # refused before the run by the CLI; here only a script's own change of RANK
        return None
    return None if info is None else info.to_json()


def _torch_cuda() -> bool | None:
    """Whether the script initialised CUDA in torch (None: torch not imported). Never initialises it."""
    torch = sys.modules.get("torch")
    try:
        return bool(torch.cuda.is_initialized()) if torch is not None else None
    except Exception:  # a half-imported or stubbed torch
        return None


def collect_environment(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Describe this machine. Library versions come only from modules the script already imported.

    ``env`` (default ``os.environ``) is read for the rank of a distributed job: ``distributed`` holds
    rank, world size, local rank, node rank and run id, or is absent for a single process.
    """
    libs = {}
    for name in ("numpy", "torch", "jax", "tensorflow", "scipy", "numba"):
        mod = sys.modules.get(name)
        version = getattr(mod, "__version__", None) if mod is not None else None
        if isinstance(version, str):
            libs[name] = version
    from advisor.capture.stackread import reader_name

    out: dict[str, object] = {
        "python": platform.python_version(),
        "stack_reader": reader_name(),  # "c" (_stackread) or "python" (the fallback; docs/how-it-works.md)
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count() or 1,
        "switch_interval_s": sys.getswitchinterval(),
        # False only on a free-threaded build running without the GIL (3.13t+): the split reads differently
        "gil_enabled": bool(getattr(sys, "_is_gil_enabled", lambda: True)()),
        "libraries": libs,
        "advisor": __version__,
        "hostname": _gethostname(),
    }
    cuda = _torch_cuda()
    if cuda is not None:
        out["torch_cuda"] = cuda
    dist = _distributed(os.environ if env is None else env)
    if dist is not None:
        out["distributed"] = dist
    return out
