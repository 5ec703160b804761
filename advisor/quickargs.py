"""``advisor profile``'s options parsed without typer, so that the user's process does not import typer,
click, rich and pydantic before the script runs.

Only the plain forms are taken here: ``--opt VALUE``, ``--opt=VALUE``, flags, and values that convert.
Anything else (``--help``, an unknown option, a bad number, a short option glued to its value...) returns
None and the command is parsed by typer as before, which then prints its own message; so a user sees
exactly what typer shows whenever something is off. A test checks that these options and defaults are
the typer command's (tests/capture/test_overhead.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# option → (parameter of cli.profile, conversion; None: a flag; list: repeatable)
PROFILE_OPTIONS: dict[str, tuple[str, Any]] = {
    "-m": ("module", str), "--mode": ("mode", str), "--interval": ("interval", float), "--step": ("step", str),
    "--warmup": ("warmup", int), "--max-steps": ("max_steps", int), "--out": ("out", Path), "-o": ("out", Path),
    "--config": ("config", Path), "-c": ("config", Path), "--user-code": ("user_code", list),
    "--export": ("export", list), "--format": ("formats", list), "--quiet": ("quiet", None), "-q": ("quiet", None),
    "--step-timing": ("step_timing", str), "--checkpoint": ("checkpoint", float), "--threads": ("threads", str),
    "--children": ("children", str), "--try": ("try_", None),
}
PROFILE_DEFAULTS: dict[str, Any] = {
    "script": None, "module": None, "mode": "sample", "interval": 0.005, "step": None, "warmup": 1, "max_steps": None,
    "out": Path("advisor-out"), "config": None, "user_code": [], "export": [], "formats": [], "quiet": False,
    "step_timing": "exact", "checkpoint": None, "threads": "main", "children": "on", "try_": False,
}


def parse_profile(ours: list[str]) -> dict[str, Any] | None:
    """``["profile", options..., SCRIPT]`` (advisor's part from ``cli.split_argv``) → ``cli.profile``'s
    keyword arguments; None when typer should parse it instead."""
    if not ours or ours[0] != "profile":
        return None
    values: dict[str, Any] = {k: (list(v) if isinstance(v, list) else v) for k, v in PROFILE_DEFAULTS.items()}
    i, seen_script = 1, False
    while i < len(ours):
        arg = ours[i]
        if not arg.startswith("-") or arg == "-":
            if seen_script or i != len(ours) - 1:
                return None
            values["script"], seen_script = arg, True
            i += 1
            continue
        name, eq, inline = arg.partition("=")
        spec = PROFILE_OPTIONS.get(name)
        if spec is None or (eq and (spec[1] is None or not name.startswith("--"))):
            return None  # --help, --version, an unknown or abbreviated option, a flag given a value
        dest, kind = spec
        if kind is None:
            values[dest] = True
            i += 1
            continue
        if eq:
            raw, i = inline, i + 1
        elif i + 1 < len(ours):
            raw, i = ours[i + 1], i + 2
        else:
            return None  # an option missing its value: typer says so
        value = _convert(kind, raw)
        if value is None:
            return None
        if kind is list:
            values[dest].append(value)
        else:
            values[dest] = value
    return values


# Numbers in their plain ASCII forms only, which typer takes too; anything else ("5_000", " 5", "nan",
# Unicode digits) is left to typer, so that this parser never accepts what typer would refuse.
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _convert(kind: Any, raw: str) -> Any:
    if kind is list or kind is str:
        return raw
    if kind is Path:
        return Path(raw) if raw else None
    pattern = _INT if kind is int else _FLOAT
    return kind(raw) if pattern.fullmatch(raw) else None
