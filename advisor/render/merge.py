"""Formats a ``merge.Merged``: terminal text, versioned JSON (``merged.json``), one HTML page
(``merged.html``). Numbers come from the Merged; this module only formats them. Names, paths and hosts
come from profiles someone else may have written: the text view shows them through ``printable``, the
HTML through jinja2's autoescape."""

from __future__ import annotations

import json
from typing import Any

from advisor.render._format import fmt_duration, fmt_pct
from advisor.render._safe import printable
from advisor.render.compare import _plain

FORMAT = "advisor-merged"
VERSION = 1
WAIT_LABEL = "waiting on other ranks"
TEXT_HOTSPOTS = 8


def _split_text(row: Any) -> str:
    s = row.split
    return "/".join(fmt_pct(v / row.mean_s) if row.mean_s > 0 else "0%"
                    for v in (s.interpreted, s.native, s.waiting, s.gc))


def rank_rows(m: Any) -> list[dict[str, str]]:
    """One formatted row per rank (shared by the text and HTML views)."""
    rows = []
    for r in m.ranks:
        flag = "straggler" if r.rank in m.stragglers else ("slowest" if r.rank == m.slowest and len(m.ranks) > 1
                                                           else "")
        rows.append({"rank": str(r.rank), "host": r.host, "steps": str(r.steps), "mean": fmt_duration(r.mean_s),
                     "median": fmt_duration(r.median_s), "p95": fmt_duration(r.p95_s),
                     "busy": fmt_duration(r.busy_s), "wait": f"{fmt_duration(r.wait_s)} ({fmt_pct(r.wait_share)})",
                     "inferred": fmt_duration(r.wait_inferred_s) if r.wait_inferred_s > 0 else "",
                     "split": _split_text(r), "flag": flag,
                     "ops": ", ".join(f"{op} {fmt_duration(s)}" for op, s in r.wait_by_op[:3])})
    return rows


def hotspot_rows(m: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """Merged hotspots formatted: per-rank busy time per step, mean, spread, the busiest rank."""
    out = []
    for h in m.hotspots[:limit]:
        out.append({"label": h.label, "cells": [fmt_duration(v) if v > 0 else "—" for v in h.per_rank_s],
                    "mean": fmt_duration(h.mean_s), "spread": fmt_duration(h.spread_s),
                    "max_rank": str(h.max_rank)})
    return out


def headline(m: Any) -> str:
    """The answer in one line: the straggler (or that there is none) and what the others wait."""
    n = len(m.ranks)
    if n < 2:
        return f"1 rank found of {m.world_size}: nothing to compare; merge the folders of every rank"
    if m.stragglers:
        who = ", ".join(f"rank {r}" for r in m.stragglers)
        others = [r for r in m.ranks if r.rank not in m.stragglers]
        wait = max(r.wait_s for r in others) if others else 0.0
        return (f"straggler: {who} ({fmt_duration(m.row(m.slowest).busy_s)} own work per step vs "
                f"{fmt_duration(m.typical_busy_s)})"
                + (f"; the others wait up to {fmt_duration(wait)} per step on it" if wait > 0 else ""))
    return (f"no straggler: own work per step differs by {fmt_duration(m.spread_s)} ({fmt_pct(m.spread_share)}) "
            f"between ranks; slowest rank {m.slowest}")


def render_merged_text(m: Any) -> str:
    """The terminal view: per-rank table, merged hotspots, advice, notes."""
    out = [f"merged: {len(m.ranks)} of {m.world_size} ranks"
           + (f" · run {printable(m.run_id)}" if m.run_id else "")
           + f" · {len(m.hosts)} host{'s' if len(m.hosts) != 1 else ''}", headline(m),
           f"{'rank':>4} {'host':<14} {'steps':>5} {'mean':>9} {'p95':>9} {'own work':>9}  "
           f"{WAIT_LABEL:<22} split (interp/native/wait/gc)"]
    for r in rank_rows(m):
        out.append(f"{r['rank']:>4} {printable(r['host'])[:14]:<14} {r['steps']:>5} {r['mean']:>9} {r['p95']:>9} "
                   f"{r['busy']:>9}  {r['wait']:<22} {r['split']}" + (f"  ← {r['flag']}" if r['flag'] else ""))
    ranks = [r.rank for r in m.ranks]
    if m.hotspots:
        out.append("own work per step, by function (" + WAIT_LABEL + " excluded):")
        head = " ".join(f"{'rank ' + str(r):>9}" for r in ranks[:8])
        out.append(f"  {'function':<40} {head} {'spread':>9}")
        for h in hotspot_rows(m, TEXT_HOTSPOTS):
            cells = " ".join(f"{c:>9}" for c in h["cells"][:8])
            out.append(f"  {printable(h['label'])[:40]:<40} {cells} {h['spread']:>9}")
    ops = [f"rank {r.rank}: " + ", ".join(f"{op} {fmt_duration(s)}" for op, s in r.wait_by_op[:3])
           for r in m.ranks if r.wait_by_op]
    if ops:
        out.append(f"{WAIT_LABEL}, per step: " + " · ".join(ops))
    out += [f"advice: {a.text}" if a.kind != "caveat" else f"caveat: {a.text}" for a in m.advice]
    out += process_lines(m)
    out += [f"note: {printable(n)}" for n in m.notes]
    return "\n".join(out) + "\n"


def process_lines(m: Any) -> list[str]:
    """Each rank's input-pipeline verdict and its workers / threads, one line each."""
    out = [f"input pipeline, rank {rank}: {printable(text)}" for rank, text in getattr(m, "pipelines", ())]
    for p in getattr(m, "processes", ())[:TEXT_HOTSPOTS * 2]:
        many = f" ×{p.processes}" if p.processes > 1 and p.role != "thread" else ""
        sh = p.split.shares()
        split = "/".join(fmt_pct(sh[b]) for b in ("interpreted", "native", "waiting", "gc"))
        out.append(f"  rank {p.rank} {p.role} {printable(p.name)}{many}: {split} · top "
                   f"{printable(p.hotspot or '—')} · {printable(p.verdict)}")
    return out


def merged_to_json(m: Any) -> dict[str, Any]:
    """The merged view as JSON (format advisor-merged, version 1); every figure in seconds per step."""
    data = _plain(m)
    for row, r in zip(data["ranks"], m.ranks):
        row["busy_s"], row["wait_share"] = r.busy_s, r.wait_share
        row["wait_by_op"] = {op: s for op, s in r.wait_by_op}
    return {"format": FORMAT, "version": VERSION, **data, "headline": headline(m)}


def render_merged_json(m: Any) -> str:
    return json.dumps(merged_to_json(m), indent=1, allow_nan=False, ensure_ascii=False) + "\n"


def render_merged_html(m: Any) -> str:
    """One self-contained HTML page: the headline, ranks side by side, merged hotspots, advice, notes."""
    from advisor.render.html import _environment

    env = _environment()
    busiest = max((r.mean_s for r in m.ranks), default=0.0) or 1.0
    bars = [{"rank": r.rank, "busy": 100 * r.busy_s / busiest, "wait": 100 * r.wait_s / busiest}
            for r in m.ranks]
    return env.get_template("merged.html.j2").render(
        m=m, headline=headline(m), ranks=rank_rows(m), hotspots=hotspot_rows(m), bars=bars,
        rank_ids=[r.rank for r in m.ranks], wait_label=WAIT_LABEL, css=env.globals["asset"]("report.css"))
