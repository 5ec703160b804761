"""The ROI workbook (``roi.xlsx``) and the Kernels table as CSV.

The workbook restates the cost model as live formulas so a manager can change an assumption and see the
payback move. Every input is a *named* cell (``price_per_node_hour``, ``speedup_rust_numeric_loop_typical``,
...); every derived number is a formula over the measured shares and those names. Each formula cell also
carries the value advisor computed (the cached value), so a reader that does not recalculate shows
advisor's own numbers; a test recalculates the file in LibreOffice and compares it with the cost model.

Sheets: Summary (the plan, the most-changed inputs, a chart), Assumptions (every input and its source),
Kernels (hotspot x target), Port plan (cumulative), Profile (what was measured).

Text from the profile (function names, paths, the command line) is always written as a string, never
as a formula: a function named ``=HYPERLINK(...)`` stays text (CSV/formula injection). Verdicts are
advisor's and are not re-decided by the workbook; its formulas only re-price them.
"""

from __future__ import annotations

from advisor.costmodel.formulas import batches_native

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.costmodel.types import CATEGORIES, Advice, KernelAdvice, Range, TargetEstimate

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


# ---- workbook --------------------------------------------------------------------------------------------

def _finite(value: Any) -> Any:
    """A cached value the xlsx format can hold (no inf / NaN: those are written as text)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "never" if value > 0 else ""
    return value


class _Book:
    """The open workbook, its formats, and where each named input lives."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter  # heavy: imported only when a workbook is written

        # Strings are never turned into formulas, numbers or links behind our back.
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                                  "strings_to_urls": False, "nan_inf_to_errors": True})
        self.wb.set_properties({"title": "advisor ROI", "comments": "Generated by advisor; blue-on-yellow "
                                "cells are inputs, everything else recalculates."})
        self.fmt: dict[tuple[str, str], Any] = {}
        self.base = {
            "input": {"bg_color": "#FFF2CC", "font_color": "#1F4E9E", "border": 1, "border_color": "#BF9000"},
            "link": {"font_color": "#2E7D32"},
            "calc": {},
            "head": {"bold": True, "bg_color": "#DDE4EE", "border": 1, "border_color": "#9AA7B8",
                     "text_wrap": True, "valign": "top"},
            "total": {"bold": True, "top": 2},
            "title": {"bold": True, "font_size": 14},
            "note": {"italic": True, "font_color": "#555555"},
            "bold": {"bold": True},
        }

    def f(self, role: str, numfmt: str = "") -> Any:
        """The cell format for a role (input, calc, link, head, total...) and a number format key."""
        key = (role, numfmt)
        if key not in self.fmt:
            props = dict(self.base[role])
            if numfmt:
                props["num_format"] = FMT[numfmt]
            self.fmt[key] = self.wb.add_format(props)
        return self.fmt[key]

    def text(self, ws: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
        """Write text that is never interpreted (formula injection): always a string cell."""
        ws.write_string(row, col, str(value)[:MAX_TEXT], fmt)

    def formula(self, ws: Any, row: int, col: int, formula: str, fmt: Any, cached: Any) -> None:
        ws.write_formula(row, col, formula, fmt, _finite(cached))

    def headers(self, ws: Any, row: int, heads: list[tuple[str, float]]) -> None:
        for col, (head, width) in enumerate(heads):
            ws.write_string(row, col, head, self.f("head"))
            ws.set_column(col, col, width)
        ws.set_row(row, 45)

    # ---- inputs: top of Summary and the Assumptions sheet -----------------------------------------------
    def write_inputs(self, summary: Any, sheet: Any, inputs: list[_Input], top: int) -> int:
        """Managers' inputs at the top of Summary, everything in Assumptions; returns Summary's next row."""
        self.headers(sheet, 0, [("Group", 34), ("Input", 46), ("Low", 12), ("Typical / value", 14),
                                ("High", 12), ("Cell name", 38), ("Source", 60)])
        sheet.freeze_panes(1, 2)
        srow = top
        for r, item in enumerate(inputs, start=1):
            self.text(sheet, r, 0, item.group)
            self.text(sheet, r, 1, item.label)
            cols = [3] if len(item.values) == 1 else [2, 3, 4]
            for col, name, value in zip(cols, item.names(), item.values):
                if item.on_summary:
                    self._input_cell(summary, srow, 2, item.fmt, value)
                    self.wb.define_name(name, f"=Summary!$C${srow + 1}")
                    link = f"={name}" if value is not None else f'=IF(ISNUMBER({name}),{name},"")'
                    self.formula(sheet, r, col, link, self.f("link", item.fmt), value if value is not None else "")
                else:
                    self._input_cell(sheet, r, col, item.fmt, value)
                    self.wb.define_name(name, f"=Assumptions!${'ABCDE'[col]}${r + 1}")
            self.text(sheet, r, 5, item.name if len(item.values) == 1 else f"{item.name}_low / _typical / _high")
            self.text(sheet, r, 6, ("set on Summary; " if item.on_summary else "") + item.source)
            if item.on_summary:
                summary.merge_range(srow, 0, srow, 1, "")
                self.text(summary, srow, 0, item.label)
                self.text(summary, srow, 3, item.source, self.f("note"))
                srow += 1
        return srow

    def _input_cell(self, ws: Any, row: int, col: int, fmt: str, value: float | None) -> None:
        if value is None:
            ws.write_blank(row, col, None, self.f("input", fmt))
        else:
            ws.write_number(row, col, value, self.f("input", fmt))

    # ---- Kernels -------------------------------------------------------------------------------------------
    def write_kernels(self, ws: Any, advice: Advice) -> dict[tuple[int, str], int]:
        """One row per hotspot × target; returns (kernel index, target key) → sheet row (1-based)."""
        from xlsxwriter.utility import xl_col_to_name

        heads = [(h, w) for h, w, _ in KERNEL_COLUMNS]
        self.headers(ws, 0, heads)
        ws.freeze_panes(1, 2)
        col = {key: xl_col_to_name(i) for i, (_, _, key) in enumerate(KERNEL_COLUMNS)}
        rows: dict[tuple[int, str], int] = {}
        step_s = advice.analysis.step_s
        r = 1
        for k_idx, k in enumerate(advice.kernels):
            for est in k.estimates:
                rows[(k_idx, est.target)] = r + 1
                self._kernel_row(ws, r, col, advice, k, est, step_s)
                r += 1
        ws.autofilter(0, 0, max(r - 1, 1), len(KERNEL_COLUMNS) - 1)
        return rows

    def _kernel_row(self, ws: Any, r: int, col: dict[str, str], advice: Advice, k: KernelAdvice,
                    est: TargetEstimate, step_s: float) -> None:
        h, cfg = k.hotspot, advice.config
        t = cfg.targets[est.target]
        names = target_names(est.target)
        ref = {key: f"{letter}{r + 1}" for key, letter in col.items()}
        sp = h.self_split
        shares = [x / step_s if step_s > 0 else 0.0 for x in sp.as_list()]
        values: dict[str, Any] = {
            "kernel": h.key.qualname, "location": f"{h.key.file}:{h.key.line}", "category": k.category.name,
            "verdict": k.verdict_label, "target": est.target, "target_name": est.target_name,
            "best": "yes" if k.best is not None and est.target == k.best.target else "",
            "i": shares[0], "n": shares[1], "w": shares[2], "g": shares[3], "calls": est.calls_per_step,
            "calls_src": "exact" if est.calls_exact else "estimated", "lines": k.category.lines,
            "cc": k.category.complexity,
        }
        for key, value in values.items():
            c = KERNEL_INDEX[key]
            if isinstance(value, str):
                self.text(ws, r, c, value)
            else:
                ws.write_number(r, c, value, self.f("calc", KERNEL_FMT[key]))
        p = sum(shares)
        self.formula(ws, r, KERNEL_INDEX["p"], "=SUM({i}:{g})".format(**ref), self.f("calc", "pct"), p)
        speed = f"{names['speedup']}_{name_part(k.category.name)}"
        accel = t.kind == "accelerator"
        bill_after = "accelerator_bill" if accel else "monthly_bill"
        pb = _payback_cache(est, cfg.team.horizon_months)
        for j, lvl in enumerate(LEVELS):
            opp = LEVELS[2 - j]
            new_cached = _new_cache(est, lvl)
            cells = {
                f"S_{lvl}": (f"={speed}_{lvl}", "x", t.speedup[k.category.name].__getattribute__(lvl)),
                f"o_{lvl}": (f"={names['overhead']}_{lvl}", "ns", getattr(t.overhead_ns, lvl)),
            }
            native = f"/{names['native']}_{lvl}" if accel else ""
            if batches_native(k.category.name, t.kind, k.category.dispatch_bound):
                native = f"/{ref['S_' + lvl]}"  # formulas.batches_native: batching removes C dispatch
            transfer = (f"+{names['transfer']}*1E6/({names['bandwidth']}_{lvl}*1E9)/step_s" if accel else "")
            cells[f"new_{lvl}"] = (
                f"={ref['i']}/{ref['S_' + lvl]}+{ref['n']}{native}+{ref['w']}+{ref['g']}"
                f"+{ref['calls']}*{ref['o_' + opp]}*1E-9/step_s{transfer}", "pct", new_cached)
            cells[f"ks_{lvl}"] = (f"=IF({ref['new_' + lvl]}>0,{ref['p']}/{ref['new_' + lvl]},1)", "x",
                                  getattr(est.kernel_speedup, lvl))
            cells[f"e2e_{lvl}"] = (f"=1/((1-{ref['p']})+{ref['new_' + lvl]})", "x", getattr(est.end_to_end, lvl))
            cells[f"sav_{lvl}"] = (f"=step_fraction*(monthly_bill-{bill_after}/{ref['e2e_' + lvl]})", "usd",
                                   getattr(est.savings_per_month_usd, lvl))
            cells[f"eff_{lvl}"] = (
                f"=({ref['lines']}/100)*weeks_per_100_loc_{lvl}*(1+complexity_weight*MAX(0,{ref['cc']}-1))"
                f"*{names['effort']}+{names['fixed']}_{lvl}", "weeks", getattr(est.effort_weeks, lvl))
            cells[f"cost_{lvl}"] = (f"={ref['eff_' + lvl]}*engineer_cost_per_week", "usd",
                                    getattr(est.cost_usd, lvl))
            for key, (formula, fmt, cached) in cells.items():
                role = "link" if key[0] in "So" and key[1] == "_" else "calc"
                self.formula(ws, r, KERNEL_INDEX[key], formula, self.f(role, fmt), cached)
        # Payback as advisor states it: "never" when typical savings <= 0; best case pairs the low cost
        # with the high savings, worst case the high cost with the low savings.
        never = f"{ref['sav_typical']}<=0"
        payback = {
            "pb_low": f"=IF({never},\"never\",IF({ref['sav_high']}>0,{ref['cost_low']}/{ref['sav_high']},"
                      f"{ref['cost_typical']}/{ref['sav_typical']}))",
            "pb_typical": f"=IF({never},\"never\",{ref['cost_typical']}/{ref['sav_typical']})",
            "pb_high": f"=IF({never},\"never\",IF({ref['sav_low']}>0,{ref['cost_high']}/{ref['sav_low']},"
                       f"\"never\"))",
        }
        for key, formula in payback.items():
            self.formula(ws, r, KERNEL_INDEX[key], formula, self.f("calc", "months"), pb[key])
        self.formula(ws, r, KERNEL_INDEX["pays"], f"=IF({never},0,IF({ref['pb_typical']}<=horizon_months,1,0))",
                     self.f("calc", "yesno"), pb["pays"])

    # ---- Port plan -----------------------------------------------------------------------------------------
    def write_plan(self, ws: Any, advice: Advice, krows: dict[tuple[int, str], int]) -> list[int]:
        """The cumulative plan as formulas over Kernels; returns the sheet rows (1-based) of its steps."""
        from xlsxwriter.utility import xl_col_to_name

        self.headers(ws, 0, [(h, w) for h, w, _ in PLAN_COLUMNS])
        ws.freeze_panes(1, 2)
        kcol = {key: xl_col_to_name(i) for i, (_, _, key) in enumerate(KERNEL_COLUMNS)}
        pcol = {key: xl_col_to_name(i) for i, (_, _, key) in enumerate(PLAN_COLUMNS)}
        used: set[int] = set()
        out = []
        cum = {"cum_p": 0.0, **{f"cum_new_{lvl}": 0.0 for lvl in LEVELS}}
        for n, step in enumerate(advice.plan, start=1):
            k_idx = next(i for i, k in enumerate(advice.kernels)
                         if k.hotspot.key.qualname == step.kernel and i not in used and (i, step.target) in krows)
            used.add(k_idx)
            k = advice.kernels[k_idx]
            est = next(e for e in k.estimates if e.target == step.target)
            kr, r = krows[(k_idx, step.target)], n + 1
            own_pb = _payback_cache(est, advice.config.team.horizon_months)["pb_typical"]
            ref = {key: f"{letter}{r}" for key, letter in pcol.items()}
            first = {key: f"{letter}$2" for key, letter in pcol.items()}
            ws.write_number(n, 0, n, self.f("calc", "int"))
            self.text(ws, n, 1, step.kernel)
            self.text(ws, n, 2, est.target_name)
            cells = [("p", f"=Kernels!{kcol['p']}{kr}", "pct", est.share)]
            for lvl in LEVELS:
                cells.append((f"new_{lvl}", f"=Kernels!{kcol['new_' + lvl]}{kr}", "pct", _new_cache(est, lvl)))
            cells.append(("cum_p", f"=SUM({first['p']}:{ref['p']})", "pct", None))
            for lvl in LEVELS:
                cells.append((f"cum_new_{lvl}", f"=SUM({first['new_' + lvl]}:{ref['new_' + lvl]})", "pct", None))
            for lvl in LEVELS:
                cells.append((f"e2e_{lvl}", f"=1/(1-{ref['cum_p']}+{ref['cum_new_' + lvl]})", "x",
                              getattr(step.end_to_end, lvl)))
            cells += [
                ("own_cost", f"=Kernels!{kcol['cost_typical']}{kr}", "usd", est.cost_usd.typical),
                ("cum_cost", f"=SUM({first['own_cost']}:{ref['own_cost']})", "usd", step.cost_usd),
                ("cum_sav", f"=step_fraction*monthly_bill*(1-1/{ref['e2e_typical']})", "usd",
                 step.savings_per_month_usd),
                ("payback", f"=IF({ref['cum_sav']}>0,{ref['cum_cost']}/{ref['cum_sav']},\"never\")", "months",
                 step.payback_months if step.payback_months is not None else "never"),
                ("own_payback", f"=Kernels!{kcol['pb_typical']}{kr}", "months", own_pb),
                ("pays", f"=Kernels!{kcol['pays']}{kr}" if n == 1 else
                 f"=IF({pcol['pays']}{r - 1}=1,Kernels!{kcol['pays']}{kr},0)", "yesno", 1 if step.pays_back else 0),
            ]
            cum["cum_p"] += est.share
            for lvl in LEVELS:
                cum[f"cum_new_{lvl}"] += _new_cache(est, lvl)
            for key, formula, fmt, cached in cells:
                self.formula(ws, n, PLAN_INDEX[key], formula, self.f("calc", fmt),
                             cum[key] if cached is None else cached)
            out.append(r)
        if not advice.plan:
            self.text(ws, 1, 1, "Nothing to port: no kernel got a port or JIT / vectorize verdict.", self.f("note"))
        return out

    # ---- Summary -------------------------------------------------------------------------------------------
    def write_summary(self, ws: Any, advice: Advice, krows: dict[tuple[int, str], int], prows: list[int],
                      row: int) -> None:
        """Bill, the plan table with totals, and the chart, below the inputs that end at ``row``."""
        from xlsxwriter.utility import xl_col_to_name

        kcol = {key: xl_col_to_name(i) for i, (_, _, key) in enumerate(KERNEL_COLUMNS)}
        pcol = {key: xl_col_to_name(i) for i, (_, _, key) in enumerate(PLAN_COLUMNS)}
        cfg = advice.config
        ws.merge_range(row, 0, row, 1, "")
        ws.merge_range(row + 1, 0, row + 1, 1, "")
        self.text(ws, row, 0, "Monthly compute bill", self.f("bold"))
        self.formula(ws, row, 2, "=IF(ISNUMBER(monthly_bill_given),monthly_bill_given,"
                     "nodes*price_per_node_hour*hours_per_month)", self.f("calc", "usd"), advice.monthly_bill_usd)
        self.wb.define_name("monthly_bill", f"=Summary!$C${row + 1}")
        self.text(ws, row + 1, 0, "Bill on accelerator nodes (for accelerator moves)")
        self.formula(ws, row + 1, 2, "=IF(price_per_node_hour>0,monthly_bill*accelerator_price_per_node_hour/"
                     "price_per_node_hour,nodes*accelerator_price_per_node_hour*hours_per_month)",
                     self.f("calc", "usd"), cfg.accelerator_bill_usd)
        self.wb.define_name("accelerator_bill", f"=Summary!$C${row + 2}")
        top = row + 3
        self.text(ws, top, 0, "Recommended plan", self.f("title"))
        heads = [(h, w) for h, w, _ in SUMMARY_COLUMNS]
        self.headers(ws, top + 1, heads)
        r = top + 2
        for k_idx, k in enumerate(advice.kernels):
            self.text(ws, r, 0, k.hotspot.key.qualname)
            self.text(ws, r, 1, k.verdict_label)
            self.text(ws, r, 9, k.reason)  # last column: long reasons overflow to the right, rows stay one line
            best = k.best
            if best is None or (k_idx, best.target) not in krows:
                self.text(ws, r, 2, "—")
                ws.write_number(r, 3, k.hotspot.self_share, self.f("calc", "pct"))
                r += 1
                continue
            kr = krows[(k_idx, best.target)]
            self.text(ws, r, 2, best.target_name)
            pb = _payback_cache(best, cfg.team.horizon_months)
            for c, (key, fmt, cached) in enumerate([
                    ("p", "pct", best.share), ("e2e_low", "x", best.end_to_end.low),
                    ("e2e_typical", "x", best.end_to_end.typical), ("sav_typical", "usd",
                    best.savings_per_month_usd.typical), ("cost_typical", "usd", best.cost_usd.typical),
                    ("pb_typical", "months", pb["pb_typical"])], start=3):
                self.formula(ws, r, c, f"=Kernels!{kcol[key]}{kr}", self.f("calc", fmt), cached)
            r += 1
        self._totals(ws, r, advice, prows, pcol)
        ws.freeze_panes(top + 2, 1)
        if prows:
            self._chart(ws, prows, pcol, r + 3)

    def _totals(self, ws: Any, r: int, advice: Advice, prows: list[int], pcol: dict[str, str]) -> None:
        """The plan's total: the cumulative figures over the steps that pay back within the horizon."""
        fmt = self.f("total")
        self.text(ws, r, 0, "Plan total (steps that pay back)", fmt)
        for c in range(1, 9):
            ws.write_blank(r, c, None, fmt)
        paying = [s for s in advice.plan if s.pays_back]
        last = paying[-1] if paying else None
        if prows:
            span = {key: f"'Port plan'!${col}${prows[0]}:${col}${prows[-1]}" for key, col in pcol.items()}
            e2e = (f"=1/(1-SUMPRODUCT({span['pays']},{span['p']})"
                   f"+SUMPRODUCT({span['pays']},{span['new_typical']}))")
            cost = f"=SUMPRODUCT({span['pays']},{span['own_cost']})"
        else:
            e2e, cost = "=1", "=0"
        self.formula(ws, r, 4, e2e, self.f("total", "x"), last.end_to_end.typical if last else 1.0)
        self.formula(ws, r, 5, f"=step_fraction*monthly_bill*(1-1/E{r + 1})", self.f("total", "usd"),
                     last.savings_per_month_usd if last else 0.0)
        self.formula(ws, r, 6, cost, self.f("total", "usd"), last.cost_usd if last else 0.0)
        self.formula(ws, r, 7, f"=IF(F{r + 1}>0,G{r + 1}/F{r + 1},\"never\")", self.f("total", "months"),
                     (last.payback_months if last and last.payback_months is not None else "never"))
        self.text(ws, r + 1, 0, "Verdicts are advisor's; changing an input re-prices them but does not re-rank "
                  "or re-decide them (run `advisor report --config` for that).", self.f("note"))

    def _chart(self, ws: Any, prows: list[int], pcol: dict[str, str], row: int) -> None:
        first, last = prows[0], prows[-1]
        chart = self.wb.add_chart({"type": "column"})
        chart.add_series({"name": "Cumulative end-to-end speedup (typical)",
                          "categories": f"='Port plan'!${pcol['kernel']}${first}:${pcol['kernel']}${last}",
                          "values": f"='Port plan'!${pcol['e2e_typical']}${first}:${pcol['e2e_typical']}${last}",
                          "fill": {"color": "#4472C4"}})
        line = self.wb.add_chart({"type": "line"})
        line.add_series({"name": "Cumulative migration cost ($)", "y2_axis": True, "marker": {"type": "circle"},
                         "categories": f"='Port plan'!${pcol['kernel']}${first}:${pcol['kernel']}${last}",
                         "values": f"='Port plan'!${pcol['cum_cost']}${first}:${pcol['cum_cost']}${last}",
                         "line": {"color": "#C55A11"}})
        chart.combine(line)
        chart.set_title({"name": "Port plan: speedup and cost as kernels are ported"})
        chart.set_y_axis({"name": "step speedup (×)"})
        line.set_y2_axis({"name": "migration cost ($)"})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 760, "height": 340})
        ws.insert_chart(row, 0, chart)

    # ---- Profile -------------------------------------------------------------------------------------------
    def write_profile(self, ws: Any, advice: Advice) -> None:
        """What was measured, for traceability; T (mean step seconds) is the named cell ``step_s``."""
        a, prof = advice.analysis, advice.analysis.profile
        st = a.stats
        ws.set_column(0, 0, 34)
        ws.set_column(1, 1, 90)
        self.headers(ws, 0, [("Measured", 34), ("Value", 90)])
        ws.freeze_panes(1, 0)
        step_mean = st.mean_s if st.mean_s > 0 else a.step_s
        shares = a.step_split.shares()
        rows: list[tuple[str, Any, str]] = [
            ("Step function", a.step_name, ""), ("How the step was chosen", a.step_reason, ""),
            ("Mean step (T, used by every formula)", step_mean, "s"), ("Median step", st.median_s, "s"),
            ("p95 step", st.p95_s, "s"), ("Steps measured", st.count, "int"),
            ("Warm-up steps dropped", st.dropped_warmup, "int"), ("Measured step time, total", a.step_s, "s"),
            *((f"Step share: {b}", shares[b], "pct") for b in shares),
            ("Samples in the step", a.step_samples, "int"), ("Mode", prof.mode, ""),
            ("Sampling interval", prof.interval_s, "s"), ("Run wall time", prof.wall_s, "s"),
            ("Started at", prof.started_at, ""),
            ("Command", " ".join(str(x) for x in prof.command.get("argv", [])) or str(prof.command), ""),
            ("Outcome", f"{prof.outcome.stopped_by}, exit code {prof.outcome.exit_code}", ""),
            ("Cost-model config", advice.config_source, ""),
            *((f"Environment: {k}", v, "") for k, v in sorted(prof.environment.items())),
            *(("Caveat", c, "") for c in a.caveats), *(("Note", n, "") for n in advice.notes),
        ]
        for r, (label, value, fmt) in enumerate(rows, start=1):
            self.text(ws, r, 0, label)
            if fmt and isinstance(value, (int, float)):
                ws.write_number(r, 1, value, self.f("calc", fmt))
            else:
                self.text(ws, r, 1, value if isinstance(value, str) else _compact(value))
            if label.startswith("Mean step"):
                self.wb.define_name("step_s", f"=Profile!$B${r + 1}")


