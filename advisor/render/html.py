"""The HTML report: one self-contained page a team opens in a review meeting.

``render_html(advice)`` turns an ``Advice`` into a string. The page answers "what should we port, and
why" in its first screen, then lets an engineer dig into the evidence: a sortable hotspot table, one card
per hotspot (source with line heat, category evidence, target comparison), the step's call tree as an
interactive icicle, the port plan as a chart, and the assumptions ledger.

Everything is inline (CSS, JS, SVG, data); the page makes no network request and reads correctly with
JavaScript off, because tables, cards and the plan chart are rendered here, on the server side. Templates
live in the ``advisor.templates`` package and are autoescaped, so hostile function or file names show as
text. The numbers come from ``Advice``; this module only formats them and lays out the charts.
"""

from __future__ import annotations

import ast
import functools
import json
import math
import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

from advisor.analysis import Hotspot
from advisor.costmodel.advise import recommended_steps
from advisor.costmodel.measured import is_measured, versus_words
from advisor.costmodel.types import Advice, KernelAdvice, PlanStep
from advisor.model import BUCKETS, Profile, Split
from advisor.render._format import (  # noqa: F401  (re-exported: advisor.render.html.fmt_* stay importable)
    fmt_calls, fmt_duration, fmt_months, fmt_pct, fmt_range, fmt_usd, fmt_weeks, fmt_x, short_path)
from advisor.render.flame import FLAME_MIN_SHARE, _first, _own_end, _run_end, flame_tree  # noqa: F401

MAX_TABLE_ROWS = 200
MAX_CARDS = 40
MAX_SOURCE_LINES = 160
BUCKET_LABELS = {"interpreted": "interpreted", "native": "native", "waiting": "waiting", "gc": "GC"}


def split_view(split: Split) -> list[dict[str, Any]]:
    """The four buckets of a split as bar segments: name, share (0–1) and its label."""
    shares = split.shares()
    return [{"bucket": b, "label": BUCKET_LABELS[b], "share": shares[b], "pct": fmt_pct(shares[b])}
            for b in BUCKETS]


# ---- first screen ------------------------------------------------------------------------------------
def recommended_plan(plan: tuple[PlanStep, ...]) -> PlanStep | None:
    """The last plan step the cost model recommends (``costmodel.recommended_steps``); None: port nothing."""
    steps = recommended_steps(plan)
    return steps[-1] if steps else None


def _first_screen(advice: Advice, c: Any = None) -> dict[str, Any]:
    from advisor.costmodel.items_consistency import consistency

    a = advice.analysis
    c = c if c is not None else consistency(advice)
    chosen = recommended_plan(c.plan)
    n_ported = c.plan.index(chosen) + 1 if chosen is not None else 0
    # "What to do": the items in their ranked order, then the verdicts no item owns or stands for
    # (a function whose time an item owns points to it in the table and its card instead).
    top = list(c.rest)[:4]
    return {"step_name": a.step_name, "step_reason": a.step_reason, "stats": a.stats,
            "mean": fmt_duration(a.stats.mean_s), "median": fmt_duration(a.stats.median_s),
            "p95": fmt_duration(a.stats.p95_s), "plan": chosen, "n_ported": n_ported,
            "kernels_in_plan": [s.kernel for s in c.plan[:n_ported]],
            "bill": fmt_usd(advice.monthly_bill_usd), "top": [_sentence(k) for k in top],
            "split": split_view(a.step_split), **_items_view(advice, c)}


MAX_ITEMS = 6


def _items_view(advice: Advice, c: Any) -> dict[str, Any]:
    """The ranked items (any kind, largest savings first) that lead "What to do", each with the functions
    whose time it owns (their verdicts point to it)."""
    from advisor.costmodel.item import fmt_step_x
    from advisor.costmodel.items import combined

    hot = {h.frame: h for h in advice.analysis.hotspots}
    owned: dict[int, list[dict[str, str]]] = {}
    for f, p in c.pointers.items():
        if f in hot:
            owned.setdefault(p.rank, []).append({"name": hot[f].key.qualname, "anchor": _anchor(hot[f]),
                                                 "owned": fmt_pct(p.owned)})
    items = advice.items[:MAX_ITEMS]
    both = combined(advice.items) if advice.items else None
    return {"answer_items": [{"kind": it.kind, "title": it.title, "scope": it.scope, "share": fmt_pct(it.share),
                       "e2e": fmt_step_x(it.end_to_end.typical), "e2e_range": fmt_range(it.end_to_end, fmt_step_x),
                       "savings": fmt_usd(it.savings_per_month_usd.typical), "cost": fmt_usd(it.cost_usd.typical),
                       "reason": it.reason, "measured": it.measured, "rank": i,
                       "functions": owned.get(i, [])[:6]} for i, it in enumerate(items, 1)],
            "builtin": bool(getattr(advice.config, "is_builtin", False)), "n_items": len(advice.items),
            "combined": f"{fmt_step_x(both.typical)} ({fmt_range(both, fmt_step_x)})" if both is not None else "",
            "plan_left_out": [hot[f].key.qualname for f in c.pointers if f in hot
                              and any(s.kernel == hot[f].key.qualname for s in advice.plan)]}


