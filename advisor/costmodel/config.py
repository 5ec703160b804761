"""The cost-model configuration: TOML in, a validated ``CostConfig`` out, or a one-line ``ConfigError``.

The built-in defaults live in ``defaults.toml`` beside this module; presets in ``presets/`` replace its
``[cluster]`` section. A user file is merged key by key over the defaults: it must give ``[cluster]`` and
``[team]`` (the figures only the team knows), may override any other key, and may add targets under
``[targets.NAME]``. Every value keeps its source: the bracketed citation at the end of its line in the
built-in file (a PRIORS.md row id), or the user file it came from.

Validation errors name the key path and fit on one line::

    team.toml: unknown key cluster.prize_per_node_hour (did you mean cluster.price_per_node_hour?)
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from advisor.costmodel._validate import (  # noqa: F401 - KINDS, REQUIRED_SECTIONS stay importable here
    _SETTINGS,
    _SPEEDUP,
    _TARGET,
    KINDS,
    REQUIRED_SECTIONS,
    _check_user,
    _type_name,
    _value,
)
from advisor.costmodel.types import CATEGORIES, Range
from advisor.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PRESETS = ("cpu-cluster", "gpu-cluster", "workstation")
DEFAULT_PRESET = "cpu-cluster"
BUILTIN = "built-in defaults"
TARGETS_MARKER = "# ---- targets"


@dataclass(frozen=True, slots=True)
class Cluster:
    """What the job's compute costs."""

    instance: str
    nodes: int
    price_per_node_hour: float
    hours_per_month: float
    accelerator_price_per_node_hour: float
    monthly_bill_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Team:
    """What engineering time costs, and how long a payback the team accepts."""

    engineer_cost_per_week: float
    weeks_per_100_loc: Range
    complexity_weight: float
    horizon_months: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The policy knobs of the verdicts."""

    min_share: float
    accelerator_min_share: float
    cheap_fraction: float


@dataclass(frozen=True, slots=True)
class Levers:
    """Step-wide changes that are not ports: what share of a cause each removes, and its effort."""

    gc_removable: Range = Range(0.6, 0.85, 1.0)
    gc_weeks: Range = Range(0.05, 0.1, 0.5)
    pipeline_removable: Range = Range(0.5, 0.85, 1.0)
    pipeline_weeks: Range = Range(0.2, 0.5, 2.0)
    io_removable: Range = Range(0.5, 0.8, 0.95)
    framework_compile_speedup: Range = Range(1.0, 1.3, 2.0)
    framework_weeks: Range = Range(0.1, 0.5, 2.0)
    threads_efficiency: Range = Range(0.3, 0.6, 0.9)
    threads_weeks: Range = Range(0.02, 0.05, 0.2)
    import_removable: Range = Range(0.8, 0.95, 1.0)
    import_weeks: Range = Range(0.02, 0.05, 0.2)
    read_removable: Range = Range(0.7, 0.9, 1.0)
    read_weeks: Range = Range(0.05, 0.2, 1.0)
    spawn_removable: Range = Range(0.6, 0.9, 1.0)
    spawn_weeks: Range = Range(0.05, 0.2, 0.5)
    step_floor: float = 0.05  # no change leaves less than this share of the old step: estimates stop at 1/floor


@dataclass(frozen=True, slots=True)
class Target:
    """One place a kernel can go: speedup per code category, call cost, effort, maturity."""

    key: str
    name: str
    kind: str  # port | cheap | accelerator
    speedup: dict[str, Range]
    overhead_ns: Range
    effort_multiplier: float
    fixed_weeks: Range
    maturity: str = ""
    requires_python: str | None = None
    native_speedup: Range = Range(1.0, 1.0, 1.0)
    transfer_mb_per_step: float = 0.0
    bandwidth_gbs: Range | None = None


@dataclass(frozen=True, slots=True)
class CostConfig:
    """A validated configuration. ``sources`` maps each key path to where its value came from."""

    cluster: Cluster
    step_fraction: float
    team: Team
    thresholds: Thresholds
    targets: dict[str, Target]
    source: str  # BUILTIN or the file path
    values: dict[str, Any] = field(default_factory=dict)  # flattened key path -> value
    sources: dict[str, str] = field(default_factory=dict)  # key path -> citation or file
    levers: Levers = field(default_factory=Levers)

    @property
    def monthly_bill_usd(self) -> float:
        """The job's monthly compute bill: the given figure, or nodes x $/node-hour x hours/month."""
        from advisor.costmodel.formulas import monthly_bill

        c = self.cluster
        return monthly_bill(c.nodes, c.price_per_node_hour, c.hours_per_month, c.monthly_bill_usd)

    @property
    def accelerator_bill_usd(self) -> float:
        """The bill if every node were an accelerator node (scaled like a given monthly bill)."""
        c = self.cluster
        if c.price_per_node_hour > 0:
            return self.monthly_bill_usd * c.accelerator_price_per_node_hour / c.price_per_node_hour
        return c.nodes * c.accelerator_price_per_node_hour * c.hours_per_month

    @property
    def is_builtin(self) -> bool:
        return self.source == BUILTIN


# ---- loading ---------------------------------------------------------------------------------------------

def _resource_text(name: str) -> str:
    return resources.files("advisor.costmodel").joinpath(name).read_text(encoding="utf-8")


def defaults_text() -> str:
    """The text of the built-in ``defaults.toml``."""
    return _resource_text("defaults.toml")


