"""The Kernels table as CSV: the ROI workbook's Kernels sheet as plain values (advisor's numbers)."""

from __future__ import annotations

import csv
import io
from typing import Any

from advisor.costmodel.types import Advice
from advisor.render._safe import printable
from advisor.render._xlsx_layout import KERNEL_COLUMNS, LEVELS, _finite, _new_cache, _payback_cache, safe_text


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
                "calls": est.calls_per_step, "calls_src": "exact" if est.calls_exact else "lower bound",
                "calls_max": est.calls_max if est.calls_max is not None else est.calls_per_step,
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
    """The Kernels table as CSV (advisor's numbers, no formulas).

    Text cells are neutralised twice over: control characters (a bare CR or LF in a path, which Excel and
    LibreOffice read as a row break even inside an unquoted cell) are written as visible escapes
    (``\\r``), so a cell never splits; then a cell that a spreadsheet would run as a formula (leading
    = + - @) is prefixed with ``'``.
    """
    heads, rows = kernel_table(advice)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(heads)
    for row in rows:
        writer.writerow([safe_text(printable(x)) if isinstance(x, str)
                         else (_finite(x) if isinstance(x, float) else x) for x in row])
    return buf.getvalue()
