"""The numba swap: refused cleanly where numba cannot compile, swapped only where the first call agrees."""

import sys
import types

import pytest

from advisor.experiments.jit import FirstCall, agree, swap_in_njit

numba = pytest.importorskip("numba")


class Box:
    def __init__(self, v):
        self.v = v


def _module(src: str):
    mod = types.ModuleType("advisor_jit_test_mod")
    exec(compile(src, "<jit-test>", "exec"), mod.__dict__)
    sys.modules[mod.__name__] = mod
    return mod


def _first_call(mod, name, *args):
    """Capture the first call as the hook does, from the function's own frame, then run it."""
    seen = {}

    def prof(frame, event, arg):
        if event == "call" and frame.f_code.co_name == name and "call" not in seen:
            seen["call"] = FirstCall.capture(frame)
    sys.setprofile(prof)
    try:
        result = getattr(mod, name)(*args)
    finally:
        sys.setprofile(None)
    return seen["call"], result


def test_numeric_loop_is_swapped_after_the_outputs_agree():
    mod = _module("def total(xs, k):\n    s = 0.0\n    for i in range(k):\n        s += xs[i % 3] * i\n    return s\n")
    py = mod.total
    call, result = _first_call(mod, "total", [1.0, 2.0, 3.0], 100)
    ok, note = swap_in_njit(call, result)
    try:
        assert ok, note
        assert mod.total is not py and isinstance(mod.total, numba.core.registry.CPUDispatcher)
        assert mod.total([1.0, 2.0, 3.0], 50) == pytest.approx(py([1.0, 2.0, 3.0], 50))
        assert "Python lists" in note
    finally:
        sys.modules.pop(mod.__name__, None)


def test_code_numba_cannot_compile_is_refused_and_left_alone():
    mod = _module("def unbox(items):\n    s = 0.0\n    for it in items:\n        s += it.v\n    return s\n")
    original = mod.unbox
    call, result = _first_call(mod, "unbox", [Box(1.0), Box(2.0)])
    ok, note = swap_in_njit(call, result)
    sys.modules.pop(mod.__name__, None)
    assert not ok
    assert note.startswith("numba cannot compile unbox:")
    assert mod.unbox is original


def test_a_method_is_refused_with_the_reason():
    class K:
        def f(self, n):
            return n * 2
    seen = {}

    def prof(frame, event, arg):
        if event == "call" and frame.f_code.co_name == "f":
            seen["c"] = FirstCall.capture(frame)
    sys.setprofile(prof)
    K().f(3)
    sys.setprofile(None)
    ok, note = swap_in_njit(seen["c"], 6)
    assert not ok and "module-level function" in note


def test_agree_tolerates_rounding_not_differences():
    np = pytest.importorskip("numpy")
    assert agree([1.0, (2.0, 3.0)], [1.0 + 1e-12, (2.0, 3.0)])
    assert not agree([1.0, 2.0], [1.0, 2.1])
    assert not agree([1.0], [1.0, 2.0])
    assert agree(np.arange(3.0), np.arange(3.0) * (1 + 1e-10))
    assert not agree(np.zeros(3), np.zeros(4))
    assert agree({"a": 1}, {"a": 1}) and not agree({"a": 1}, {"b": 1})