def preset_text(preset: str = DEFAULT_PRESET) -> str:
    """A complete, commented config file for ``preset``: its [cluster] section, then every default."""
    if preset not in PRESETS:
        near = difflib.get_close_matches(preset, PRESETS, n=1)
        hint = f" (did you mean {near[0]}?)" if near else f"; choose {', '.join(PRESETS)}"
        raise ConfigError(f"unknown preset {preset!r}{hint}")
    cluster = _resource_text(f"presets/{preset}.toml").strip("\n") + "\n"
    text = defaults_text()
    start = text.index("[cluster]")
    end = text.index("\n[", start + 1) + 1
    header = text[:start].replace("built-in defaults (the \"cpu-cluster\" preset plus every target)",
                                  f"preset \"{preset}\"")
    return header + cluster + "\n" + text[end:]


def load_config(path: str | Path | None = None, preset: str | None = None) -> CostConfig:
    """Load and validate a configuration.

    Args:
        path: a TOML file merged over the built-in defaults; None for the defaults alone.
        preset: a preset name whose [cluster] replaces the default one (applied before ``path``).

    Returns:
        The validated ``CostConfig``.

    Raises:
        ConfigError: one line naming the file and the key path at fault.
    """
    base_text = preset_text(preset) if preset else defaults_text()
    base = tomllib.loads(base_text)
    sources = {k: f"docs/sources.md {v}" for k, v in citations(base_text).items()}
    source = BUILTIN if preset is None else f"preset {preset}"
    if path is not None:
        p = Path(path)
        user = _read_user(p)
        _check_user(user, str(p))
        text_cites = citations(p.read_text(encoding="utf-8", errors="replace"))
        flat_base = _flatten(base)
        for key, value in _flatten(user).items():
            if key in flat_base and flat_base[key] == value and key in sources:
                sources[key] = f"{sources[key]} (via {p})"
            else:
                cite = text_cites.get(key)
                sources[key] = f"{p}" + (f" {cite}" if cite else "")
        base = _merge(base, user)
        source = str(p)
    return _build(base, source, sources)


def _read_user(p: Path) -> dict[str, Any]:
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text, not a TOML config") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {str(exc).splitlines()[0]}") from None


def citations(text: str) -> dict[str, str]:
    """Key path -> the bracketed citation ending its line (``# [S7, S9] ...``) in a TOML text."""
    out: dict[str, str] = {}
    table = ""
    for line in text.splitlines():
        head = re.match(r"^\s*\[\s*([^\]\s]+)\s*\]\s*(#.*)?$", line)
        if head:
            table = head.group(1)
            continue
        m = re.match(r"^\s*([A-Za-z0-9_-]+)\s*=.*#\s*\[([^\]]*)\]([^#]*)$", line)
        if m:
            key = f"{table}.{m.group(1)}" if table else m.group(1)
            note = m.group(3).strip()
            out[key] = f"[{m.group(2).strip()}]" + (f" {note}" if note else "")
    return out


# ---- validation ------------------------------------------------------------------------------------------

def _section(data: dict[str, Any], name: str, src: str) -> dict[str, Any]:
    body = data.get(name)
    if not isinstance(body, dict):
        raise ConfigError(f"{src}: missing section [{name}]")
    out: dict[str, Any] = {}
    for key, f in _SETTINGS[name].items():
        if key not in body:
            if f.required:
                raise ConfigError(f"{src}: {name}.{key} is missing")
            continue
        out[key] = _value(body[key], f, f"{name}.{key}", src)
    return out


def _target(key: str, body: Any, src: str) -> Target:
    path = f"targets.{key}"
    if not isinstance(body, dict):
        raise ConfigError(f"{src}: {path} must be a table, not a {_type_name(body)}")
    vals: dict[str, Any] = {}
    for name, f in _TARGET.items():
        if name == "speedup":
            continue
        if name not in body:
            if f.required:
                raise ConfigError(f"{src}: {path}.{name} is missing")
            continue
        vals[name] = _value(body[name], f, f"{path}.{name}", src)
    speed = body.get("speedup")
    if not isinstance(speed, dict):
        raise ConfigError(f"{src}: {path}.speedup is missing (a table with one [low, typical, high] "
                          "per category)")
    speedup = {}
    for cat in CATEGORIES:
        if cat not in speed:
            raise ConfigError(f"{src}: {path}.speedup.{cat} is missing")
        speedup[cat] = _value(speed[cat], _SPEEDUP, f"{path}.speedup.{cat}", src)
    if vals["kind"] == "accelerator" and "bandwidth_gbs" not in vals and vals.get("transfer_mb_per_step", 0) > 0:
        raise ConfigError(f"{src}: {path}.bandwidth_gbs is missing (needed to cost transfer_mb_per_step)")
    if "requires_python" in vals and not re.fullmatch(r"\d+\.\d+", vals["requires_python"]):
        raise ConfigError(f"{src}: {path}.requires_python must look like \"3.13\", "
                          f"got {vals['requires_python']!r}")
    return Target(key=key, speedup=speedup, **vals)


def _build(data: dict[str, Any], source: str, sources: dict[str, str]) -> CostConfig:
    src = source
    cl = _section(data, "cluster", src)
    job = _section(data, "job", src)
    tm = _section(data, "team", src)
    th = _section(data, "thresholds", src)
    lv = _section(data, "levers", src) if "levers" in data else {}
    raw_targets = data.get("targets")
    if not isinstance(raw_targets, dict) or not raw_targets:
        raise ConfigError(f"{src}: missing section [targets]")
    targets = {k: _target(k, v, src) for k, v in raw_targets.items()}
    return CostConfig(
        cluster=Cluster(**cl), step_fraction=job["step_fraction"], team=Team(**tm), thresholds=Thresholds(**th),
        targets=targets, source=source, values=_flatten(data), sources=sources, levers=Levers(**lv),
    )


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, path + "."))
        else:
            out[path] = v
    return out


def check_config(path: str | Path) -> CostConfig:
    """Validate a user file (what ``advisor config check`` runs); raises ConfigError."""
    return load_config(path)
