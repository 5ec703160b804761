"""The environment a profile was taken in: Python, platform, CPU, host, array-library versions, and the
process's rank when it is one rank of a distributed job (``advisor/ranks.py``)."""

from __future__ import annotations

import os
import platform
import sys
from typing import Mapping

from advisor._version import __version__
from advisor.errors import UsageError
from advisor.ranks import rank_info

# bound before any script runs (a script may patch socket or platform); uname's node name is what
# socket.gethostname returns, without importing socket before the script (advisor's import cost)
_uname = getattr(os, "uname", None)


def _gethostname() -> str:
    return _uname().nodename if _uname is not None else platform.node()


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


def _threads() -> dict[str, object]:
    """Cores this process may use and the threads the script's libraries were set to, read after the run.

    Only libraries the script imported are asked (``torch.get_num_threads``; threadpoolctl for the BLAS
    and OpenMP pools NumPy loaded); nothing is imported or started here.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    out: dict[str, object] = {"cores_available": cores}
    try:
        out["load_1m"] = round(os.getloadavg()[0], 2)  # runnable threads on the machine, this run's included
    except (AttributeError, OSError):
        pass
    torch = sys.modules.get("torch")
    try:
        if torch is not None:
            out["torch"] = int(torch.get_num_threads())
            out["torch_interop"] = int(torch.get_num_interop_threads())
    except Exception:  # a stubbed or half-imported torch
        pass
    if "numpy" in sys.modules:
        try:
            from threadpoolctl import threadpool_info

            pools = [i for i in threadpool_info() if i.get("user_api") == "blas"]
            if pools:
                out["blas"] = max(int(i.get("num_threads", 1)) for i in pools)
                out["blas_library"] = str(pools[0].get("internal_api", ""))
        except Exception:  # an unusual BLAS threadpoolctl cannot read
            pass
    return out


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
        "threads": _threads(),  # cores available vs threads in use (the threads item, costmodel/items.py)
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
