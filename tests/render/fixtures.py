"""Advice objects for renderer tests, built without the cost model.

``hand_profile()`` is a hand-built Profile of a small training step (with a hostile function name and a
hostile file name among its frames), ``hand_advice()`` runs the real ``analyze`` on it and attaches
hand-made verdicts, target estimates and a port plan with round numbers a test can check by eye.
``real_advice()`` profiles a tiny real script in this process and attaches the same kind of verdicts.
"""

from __future__ import annotations

from advisor.analysis import Analysis, Hotspot, analyze
from advisor.costmodel.types import (ACCELERATOR, FIX_IO, LEAVE, PORT, TUNE_GC, Advice, Assumption, Category,
                                     KernelAdvice, PlanStep, Range, TargetEstimate)
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo

HOSTILE_FUNC = "<script>alert(1)</script>"
HOSTILE_FILE = '/w/"><img src=x onerror=alert(2)>.py'
TRAIN = "/w/train.py"

TRAIN_SOURCE = '''\
import numpy as np


def train_step(batch):
    x = normalise(batch)
    y = forward(x)
    loss = tokenize(y)
    return loss


def normalise(batch):
    out = []
    for row in batch:
        total = 0.0
        for v in row:
            total += v * v
        out.append(total ** 0.5)
    return out


def forward(x):
    return np.dot(x, x)


def tokenize(y):
    return [str(v) for v in y]


def main():
    for batch in loader():
        train_step(batch)
'''

HOSTILE_SOURCE = '''\
def f():
    s = "</script><script>alert(3)</script>"
    return s
'''


def _u(name: str, line: int, file: str = TRAIN) -> Frame:
    return Frame(FrameKey(file, name, line), True)


def hand_profile(monthly_steps: int = 40) -> Profile:
    """A step of 10 s over 40 measured steps: a Python loop, NumPy, a wait, GC, and a hostile function."""
    frames = (
        _u("main", 28), _u("train_step", 4), _u("normalise", 11), _u("forward", 21),
        Frame(FrameKey("/usr/lib/python3/numpy/core.py", "dot", 1), False),
        Frame(FrameKey("<built-in>", "numpy.core._multiarray_umath.dot", 0, "native"), False),
        _u("tokenize", 25), _u(HOSTILE_FUNC, 1, HOSTILE_FILE),
        Frame(FrameKey("/usr/lib/python3.11/queue.py", "Queue.get", 154), False),
        Frame(FrameKey("<gc>", "gc.collect", 0, "native"), False),
    )
    stacks = (
        StackRecord((0, 1, 2), (29, 5, 16), "step", Split(interpreted=4.0, gc=0.2), 4200),
        StackRecord((0, 1, 2), (29, 5, 17), "step", Split(interpreted=0.6), 600),
        StackRecord((0, 1, 3, 4, 5), (29, 6, 22, 10, 0), "step", Split(interpreted=0.1, native=2.4), 2500),
        StackRecord((0, 1, 6), (29, 7, 26), "step", Split(interpreted=0.8, gc=0.6), 1400),
        StackRecord((0, 1, 7), (29, 8, 2), "step", Split(interpreted=0.3), 300),
        StackRecord((0, 1, 8), (29, 4, 160), "step", Split(waiting=1.0), 1000),
        StackRecord((0, 1, 9), (29, 4, 0), "step", Split(gc=0.0), 0),
        StackRecord((0, 1, 2), (29, 5, 16), "warmup", Split(interpreted=0.5), 500),
        StackRecord((0,), (28,), "outside", Split(interpreted=2.0, waiting=1.0), 3000),
    )
    durations = tuple(10.0 / monthly_steps for _ in range(monthly_steps))
    step = StepInfo(1, "auto", "called 41 times from main, 96% of the run", monthly_steps + 1, 1,
                    durations, "sampled")
    env = {"python": "3.11.7", "implementation": "CPython", "platform": "Linux-x86_64", "cores": 8,
           "cpu_model": 'Xeon "><b>bold</b>', "libraries": {"numpy": "1.26.4"}, "advisor": "0.1.0"}
    return Profile("sample", 0.001, {"kind": "script", "target": "train.py", "args": ["--epochs", "1"]}, env,
                   "2024-05-01T10:00:00+0000", 13.5, Outcome(0, "exit"), frames, stacks, step, (),
                   sources={TRAIN: TRAIN_SOURCE, HOSTILE_FILE: HOSTILE_SOURCE}, samples=13500,
                   clock={"sampled_wall_s": 13.5})


