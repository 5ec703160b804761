"""The cost model's arithmetic, as small pure functions over plain numbers.

These are the formulas of docs/cost-model.md, one function each, with the same names the ROI spreadsheet
uses for its columns. Nothing here reads a profile or a config: ``advise.py`` gathers the inputs.

Shares are fractions of the measured step time; ``T`` is the mean step in seconds.
"""

from __future__ import annotations

import math

NS = 1e-9


def step_shares(interpreted_s: float, native_s: float, waiting_s: float, gc_s: float,
                step_s: float) -> tuple[float, float, float, float]:
    """A hotspot's own split as shares (i, n, w, g) of the step; all zero for an empty step."""
    if step_s <= 0:
        return 0.0, 0.0, 0.0, 0.0
    return interpreted_s / step_s, native_s / step_s, waiting_s / step_s, gc_s / step_s


def boundary_share(calls_per_step: float, overhead_ns: float, step_mean_s: float) -> float:
    """Share of the step added by crossing the Python/native boundary: c x o x 1e-9 / T."""
    if step_mean_s <= 0:
        return 0.0
    return calls_per_step * overhead_ns * NS / step_mean_s


def batches_native(category: str, target_kind: str, dispatch_bound: bool) -> bool:
    """Whether the target's speedup also applies to the hotspot's native time.

    A loop of small NumPy calls spends much of its time in NumPy's per-call C dispatch (~0.7 µs a call,
    PRIORS B14), which samples as native; batching the calls (NumPy vectorization) or compiling them
    into one loop (Numba) removes that cost too. A compiled port that keeps calling NumPy does not.
    Only for calls measured to be tiny (``dispatch_bound``): big array calls are real compute.
    """
    return category == "small-numpy-calls" and target_kind == "cheap" and dispatch_bound


def new_share(i: float, n: float, w: float, g: float, speedup: float, calls_per_step: float,
              overhead_ns: float, step_mean_s: float, native_speedup: float = 1.0,
              transfer_s_per_step: float = 0.0) -> float:
    """The hotspot's share of the *old* step after the change.

    new = i / S + n / S_native + w + g + c x o x 1e-9 / T + transfer / T

    ``native_speedup`` and ``transfer_s_per_step`` are 1 and 0 except for the accelerator target.
    """
    transfer = transfer_s_per_step / step_mean_s if step_mean_s > 0 else 0.0
    return (i / speedup + n / native_speedup + w + g
            + boundary_share(calls_per_step, overhead_ns, step_mean_s) + transfer)


def kernel_speedup(p: float, new: float) -> float:
    """The hotspot's own speedup p / new (infinite when the new time is zero)."""
    if new <= 0:
        return math.inf if p > 0 else 1.0
    return p / new


def end_to_end(p: float, new: float) -> float:
    """Amdahl: whole-step speedup 1 / ((1 - p) + new). Below 1 when the change makes things slower."""
    rest = (1.0 - p) + new
    return math.inf if rest <= 0 else 1.0 / rest


def amdahl_cap(p: float) -> float:
    """The most any change to a share ``p`` can give end to end: 1 / (1 - p)."""
    return math.inf if p >= 1 else 1.0 / (1.0 - p)


STEP_FLOOR = 0.05  # the default of levers.step_floor


def bounded_removed(removed: float, floor: float = STEP_FLOOR) -> float:
    """A removed share of the step, at most ``1 - floor``: whatever a change removes, the step keeps the
    rest of its work plus what the change itself costs (a cache lookup, a collection between steps, a
    reused pool's hand-over), so no estimate lets it fall below ``floor`` of its old time."""
    return min(removed, 1.0 - floor)


def bounded_amdahl_cap(p: float, floor: float = STEP_FLOOR) -> float:
    """``amdahl_cap`` with the same floor: at most ``1 / floor`` (20x at the default), never infinite."""
    return 1.0 / max(1.0 - p, floor)


def wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a share seen in ``k`` of ``n`` samples (95% at z = 1.96): a sampled
    share near 100% is decided by the few samples outside it, so its Amdahl figure needs this bound."""
    if n <= 0:
        return 0.0, 1.0
    p = min(max(k / n, 0.0), 1.0)
    mid = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    den = 1 + z * z / n
    return max(0.0, (mid - half) / den), min(1.0, (mid + half) / den)


def cumulative_end_to_end(ps: list[float], news: list[float]) -> float:
    """Amdahl over several disjoint kernels: 1 / (1 - sum p + sum new)."""
    return end_to_end(sum(ps), sum(news))


def monthly_bill(nodes: float, price_per_node_hour: float, hours_per_month: float,
                 monthly_bill_usd: float | None = None) -> float:
    """The job's compute bill per month: the given figure, else nodes x $/node-hour x hours."""
    if monthly_bill_usd is not None:
        return monthly_bill_usd
    return nodes * price_per_node_hour * hours_per_month


def monthly_savings(bill: float, step_fraction: float, e2e: float, new_bill: float | None = None) -> float:
    """Dollars saved per month: f x (B - B' / E), which is B x f x (1 - 1/E) when B' = B.

    ``new_bill`` is the bill on the new hardware (the accelerator's node price); negative savings are a
    loss. The part of the bill outside the step (1 - f) is unchanged and cancels out.
    """
    after = bill if new_bill is None else new_bill
    if e2e <= 0:
        return -math.inf
    return step_fraction * (bill - after / e2e)


def effort_weeks(lines: float, weeks_per_100_loc: float, complexity: float, complexity_weight: float,
                 effort_multiplier: float, fixed_weeks: float) -> float:
    """Engineer-weeks: (lines / 100) x wk/100 LOC x (1 + w x max(0, cc - 1)) x multiplier + fixed."""
    per_loc = (lines / 100.0) * weeks_per_100_loc * (1.0 + complexity_weight * max(0.0, complexity - 1.0))
    return per_loc * effort_multiplier + fixed_weeks


def port_cost(effort: float, engineer_cost_per_week: float) -> float:
    """Dollars of engineering: effort-weeks x cost per week."""
    return effort * engineer_cost_per_week


def payback_months(cost: float, savings_per_month: float) -> float | None:
    """Months until the savings repay the cost; None (never) when there are no savings."""
    if savings_per_month <= 0:
        return None
    return cost / savings_per_month


def transfer_seconds(megabytes: float, bandwidth_gbs: float) -> float:
    """Host-to-device copy time of ``megabytes`` at ``bandwidth_gbs`` (GB/s)."""
    if megabytes <= 0:
        return 0.0
    return megabytes * 1e6 / (bandwidth_gbs * 1e9)
