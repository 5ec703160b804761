"""This machine's own NumPy rates, measured once after a run and cached: the yardstick for native time.

"97% native" does not mean "already fast": a loop that calls ``np.dot`` on one row at a time spends its
native time in NumPy's per-call dispatch and in matrix-vector products that re-read the matrix, where one
batched call would run the same maths at the BLAS rate. To say how far a loop of NumPy calls is from what
this machine does, advisor times a few fixed operations here, with the NumPy and BLAS threads the run
left in place:

* ``gemm_gflops``: a 512 x 512 float64 matmul (the machine's BLAS rate);
* ``copy_gbs``: copying a 32 MB array (bytes read and written per second: memory bandwidth);
* ``dispatch_us``: one ``np.add`` on 8 numbers with ``out=`` (the per-call cost of a tiny NumPy call);
* ``loop_vs_batch``: for vectors of 16, 256 and 1,024 numbers, the time of 64 ``np.dot(W, x)`` calls in a
  Python loop over the time of the one ``W @ X`` that does the same maths, both on one BLAS thread: what
  batching a loop of NumPy calls gains on one core of this machine, from dispatch-bound (16) to
  memory-bound (1,024: each call re-reads an 8 MB matrix).

The measure runs after the script has finished (``advisor.pipeline.finish``), never while it trains, only
when the script imported NumPy and only on the machine the profile was taken on (same CPU model). The
result is cached in ``$XDG_CACHE_HOME/advisor/machine.json`` (default ``~/.cache``), keyed by CPU model,
NumPy version and BLAS threads; ``ADVISOR_MACHINE_BENCH=off`` turns it off. The capture records no array
shapes, so the rates bound what batching can gain; they cannot give a call's achieved FLOP/s.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

VERSION = 1
SIZES = (16, 256, 1024)
BATCH = 64


@dataclass(frozen=True, slots=True)
class MachineRates:
    """What this machine's NumPy does on fixed operations (see the module docstring)."""

    gemm_gflops: float
    copy_gbs: float
    dispatch_us: float
    loop_vs_batch: dict[str, float]  # vector length -> loop time / batched time
    key: str  # cpu model | numpy version | BLAS threads
    measured_at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(d: Any) -> MachineRates | None:
        try:
            return MachineRates(float(d["gemm_gflops"]), float(d["copy_gbs"]), float(d["dispatch_us"]),
                                {str(k): float(v) for k, v in d["loop_vs_batch"].items()}, str(d["key"]),
                                str(d["measured_at"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def _best(fn: Any, repeats: int = 3) -> float:
    """The fastest of ``repeats`` timed calls, after one untimed call (thread pools start, caches warm)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return max(best, 1e-9)


def measure(key: str = "") -> MachineRates:
    """Time the fixed operations (about half a second)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((512, 512)), rng.random((512, 512))
    gemm = 2 * 512 ** 3 / _best(lambda: a @ b) / 1e9
    big = np.ones(4 << 20)  # 32 MB
    dst = np.empty_like(big)
    copy = 2 * big.nbytes / _best(lambda: np.copyto(dst, big)) / 1e9
    x8, o8 = np.ones(8), np.empty(8)

    def tiny() -> None:
        for _ in range(2000):
            np.add(x8, x8, out=o8)

    dispatch = _best(tiny) / 2000 * 1e6
    return MachineRates(gemm, copy, dispatch, _loop_vs_batch(rng), key,
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def _loop_vs_batch(rng: Any) -> dict[str, float]:
    """Loop of 64 ``np.dot(W, x)`` over one ``W @ X``, per vector length, both on one BLAS thread.

    One thread: the comparison is of the same work on one core, and a multi-threaded BLAS on a shared,
    busy machine turns small matmuls into seconds of thread hand-over that no loop suffers from.
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    ratios = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for n in SIZES:
            w, xs = rng.random((n, n)), rng.random((n, BATCH))
            cols = [xs[:, j].copy() for j in range(BATCH)]

            def loop() -> None:
                for c in cols:
                    np.dot(w, c)

            ratios[str(n)] = _best(loop, 5) / _best(lambda: w @ xs, 5)  # min of 5: the machine may be shared
    return ratios


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "advisor" / "machine.json"


def _key(cpu_model: str, numpy_version: str) -> str:
    try:
        from threadpoolctl import threadpool_info

        threads = max((int(i.get("num_threads", 1)) for i in threadpool_info() if i.get("user_api") == "blas"),
                      default=1)
    except Exception:  # threadpoolctl cannot read an unusual BLAS: the key just lacks the count
        threads = 0
    return f"{cpu_model} | numpy {numpy_version} | {threads} BLAS threads | v{VERSION}"


def cached_rates(cpu_model: str, numpy_version: str) -> MachineRates | None:
    """The cached rates for this machine, measured now if not cached yet; None when turned off or failing."""
    if os.environ.get("ADVISOR_MACHINE_BENCH", "").lower() in ("off", "0", "no"):
        return None
    key = _key(cpu_model, numpy_version)
    path = cache_path()
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    hit = MachineRates.from_json(known.get(key))
    if hit is not None:
        return hit
    try:
        rates = measure(key)
    except Exception:  # no NumPy here, or it fails: the advice goes on without the yardstick
        return None
    known[key] = rates.to_json()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(known, fh, indent=1)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: measured again next time
    return rates


def with_machine_rates(profile: Any) -> Any:
    """``profile`` with ``environment["numpy_rates"]`` added when it used NumPy and was taken on this machine.

    A profile that already carries rates, or comes from another CPU model, is returned unchanged.
    """
    env = profile.environment
    libs = env.get("libraries") or {}
    if "numpy_rates" in env or "numpy" not in libs:
        return profile
    from advisor.capture.environment import _cpu_model

    here = _cpu_model()
    if env.get("cpu_model") not in (None, here):
        return profile
    try:
        import numpy
    except ImportError:
        return profile
    if numpy.__version__ != libs["numpy"]:
        return profile
    rates = cached_rates(here, numpy.__version__)
    if rates is None:
        return profile
    return replace(profile, environment={**env, "numpy_rates": rates.to_json()})


__all__ = ["MachineRates", "cache_path", "cached_rates", "measure", "with_machine_rates"]
