"""The environment a profile was taken in: Python, platform, CPU, and array-library versions."""

from __future__ import annotations

import os
import platform
import sys

from advisor._version import __version__


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect_environment() -> dict[str, object]:
    """Describe this machine. Library versions come only from modules the script already imported."""
    libs = {}
    for name in ("numpy", "torch", "jax", "tensorflow", "scipy", "numba"):
        mod = sys.modules.get(name)
        version = getattr(mod, "__version__", None) if mod is not None else None
        if isinstance(version, str):
            libs[name] = version
    from advisor.capture.stackread import reader_name

    return {
        "python": platform.python_version(),
        "stack_reader": reader_name(),  # "c" (_stackread) or "python" (the fallback; docs/how-it-works.md)
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count() or 1,
        "switch_interval_s": sys.getswitchinterval(),
        "libraries": libs,
        "advisor": __version__,
    }