def _compact(value: Any) -> str:
    import json

    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


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
    ("Lines", 7, "lines"), ("Cyclomatic complexity", 10, "cc"),
    *_levels("S", "Speedup", 10), *_levels("o", "Per-call overhead", 11),
    *_levels("new", "New share at speedup", 11), *_levels("ks", "Kernel speedup", 10),
    *_levels("e2e", "End-to-end speedup", 10), *_levels("sav", "$ saved / month", 12),
    *_levels("eff", "Effort", 10), *_levels("cost", "Migration cost", 12), *_levels("pb", "Payback", 10),
    ("Pays back within horizon (typical)", 12, "pays"),
]
KERNEL_INDEX = {key: i for i, (_, _, key) in enumerate(KERNEL_COLUMNS)}
KERNEL_FMT = {"i": "pct", "n": "pct", "w": "pct", "g": "pct", "calls": "num", "lines": "int", "cc": "int"}

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
    ("Payback (typical)", 11, "payback"), ("Why", 80, "reason"),
]


# ---- entry points ------------------------------------------------------------------------------------------

def write_xlsx(advice: Advice, path: str | Path) -> None:
    """Write the ROI workbook for ``advice`` to ``path`` (xlsx, live formulas with cached values)."""
    book = _Book(Path(path))
    wb = book.wb
    summary, assumptions = wb.add_worksheet("Summary"), wb.add_worksheet("Assumptions")
    kernels, plan, profile = wb.add_worksheet("Kernels"), wb.add_worksheet("Port plan"), wb.add_worksheet("Profile")
    a = advice.analysis
    book.text(summary, 0, 0, f"advisor ROI: {a.step_name}", book.f("title"))
    book.text(summary, 1, 0, "Blue-on-yellow cells are inputs: change one and every figure recalculates. "
              f"Config: {advice.config_source}.", book.f("note"))
    book.text(summary, 2, 0, "Assumptions most likely to change", book.f("bold"))
    summary.set_column(0, 0, 30)
    next_row = book.write_inputs(summary, assumptions, collect_inputs(advice.config), top=3)
    book.write_profile(profile, advice)
    krows = book.write_kernels(kernels, advice)
    prows = book.write_plan(plan, advice, krows)
    book.write_summary(summary, advice, krows, prows, next_row + 1)
    for ws in (summary, assumptions, kernels, plan, profile):
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)
    summary.repeat_rows(0, 0)
    summary.activate()
    wb.close()


