"""The TOML validation machinery of the cost-model configuration (split out of ``config.py``).

What each key may hold (``_Field``), the specs of the settings sections and of a target, and the checks
that turn a bad value, an unknown key or a missing section into a one-line ``ConfigError``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from advisor.costmodel.types import CATEGORIES, Range
from advisor.errors import ConfigError

KINDS = ("port", "cheap", "accelerator")
REQUIRED_SECTIONS = ("cluster", "team")


@dataclass(frozen=True, slots=True)
class _Field:
    """What one key may hold: kind (number, integer, string, range), bounds, whether it must be there."""

    kind: str
    low: float | None = None  # inclusive lower bound
    above: float | None = None  # exclusive lower bound
    high: float | None = None  # inclusive upper bound
    required: bool = True
    choices: tuple[str, ...] = ()


_SETTINGS: dict[str, dict[str, _Field]] = {
    "cluster": {
        "instance": _Field("string"),
        "nodes": _Field("integer", low=1, high=1e6),
        "price_per_node_hour": _Field("number", low=0, high=1e5),
        "hours_per_month": _Field("number", above=0, high=744),
        "accelerator_price_per_node_hour": _Field("number", low=0, high=1e5),
        "monthly_bill_usd": _Field("number", low=0, high=1e10, required=False),
    },
    "job": {"step_fraction": _Field("number", above=0, high=1)},
    "team": {
        "engineer_cost_per_week": _Field("number", low=0, high=1e6),
        "weeks_per_100_loc": _Field("range", low=0, high=1e3),
        "complexity_weight": _Field("number", low=0, high=100),
        "horizon_months": _Field("number", above=0, high=1200),
    },
    "thresholds": {
        "min_share": _Field("number", low=0, high=1),
        "accelerator_min_share": _Field("number", low=0, high=1),
        "cheap_fraction": _Field("number", low=0, high=1),
    },
    "levers": {
        "gc_removable": _Field("range", low=0, high=1),
        "gc_weeks": _Field("range", low=0),
        "pipeline_removable": _Field("range", low=0, high=1),
        "pipeline_weeks": _Field("range", low=0),
        "io_removable": _Field("range", low=0, high=1),
        "framework_compile_speedup": _Field("range", above=0),
        "framework_weeks": _Field("range", low=0),
        "threads_efficiency": _Field("range", low=0, high=1),
        "threads_weeks": _Field("range", low=0),
        "import_removable": _Field("range", low=0, high=1),
        "import_weeks": _Field("range", low=0),
        "read_removable": _Field("range", low=0, high=1),
        "read_weeks": _Field("range", low=0),
        "spawn_removable": _Field("range", low=0, high=1),
        "spawn_weeks": _Field("range", low=0),
        "step_floor": _Field("number", low=0.001, high=0.5),
    },
}
_TARGET: dict[str, _Field] = {
    "name": _Field("string"),
    "kind": _Field("string", choices=KINDS),
    "maturity": _Field("string", required=False),
    "requires_python": _Field("string", required=False),
    "overhead_ns": _Field("range", low=0, high=1e9),
    "effort_multiplier": _Field("number", above=0, high=1e3),
    "fixed_weeks": _Field("range", low=0, high=1e4),
    "native_speedup": _Field("range", above=0, high=1e6, required=False),
    "transfer_mb_per_step": _Field("number", low=0, high=1e9, required=False),
    "bandwidth_gbs": _Field("range", above=0, high=1e6, required=False),
    "speedup": _Field("table"),
}
_SPEEDUP = _Field("range", above=0, high=1e6)
# Every number has an upper bound: a figure far beyond any real cluster or team (a $1e308 node-hour) is a
# typo, and would turn every cost into infinity and every report cell into "nan". The bounds are loose on
# purpose (about 1,000x the largest real value), so no real configuration meets them.


def _did_you_mean(word: str, options: list[str], prefix: str = "") -> str:
    near = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {prefix}{near[0]}?)" if near else ""


def _check_user(user: dict[str, Any], src: str) -> None:
    """Unknown sections and keys, and the sections a user file must give."""
    known = list(_SETTINGS) + ["targets"]
    for section, body in user.items():
        if section not in known:
            near = difflib.get_close_matches(section, known, n=1)
            raise ConfigError(f"{src}: unknown section [{section}]" + (f" (did you mean [{near[0]}]?)" if near else ""))
        if not isinstance(body, dict):
            raise ConfigError(f"{src}: {section} must be a table ([{section}]), not a {_type_name(body)}")
        if section == "targets":
            for tkey, tbody in body.items():
                if not isinstance(tbody, dict):
                    raise ConfigError(f"{src}: targets.{tkey} must be a table, not a {_type_name(tbody)}")
                _check_keys(tbody, _TARGET, f"targets.{tkey}", src)
                speed = tbody.get("speedup", {})
                if isinstance(speed, dict):
                    for cat in speed:
                        if cat not in CATEGORIES:
                            raise ConfigError(f"{src}: unknown category targets.{tkey}.speedup.{cat}"
                                              f"{_did_you_mean(cat, list(CATEGORIES))}")
        else:
            _check_keys(body, _SETTINGS[section], section, src)
    for section in REQUIRED_SECTIONS:
        if section not in user:
            raise ConfigError(f"{src}: missing section [{section}] (a config file must give at least "
                              f"{' and '.join(f'[{s}]' for s in REQUIRED_SECTIONS)})")


def _check_keys(body: dict[str, Any], spec: dict[str, _Field], path: str, src: str) -> None:
    for key in body:
        if key not in spec:
            raise ConfigError(f"{src}: unknown key {path}.{key}{_did_you_mean(key, list(spec), path + '.')}")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__)


def _value(value: Any, f: _Field, path: str, src: str) -> Any:
    """Check one value against its field; returns a float, int, str or Range."""
    if f.kind == "string":
        if not isinstance(value, str):
            raise ConfigError(f"{src}: {path} must be a string, not a {_type_name(value)} ({value!r})")
        if f.choices and value not in f.choices:
            raise ConfigError(f"{src}: {path} must be one of {', '.join(f.choices)}, got {value!r}"
                              f"{_did_you_mean(value, list(f.choices))}")
        return value
    if f.kind == "range":
        if (not isinstance(value, list) or len(value) != 3
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)):
            raise ConfigError(f"{src}: {path} must be [low, typical, high] (three numbers), got {value!r}")
        for v in value:
            _bounds(_as_float(v), f, path, src)
        low, typ, high = (float(v) for v in value)
        if not low <= typ <= high:
            what = "low > typical" if low > typ else "typical > high"
            raise ConfigError(f"{src}: {path} has {what} ({value!r}); write [low, typical, high]")
        return Range(low, typ, high)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            f.kind == "integer" and not isinstance(value, int)):
        want = "an integer" if f.kind == "integer" else "a number"
        raise ConfigError(f"{src}: {path} must be {want}, not a {_type_name(value)} ({value!r})")
    _bounds(_as_float(value), f, path, src)
    return value if f.kind == "integer" else float(value)


def _as_float(value: int | float) -> float:
    """``float(value)``, with integers too large for a float (TOML allows 64-bit ones) read as infinity."""
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def _bounds(v: float, f: _Field, path: str, src: str) -> None:
    if v != v or v in (float("inf"), float("-inf")):
        limit = f" at most {f.high:g}" if f.high is not None else ""
        raise ConfigError(f"{src}: {path} must be a finite number{limit}, got {v}")
    if f.low is not None and v < f.low:
        what = "negative" if f.low == 0 else f"below {f.low:g}"
        raise ConfigError(f"{src}: {path} cannot be {what} (got {v:g})")
    if f.above is not None and v <= f.above:
        raise ConfigError(f"{src}: {path} must be greater than {f.above:g} (got {v:g})")
    if f.high is not None and v > f.high:
        raise ConfigError(f"{src}: {path} must be at most {f.high:g} (got {v:g})")
