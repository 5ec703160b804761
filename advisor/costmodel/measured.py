"""Measured results from ``advisor try`` in the cost model: a measured step speedup replaces the prior.

Every other figure of the advice is a prior (a published speedup range) times a measured share. Where
``advisor try`` measured the change itself on the team's own step, the measurement is the better
estimate, so the cost model uses it, once, here; renderers only format what it decided.

Which experiment feeds which figure (only a measured status: faster, slower or "no measurable gain";
a refused, failed or skipped experiment leaves the prior in place):

    gc:freeze, gc:off   the GC item. gc:freeze (the change a team would keep) when it measured a gain,
                        else gc:off (the collector off in the step) when that did, else gc:freeze's result
    jit                 the Numba estimate of the function it compiled; that function's verdict is then
                        decided again on the measured estimate
    threads             an item of its own, "Raise the intra-op threads", when it measured a gain
    interpreter         nothing: a whole-step result without a prior, shown beside the advice only

A measured "no measurable gain" counts as 1× (with the measured spread as low and high): inside the noise
is not a win. Results are duck-typed (``experiments.results.Tryout``): the cost model does not import
the experiments package.
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from advisor import units
from advisor.costmodel import formulas as fm
from advisor.costmodel.types import Range, TargetEstimate

FASTER, SLOWER, NO_GAIN = "faster", "slower", "no-gain"
MEASURED = (FASTER, SLOWER, NO_GAIN)


class Measurement(Protocol):
    """What the cost model reads of one ``advisor try`` result (``experiments.results.Tryout``)."""

    name: str
    status: str
    ratio: float | None
    low: float | None
    high: float | None
    rounds: int
    steps: int
    noise: float
    predicted: tuple[float, float] | None
    versus_prediction: str
    function: str


def fmt_x(x: float | None) -> str:
    """``1.90×``, ``12.3×``, ``∞×``; ``?`` for no figure."""
    return "?" if x is None else units.fmt_x(x)


def is_measured(t: Any) -> bool:
    return t is not None and t.status in MEASURED and t.ratio is not None


def find(measured: Iterable[Any], name: str) -> Any | None:
    """The measured result named ``name`` (e.g. "gc:freeze"), or None when it was not measured."""
    return next((t for t in measured if t.name == name and is_measured(t)), None)


def gc_result(measured: Iterable[Any]) -> Any | None:
    """The GC experiment the GC item uses (see the module docstring), or None."""
    measured = tuple(measured)
    freeze, off = find(measured, "gc:freeze"), find(measured, "gc:off")
    if freeze is not None and freeze.status == FASTER:
        return freeze
    if off is not None and off.status == FASTER:
        return off
    return freeze or off


def step_range(t: Any) -> Range:
    """The measured step speedup as low / typical / high; "no measurable gain" is 1× typical."""
    low, high = float(t.low), float(t.high)
    if t.status == NO_GAIN:
        return Range(min(low, 1.0), 1.0, max(high, 1.0))
    return Range(low, float(t.ratio), high)


def predicted_words(t: Any) -> str:
    if t.predicted is None:
        return "no prediction"
    return f"predicted {fmt_x(t.predicted[0])}–{fmt_x(t.predicted[1])}"


def measured_words(t: Any) -> str:
    """``measured 1.90× (1.80–2.00×, 5 rounds)``, or the no-gain / slower wording."""
    spread = f"{fmt_x(t.low)}–{fmt_x(t.high)}, {t.rounds} round{'s' if t.rounds != 1 else ''}"
    if t.status == NO_GAIN:
        return f"no measurable gain ({fmt_x(t.ratio)}, {spread}, inside the ±{t.noise:.0%} noise)"
    if t.status == SLOWER:
        return f"measured slower: {fmt_x(t.ratio)} ({spread})"
    return f"measured {fmt_x(t.ratio)} ({spread})"


def versus_words(t: Any) -> str:
    """``measured 1.90× (1.80–2.00×, 5 rounds) beside predicted 1.50–2.50×``, plus, when every round fell
    outside the predicted range, that plainly."""
    text = f"{measured_words(t)} beside {predicted_words(t)}"
    if t.versus_prediction in ("above", "below"):
        text += f", {t.versus_prediction} the predicted range"
    return text


def outside_note(t: Any) -> str | None:
    """One sentence when every round lies outside the predicted range; None otherwise."""
    if not is_measured(t) or t.predicted is None or t.versus_prediction not in ("above", "below"):
        return None
    lo, hi = t.predicted
    basis = getattr(t, "predicted_basis", "")
    return (f"Measured {t.name} {fmt_x(t.ratio)} ({fmt_x(t.low)}–{fmt_x(t.high)}, {t.rounds} rounds) is "
            f"{t.versus_prediction} the predicted {fmt_x(lo)}–{fmt_x(hi)}{f' ({basis})' if basis else ''}: "
            "the prior behind that prediction needs correcting; the advice uses the measurement.")


def notes(measured: Iterable[Any]) -> list[str]:
    return [n for n in (outside_note(t) for t in measured) if n]


def jit_result(measured: Iterable[Any], qualname: str) -> Any | None:
    """The jit experiment's result when it compiled ``qualname``."""
    t = find(measured, "jit")
    return t if t is not None and getattr(t, "function", "") == qualname else None


def measured_estimate(e: TargetEstimate, t: Any, bill: float, step_fraction: float,
                      payback: Any) -> TargetEstimate:
    """``e`` with its end-to-end speedup, new share, savings and payback taken from measurement ``t``.

    Args:
        e: the prior estimate (e.g. Numba on the function the jit experiment compiled).
        t: the measured result.
        bill, step_fraction: the monthly bill and the step's share of it (``CostConfig``).
        payback: ``(cost Range, savings Range) -> Range | None`` (advise's payback range).
    """
    import dataclasses

    e2e = step_range(t)
    p = e.share
    # Amdahl inverted: end_to_end = 1 / ((1 - p) + new)  →  new = 1 / end_to_end - (1 - p)
    new = Range(*(max(0.0, 1.0 / x - (1.0 - p)) for x in (e2e.high, e2e.typical, e2e.low)))
    kernel = Range(*(fm.kernel_speedup(p, n) for n in (new.high, new.typical, new.low)))
    savings = Range(*(fm.monthly_savings(bill, step_fraction, x) for x in (e2e.low, e2e.typical, e2e.high)))
    return dataclasses.replace(
        e, end_to_end=e2e, kernel_speedup=kernel, new_share=new, savings_per_month_usd=savings,
        payback_months=payback(e.cost_usd, savings), measured=t.name,
        sources=(f"measured by advisor try ({t.name}): {versus_words(t)}", *e.sources))


__all__ = ["Measurement", "find", "fmt_x", "gc_result", "jit_result", "measured_estimate", "measured_words",
           "notes", "outside_note", "predicted_words", "step_range", "versus_words"]
