"""The step's figures from its exact boundaries (``steptimer.py``) where they exist.

Samples estimate a step's calls and durations from the spans in which samples landed; the step timer
records every call's start and end from the moment the step was known. Here the chosen step's timed
calls replace the estimate: measured steps are the timed complete calls (less warm-up still due), their
durations are exact, and the count is exact when no call can have gone untimed before the timer began.
"""

from __future__ import annotations

from dataclasses import replace

from advisor.capture.looptimer import AROUND_CALL, split_mark
from advisor.capture.raw import RawCapture
from advisor.model import CountedStep, FrameKey, Outcome, StepInfo, StepTiming


# Rounds of a loop around the step's call site, timed from when auto-detection settled, miss the rounds
# before: detection counts those from samples (``analysis.loopstep.rounds_before``, in ``detect._finish``).
PARTIAL_LOOPS = True


def exact_timings(raw: RawCapture, frame_ids: dict[FrameKey, int]) -> tuple[StepTiming, ...]:
    """The raw timer records as ``StepTiming`` rows of the profile's frame table: a function's calls
    (``line`` None), or a loop's rounds (``line``: its header; looptimer.py marks those records)."""
    out = []
    for key, t in raw.timings.items():
        qualname, line = split_mark(key.qualname)
        fid = frame_ids.get(replace(key, qualname=qualname) if line is not None else key)
        if fid is None or not t["starts"] or not t["ends"]:
            continue
        if line is not None and t["in_call"] and t.get("how") == AROUND_CALL and not PARTIAL_LOOPS:
            continue
        exact = not t["in_call"]  # the timer started before the call it saw: all of them timed (see below)
        out.append(StepTiming(fid, line, tuple(t["starts"]), tuple(t["ends"]), exact, t.get("how", "")))
    return tuple(out)


def counted_steps(raw: RawCapture, frame_ids: dict[FrameKey, int]) -> tuple[CountedStep, ...]:
    """The call counts over one step (callcount.py) on the profile's frame table: functions that were
    never sampled have no frame and are left out; a step function without a frame, the whole window."""
    out = []
    for w in raw.counted:
        fid = frame_ids.get(w["step"])
        if fid is None:
            continue
        calls = tuple(sorted((frame_ids[k], n) for k, n in w["calls"].items() if k in frame_ids))
        out.append(CountedStep(fid, float(w["start"]), float(w["end"]), calls, bool(w["complete"])))
    return tuple(out)


def timed_step(step: StepInfo, timings: tuple[StepTiming, ...], table, row_t: list[float],
               outcome: Outcome) -> StepInfo:
    """``step`` with exact calls and durations where its function was timed."""
    timing = next((t for t in timings if t.frame == step.frame), None)
    if timing is None or not timing.ends:
        return step
    since = timing.starts[0]
    # Calls that started before the timer, as the samples saw them (the one running then included).
    before = [inv for inv in table.invocations.get(step.frame, []) if row_t[inv.first] < since]
    # A timer started during a call (``timing.exact`` False) missed that call, and shorter calls before
    # it may have fallen between samples. Exact only when the timer started before any call was seen
    # (``--step`` found the function defined but not yet called).
    untimed = max(len(before), 0 if timing.exact else 1)
    exact = timing.exact and not before
    timed = list(zip(timing.starts, timing.ends))
    durations = [e - b for b, e in timed]
    drop = max(0, step.warmup - untimed)  # warm-up calls not already among the untimed ones
    measured = durations[drop:]
    calls = untimed + len(timing.ends)
    shown = "" if exact else "at least "
    reason = step.reason.replace(f"{step.calls} calls", f"{shown}{calls} calls", 1)
    return replace(step, calls=calls, durations_s=tuple(measured), timing="exact" if exact else "timed",
                   reason=reason)
