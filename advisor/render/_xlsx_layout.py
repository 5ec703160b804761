"""Inputs and column layout of the ROI workbook, shared by ``xlsx`` and ``csv_export``.

The named inputs of the Assumptions sheet (with their defined-name stems), the sheets' column tables,
the number formats, text sanitising, and the values advisor computed that are cached in formula cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from advisor.costmodel.types import CATEGORIES, Range, TargetEstimate

LEVELS = ("low", "typical", "high")
MAX_TEXT = 32_000  # xlsx cells hold at most 32,767 characters
INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

FMT = {
    "usd": '"$"#,##0', "usd2": '"$"#,##0.00', "pct": "0.0%", "x": '0.00"×"', "months": '0.0" mo"',
    "weeks": '0.0" wk"', "ns": '#,##0" ns"', "s": '0.0000" s"', "num": "#,##0.###", "int": "#,##0",
    "yesno": '"yes";"yes";"no"', "text": "@", "mb": '#,##0" MB"', "gbs": '0.0" GB/s"',
}


def safe_text(value: Any) -> str:
    """``value`` as text that no spreadsheet will run: a leading = + - @ (tab, CR) gets a ``'``."""
    text = str(value)
    return "'" + text if text.startswith(INJECTION_PREFIXES) else text


def name_part(text: str) -> str:
    """A fragment usable in an Excel defined name (letters, digits, underscores)."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return out if out and not out[0].isdigit() else "_" + out


def _compact(value: Any) -> str:
    import json

    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


@dataclass(frozen=True, slots=True)
class _Input:
    """One input of the Assumptions sheet: a single named cell, or three (``name_low/_typical/_high``)."""

    name: str
    group: str
    label: str
    values: tuple[float | None, ...]  # one value, or low / typical / high
    fmt: str
    source: str
    on_summary: bool = False  # the cell lives at the top of Summary, where managers change it

    def names(self) -> list[str]:
        return [self.name] if len(self.values) == 1 else [f"{self.name}_{lvl}" for lvl in LEVELS]


# ---- inputs ----------------------------------------------------------------------------------------------

def target_names(key: str) -> dict[str, str]:
    """Defined-name stems of a target's inputs (``speedup_rust_numeric_loop_typical`` and so on)."""
    t = name_part(key)
    return {"speedup": f"speedup_{t}", "overhead": f"overhead_ns_{t}", "effort": f"effort_multiplier_{t}",
            "fixed": f"fixed_weeks_{t}", "native": f"native_speedup_{t}", "transfer": f"transfer_mb_{t}",
            "bandwidth": f"bandwidth_gbs_{t}"}


def _rng(r: Range) -> tuple[float, float, float]:
    return (r.low, r.typical, r.high)


def collect_inputs(config: Any) -> list[_Input]:
    """Every config value the formulas use (and the verdict thresholds), with its source."""
    def src(key: str) -> str:
        return config.sources.get(key, "")

    cl, tm, th = config.cluster, config.team, config.thresholds
    out = [
        _Input("nodes", "cluster", "Nodes in the training job", (cl.nodes,), "int", src("cluster.nodes"), True),
        _Input("price_per_node_hour", "cluster", "Price per node-hour", (cl.price_per_node_hour,), "usd2",
               src("cluster.price_per_node_hour"), True),
        _Input("hours_per_month", "cluster", "Hours per month", (cl.hours_per_month,), "num",
               src("cluster.hours_per_month"), True),
        _Input("monthly_bill_given", "cluster", "Monthly bill, if known (blank: nodes × price × hours)",
               (cl.monthly_bill_usd,), "usd", src("cluster.monthly_bill_usd") or "not set", True),
        _Input("engineer_cost_per_week", "team", "Engineer cost per week", (tm.engineer_cost_per_week,), "usd",
               src("team.engineer_cost_per_week"), True),
        _Input("horizon_months", "team", "Payback horizon", (tm.horizon_months,), "months",
               src("team.horizon_months"), True),
        _Input("step_fraction", "job", "Share of node-hours in the profiled step loop", (config.step_fraction,),
               "pct", src("job.step_fraction"), True),
        _Input("accelerator_price_per_node_hour", "cluster", "Accelerator price per node-hour",
               (cl.accelerator_price_per_node_hour,), "usd2", src("cluster.accelerator_price_per_node_hour")),
        _Input("weeks_per_100_loc", "team", "Engineer-weeks per 100 lines (NumPy-rewrite unit)",
               _rng(tm.weeks_per_100_loc), "weeks", src("team.weeks_per_100_loc")),
        _Input("complexity_weight", "team", "Extra effort per complexity point above 1", (tm.complexity_weight,),
               "pct", src("team.complexity_weight")),
        _Input("min_share", "thresholds", "Leave hotspots under this share (verdicts only)", (th.min_share,),
               "pct", src("thresholds.min_share")),
        _Input("accelerator_min_share", "thresholds", "Native share worth an accelerator (verdicts only)",
               (th.accelerator_min_share,), "pct", src("thresholds.accelerator_min_share")),
        _Input("cheap_fraction", "thresholds", "Cheap target wins at this share of a port's savings "
               "(verdicts only)", (th.cheap_fraction,), "pct", src("thresholds.cheap_fraction")),
    ]
    for key, t in config.targets.items():
        n, grp, pre = target_names(key), f"{t.name} [{key}]", f"targets.{key}"
        out.append(_Input(n["overhead"], grp, "Per-call overhead", _rng(t.overhead_ns), "ns",
                          src(f"{pre}.overhead_ns")))
        out.append(_Input(n["effort"], grp, "Effort multiplier", (t.effort_multiplier,), "x",
                          src(f"{pre}.effort_multiplier")))
        out.append(_Input(n["fixed"], grp, "Fixed one-time weeks", _rng(t.fixed_weeks), "weeks",
                          src(f"{pre}.fixed_weeks")))
        if t.kind == "accelerator":
            out.append(_Input(n["native"], grp, "Speedup of native time", _rng(t.native_speedup), "x",
                              src(f"{pre}.native_speedup")))
            out.append(_Input(n["transfer"], grp, "Host-to-device MB per step", (t.transfer_mb_per_step,), "mb",
                              src(f"{pre}.transfer_mb_per_step")))
            out.append(_Input(n["bandwidth"], grp, "Host-to-device bandwidth",
                              _rng(t.bandwidth_gbs or Range(1.0, 1.0, 1.0)), "gbs", src(f"{pre}.bandwidth_gbs")))
        for cat in CATEGORIES:
            out.append(_Input(f"{n['speedup']}_{name_part(cat)}", grp, f"Speedup: {cat}", _rng(t.speedup[cat]),
                              "x", src(f"{pre}.speedup.{cat}")))
    return out


