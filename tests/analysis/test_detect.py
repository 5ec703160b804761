"""Step detection rules 2-4 and exact timings, on hand-built sample sequences of known shape.

Each test writes the script's source (loops are found in it) and the samples a sampler would take, with
``new_from`` as the sampler gives it, so the right answer is known by construction.
"""

import textwrap

from advisor.analysis.detect import Measurement, detect
from advisor.model import FrameKey, StepTiming

F = "/w/train.py"
OPT = FrameKey("/site/torch/optim/adam.py", "Adam.step", 10)
BWD = FrameKey("/site/torch/_tensor.py", "Tensor.backward", 20)


def _measure(source: str, keys: list[FrameKey], rows, user=None, timings=()) -> Measurement:
    user = tuple(user if user is not None else [k.file == F for k in keys])
    return Measurement(tuple(rows), tuple(keys), user, {F: textwrap.dedent(source)}, timings=timings)


RL = """\
def select_action(s):
    return s

def finish_episode():
    pass

def main():
    for episode in range(30):
        s = reset()
        for t in range(100):
            a = select_action(s)
            s = step(a)
        finish_episode()

main()
"""
# frames: 0 <module>, 1 main, 2 select_action, 3 finish_episode, 4 Tensor.backward, 5 Adam.step
RL_KEYS = [FrameKey(F, "<module>", 1), FrameKey(F, "main", 7), FrameKey(F, "select_action", 1),
           FrameKey(F, "finish_episode", 4), BWD, OPT]


def _rl_rows(episodes=30):
    rows = []
    for _ in range(episodes):
        for t in range(8):  # eight samples in select_action calls, each a new call
            rows.append(((0, 1, 2), (15, 11, 2), 1.0, 2))
        rows.append(((0, 1, 3, 4), (15, 13, 5, 1), 1.0, 2))  # the update: backward...
        rows.append(((0, 1, 3, 5), (15, 13, 5, 1), 1.0, 3))  # ...and the optimizer, same finish_episode call
    return rows


def test_the_episode_loop_holding_the_update_is_the_step_not_the_action_function():
    d = detect(_measure(RL, RL_KEYS, _rl_rows()))
    assert d.step is not None and d.step.frame == 1 and d.step.loop_lines == (8, 13), d.step
    assert d.step.calls == 30


EPOCH = """\
def forward(x):
    return x

def train(epoch):
    for batch in loader:
        loss = forward(batch)
        loss.backward()
        opt.step()

for epoch in range(2):
    train(epoch)
"""
# frames: 0 <module>, 1 train, 2 forward, 3 backward, 4 Adam.step
EPOCH_KEYS = [FrameKey(F, "<module>", 1), FrameKey(F, "train", 4), FrameKey(F, "forward", 1), BWD, OPT]


def _epoch_rows(epochs=2, batches=20):
    rows = []
    for _e in range(epochs):
        for b in range(batches):
            first = b == 0
            rows.append(((0, 1), (11, 5), 0.2, 1 if first else 2))  # the loader, on the for line
            rows.append(((0, 1, 2), (11, 6, 2), 1.0, 2))
            rows.append(((0, 1, 3), (11, 7, 1), 1.0, 2))
            rows.append(((0, 1, 4), (11, 8, 1), 1.0, 2))
    return rows


def test_a_function_repeating_the_update_is_an_epoch_and_its_loop_is_the_step():
    d = detect(_measure(EPOCH, EPOCH_KEYS, _epoch_rows()))
    assert d.step is not None and d.step.frame == 1 and d.step.loop_lines == (5, 8), d.step
    assert d.step.calls == 40


PARTS = """\
class Act:
    def __call__(self, x):
        return x

def fit(n):
    for i in range(n):
        h = act(x)
        y = act(h)
        g = act.gradient(y)

fit(50)
"""
# frames: 0 <module>, 1 fit, 2 Act.__call__ ; no model-update frames (NumPy only)
PART_KEYS = [FrameKey(F, "<module>", 1), FrameKey(F, "fit", 5), FrameKey(F, "Act.__call__", 2)]


def test_a_function_called_several_times_a_round_is_a_part_of_the_loop_step():
    rows = []
    for _i in range(50):
        rows.append(((0, 1, 2), (11, 7, 3), 1.0, 2))
        rows.append(((0, 1, 2), (11, 8, 3), 1.0, 2))
        rows.append(((0, 1), (11, 9), 0.2, 2))
    d = detect(_measure(PARTS, PART_KEYS, rows))
    assert d.step is not None and d.step.loop_lines == (6, 9), d.step
    assert d.step.calls == 50


