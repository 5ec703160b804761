"""Step detection on hand-built samples: invocations, the step rule, --step matching."""

from advisor.analysis.detect import choose_function
import pytest

from advisor.analysis.step import candidates, match_step, track_invocations


def choose_step(cands, t, user, names=None):
    return choose_function(cands, t.above, user, names)
from advisor.model import Candidate, FrameKey

MAIN, EPOCH, STEP, FWD = 0, 1, 2, 3
KEYS = [FrameKey("/w/t.py", "main", 1), FrameKey("/w/t.py", "train_epoch", 5),
        FrameKey("/w/t.py", "Trainer.train_step", 10), FrameKey("/w/model.py", "forward", 3)]


def test_invocations_follow_frame_identity():
    # 3 samples in step call A (continuing), then a new call (new_from=2 at depth 2)
    samples = [((MAIN, EPOCH, STEP), 1.0, 0), ((MAIN, EPOCH, STEP), 1.0, 3), ((MAIN, EPOCH, STEP), 1.0, 2),
               ((MAIN, EPOCH, STEP, FWD), 1.0, 3)]
    t = track_invocations(samples)
    assert len(t.invocations[STEP]) == 2
    assert [i.covered_s for i in t.invocations[STEP]] == [2.0, 2.0]
    assert len(t.invocations[MAIN]) == 1
    assert t.inclusive_s[STEP] == 4.0 and t.inclusive_s[FWD] == 1.0


def test_recursion_counts_once():
    t = track_invocations([((MAIN, STEP, STEP, STEP), 1.0, 0)])
    assert t.inclusive_s[STEP] == 1.0
    assert len(t.invocations[STEP]) == 1


def _epochs_and_steps():
    samples = []
    for epoch in range(3):
        for step in range(20):
            samples.append(((MAIN, EPOCH, STEP, FWD), 1.0, 1 if step == 0 else 2))
    return track_invocations(samples)


def test_prefers_the_step_over_the_epoch_wrapper():
    t = _epochs_and_steps()
    cands = candidates(t, KEYS)
    assert {c.frame for c in cands} == {EPOCH, STEP, FWD}
    best = choose_step(cands, t, [True, True, True, True])
    assert best.frame == STEP and best.calls == 60


def test_main_that_runs_once_is_never_a_candidate():
    t = _epochs_and_steps()
    assert MAIN not in {c.frame for c in candidates(t, KEYS)}


def test_user_code_preferred_over_library():
    t = _epochs_and_steps()
    # pretend train_step is library code: forward (user, same calls, less time) wins
    best = choose_step(candidates(t, KEYS), t, [True, True, False, True])
    assert best.frame in (EPOCH, FWD)


def test_a_user_function_named_as_a_step_wins_over_a_heavy_library_one_called_less():
    # a short torch run: a library wrapper around import-time work (2 calls, most of the run) against 30
    # calls of the script's own train_step (a tenth of its weight)
    lib, step = Candidate(frame=0, calls=2, inclusive_s=2.9), Candidate(frame=1, calls=30, inclusive_s=0.33)
    names = ["_disable_dynamo.<locals>.inner", "train_step"]
    assert choose_function([lib, step], {}, [False, True], names).frame == 1
    # not when the user function is not named as a step, nor when it is called less often
    assert choose_function([lib, step], {}, [False, True], ["inner", "helper"]).frame == 0
    rare = Candidate(frame=1, calls=2, inclusive_s=0.33)
    assert choose_function([lib, rare], {}, [False, True], names).frame == 0


def test_match_step_forms():
    assert match_step("train_step", KEYS) == [STEP]
    assert match_step("Trainer.train_step", KEYS) == [STEP]
    assert match_step("model:forward", KEYS) == [FWD]
    assert match_step("other:forward", KEYS) == []
    assert match_step("train", KEYS) == []


def test_import_machinery_is_never_the_step():
    keys = KEYS + [FrameKey("<frozen importlib._bootstrap>", "_handle_fromlist", 1207)]
    samples = [((MAIN, 4, STEP), 1.0, 1 if i % 2 else 2) for i in range(20)]
    t = track_invocations(samples)
    assert 4 not in {c.frame for c in candidates(t, keys)}


def test_a_tiny_helper_called_100k_times_is_not_the_step():
    from advisor.analysis.step import CallTable
    from advisor.model import Candidate
    t = track_invocations([((MAIN, STEP, FWD), 1.0, 1), ((MAIN, STEP, FWD), 1.0, 1)])
    cands = [Candidate(STEP, 100, 10.0), Candidate(FWD, 10_000_000, 6.0)]  # 0.6 µs a call
    assert choose_step(cands, t, [True] * 4).frame == STEP
    assert isinstance(t, CallTable)


