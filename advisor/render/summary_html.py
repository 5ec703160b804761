"""A compact HTML summary for notebooks (``_repr_html_``): the step, its split, the top hotspots and
their verdicts, the plan's first line. Formats only; the numbers come from Analysis and Advice."""

from __future__ import annotations

from typing import Any

from advisor.model import BUCKETS

MAX_ROWS = 8


def _rows(analysis: Any, advice: Any) -> list[dict[str, Any]]:
    from advisor.render._format import fmt_pct, short_path

    from advisor.costmodel.items_consistency import consistency

    verdicts = {k.hotspot.frame: k for k in advice.kernels} if advice is not None else {}
    pointers = consistency(advice).pointers if advice is not None else {}
    rows = []
    for h in analysis.hotspots[:MAX_ROWS]:
        k, ptr = verdicts.get(h.frame), pointers.get(h.frame)
        verdict = ("" if k is None else ptr.words if ptr is not None
                   else k.verdict_label + (f" → {k.best.target_name}" if k.best else ""))
        s = h.self_split.shares()
        rows.append({"name": h.key.qualname, "where": f"{short_path(h.key.file, 1)}:{h.key.line}",
                     "self": h.self_share, "incl": h.inclusive_share, "verdict": verdict,
                     "split": " / ".join(fmt_pct(s[b]) for b in BUCKETS)})
    return rows


def _plan(advice: Any) -> str:
    """The terminal's plan line: the largest item first, then the ports no item owns."""
    from advisor.render.terminal import plan_line

    return plan_line(advice) if advice is not None and (advice.plan or advice.items) else ""


def render_summary_html(advice: Any, written: dict[str, str] | None = None, analysis: Any = None,
                        failed: dict[str, str] | None = None) -> str:
    """HTML fragment for ``advice`` (or for ``analysis`` alone when ``advice`` is None); ``failed`` lists
    outputs that could not be written (name → reason)."""
    from advisor.render.html import _environment

    a = analysis if advice is None else advice.analysis
    shares = a.step_split.shares()
    return _environment().get_template("summary.html.j2").render(
        a=a, split=[(b, shares[b]) for b in BUCKETS], rows=_rows(a, advice), plan=_plan(advice),
        caveats=list(a.caveats), written=sorted((written or {}).items()),
        failed=sorted((failed or {}).items()))


def render_analysis_html(analysis: Any) -> str:
    """HTML fragment for an ``Analysis`` (no verdicts)."""
    return render_summary_html(None, None, analysis)
