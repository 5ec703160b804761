"""Code categories from source and split, with evidence; size and complexity from radon."""

import ast
import textwrap

from advisor.costmodel.classify import classify, find_function, size_and_complexity
from advisor.model import Split

from .helpers import NUMERIC_LOOP, OBJECTS, SMALL_NUMPY, STRINGS, VECTORIZED, K, make_analysis


def _category(source, split):
    a = make_analysis([K("f", split, source)], rest=Split(interpreted=1.0))
    h = next(h for h in a.hotspots if h.key.qualname == "f")
    return classify(h, a.profile)


def test_numeric_loop_evidence_quotes_loops_split_and_numpy():
    c = _category(NUMERIC_LOOP, Split(interpreted=8.8, native=1.2))
    assert c.name == "numeric-loop"
    assert c.evidence.startswith("3 nested loops, 88% interpreted, 12% native, no NumPy calls in the loop")
    assert c.lines == 9 and c.complexity == 5  # def + 8 body lines; 1 + 4 loops (comprehension included)


def test_categories_by_source():
    assert _category(SMALL_NUMPY, Split(interpreted=4.0, native=6.0)).name == "small-numpy-calls"
    assert _category(VECTORIZED, Split(interpreted=0.2, native=9.8)).name == "vectorized"
    assert _category(OBJECTS, Split(interpreted=9.0, gc=1.0)).name == "object-heavy"
    assert _category(STRINGS, Split(interpreted=10.0)).name == "strings"
    assert _category(NUMERIC_LOOP, Split(waiting=6.0, interpreted=4.0)).name == "io-bound"


def test_a_loop_of_numpy_calls_is_small_calls_even_when_it_samples_native():
    # np.dot in a Python loop reads ~95% native (dispatch and matrix-vector work) at one --interval and
    # 60% at another: the source decides, so the verdict does not move with the sampling interval
    for sp in (Split(interpreted=0.5, native=9.5), Split(interpreted=4.0, native=6.0)):
        c = _category(SMALL_NUMPY, sp)
        assert c.name == "small-numpy-calls" and c.dispatch_bound and c.loop_owner is not None


def test_a_function_without_a_loop_is_not_small_calls_from_its_split_alone():
    c = _category(VECTORIZED, Split(interpreted=4.0, native=6.0))
    assert c.name != "small-numpy-calls" and c.loop_owner is None


def test_missing_source_falls_back_to_the_split_and_says_so():
    a = make_analysis([K("f", Split(native=5.0))], rest=Split(interpreted=1.0))
    profile = a.profile
    h = next(h for h in a.hotspots if h.key.qualname == "f")
    bare = type(profile)(**{**{f: getattr(profile, f) for f in profile.__dataclass_fields__}, "sources": {}})
    c = classify(h, bare)
    assert c.name == "vectorized" and "source not available" in c.evidence and c.lines == 50


def test_find_function_by_decorator_line_and_method():
    src = textwrap.dedent('''
        class Net:
            @staticmethod
            @property
            def forward(x):
                if x:
                    return 1
                return 2
        ''')
    tree = ast.parse(src)
    node = find_function(tree, "Net.forward", 3)
    assert node is not None and node.name == "forward"
    assert size_and_complexity(node) == (6, 2)