def test_a_function_named_step_is_not_left_for_its_per_example_forward():
    # train_step (20 calls) spends 92% in a per-example forward called 32x per step
    keys = [FrameKey("/w/t.py", "main", 1), FrameKey("/w/t.py", "train_step", 5), FrameKey("/w/t.py", "MLP.__call__", 9)]
    samples = []
    for step in range(20):
        for ex in range(4):
            samples.append(((0, 1, 2), 1.0, 1 if ex == 0 else 2))
    t = track_invocations(samples)
    cands = candidates(t, keys)
    assert choose_step(cands, t, [True] * 3, [k.qualname for k in keys]).frame == 1
    assert choose_step(cands, t, [True] * 3).frame == 2  # without the name, the finer function wins


def test_a_lazy_import_inside_main_does_not_make_main_repeated():
    # While an import runs the sampler keeps only the top frame (IMP, a detached sample); the sample
    # after it was compared with that one frame, so its new_from is 0. main must stay one call.
    IMP = 4
    samples = [((MAIN, EPOCH, STEP, FWD), 1.0, 0), ((IMP,), 1.0, 0), ((IMP,), 1.0, 1),
               ((MAIN, EPOCH, STEP, FWD), 1.0, 0), ((MAIN, EPOCH, STEP), 1.0, 2),
               ((MAIN, EPOCH, STEP, FWD), 1.0, 2), ((MAIN, EPOCH, STEP), 1.0, 2)]
    t = track_invocations(samples)
    assert len(t.invocations[MAIN]) == 1 and len(t.invocations[EPOCH]) == 1
    assert len(t.invocations[STEP]) == 4  # the import's call continues across it, then 3 new calls
    assert t.inclusive_s[IMP] == 2.0 and IMP not in t.invocations
    keys = KEYS + [FrameKey("/site/torch/optim/adadelta.py", "<module>", 1)]
    assert all(c.frame != MAIN for c in candidates(t, keys))


def _reference_walk(samples):
    """The walk as written before the call table was made compact: an Invocation per call, every sample."""
    from advisor.analysis.step import Invocation, _run_root, reattach

    inv_by, inclusive, above = {}, {}, {}
    active, root, last_attached, gap = [], _run_root(samples), (), False
    for idx, (frames, weight, new_from) in enumerate(samples):
        if frames and frames[0] != root:
            for fid in dict.fromkeys(frames):
                inclusive[fid] = inclusive.get(fid, 0.0) + weight
            gap = True
            continue
        if gap:
            new_from, gap = reattach(last_attached, frames), False
        last_attached = frames
        seen, nxt = set(), []
        for depth, fid in enumerate(frames):
            inv = active[depth] if depth < new_from and depth < len(active) else None
            if fid not in seen:
                seen.add(fid)
                if inv is None or inv.frame != fid:
                    inv = Invocation(fid, idx, idx, 0.0)
                    inv_by.setdefault(fid, []).append(inv)
                inv.last = idx
                inv.covered_s += weight
                inclusive[fid] = inclusive.get(fid, 0.0) + weight
                above.setdefault(fid, set()).update(frames[:depth])
                nxt.append(inv)
            else:
                nxt.append(None)
        active = nxt
    return inv_by, inclusive, above


def test_compact_call_table_matches_the_walk_that_kept_every_invocation():
    import random

    rng = random.Random(7)
    chains = [(0, 1, 2), (0, 1, 2, 3), (0, 1, 4), (0, 1, 4, 4, 5), (0, 1, 2, 3, 6), (9, 8), (0,), ()]
    for _ in range(30):
        samples, prev = [], ()
        for _ in range(rng.randrange(1, 300)):
            cur = rng.choice(chains)
            common = 0
            while common < min(len(prev), len(cur)) and prev[common] == cur[common]:
                common += 1
            samples.append((cur, rng.choice((0.001, 0.005, 0.0125)), rng.randrange(0, common + 1)))
            prev = cur
        want_invs, want_incl, want_above = _reference_walk(samples)
        got = track_invocations(samples)
        assert {f: [(i.first, i.last) for i in v] for f, v in want_invs.items()} == \
            {f: [(i.first, i.last) for i in got.invocations[f]] for f in got.invocations}
        for f, v in want_invs.items():
            assert [i.covered_s for i in v] == pytest.approx([i.covered_s for i in got.invocations[f]])
            assert got.count(f) == len(v) and got.spans[f] == sum(i.last - i.first + 1 for i in v)
        assert got.inclusive_s == pytest.approx(want_incl) and got.above == want_above