def _estimate(h: Hotspot, name: str, label: str, kernel: Range, step_s: float, bill: float,
              weeks: Range, calls: float = 40.0) -> TargetEstimate:
    """A TargetEstimate whose end-to-end and dollar figures follow from ``kernel`` by Amdahl's law."""
    share = h.self_share

    def e2e(x: float) -> float:
        return 1.0 / (1.0 - share + share / x)

    end = Range(e2e(kernel.low), e2e(kernel.typical), e2e(kernel.high))
    save = Range(*(bill * (1 - 1 / s) for s in (end.low, end.typical, end.high)))
    cost = Range(*(w * 4000.0 for w in (weeks.low, weeks.typical, weeks.high)))
    payback = None if save.typical <= 0 else Range(cost.low / save.high, cost.typical / save.typical,
                                                    cost.high / save.low if save.low > 0 else float("inf"))
    return TargetEstimate(name, label, kernel, end, Range(0.0, 1e-5, 1e-4), calls, False, weeks, cost, save,
                          payback, sources=(f"targets.{name}.speedup", "team.engineer_week_usd"))


VERDICTS = {"normalise": PORT, "forward": ACCELERATOR, "tokenize": TUNE_GC, "train_step": FIX_IO}


def attach_advice(analysis: Analysis, monthly_bill_usd: float = 20000.0) -> Advice:
    """Hand-made verdicts for every hotspot: round numbers, consistent with Amdahl's law."""
    kernels = []
    for h in analysis.hotspots:
        verdict = VERDICTS.get(h.key.qualname, LEAVE)
        ests: tuple[TargetEstimate, ...] = ()
        best = None
        if verdict in (PORT, ACCELERATOR):
            ests = (
                _estimate(h, "rust", "Rust (PyO3)", Range(8.0, 20.0, 40.0), analysis.step_s, monthly_bill_usd,
                          Range(1.0, 2.0, 4.0)),
                _estimate(h, "mojo", "Mojo", Range(10.0, 25.0, 60.0), analysis.step_s, monthly_bill_usd,
                          Range(1.5, 3.0, 6.0)),
                _estimate(h, "numba", "Numba", Range(5.0, 15.0, 30.0), analysis.step_s, monthly_bill_usd,
                          Range(0.2, 0.5, 1.0)),
            )
            best = ests[0]
        s = h.self_split.shares()
        cat = Category("numeric-loop" if s["interpreted"] > 0.6 else "mixed",
                       f"2 nested for-loops, {s['interpreted']:.0%} interpreted, no NumPy calls in the loop",
                       8, 3)
        reason = (f"{h.self_share:.0%} of the step, {s['interpreted']:.0%} interpreted: "
                  f"{VERDICTS.get(h.key.qualname, 'leave')} it")
        kernels.append(KernelAdvice(h, cat, verdict, reason, best, ests))
    plan = []
    ported = [k for k in kernels if k.best is not None]
    cost = save = 0.0
    share_done = 0.0
    for i, k in enumerate(ported):
        assert k.best is not None
        share_done += k.hotspot.self_share
        cost += k.best.cost_usd.typical
        save += k.best.savings_per_month_usd.typical
        e2e = Range(*(1 / (1 - share_done + share_done / x) for x in (8.0, 20.0, 40.0)))
        plan.append(PlanStep(k.hotspot.key.qualname, k.best.target, e2e, cost, save,
                             cost / save if save > 0 else None, pays_back=i == 0))
    assumptions = (
        Assumption("cluster.monthly_bill_usd", monthly_bill_usd, "user config team.toml"),
        Assumption("team.engineer_week_usd", 4000.0, "PRIORS.md S30"),
        Assumption("horizon.payback_months", 12, "built-in default"),
        Assumption("targets.rust.speedup.numeric-loop", [8.0, 20.0, 40.0], "PRIORS.md S21-S24"),
        Assumption("targets.evil.name", HOSTILE_FUNC, '"><img src=x onerror=alert(4)>'),
    )
    return Advice(analysis, None, tuple(kernels), tuple(plan), monthly_bill_usd, assumptions, "team.toml",
                  notes=("the boundary cost is estimated from sampled call counts; "
                         "run --mode cprofile for exact counts",))


def hand_advice() -> Advice:
    """Advice for ``hand_profile()``."""
    return attach_advice(analyze(hand_profile()))


def spin(n: int) -> float:
    total = 0.0
    for i in range(n):
        total += (i % 7) * 0.5
    return total


def real_advice() -> Advice:
    """Profile a few steps of a pure-Python loop in this process, then attach hand-made verdicts."""
    from advisor.api import profiling

    def real_step() -> float:
        return spin(400_000)

    with profiling(interval_s=0.001, step="real_step", warmup=1) as region:
        for _ in range(8):
            real_step()
    assert region.profile is not None
    return attach_advice(analyze(region.profile))


def advised_real() -> Advice:
    """A real profile of a few steps of a pure-Python loop, judged by the real cost model (defaults)."""
    from advisor.costmodel import advise

    return advise(real_advice().analysis)
