"""The terminal summary: step statistics, ranked hotspots with a split bar, where things were saved.

Every string that comes from the profile, the config or the file system (names, paths, warnings, the
script's exit detail) goes through ``printable`` and into a ``Text`` (never rich markup), so a profile cannot
write escape sequences to the user's terminal or restyle the summary.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from advisor.analysis import Analysis
from advisor.model import BUCKETS, Split
from advisor.render._format import fmt_duration, fmt_plan, short_path
from advisor.render._safe import printable

COLORS = {"interpreted": "red3", "native": "dodger_blue2", "waiting": "gold3", "gc": "magenta"}
BAR_WIDTH = 20


def split_bar(split: Split, width: int = BAR_WIDTH) -> Text:
    """A bar of ``width`` cells, one colour per bucket, proportional to the split."""
    shares = split.shares()
    text = Text()
    cells = [round(shares[b] * width) for b in BUCKETS]
    while sum(cells) > width:
        cells[cells.index(max(cells))] -= 1
    for b, n in zip(BUCKETS, cells):
        text.append("█" * n, style=COLORS[b])
    text.append("·" * (width - sum(cells)), style="grey50")
    return text


def split_words(split: Split) -> str:
    s = split.shares()
    return " · ".join(f"{b} {s[b]:.0%}" for b in BUCKETS)


# how the step figures were obtained (profile.step.timing), as the terminal says it
TIMING_WORDS = {"exact": "exact: each call timed at its entry and exit",
                "timed": "timed at entry and exit; calls before the timer started are not counted",
                "sampled": "estimated from samples", "cprofile": "call counts exact, times per call averaged"}


def render_summary(analysis: Analysis, console: Console, saved: dict[str, str] | None = None,
                   advice: Any = None, top: int = 10) -> None:
    """Print the summary of ``analysis`` (and verdict columns when ``advice`` is given)."""
    p = analysis.profile
    interval = f", {p.interval_s * 1e3:g} ms" if p.mode != "cprofile" else ""
    target = printable(p.command.target)
    console.print(Text.assemble(("advisor", "bold"), f" · {target} ({printable(p.mode)} mode{interval})"))
    console.print(Text.assemble(("step: ", "bold"), printable(f"{analysis.step_name} ({analysis.step_reason})")))
    st = analysis.stats
    if st.count:
        warm = f", {st.dropped_warmup} warm-up dropped" if st.dropped_warmup else ""
        if analysis.counted_out:
            warm += f", {analysis.counted_out} left out: its calls were counted"
        timing = p.step.timing if p.step is not None else "sampled"
        approx = "~" if timing == "sampled" else ""
        console.print(f"steps: {approx}{st.count} measured ({TIMING_WORDS.get(timing, timing)}{warm}) · mean "
                      f"{approx}{fmt_duration(st.mean_s)} · median {approx}{fmt_duration(st.median_s)} · p95 {approx}{fmt_duration(st.p95_s)}")
    outside = analysis.outside_split + analysis.warmup_split
    console.print(f"time: {analysis.step_s:.2f} s in measured steps · {outside.total:.2f} s outside them "
                  f"(start-up, imports, warm-up, evaluation) · run {p.wall_s:.2f} s")
    line = Text("step split: ")
    line.append_text(split_bar(analysis.step_split))
    line.append(" " + split_words(analysis.step_split))
    console.print(line)
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("function")
    table.add_column("where")
    table.add_column("self", justify="right")
    table.add_column("incl", justify="right")
    table.add_column("split (interp/native/wait/gc)")
    verdicts, pointers = {}, {}
    if advice is not None:
        from advisor.costmodel.items_consistency import consistency

        verdicts = {k.hotspot.frame: k for k in getattr(advice, "kernels", ())}
        pointers = consistency(advice).pointers
        table.add_column("verdict")
    for i, h in enumerate(analysis.hotspots[:top], 1):
        s = h.self_split.shares()
        # Text(), not str: a function named "[red]x" is a name, not rich markup
        row: list[Any] = [str(i), Text(printable(h.key.qualname)),
                          Text(f"{printable(short_path(h.key.file, 1))}:{h.key.line}"),
                          f"{h.self_share:.0%}",
                          f"{h.inclusive_share:.0%}",
                          Text.assemble(split_bar(h.self_split, 12),
                                        f" {s['interpreted']:.0%}/{s['native']:.0%}/{s['waiting']:.0%}/{s['gc']:.0%}")]
        if advice is not None:
            k = verdicts.get(h.frame)
            ptr = pointers.get(h.frame)
            row.append(Text(printable(ptr.words if ptr is not None else verdict_cell(k))) if k is not None else "")
        table.add_row(*row)
    if analysis.hotspots:
        console.print(table)
    else:
        console.print("no user-code hotspots in the measured step")
    if advice is not None:
        console.print(Text.assemble(("plan: ", "bold"), printable(plan_line(advice))))
    from advisor.render.parts import render_parts

    render_parts(analysis.pipeline, console)
    for c in analysis.caveats:
        console.print(Text(f"note: {printable(c)}", style="yellow"))
    if p.outcome.stopped_by != "exit" or p.outcome.exit_code:
        console.print(Text(f"script ended: {printable(p.outcome.stopped_by)} (exit code {p.outcome.exit_code})"
                           + (f" — {printable(p.outcome.detail)}" if p.outcome.detail else ""), style="yellow"))
    for what, where in (saved or {}).items():
        console.print(Text(f"{printable(what)}: {printable(where)}"))


def verdict_cell(k: Any) -> str:
    """The verdict, naming the target when there is one: ``port → Rust (PyO3)``."""
    if k.best is not None and k.verdict in ("port", "jit-vectorize", "accelerator"):
        return f"{k.verdict_label} → {k.best.target_name}"
    return str(k.verdict_label)


def plan_line(advice: Any) -> str:
    """One line, the answer first: the largest item of any kind (GC, input pipeline, framework, a port)
    with its range and dollars, then the port plan's paying part (without the functions whose time an
    item owns: ``costmodel.items_consistency``) and the config used."""
    from advisor.costmodel.items import lead_line
    from advisor.costmodel.items_consistency import consistency

    items = getattr(advice, "items", ())
    ports = fmt_plan(advice)
    if items:
        from advisor.costmodel.advise import recommended_steps

        plan = consistency(advice).plan
        ports = (fmt_plan(advice, plan) if recommended_steps(plan) or not recommended_steps(advice.plan)
                 else "none outside the items (what a port would change is in them)")
    if not items:
        return ports
    lead = lead_line(items, getattr(advice.config, "is_builtin", False))
    more = f" (+{len(items) - 1} more item{'s' if len(items) > 2 else ''})" if len(items) > 1 else ""
    return f"{lead}{more} · ports: {ports}"
