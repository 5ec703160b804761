"""NumPy, imported on first use (``from advisor._np import np``).

Step detection's modules are imported by ``advisor.api`` (which the profiled process loads), but they only
use NumPy after the run: NumPy must not be loaded into the user's process before its script runs
(tests/test_packaging.py). Each attribute is fetched from NumPy once, then kept on the proxy.
"""

from __future__ import annotations

from typing import Any


class _LazyNumPy:
    def __getattr__(self, name: str) -> Any:
        import numpy

        value = getattr(numpy, name)
        setattr(self, name, value)
        return value


np: Any = _LazyNumPy()
