"""The ``jit`` experiment: swap one of the team's functions for a ``numba.njit`` version at run time.

At the function's first call the arguments are copied; when that call returns, the numba version runs
on the copies and must agree with the Python version (return value and any argument it changed in place)
before it replaces the function. Where numba cannot compile it, or the outputs differ, the function is
left alone and the reason is reported: a refusal, not a result.
"""

from __future__ import annotations

import copy
import inspect
import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any

RTOL = 1e-7  # njit keeps IEEE semantics (no fastmath): results agree to rounding
ATOL = 1e-12


@dataclass(slots=True)
class FirstCall:
    """The function object, its argument objects (as the Python call sees them) and copies of them."""

    fn: Any
    args: tuple[Any, ...]
    copies: tuple[Any, ...] | None
    problem: str = ""

    @classmethod
    def capture(cls, frame: Any) -> FirstCall:
        code = frame.f_code
        fn = frame.f_globals.get(code.co_name)
        if getattr(fn, "__code__", None) is not code:
            return cls(None, (), None, f"{code.co_name} is not a module-level function (numba compiles plain "
                                       "functions, not methods or closures)")
        if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
            return cls(fn, (), None, f"{code.co_name} takes *args or **kwargs")
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        args = tuple(frame.f_locals[n] for n in names)
        try:
            copies = copy.deepcopy(args)
        except Exception as exc:
            return cls(fn, args, None, f"cannot copy the arguments of {code.co_name}: {type(exc).__name__}")
        return cls(fn, args, copies)


def agree(a: Any, b: Any) -> bool:
    """Equal, with a relative tolerance for floats and arrays, element by element for containers."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(agree(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(agree(a[k], b[k]) for k in a)
    np = sys.modules.get("numpy")
    if np is not None and (isinstance(a, np.ndarray) or isinstance(b, np.ndarray)):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=ATOL) or (a != a and b != b)
        except (TypeError, ValueError):
            return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("…" if len(text) > 200 else "")


def swap_in_njit(call: FirstCall | None, result: Any) -> tuple[bool, str]:
    """Compile ``call.fn`` with numba, check it against the first call, and swap it in everywhere the
    function object is a module attribute. Returns (swapped, what happened in one line)."""
    if call is None or call.copies is None:
        return False, (call.problem if call is not None else "the first call was not seen")
    name = call.fn.__name__
    try:
        import numba
        from numba.core.errors import NumbaError
    except ImportError:
        return False, "numba is not installed (pip install numba)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reflected-list deprecation notes: not the user's concern here
            jitted = numba.njit(call.fn)
            got = jitted(*call.copies)
    except NumbaError as exc:
        return False, f"numba cannot compile {name}: {_first_line(exc)}"
    except Exception as exc:
        return False, f"the numba version of {name} raised {type(exc).__name__}: {_first_line(exc)}"
    if not agree(got, result):
        return False, f"the numba version of {name} returned a different result on the first call"
    if not agree(call.copies, call.args):
        return False, f"the numba version of {name} left its arguments different from the Python version"
    swapped = 0
    for module in list(sys.modules.values()):
        try:
            if getattr(module, name, None) is call.fn:
                setattr(module, name, jitted)
                swapped += 1
        except Exception:
            continue
    if not swapped:
        return False, f"{name} is not reachable as a module attribute; nothing to swap"
    lists = any(isinstance(a, list) for a in call.args)
    caveat = ("; its arguments are Python lists, which numba converts on every call (reflected lists)"
              if lists else "")
    return True, f"{name} → numba.njit (first call agrees to rel. {RTOL:g}; compiled during warm-up{caveat})"
