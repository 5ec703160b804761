"""Formats a ``compare.Comparison``: plain text for the terminal, versioned JSON, an HTML page with a
side-by-side table. Numbers come from the Comparison; this module only formats them."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from advisor.render._format import fmt_duration, fmt_pct, fmt_x

FORMAT = "advisor-compare"
VERSION = 1


def _speed(v: float | None) -> str:
    return "—" if v is None else fmt_x(v)


def _step_line(label: str, s: Any) -> str:
    return (f"{label:<7}{s.name}: {s.count} steps · mean {fmt_duration(s.mean_s)} ± {fmt_duration(s.sd_s)} (sd) · "
            f"median {fmt_duration(s.median_s)} · p95 {fmt_duration(s.p95_s)} · split "
            f"{fmt_pct(s.split.interpreted)}/{fmt_pct(s.split.native)}/{fmt_pct(s.split.waiting)}/"
            f"{fmt_pct(s.split.gc)} (interp/native/wait/gc)")


def function_rows(c: Any) -> list[dict[str, str]]:
    """The side-by-side rows, formatted (shared by the text and HTML views)."""
    rows = []
    for d in c.functions:
        rows.append({"function": d.match.name, "how": d.match.how,
                     "before": f"{fmt_pct(d.before_share)} · {fmt_duration(d.before_s)}" if d.before_s else "—",
                     "after": f"{fmt_pct(d.after_share)} · {fmt_duration(d.after_s)}" if d.after_s else "—",
                     "speedup": "not seen" if d.before_s and not d.after_s else _speed(d.speedup),
                     "interp": f"{fmt_pct(d.before_split.interpreted)} → {fmt_pct(d.after_split.interpreted)}"})
    return rows


def render_compare_text(c: Any) -> str:
    """The terminal view: steps, speedup with its range, predictions, functions, what was matched."""
    r = c.speedup_range
    out = [f"compare: {c.before_label} → {c.after_label}", _step_line("before", c.before),
           _step_line("after", c.after),
           f"step speedup: {fmt_x(c.speedup)} (95% {fmt_x(r.low)}–{fmt_x(r.high)})"]
    out.append(f"predictions ({c.prediction_source}):")
    out += [f"  {p.sentence}" for p in c.predictions] or ["  none: the before advice recommended no change"]
    if c.step_check is not None:
        out.append(f"  {c.step_check.sentence}")
    out.append(f"{'function':<34} {'before':>16} {'after':>16} {'speedup':>8}  interpreted")
    for row in function_rows(c):
        name = row["function"] + ("" if row["how"] == "same name" else f" [{row['how']}]")
        out.append(f"{name[:34]:<34} {row['before']:>16} {row['after']:>16} {row['speedup']:>8}  {row['interp']}")
    same = sum(1 for m in c.matches if m.how == "same name")
    out.append(f"matched: {same} by name" + "".join(f"; {m.describe()}" for m in c.matches if m.how != "same name"))
    out += [f"note: {n}" for n in c.notes]
    return "\n".join(out) + "\n"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def compare_to_json(c: Any) -> dict[str, Any]:
    """The comparison as JSON (format advisor-compare, version 1); infinite speedups are null."""
    return {"format": FORMAT, "version": VERSION, **_plain(c)}


def render_compare_json(c: Any) -> str:
    return json.dumps(compare_to_json(c), indent=1, allow_nan=False, ensure_ascii=False) + "\n"


def render_compare_html(c: Any) -> str:
    """One self-contained HTML page: the two steps, the predictions, the side-by-side table."""
    from advisor.render.html import _environment

    env = _environment()
    return env.get_template("compare.html.j2").render(
        c=c, rows=function_rows(c), before_line=_step_line("", c.before), after_line=_step_line("", c.after),
        css=env.globals["asset"]("report.css"))