NIELSEN = """\
def backprop(x):
    return x

def update_mini_batch(batch):
    for x in batch:
        backprop(x)
    apply()

def sgd():
    for b in batches:
        update_mini_batch(b)

sgd()
"""
NIELSEN_KEYS = [FrameKey(F, "<module>", 1), FrameKey(F, "sgd", 9), FrameKey(F, "update_mini_batch", 4),
                FrameKey(F, "backprop", 1)]


def test_a_per_example_helper_shorter_than_the_interval_is_not_the_step():
    # update_mini_batch: 40 calls of 6 samples; backprop: a new (short) call in every sample
    rows = []
    for _b in range(40):
        rows.append(((0, 1, 2, 3), (13, 11, 6, 2), 1.0, 2))
        rows.extend(((0, 1, 2, 3), (13, 11, 6, 2), 1.0, 3) for _ in range(5))
    d = detect(_measure(NIELSEN, NIELSEN_KEYS, rows))
    assert d.step is not None and d.step.frame == 2 and d.step.loop_lines is None, d.step
    assert d.step.calls == 40


def test_exact_boundaries_replace_the_sampled_count_and_times():
    rows = _epoch_rows(epochs=1, batches=20)
    timing = StepTiming(1, 5, tuple(float(i) for i in range(25)), tuple(i + 0.5 for i in range(25)), True)
    d = detect(_measure(EPOCH, EPOCH_KEYS, rows, timings=(timing,)), warmup=1)
    assert d.step is not None and d.step.count_exact and d.step.calls == 25
    assert d.step.durations_s == (0.5,) * 24
    assert "(25 iterations, exact)" in d.step.reason
    inexact = StepTiming(1, 5, (0.0,), (0.5,), False)
    d2 = detect(_measure(EPOCH, EPOCH_KEYS, rows, timings=(inexact,)))
    # a timer that started during a call: its durations are exact, its count a lower bound ("timed")
    assert not d2.step.count_exact and d2.step.timing == "timed" and "at least" in d2.step.reason
    assert d2.step.durations_s == (0.5,)


def test_named_loop_and_function_and_nothing():
    m = _measure(EPOCH, EPOCH_KEYS, _epoch_rows())
    assert detect(m, "forward").step.frame == 2
    loop = detect(m, "train.py:6").step
    assert loop.loop_lines == (5, 8) and loop.chosen_by == "--step"
    missing = detect(m, "nope")
    assert missing.step is None and not missing.matched and "nope" in missing.warnings[0]


STEPFN = """\
def train_step(i):
    return i

def main():
    for i in range(10):
        train_step(i)

main()
"""
STEPFN_KEYS = [FrameKey(F, "<module>", 1), FrameKey(F, "main", 4), FrameKey(F, "train_step", 1)]


def test_timed_step_seconds_leave_out_the_calls_before_the_timer():
    """Issue 13: a timer armed during call 5 of 10 times calls 6-10 (2.0 s each, by its clock); the five
    calls before it are counted from the samples (3 samples of 1.0 s each) but their sampled seconds are
    not step durations: mean, median, p95 and total are the timer's alone."""
    rows, times = [], []
    for call in range(10):
        for k in range(3):
            rows.append(((0, 1, 2), (8, 6, 2), 1.0, 3 if k else 2))  # a new call of train_step every 3
            times.append(call * 3.0 + k)
    timer = StepTiming(2, None, tuple(15.0 + 2.0 * i for i in range(5)), tuple(17.0 + 2.0 * i for i in range(5)),
                       False)
    for warmup in (0, 1, 6):
        m = Measurement(tuple(rows), tuple(STEPFN_KEYS), (True,) * 3, {F: STEPFN}, timings=(timer,),
                        times=tuple(times))
        step = detect(m, warmup=warmup).step
        assert step is not None and step.frame == 2 and step.timing == "timed" and not step.count_exact
        assert step.calls == 10 and "at least 10 calls" in step.reason and "timed from call 6" in step.reason
        timed = 5 - max(0, warmup - 5)  # warm-up calls among the timed ones are dropped
        assert step.durations_s == (2.0,) * timed
        stats = step.stats
        assert (stats.count, stats.mean_s, stats.median_s, stats.p95_s, stats.total_s) == (timed, 2.0, 2.0, 2.0, 2.0 * timed)
