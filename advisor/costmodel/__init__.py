"""Cost model: (Analysis, CostConfig) → Advice. Filled in by the cost-model issue."""
