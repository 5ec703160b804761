"""Workers, child processes and threads (``analysis.workers.PipelineView``) in the terminal and the report:
the input-pipeline verdict, then one row per part with its own split, top function and verdict."""

from __future__ import annotations

import html

from rich.console import Console
from rich.table import Table
from rich.text import Text

from advisor.analysis.workers import PartView, PipelineView
from advisor.render._safe import printable

ROLE_WORDS = {"worker": "DataLoader workers", "child": "other child processes", "thread": "other threads"}


def _shares(v: PartView) -> str:
    s = v.part.split.shares()
    return f"{s['interpreted']:.0%}/{s['native']:.0%}/{s['waiting']:.0%}/{s['gc']:.0%}"


def _rows(view: PipelineView) -> list[tuple[str, PartView]]:
    return [(role, v) for role, group in (("worker", view.workers), ("child", view.children),
                                          ("thread", view.threads)) for v in group]


def render_parts(view: PipelineView | None, console: Console) -> None:
    """The pipeline verdict and a table of the parts (nothing when the run had none)."""
    if view is None:
        return
    from advisor.render.terminal import split_bar

    if view.verdict:
        console.print(Text.assemble(("input pipeline: ", "bold"), printable(view.verdict)))
    rows = _rows(view)
    if not rows:
        return
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for name in ("role", "name", "time", "split (interp/native/wait/gc)", "top function (busy, self)", "verdict"):
        table.add_column(name, justify="right" if name == "time" else "left")
    for role, v in rows:
        top = Text(printable(v.hotspot or "—"))
        if v.hotspot:
            top.append(f" {v.hotspot_share:.0%}")
        table.add_row(role, Text(printable(v.part.label)), f"{v.part.split.total:.2f} s",
                      Text.assemble(split_bar(v.part.split, 12), f" {_shares(v)}"), top, Text(printable(v.verdict)))
    console.print(table)


def parts_html(view: PipelineView | None) -> str:
    """The report's "Workers and threads" section (empty string when the run had none)."""
    if view is None:
        return ""
    e = html.escape
    out = ['<section id="workers"><h2>Workers and threads</h2>']
    if view.verdict:
        out.append(f'<p class="verdict"><b>Input pipeline:</b> {e(view.verdict)} (main thread fetching batches: '
                   f'{view.batch_wait_s:.2f} s of a {view.loop_s:.2f} s loop).</p>')
    rows = _rows(view)
    if rows:
        out.append("<table><thead><tr><th>role</th><th>name</th><th>processes</th><th>time</th><th>interpreted</th>"
                   "<th>native</th><th>waiting</th><th>gc</th><th>top function (busy, self)</th><th>verdict</th>"
                   "</tr></thead><tbody>")
        for role, v in rows:
            s = v.part.split.shares()
            top = f"{e(v.hotspot)} ({v.hotspot_share:.0%})" if v.hotspot else "—"
            out.append(f"<tr><td>{e(role)}</td><td>{e(v.part.name)}</td><td>{v.part.processes}</td>"
                       f"<td>{v.part.split.total:.2f} s</td><td>{s['interpreted']:.0%}</td><td>{s['native']:.0%}</td>"
                       f"<td>{s['waiting']:.0%}</td><td>{s['gc']:.0%}</td><td>{top}</td><td>{e(v.verdict)}</td></tr>")
        out.append("</tbody></table>")
        out.append("<p>Each row is sampled by the same sampler as the main thread, in its own process or thread "
                   "(docs/how-it-works.md, \"Workers and threads\"); its split is its own time, not the step's.</p>")
    out.append("</section>")
    return "".join(out)
