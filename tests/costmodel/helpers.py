"""Hand-built profiles for cost-model tests: a step function plus kernels with known splits and sources."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from advisor.analysis import Analysis, analyze
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo

NUMERIC_LOOP = '''
def kernel(a, b, n):
    out = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += a[i][k] * b[k][j]
            out[i][j] = acc
    return out
'''

SMALL_NUMPY = '''
import numpy as np

def kernel(xs, w):
    total = 0.0
    for x in xs:
        h = np.tanh(np.dot(w, x))
        total += np.sum(h * h)
    return total
'''

VECTORIZED = '''
import numpy as np

def kernel(x, w):
    return np.tanh(x @ w).sum()
'''

OBJECTS = '''
class Value:
    pass

def kernel(nodes):
    out = []
    for node in nodes:
        v = Value()
        v.data = node.data
        v.grad = node.grad
        v.parents = node.parents
        out.append(v)
    return out
'''

STRINGS = '''
def kernel(lines):
    out = []
    for line in lines:
        words = line.strip().lower().split()
        out.append(" ".join(w.replace(",", "") for w in words))
    return out
'''


@dataclass(frozen=True)
class K:
    """One kernel: its name, its split per measured run (seconds), its source, its exact call count."""

    name: str
    split: Split
    source: str = NUMERIC_LOOP
    calls: int | None = None  # total calls over the run (cprofile mode)
    seen: int | None = None  # invocations the sampler saw (sample mode)


def make_profile(kernels: list[K], rest: Split = Split(), steps: int = 10, mode: str = "sample",
                 python: str = "3.11.7") -> Profile:
    """A profile whose measured steps hold ``kernels`` (each in its own file) plus ``rest`` in the step.

    Step mean T = total measured time / steps.
    """
    frames = [Frame(FrameKey("/w/train.py", "main", 1), True), Frame(FrameKey("/w/train.py", "train_step", 10), True)]
    stacks = []
    sources = {"/w/train.py": "def main():\n    pass\n"}
    calls: dict[int, int] = {}
    cands = []
    for k in kernels:
        fid = len(frames)
        file = f"/w/{k.name}.py"
        src = textwrap.dedent(k.source)
        line = next(i for i, text in enumerate(src.splitlines(), 1) if text.startswith("def kernel"))
        sources[file] = src.replace("def kernel", f"def {k.name}")
        frames.append(Frame(FrameKey(file, k.name, line), True))
        stacks.append(StackRecord((0, 1, fid), (2, 11, line + 1), "step", k.split, max(1, int(k.split.total * 1000))))
        if k.calls is not None:
            calls[fid] = k.calls
        if k.seen is not None:
            from advisor.model import Candidate
            cands.append(Candidate(fid, k.seen, k.split.total))
    if rest.total > 0:
        stacks.append(StackRecord((0, 1), (2, 12), "step", rest, max(1, int(rest.total * 1000))))
    total = sum(k.split.total for k in kernels) + rest.total
    if mode == "cprofile":
        step = StepInfo(1, "auto", "auto", steps, 0, (), "exact")
        calls[1] = steps
    else:
        step = StepInfo(1, "auto", "auto", steps, 0, (total / steps,) * steps, "sampled")
    return Profile(mode, 0.005, {"target": "train.py"}, {"python": python}, "", total + 1.0, Outcome(0, "exit"),
                   tuple(frames), tuple(stacks), step, tuple(cands), calls=calls if mode == "cprofile" else None,
                   sources=sources)


def make_analysis(kernels: list[K], rest: Split = Split(), **kw) -> Analysis:
    return analyze(make_profile(kernels, rest, **kw))
