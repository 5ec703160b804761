"""Two parts of the ROI workbook (``advisor.render.xlsx``): the Summary chart and the Profile sheet."""

from __future__ import annotations

from typing import Any

from advisor.costmodel.types import Advice
from advisor.render._xlsx_layout import _compact


def write_profile(book: Any, ws: Any, advice: Advice) -> None:
    """What was measured, for traceability; T (mean step seconds) is the named cell ``step_s``."""
    a, prof = advice.analysis, advice.analysis.profile
    st = a.stats
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 90)
    book.headers(ws, 0, [("Measured", 34), ("Value", 90)])
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
        ("Command", prof.command.line(), ""), ("Working folder", prof.command.cwd, ""),
        ("Outcome", f"{prof.outcome.stopped_by}, exit code {prof.outcome.exit_code}", ""),
        ("Cost-model config", advice.config_source, ""),
        *((f"Environment: {k}", v, "") for k, v in sorted(prof.environment.items())),
        *(("Caveat", c, "") for c in a.caveats), *(("Note", n, "") for n in advice.notes),
    ]
    for r, (label, value, fmt) in enumerate(rows, start=1):
        book.text(ws, r, 0, label)
        if fmt and isinstance(value, (int, float)):
            ws.write_number(r, 1, value, book.f("calc", fmt))
        else:
            book.text(ws, r, 1, value if isinstance(value, str) else _compact(value))
        if label.startswith("Mean step"):
            book.wb.define_name("step_s", f"=Profile!$B${r + 1}")


def plan_chart(wb: Any, ws: Any, prows: list[int], pcol: dict[str, str], row: int) -> None:
    """The Summary chart: cumulative speedup (columns) and migration cost (line) as kernels are ported."""
    first, last = prows[0], prows[-1]
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": "Cumulative end-to-end speedup (typical)",
                      "categories": f"='Port plan'!${pcol['kernel']}${first}:${pcol['kernel']}${last}",
                      "values": f"='Port plan'!${pcol['e2e_typical']}${first}:${pcol['e2e_typical']}${last}",
                      "fill": {"color": "#4472C4"}})
    line = wb.add_chart({"type": "line"})
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