def _sentence(k: KernelAdvice) -> dict[str, Any]:
    """One kernel's verdict in plain words, for the first screen."""
    h = k.hotspot
    label = k.verdict_label[:1].upper() + k.verdict_label[1:]
    if k.verdict == "port" and k.best is not None:
        lead = f"Port to {k.best.target_name}"
    elif k.verdict == "accelerator" and k.best is not None:
        lead = f"Move to {k.best.target_name}"
    elif k.best is not None:
        lead = f"{label} ({k.best.target_name})"
    else:
        lead = label
    gain = (f"{fmt_range(k.best.end_to_end)} on the step, pays back in {fmt_months(k.best.payback_months.typical)}"
            if k.best is not None and k.best.payback_months is not None else
            f"{fmt_range(k.best.end_to_end)} on the step" if k.best is not None else "")
    return {"lead": lead, "name": h.key.qualname, "share": fmt_pct(h.self_share), "verdict": k.verdict,
            "reason": k.reason, "gain": gain, "anchor": _anchor(h)}


def _anchor(h: Hotspot) -> str:
    return f"hs-{h.frame}"


# ---- hotspot table and cards -------------------------------------------------------------------------
def _rows(advice: Advice, pointers: dict[int, Any]) -> list[dict[str, Any]]:
    verdicts = {k.hotspot.frame: k for k in advice.kernels}
    rows = []
    for rank, h in enumerate(advice.analysis.hotspots[:MAX_TABLE_ROWS], 1):
        k = verdicts.get(h.frame)
        rows.append({"rank": rank, "h": h, "k": k, "anchor": _anchor(h), "see": pointers.get(h.frame),
                     "where": f"{short_path(h.key.file)}:{h.key.line}",
                     "self": fmt_pct(h.self_share), "incl": fmt_pct(h.inclusive_share),
                     "split": split_view(h.self_split), "interp": h.self_split.shares()["interpreted"]})
    return rows


def _cards(advice: Advice, pointers: dict[int, Any]) -> list[dict[str, Any]]:
    verdicts = {k.hotspot.frame: k for k in advice.kernels}
    trees: dict[str, ast.AST | None] = {}
    cards = []
    for rank, h in enumerate(advice.analysis.hotspots[:MAX_CARDS], 1):
        k = verdicts.get(h.frame)
        cards.append({"rank": rank, "h": h, "k": k, "anchor": _anchor(h), "split": split_view(h.self_split),
                      "see": pointers.get(h.frame),
                      "self": fmt_pct(h.self_share), "incl": fmt_pct(h.inclusive_share),
                      "self_s": fmt_duration(h.self_split.total / max(advice.analysis.stats.count, 1)),
                      "source": _source(advice.analysis.profile, h, trees),
                      "targets": [_target_row(t, k) for t in k.estimates] if k else []})
    return cards


def _target_row(t: Any, k: KernelAdvice) -> dict[str, Any]:
    calls = fmt_calls(t.calls_per_step, t.calls_exact, t.calls_max)
    return {"name": t.target_name, "best": k.best is t, "kernel": t.kernel_speedup, "e2e": t.end_to_end,
            "effort": fmt_range(t.effort_weeks, fmt_weeks) + " wk",
            "cost": fmt_usd(t.cost_usd.typical), "cost_range": fmt_range(t.cost_usd, fmt_usd),
            "savings": fmt_usd(t.savings_per_month_usd.typical),
            "payback": fmt_months(t.payback_months.typical if t.payback_months else None),
            "payback_range": fmt_range(t.payback_months, fmt_months) if t.payback_months else "never",
            "boundary": fmt_duration(t.boundary_s_per_step.typical), "calls": calls,
            "sources": ", ".join(t.sources), "maturity": t.maturity}


def _function_end(tree: ast.AST | None, first_line: int) -> int | None:
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if start == first_line:
                return node.end_lineno
    return None


