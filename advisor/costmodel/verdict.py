"""The plain answer per hotspot: port, JIT / vectorize first, tune the GC, fix the I/O, move to an
accelerator, or leave it, each with one sentence that quotes the numbers behind it.

Order of the checks (first match wins):

1. share of the step under ``thresholds.min_share``                       → leave
2. the cyclic GC is the largest part of the hotspot's own time              → tune-gc
3. waiting is the largest part                                              → fix-io
4. a loop of many small NumPy calls, and a cheap target saves money         → jit-vectorize
5. native time is the largest part: an accelerator pays back and the share
   is at least ``thresholds.accelerator_min_share``                         → accelerator, else leave
6. interpreted time is the largest part:
   a cheap target (Numba, NumPy vectorization, CPython JIT) gets at least
   ``thresholds.cheap_fraction`` of the best port's savings and pays back   → jit-vectorize
   the best port target pays back within ``team.horizon_months``            → port
   otherwise                                                                → leave (a loss, or too slow to pay)
7. any of the above whose step gain is under 2% (``MIN_GAIN``)              → leave
"""

from __future__ import annotations

import math

from advisor.analysis import Hotspot
from advisor.units import fmt_usd, fmt_x
from advisor.costmodel.config import CostConfig
from advisor.costmodel.types import (ACCELERATOR, FIX_IO, JIT_VECTORIZE, LEAVE, PORT, TUNE_GC, Category,
                                     TargetEstimate)


money, times = fmt_usd, fmt_x  # the cost model's sentences word figures as the renderers do (advisor/units.py)


def _return(e: TargetEstimate) -> float:
    """Savings per dollar of effort (typical); negative savings rank below every positive one."""
    sav, cost = e.savings_per_month_usd.typical, e.cost_usd.typical
    if sav <= 0:
        return sav - 1e12
    return math.inf if cost <= 0 else sav / cost


def rank(estimates: list[TargetEstimate]) -> list[TargetEstimate]:
    """Best return first (lowest payback); losses last, smallest loss first."""
    return sorted(estimates, key=lambda e: -_return(e))


def best_of(estimates: list[TargetEstimate], kind: str) -> TargetEstimate | None:
    ranked = rank([e for e in estimates if e.kind == kind])
    return ranked[0] if ranked else None


def pays_within(e: TargetEstimate | None, horizon_months: float) -> bool:
    return e is not None and e.payback_months is not None and e.payback_months.typical <= horizon_months


def _gain(e: TargetEstimate) -> str:
    r = e.end_to_end
    return (f"{e.target_name} gives {times(r.typical)} end to end ({times(r.low)}–{times(r.high)}), "
            f"saving {money(e.savings_per_month_usd.typical)}/month for {money(e.cost_usd.typical)} "
            f"({e.effort_weeks.typical:.1f} engineer-weeks)")


def _payback(e: TargetEstimate) -> str:
    return "never" if e.payback_months is None else f"{e.payback_months.typical:.1f} months"


MIN_GAIN = 1.02  # a change that speeds the whole step up by less than 2% is not worth a meeting


def decide(hotspot: Hotspot, category: Category, estimates: list[TargetEstimate],
           config: CostConfig) -> tuple[str, str, TargetEstimate | None]:
    """The verdict code, its one-sentence reason and the recommended estimate (or None).

    Any recommendation whose typical end-to-end gain is under ``MIN_GAIN`` becomes "leave".
    """
    verdict, reason, best = _decide(hotspot, category, estimates, config)
    if best is not None and verdict in (PORT, JIT_VECTORIZE, ACCELERATOR) and best.end_to_end.typical < MIN_GAIN:
        return LEAVE, (f"The best change, {best.target_name}, would make the whole step only "
                       f"{times(best.end_to_end.typical)} faster ({hotspot.self_share:.0%} of the step): "
                       "not worth the work."), None
    return verdict, reason, best


