"""How a speedup and a dollar figure are written: one place for every layer (the cost model's sentences
and the renderers), so the same figure reads the same in the terminal, the report, the spreadsheet's
static text and advice.json's reasons."""

from __future__ import annotations

import math


def fmt_x(value: float) -> str:
    """A speedup: ``1.84×``, ``12.3×``, ``150×``; ``∞×`` when unbounded. Below 1 it is a slowdown, still a
    factor."""
    if not math.isfinite(value):
        return "∞×"
    return f"{value:.2f}×" if value < 10 else f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"


def fmt_usd(value: float) -> str:
    """``$1,234``, ``$1.23M``, ``−$56`` for a loss (a true minus sign); ``—`` for no figure."""
    if not math.isfinite(value):
        return "—"
    sign = "−" if value < 0 else ""
    v = abs(value)
    if v >= 1e6:
        return f"{sign}${v / 1e6:.2f}M"
    return f"{sign}${v:,.0f}"