def _source(profile: Profile, h: Hotspot, trees: dict[str, ast.AST | None]) -> dict[str, Any] | None:
    """The hotspot's source lines with each line's share of the step (None when the source is absent)."""
    text = profile.sources.get(h.key.file)
    if text is None or h.key.line < 1:
        return None
    if h.key.file not in trees:
        try:
            trees[h.key.file] = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            trees[h.key.file] = None
    lines = text.splitlines()
    heat = {lh.line: lh for lh in h.lines}
    end = _function_end(trees[h.key.file], h.key.line) or max([h.key.line, *heat]) + 2
    start, end = h.key.line, min(end, len(lines), h.key.line + MAX_SOURCE_LINES - 1)
    hottest = max((lh.share for lh in h.lines), default=0.0) or 1.0
    out = []
    for n in range(start, end + 1):
        lh = heat.get(n)
        out.append({"n": n, "text": lines[n - 1], "share": fmt_pct(lh.share) if lh else "",
                    "heat": round(lh.share / hottest, 3) if lh else 0.0,
                    "split": " · ".join(f"{s['label']} {s['pct']}" for s in split_view(lh.split)) if lh else ""})
    hidden = sum(1 for ln in heat if ln < start or ln > end)
    return {"lines": out, "file": h.key.file, "hidden": hidden}



def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</``, ``<!--`` or ``]]>`` can appear."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# ---- port plan chart ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Box:
    width: int = 760
    height: int = 280
    left: int = 56
    right: int = 70
    top: int = 20
    bottom: int = 64


def plan_chart(plan: tuple[PlanStep, ...], box: _Box = _Box()) -> dict[str, Any] | None:
    """Geometry of the port-plan chart: cumulative speedup (line and band) over cumulative cost (bars)."""
    if not plan:
        return None
    n = len(plan)
    inner_w, inner_h = box.width - box.left - box.right, box.height - box.top - box.bottom
    top_x = max(max(p.end_to_end.high for p in plan if math.isfinite(p.end_to_end.high)) if any(
        math.isfinite(p.end_to_end.high) for p in plan) else 2.0, 1.1)
    top_x = _nice_ceiling(top_x)
    top_cost = _nice_ceiling(max(max(p.cost_usd for p in plan), 1.0))
    step_w = inner_w / n

    def x(i: int) -> float:  # i = 0 is "today", plan steps at 1..n
        return box.left + step_w * (i - 0.5) if i else box.left

    def ys(v: float) -> float:
        v = min(max(v, 1.0), top_x)
        return box.top + inner_h * (1 - (v - 1.0) / (top_x - 1.0))

    def yc(v: float) -> float:
        return box.top + inner_h * (1 - v / top_cost)

    pts = [(x(0), ys(1.0))] + [(x(i + 1), ys(p.end_to_end.typical)) for i, p in enumerate(plan)]
    band = [(x(0), ys(1.0))] + [(x(i + 1), ys(p.end_to_end.high)) for i, p in enumerate(plan)] + \
        [(x(i + 1), ys(p.end_to_end.low)) for i, p in reversed(list(enumerate(plan)))]
    bar_w = min(step_w * 0.5, 60)
    bars = [{"x": x(i + 1) - bar_w / 2, "y": yc(p.cost_usd), "w": bar_w, "h": box.top + inner_h - yc(p.cost_usd),
             "pays": p.pays_back, "label": _clip(p.kernel, max(6, int(step_w / 7))), "full": p.kernel,
             "cx": x(i + 1), "sx": fmt_x(p.end_to_end.typical), "sy": ys(p.end_to_end.typical),
             "cost": fmt_usd(p.cost_usd), "range": fmt_range(p.end_to_end), "target": p.target,
             "savings": fmt_usd(p.savings_per_month_usd), "payback": fmt_months(p.payback_months)}
            for i, p in enumerate(plan)]
    n_pay = len(recommended_steps(plan))
    first_loss = n_pay if n_pay < n else None
    return {"box": box, "line": _points(pts), "band": _points(band), "bars": bars,
            "yticks": [(ys(v), fmt_x(v)) for v in _ticks(1.0, top_x)],
            "cticks": [(yc(v), fmt_usd(v)) for v in _ticks(0.0, top_cost)],
            "horizon_x": x(first_loss + 1) - step_w / 2 if first_loss is not None and first_loss > 0 else None,
            "base_y": box.top + inner_h, "right_x": box.width - box.right}


def _points(pts: list[tuple[float, float]]) -> str:
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)


def _nice_ceiling(v: float) -> float:
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * mag >= v:
            return m * mag
    return 10 * mag


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# ---- assumptions ledger ------------------------------------------------------------------------------
def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out.extend(_flatten(f"{prefix}.{k}" if prefix else str(k), v))
        return out or [(prefix, "—")]
    return [(prefix, _value(value))]


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return " / ".join(_value(v) for v in value)
    return json.dumps(value, default=str) if isinstance(value, dict) else str(value)