# ---- cached values -------------------------------------------------------------------------------------

def _finite(value: Any) -> Any:
    """A cached value the xlsx format can hold (no inf / NaN: those are written as text)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "never" if value > 0 else ""
    return value


def _num(x: float) -> float:
    return x if x != 0 else float("inf")


def _new_cache(est: TargetEstimate, lvl: str) -> float:
    """The kernel's new share at a speedup level (low speedup = largest new share)."""
    if est.new_share is not None:
        return getattr(est.new_share, {"low": "high", "typical": "typical", "high": "low"}[lvl])
    return est.share / _num(getattr(est.kernel_speedup, lvl)) if est.share > 0 else 0.0


def _payback_cache(est: TargetEstimate, horizon: float) -> dict[str, Any]:
    pb = est.payback_months
    if pb is None:
        return {"pb_low": "never", "pb_typical": "never", "pb_high": "never", "pays": 0}
    return {"pb_low": pb.low, "pb_typical": pb.typical, "pb_high": _finite(pb.high),
            "pays": 1 if pb.typical <= horizon else 0}


# ---- column layouts (header, width, key); formulas refer to columns by key ----------------------------------

def _levels(prefix: str, label: str, width: float) -> list[tuple[str, float, str]]:
    return [(f"{label} ({lvl})", width, f"{prefix}_{lvl}") for lvl in LEVELS]


KERNEL_COLUMNS: list[tuple[str, float, str]] = [
    ("Kernel", 28, "kernel"), ("File:line", 30, "location"), ("Category", 16, "category"),
    ("Verdict", 18, "verdict"), ("Target", 14, "target"), ("Target name", 20, "target_name"),
    ("Recommended", 8, "best"),
    ("Interpreted share", 11, "i"), ("Native share", 10, "n"), ("Waiting share", 10, "w"), ("GC share", 9, "g"),
    ("Hotspot share p", 10, "p"), ("Calls per step", 11, "calls"), ("Calls counted", 10, "calls_src"),
    ("Calls per step (most)", 11, "calls_max"),
    ("Lines", 7, "lines"), ("Cyclomatic complexity", 10, "cc"),
    *_levels("S", "Speedup", 10), *_levels("o", "Per-call overhead", 11),
    *_levels("new", "New share at speedup", 11), *_levels("ks", "Kernel speedup", 10),
    *_levels("e2e", "End-to-end speedup", 10), *_levels("sav", "$ saved / month", 12),
    *_levels("eff", "Effort", 10), *_levels("cost", "Migration cost", 12), *_levels("pb", "Payback", 10),
    ("Pays back within horizon (typical)", 12, "pays"),
]
KERNEL_INDEX = {key: i for i, (_, _, key) in enumerate(KERNEL_COLUMNS)}
KERNEL_FMT = {"i": "pct", "n": "pct", "w": "pct", "g": "pct", "calls": "num", "calls_max": "num", "lines": "int",
              "cc": "int"}

PLAN_COLUMNS: list[tuple[str, float, str]] = [
    ("Step", 6, "n"), ("Kernel", 28, "kernel"), ("Target", 20, "target"), ("Hotspot share p", 10, "p"),
    *_levels("new", "New share at speedup", 11), ("Cumulative p", 11, "cum_p"),
    *_levels("cum_new", "Cumulative new share", 11), *_levels("e2e", "Cumulative end-to-end speedup", 12),
    ("Own migration cost", 12, "own_cost"), ("Cumulative cost", 12, "cum_cost"),
    ("Cumulative $ saved / month (typical)", 14, "cum_sav"), ("Cumulative payback", 11, "payback"),
    ("Own payback (typical)", 11, "own_payback"), ("Pays back (this and every step before)", 12, "pays"),
]
PLAN_INDEX = {key: i for i, (_, _, key) in enumerate(PLAN_COLUMNS)}

SUMMARY_COLUMNS: list[tuple[str, float, str]] = [
    ("Kernel", 30, "kernel"), ("Verdict", 20, "verdict"), ("Target", 22, "target"), ("Share of step", 10, "p"),
    ("End-to-end speedup (low)", 11, "e2e_low"), ("End-to-end speedup (typical)", 11, "e2e_typical"),
    ("$ saved / month (typical)", 13, "sav"), ("Migration cost (typical)", 13, "cost"),
    ("Payback (typical)", 11, "payback"),
    ("Why (advisor's text as generated: its figures do not recalculate)", 80, "reason"),
]
