"""The vectorised step detection decides exactly as the per-sample walk it replaced.

``tests/analysis/reference/`` holds detect.py, step.py and loopstep.py as they were before detection
read NumPy columns (one Python iteration per sample). Random small timelines of a training-like script
(nested loops, a step function, helpers, model updates, a lazy import's detached samples, samples the
sampler missed, ``new_from`` as the sampler writes it or lower) go through both; every decision must
agree: the step, its count, its durations, the region of every sample, the candidates.
"""

import random
import textwrap

import numpy as np
import pytest

from advisor.analysis import detect, loopstep
from advisor.analysis.samples import SampleTable
from advisor.analysis.step import track_invocations
from advisor.model import REGIONS, FrameKey, StepTiming
from tests.analysis.reference import detect as ref_detect
from tests.analysis.reference import loopstep as ref_loopstep
from tests.analysis.reference import step as ref_step

F = "/w/train.py"
SRC = textwrap.dedent("""\
    def forward(x):
        return x

    def train_batch(x):
        y = forward(x)
        y = forward(y)
        return y

    def main():
        for epoch in range(3):
            for i in range(10):
                train_batch(i)
                helper(i)
            finish()

    main()
    """)
KEYS = [FrameKey(F, "<module>", 1), FrameKey(F, "main", 9), FrameKey(F, "train_batch", 4),
        FrameKey(F, "forward", 1), FrameKey(F, "helper", 20),
        FrameKey("/site/torch/_tensor.py", "Tensor.backward", 20),
        FrameKey("/site/torch/optim/adam.py", "Adam.step", 10),
        FrameKey(F, "finish", 30), FrameKey("<frozen importlib._bootstrap>", "_find_and_load", 1)]
USER = tuple(k.file == F for k in KEYS)


def _timeline(rng: random.Random):
    """Rows (frame ids, lines, weight, new_from) and each row's time, from a random run of SRC."""
    events = []  # (frames, lines, call ids)
    call = iter(range(10**9))
    top, main = next(call), next(call)
    for _ in range(rng.randrange(1, 4)):
        for _ in range(rng.randrange(1, 8)):
            tb = next(call)
            for _ in range(rng.randrange(0, 6)):
                kind = rng.random()
                if kind < 0.4:
                    line = rng.choice((5, 6))
                    fwd = next(call) if rng.random() < 0.7 else -line  # a new call, or the same as before
                    events.append(((0, 1, 2, 3), (16, 12, line, 2), (top, main, tb, fwd)))
                elif kind < 0.7:
                    events.append(((0, 1, 2), (16, 12, rng.choice((5, 6, 7))), (top, main, tb)))
                elif kind < 0.85:
                    events.append(((0, 1, 2, 5), (16, 12, 6, 21), (top, main, tb, next(call))))
                else:
                    events.append(((8,), (1,), (next(call),)))  # a lazy import: detached
            h = next(call)
            for _ in range(rng.randrange(0, 3)):
                events.append(((0, 1, 4), (16, 13, 21), (top, main, h)))
        for _ in range(rng.randrange(0, 3)):
            events.append(((0, 1, 7, 6), (16, 14, 31, 11), (top, main, next(call), next(call))))
    rows, times, prev, t = [], [], (), 0.0
    for frames, lines, ids in events:
        common = 0
        while common < min(len(prev), len(ids)) and prev[common] == ids[common]:
            common += 1
        nf = common if rng.random() < 0.9 else rng.randrange(min(2, common), common + 1)  # main goes on
        w = rng.choice((2**-10, 2**-8, 2**-6))  # exact in binary: sums do not depend on their order
        rows.append((frames, lines, w, nf))
        times.append(t)
        t += w
        prev = ids
    return rows, times


def _timings(rng: random.Random, times):
    if not times or rng.random() < 0.5:
        return ()
    since = rng.choice(times)
    starts = tuple(sorted(rng.uniform(since, times[-1] + 1) for _ in range(rng.randrange(1, 6))))
    frame, line = rng.choice(((2, None), (1, 11), (1, 10)))
    return (StepTiming(frame, line, starts, tuple(s + 0.01 for s in starts), rng.random() < 0.5, "trampoline"),)