def _ledger(advice: Advice) -> dict[str, Any]:
    a = advice.analysis
    p = a.profile
    run = [("command", p.command.line()),
           ("mode", p.mode + ("" if p.mode == "cprofile" else f", every {fmt_duration(p.interval_s)}")),
           ("started", p.started_at), ("run wall time", fmt_duration(p.wall_s)),
           ("samples", f"{p.samples:,} in the run, {a.step_samples:,} in the measured step"),
           ("step", f"{a.step_name} — {a.step_reason}"),
           ("steps", f"{a.stats.count} measured, {a.stats.dropped_warmup} warm-up dropped"
                     + (f", {a.counted_out} left out (its calls were counted)" if a.counted_out else "")),
           ("outside the step", fmt_duration(a.outside_split.total + a.warmup_split.total)),
           ("ended", f"{p.outcome.stopped_by} (exit code {p.outcome.exit_code})"
            + (f": {p.outcome.detail}" if p.outcome.detail else ""))]
    caveats = list(a.caveats) + list(advice.notes)
    caveats.append(f"{a.step_samples:,} samples fell in the measured step"
                   + ("" if p.mode == "cprofile" else f" (one every {fmt_duration(p.interval_s)})")
                   + "; shares of small hotspots carry sampling noise.")
    return {"assumptions": [(x.key, _value(x.value), x.source) for x in advice.assumptions],
            "config_source": advice.config_source, "environment": _flatten("", p.environment),
            "run": run, "caveats": caveats}


# ---- entry point -------------------------------------------------------------------------------------
def _bytecode_cache() -> Any:
    """jinja2's compiled templates kept between runs (compiling report.html's template is ~0.3 s of every
    run's fixed cost). jinja2's own per-user folder in the temp dir (created 0700, refused when another
    user owns it); each entry is checked against the template's source, so an upgraded template is never
    served stale. A cache that cannot be made or written is no cache: the report is rendered all the same."""
    import jinja2

    class _Quiet(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, EOFError, ValueError, TypeError):
                bucket.reset()

    if os.environ.get("ADVISOR_TEMPLATE_CACHE", "on") == "off":
        return None
    try:
        return _Quiet()
    except (OSError, RuntimeError):  # no usable temp dir, or a folder of that name owned by someone else
        return None


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2  # lazy: importing advisor must not load jinja2

    files = resources.files("advisor.templates")

    def load(name: str) -> str:
        return files.joinpath(name).read_text(encoding="utf-8")

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), autoescape=True, bytecode_cache=_bytecode_cache(),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(x=fmt_x, weeks=fmt_weeks, usd=fmt_usd, months=fmt_months, pct=fmt_pct, dur=fmt_duration,
                       xrange=fmt_range, short=short_path)
    env.globals["asset"] = load
    return env


def measured_rows(advice: Advice) -> list[dict[str, Any]]:
    """``advisor try`` results for the Measured section: each result, its words, what it replaced."""
    from advisor.render.tryouts import used_by

    return [{"t": t, "words": versus_words(t) if is_measured(t) else "", "used_by": used_by(advice, t.name)}
            for t in advice.measured]


def render_html(advice: Advice) -> str:
    """Render ``advice`` as one self-contained HTML page (CSS, JS, SVG and data inline).

    Raises ``jinja2.TemplateError`` only for a broken template (a bug); any Advice renders.
    """
    a = advice.analysis
    env = _environment()
    title = f"advisor · {a.profile.command.target or a.step_name}"
    from advisor.costmodel.items_consistency import consistency

    c = consistency(advice)
    return env.get_template("report.html.j2").render(
        title=title, advice=advice, a=a, first=_first_screen(advice, c), rows=_rows(advice, c.pointers),
        more_rows=max(0, len(a.hotspots) - MAX_TABLE_ROWS), cards=_cards(advice, c.pointers),
        more_cards=max(0, len(a.hotspots) - MAX_CARDS), chart=plan_chart(c.plan),
        plan=c.plan, ledger=_ledger(advice), measured=measured_rows(advice),
        flame_json=embed_json({**flame_tree(a.profile), "steps": max(a.stats.count, 1)}),
        buckets=[(b, BUCKET_LABELS[b]) for b in BUCKETS],
        target=os.path.basename(a.profile.command.target),
        css=env.globals["asset"]("report.css"), js=env.globals["asset"]("report.js"), workers=_workers(a))


def _workers(a: Any) -> Any:
    """The "Workers and threads" section, escaped by ``render.parts`` itself."""
    from markupsafe import Markup

    from advisor.render.parts import parts_html

    return Markup(parts_html(a.pipeline))