def _decide(hotspot: Hotspot, category: Category, estimates: list[TargetEstimate],
            config: CostConfig) -> tuple[str, str, TargetEstimate | None]:
    th, horizon = config.thresholds, config.team.horizon_months
    share = hotspot.self_share
    s = hotspot.self_split.shares()
    where = f"{share:.0%} of the step"
    if share < th.min_share:
        return LEAVE, (f"Only {share:.1%} of the step, under the {th.min_share:.0%} threshold: "
                       "not worth changing."), None
    top = max(s, key=lambda b: s[b])
    if top == "gc":
        return TUNE_GC, (f"The cyclic garbage collector takes {s['gc']:.0%} of its time ({where}): call "
                         "gc.freeze() after set-up, raise the thresholds or break reference cycles before "
                         "porting anything."), None
    if top == "waiting":
        return FIX_IO, (f"It waits {s['waiting']:.0%} of its time ({where}): prefetch, add loader workers or "
                        "cache a binary format; no compiler shortens a wait."), None
    cheap, port, acc = (best_of(estimates, k) for k in ("cheap", "port", "accelerator"))
    if category.framework:
        return _framework(category, s, where, share, acc, config)
    if not category.gc_visible and category.name == "object-heavy":
        return LEAVE, (f"Object-heavy code ({where}), measured in a mode that cannot see the cyclic GC: its "
                       "allocation cost may be collector time that gc.freeze() removes, not code a port "
                       "speeds up. Profile in sample mode before porting it."), None
    if category.name == "small-numpy-calls":
        if cheap is not None and cheap.savings_per_month_usd.typical > 0:
            kept = f" while a {port.target_name} port keeps most of the per-call cost" if port else ""
            return JIT_VECTORIZE, (f"A loop of small NumPy calls ({where}, {s['interpreted']:.0%} interpreted): "
                                   f"{_gain(cheap)}, paid back in {_payback(cheap)}{kept}."), cheap
        return LEAVE, (f"A loop of small NumPy calls ({where}) that no cheap target speeds up here: "
                       f"the best, {_loss(cheap)}."), None
    if top == "native":
        if acc is not None and share >= th.accelerator_min_share and pays_within(acc, horizon):
            return ACCELERATOR, (f"Native array math is {s['native']:.0%} of its time ({where}): "
                                 f"{_gain(acc)} after the accelerator's node price, paid back in "
                                 f"{_payback(acc)}."), acc
        why = (f"under the {th.accelerator_min_share:.0%} needed for an accelerator" if share < th.accelerator_min_share
               else f"and an accelerator would {_short(acc, horizon)}")
        return LEAVE, (f"Already native: {s['native']:.0%} of its time ({where}) runs in compiled libraries, "
                       f"{why}."), None
    port_savings = port.savings_per_month_usd.typical if port else 0.0
    if (cheap is not None and cheap.savings_per_month_usd.typical > 0
            and cheap.savings_per_month_usd.typical >= th.cheap_fraction * max(port_savings, 0.0)
            and pays_within(cheap, horizon)):
        vs = (f", {cheap.savings_per_month_usd.typical / port_savings:.0%} of what {port.target_name} would save"
              if port is not None and port_savings > 0 else "")
        return JIT_VECTORIZE, (f"{s['interpreted']:.0%} interpreted {category.name} ({where}): {_gain(cheap)}, "
                               f"paid back in {_payback(cheap)}{vs}.{STR_CAVEAT if cheap.target == 'str-ops' else ''}"),\
            cheap
    if port is not None and pays_within(port, horizon):
        return PORT, (f"{s['interpreted']:.0%} interpreted {category.name} ({where}): {_gain(port)}, "
                      f"paid back in {_payback(port)}."), port
    if port is None:
        return LEAVE, f"No port target is configured for this {category.name} ({where}).", None
    return LEAVE, (f"{s['interpreted']:.0%} interpreted {category.name} ({where}), but the best port, "
                   f"{_loss(port) if port_savings <= 0 else _slow(port, horizon)}."), None


STR_CAVEAT = (" Replace the per-character loop with one call over the whole text (a precompiled regex, "
              "str.translate, split/join): str.translate is fastest on ASCII text and gains little on "
              "non-ASCII text, where a precompiled regex still gives 2-3×.")

FRAMEWORK_LEVERS = {
    "torch": "torch.compile, a fused optimizer (e.g. Adam(fused=True)), more intra-op threads "
             "(torch.set_num_threads) when cores sit idle",
    "jax": "jax.jit over the whole step, more XLA threads when cores sit idle",
    "tensorflow": "tf.function(jit_compile=True), more intra-op threads when cores sit idle",
}


def _framework(category: Category, s: dict[str, float], where: str, share: float,
               acc: TargetEstimate | None, config: CostConfig) -> tuple[str, str, TargetEstimate | None]:
    """Framework code: no NumPy vectorization, no port; its levers are the framework's own, or a device."""
    th, horizon = config.thresholds, config.team.horizon_months
    fw = category.framework
    levers = FRAMEWORK_LEVERS.get(fw, "the framework's own compiler and thread settings")
    if s["native"] >= max(s.values()) and acc is not None and share >= th.accelerator_min_share \
            and pays_within(acc, horizon):
        return ACCELERATOR, (f"{fw} code, {s['native']:.0%} native ({where}): {_gain(acc)} after the "
                             f"accelerator's node price, paid back in {_payback(acc)}."), acc
    device = (f"an accelerator would {_short(acc, horizon)}" if share >= th.accelerator_min_share
              else f"under the {th.accelerator_min_share:.0%} needed for an accelerator")
    return LEAVE, (f"{fw} code ({where}, {s['native']:.0%} native, {s['interpreted']:.0%} interpreted): NumPy "
                   f"vectorization and ports do not apply; its levers are {levers}; {device}."), None


def _loss(e: TargetEstimate | None) -> str:
    if e is None:
        return "none is configured"
    boundary = e.boundary_s_per_step.typical
    calls = (f"{e.calls_per_step:,.0f} calls/step" if e.calls_exact
             else f"at least {e.calls_per_step:,.0f} calls/step (sampled: the count is unknown)")
    return (f"{e.target_name}, would not make the step faster ({times(e.end_to_end.typical)} end to end, "
            f"{money(e.savings_per_month_usd.typical)}/month): {calls} cost {boundary * 1e3:.2f} ms of "
            "boundary crossings per step")


def _slow(e: TargetEstimate, horizon: float) -> str:
    return (f"{e.target_name}, saves {money(e.savings_per_month_usd.typical)}/month for "
            f"{money(e.cost_usd.typical)}: payback in {_payback(e)} is beyond the {horizon:g}-month horizon")


def _short(e: TargetEstimate | None, horizon: float) -> str:
    if e is None:
        return "need a configured accelerator target"
    if e.savings_per_month_usd.typical <= 0:
        return (f"cost more than it saves ({times(e.end_to_end.typical)} end to end, "
                f"{money(e.savings_per_month_usd.typical)}/month)")
    return f"pay back only in {_payback(e)}, beyond the {horizon:g}-month horizon"