def kernel_table(advice: Advice) -> tuple[list[str], list[list[Any]]]:
    """The Kernels sheet as plain values (advisor's numbers): headers and one row per hotspot × target."""
    heads = [h for h, _, _ in KERNEL_COLUMNS]
    rows = []
    step_s = advice.analysis.step_s
    horizon = advice.config.team.horizon_months
    for k in advice.kernels:
        h = k.hotspot
        shares = [x / step_s if step_s > 0 else 0.0 for x in h.self_split.as_list()]
        t_cfg = advice.config.targets
        for est in k.estimates:
            t = t_cfg[est.target]
            pb = _payback_cache(est, horizon)
            v: dict[str, Any] = {
                "kernel": h.key.qualname, "location": f"{h.key.file}:{h.key.line}", "category": k.category.name,
                "verdict": k.verdict_label, "target": est.target, "target_name": est.target_name,
                "best": "yes" if k.best is not None and est.target == k.best.target else "",
                "i": shares[0], "n": shares[1], "w": shares[2], "g": shares[3], "p": est.share,
                "calls": est.calls_per_step, "calls_src": "exact" if est.calls_exact else "estimated",
                "lines": k.category.lines, "cc": k.category.complexity, **pb,
                "pays": "yes" if pb["pays"] else "no",
            }
            for lvl in LEVELS:
                v[f"S_{lvl}"] = getattr(t.speedup[k.category.name], lvl)
                v[f"o_{lvl}"] = getattr(t.overhead_ns, lvl)
                v[f"new_{lvl}"] = _new_cache(est, lvl)
                for key, rng in (("ks", est.kernel_speedup), ("e2e", est.end_to_end),
                                 ("sav", est.savings_per_month_usd), ("eff", est.effort_weeks), ("cost", est.cost_usd)):
                    v[f"{key}_{lvl}"] = getattr(rng, lvl)
            rows.append([v[key] for _, _, key in KERNEL_COLUMNS])
    return heads, rows


def render_kernels_csv(advice: Advice) -> str:
    """The Kernels table as CSV (advisor's numbers, no formulas); text cells that a spreadsheet would run
    as a formula (leading = + - @) are prefixed with ``'``."""
    heads, rows = kernel_table(advice)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(heads)
    for row in rows:
        writer.writerow([safe_text(x) if isinstance(x, str) else (_finite(x) if isinstance(x, float) else x)
                         for x in row])
    return buf.getvalue()
