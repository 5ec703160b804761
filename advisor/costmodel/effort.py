"""Engineering effort and its price for porting one kernel to one target, as low / typical / high.

effort_weeks = (lines / 100) x team.weeks_per_100_loc x (1 + complexity_weight x max(0, cc - 1))
               x target.effort_multiplier + target.fixed_weeks
cost_usd     = effort_weeks x team.engineer_cost_per_week

Lines and cyclomatic complexity come from ``classify`` (radon); the per-100-line rate and the fixed
build/CI weeks carry their own ranges (PRIORS.md §3.3), so low pairs with low and high with high.
"""

from __future__ import annotations

from advisor.costmodel.config import Target, Team
from advisor.costmodel.formulas import effort_weeks, port_cost
from advisor.costmodel.types import Category, Range


def effort_range(category: Category, target: Target, team: Team) -> Range:
    """Engineer-weeks to port a kernel of ``category``'s size and complexity to ``target``."""
    rate, fixed = team.weeks_per_100_loc, target.fixed_weeks

    def one(r: float, f: float) -> float:
        return effort_weeks(category.lines, r, category.complexity, team.complexity_weight,
                            target.effort_multiplier, f)

    return Range(one(rate.low, fixed.low), one(rate.typical, fixed.typical), one(rate.high, fixed.high))


def cost_range(effort: Range, team: Team) -> Range:
    """Dollars of engineering for an effort range."""
    c = team.engineer_cost_per_week
    return Range(port_cost(effort.low, c), port_cost(effort.typical, c), port_cost(effort.high, c))
