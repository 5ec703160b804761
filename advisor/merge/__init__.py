"""``advisor merge``: the ranks of one distributed run, side by side (docs/how-it-works.md, "Ranks")."""

from advisor.merge.core import MergeAdvice, Merged, MergedHotspot, RankRow, merge, merge_paths
from advisor.merge.load import RankProfile, find_rank_profiles

__all__ = ["MergeAdvice", "Merged", "MergedHotspot", "RankProfile", "RankRow", "find_rank_profiles", "merge",
           "merge_paths"]
