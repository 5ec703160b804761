"""What the *before* advice predicted, per function: from its ``advice.json`` or recomputed.

A ``Prediction`` holds the recommended change for one hotspot: the target, the kernel speedup (the
function's own time, before / after) and the whole-step speedup, each low / typical / high.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import ProfileFormatError

MAX_PREDICTIONS = 20


@dataclass(frozen=True, slots=True)
class Span:
    """A low / typical / high figure (a speedup or a share)."""

    low: float
    typical: float
    high: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """The change the before advice recommended for one function, and what it said it would gain."""

    function: str
    file: str
    line: int
    verdict: str
    target: str
    target_name: str
    share: float  # the function's self share of the before step
    kernel: Span  # its own time: before / after
    end_to_end: Span  # the whole step, if only this changed
    new_share: Span | None  # its share of the old step after the change (low = best case)


def from_advice(advice: Any) -> tuple[Prediction, ...]:
    """Predictions from a ``costmodel.Advice`` (kernels with a recommended target, heaviest first)."""
    out = []
    for k in advice.kernels:
        e = k.best
        if e is None:
            continue
        h = k.hotspot
        ns = None if e.new_share is None else Span(e.new_share.low, e.new_share.typical, e.new_share.high)
        out.append(Prediction(h.key.qualname, h.key.file, h.key.line, k.verdict, e.target, e.target_name, e.share,
                              Span(e.kernel_speedup.low, e.kernel_speedup.typical, e.kernel_speedup.high),
                              Span(e.end_to_end.low, e.end_to_end.typical, e.end_to_end.high), ns))
    return tuple(out[:MAX_PREDICTIONS])


def _span(d: Any, what: str) -> Span:
    if not isinstance(d, dict):
        raise TypeError(f"{what} must be an object with low/typical/high")
    vals = []
    for k in ("low", "typical", "high"):
        v = d.get(k)
        vals.append(float("inf") if v is None else float(v))  # advice.json writes infinity as null
    return Span(*vals)


def from_advice_json(path: Path) -> tuple[Prediction, ...]:
    """Predictions from a saved ``advice.json``; ``ProfileFormatError`` if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProfileFormatError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != "advisor-advice":
        raise ProfileFormatError(f"{path} is not an advisor advice.json")
    out = []
    try:
        for k in data["kernels"]:
            best = k.get("best")
            if best is None:
                continue
            e = next(x for x in k["estimates"] if x["target"] == best)
            ns = None if e.get("new_share") is None else _span(e["new_share"], "new_share")
            out.append(Prediction(str(k["function"]), str(k["file"]), int(k["line"]), str(k["verdict"]),
                                  str(best), str(e.get("target_name", best)), float(e["share"]),
                                  _span(e["kernel_speedup"], "kernel_speedup"), _span(e["end_to_end"], "end_to_end"),
                                  ns))
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        raise ProfileFormatError(f"{path} is damaged: {str(exc)[:120]}") from None
    return tuple(out[:MAX_PREDICTIONS])


def predictions_for(before: Any, advice_json: Path | None, config: Any) -> tuple[tuple[Prediction, ...], str]:
    """The before run's predictions and where they came from.

    With no ``config`` and an ``advice.json`` beside the before profile, that file (what the team read);
    otherwise the advice recomputed from the before ``Analysis`` with ``config`` (None: built-in defaults).
    """
    if config is None and advice_json is not None and advice_json.is_file():
        return from_advice_json(advice_json), str(advice_json)
    from advisor.costmodel import advise
    from advisor.pipeline import load_cost_config

    advice = advise(before, load_cost_config(config))
    return from_advice(advice), f"recomputed from the before profile ({advice.config_source})"
