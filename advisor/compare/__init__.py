"""Before/after: did the change deliver what the advice predicted? (``advisor compare``)"""

from advisor.compare.core import (Comparison, FunctionDelta, NotComparable, PredictionCheck, StepCheck, StepTimes,
                                  compare, compare_paths, load_side)
from advisor.compare.match import Match, match_functions
from advisor.compare.predictions import Prediction, Span

__all__ = ["Comparison", "FunctionDelta", "Match", "NotComparable", "Prediction", "PredictionCheck", "Span",
           "StepCheck", "StepTimes", "compare", "compare_paths", "load_side", "match_functions"]
