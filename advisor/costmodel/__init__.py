"""Cost model: (Analysis, CostConfig) → Advice.

``load_config(path=None, preset=None)`` reads and validates the TOML configuration (built-in defaults when
no file is given); ``advise(analysis, config)`` estimates every hotspot against every target and gives
the verdicts and the port plan. The formulas are in ``formulas.py`` and docs/cost-model.md.
"""

from advisor.costmodel.advise import advise, recommended_steps
from advisor.costmodel.config import PRESETS, CostConfig, Target, load_config, preset_text
from advisor.costmodel.types import (Advice, Assumption, Category, KernelAdvice, PlanStep, Range,
                                     TargetEstimate)

__all__ = [
    "PRESETS", "Advice", "Assumption", "Category", "CostConfig", "KernelAdvice", "PlanStep", "Range", "Target",
    "TargetEstimate", "advise", "load_config", "preset_text", "recommended_steps",
]