def _codes(regions):
    return [REGIONS.index(r) for r in regions] if isinstance(regions, tuple) else list(np.asarray(regions))


def _small_chunks(monkeypatch, size):
    """Every chunked pass over the samples goes ``size`` samples at a time (carries across chunks tested)."""
    from advisor.analysis import calls, samples, stepping

    for mod in (calls, samples, stepping, loopstep):
        monkeypatch.setattr(mod, "CHUNK", size)
    if size % 2:
        monkeypatch.setattr(calls, "DENSE_MAX", 0)  # the sorted (sparse) count of calls


@pytest.mark.parametrize("seed", range(150))
def test_detection_decides_as_the_per_sample_walk(seed, monkeypatch):
    if seed % 3 == 1:
        _small_chunks(monkeypatch, 1 + seed % 7)
    rng = random.Random(seed)
    rows, times = _timeline(rng)
    timings = _timings(rng, times)
    stopped = rng.choice(("exit", "interrupt"))
    spec = rng.choice((None, None, "train_batch", "forward", "helper", "train.py:11", "train.py:10", "nothing"))
    warmup = rng.choice((0, 1, 2))
    mode = "sample" if rng.random() < 0.9 else "cprofile"
    calls = {2: 7, 3: 20} if mode == "cprofile" else None
    new = detect.detect(detect.Measurement(tuple(rows), tuple(KEYS), USER, {F: SRC}, mode, stopped, calls, timings,
                                           tuple(times)), spec, warmup)
    old = ref_detect.detect(ref_detect.Measurement(tuple(rows), tuple(KEYS), USER, {F: SRC}, mode, stopped, calls,
                                                   timings, tuple(times)), spec, warmup)
    assert (new.step is None) == (old.step is None)
    if old.step is not None:
        assert new.step.durations_s == pytest.approx(old.step.durations_s)
        assert new.step == type(new.step)(**{**{f: getattr(old.step, f) for f in old.step.__slots__},
                                             "durations_s": new.step.durations_s})
    assert _codes(new.regions) == _codes(old.regions)
    assert [(c.frame, c.calls) for c in new.candidates] == [(c.frame, c.calls) for c in old.candidates]
    assert [c.inclusive_s for c in new.candidates] == pytest.approx([c.inclusive_s for c in old.candidates])
    assert new.warnings == old.warnings and new.matched == old.matched


@pytest.mark.parametrize("seed", range(40))
def test_call_table_and_loop_rounds_match_the_walk(seed, monkeypatch):
    if seed % 2:
        _small_chunks(monkeypatch, 1 + seed % 5)
    rng = random.Random(1000 + seed)
    rows, _times = _timeline(rng)
    triples = [(ids, w, nf) for ids, _l, w, nf in rows]
    new, old = track_invocations(triples), ref_step.track_invocations(triples)
    assert dict(new.calls) == dict(old.calls)
    assert {f: new.spans[f] for f in old.spans} == dict(old.spans)
    assert new.above == old.above and new.inclusive_s == pytest.approx(old.inclusive_s)
    for f in old.invocations:
        assert [(i.first, i.last) for i in new.invocations[f]] == [(i.first, i.last) for i in old.invocations[f]]
    table = SampleTable.of(rows)
    for span in ((10, 14), (11, 13)):
        nested = loopstep.nested_spans(SRC, *span)
        loop, ref_loop = loopstep.Loop(1, *span, "for", nested), ref_loopstep.Loop(1, *span, "for", nested)
        for marker in (2, 4, -1):
            flags = [marker in ids and ids.index(marker) >= nf for ids, _l, _w, nf in rows]
            got = loopstep.loop_iterations(table, loop, marker, np.asarray(flags, dtype=bool))
            want = ref_loopstep.loop_iterations(rows, ref_loop, marker, flags)
            assert got.tolist() == [-1 if w is None else w for w in want]
