"""Typed results of the cost model: what ``advise(analysis, config)`` returns and every renderer reads.

Every number carries ``sources``: which profile field or config key it came from, so reports can list
the assumptions behind each figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor.analysis import Analysis, Hotspot

# Verdict codes (stable strings used in advice.json, the HTML report and the spreadsheet).
PORT = "port"
JIT_VECTORIZE = "jit-vectorize"
TUNE_GC = "tune-gc"
FIX_IO = "fix-io"
ACCELERATOR = "accelerator"
LEAVE = "leave"
VERDICT_LABELS = {
    PORT: "port", JIT_VECTORIZE: "JIT / vectorize first", TUNE_GC: "tune the GC",
    FIX_IO: "fix the I/O", ACCELERATOR: "move to an accelerator", LEAVE: "leave it",
}

# Code categories (PRIORS.md §1.2 columns a–f, plus mixed).
CATEGORIES = ("numeric-loop", "object-heavy", "small-numpy-calls", "vectorized", "strings", "io-bound", "mixed")


@dataclass(frozen=True, slots=True)
class Range:
    """A low / typical / high estimate."""

    low: float
    typical: float
    high: float


@dataclass(frozen=True, slots=True)
class Assumption:
    """One config value used, with its key path and the source its default cites."""

    key: str  # e.g. "targets.rust.speedup.numeric-loop"
    value: Any
    source: str  # e.g. "PRIORS.md S21-S24" or "user config team.toml"


@dataclass(frozen=True, slots=True)
class TargetEstimate:
    """Porting one hotspot to one target."""

    target: str  # key in config.targets, e.g. "rust"
    target_name: str  # e.g. "Rust (PyO3)"
    kernel_speedup: Range  # speedup of the hotspot's own time
    end_to_end: Range  # whole-step speedup (Amdahl)
    boundary_s_per_step: Range  # per-call crossing cost added per step
    calls_per_step: float  # exact, or (``calls_exact`` False) a lower bound from samples
    calls_exact: bool  # True when from --mode cprofile counts
    effort_weeks: Range
    cost_usd: Range
    savings_per_month_usd: Range
    payback_months: Range | None  # None (never) when typical savings <= 0; high is inf when low savings <= 0
    sources: tuple[str, ...] = ()
    kind: str = ""  # port | cheap | accelerator
    share: float = 0.0  # p: the hotspot's self share of the step (all four buckets)
    new_share: Range | None = None  # its share of the old step after the change (min, typical, max)
    maturity: str = ""  # the target's maturity note
    measured: str = ""  # the `advisor try` experiment whose measurement replaced the prior ("" for a prior)
    calls_max: float | None = None  # the most calls per step possible when not exact (advise.calls_ceiling)


@dataclass(frozen=True, slots=True)
class Category:
    """Code category of a hotspot with the evidence behind it."""

    name: str  # one of CATEGORIES
    evidence: str  # e.g. "3 nested for-loops, 88% interpreted, no NumPy calls in the loop"
    lines: int
    complexity: int  # cyclomatic complexity (radon)
    dispatch_bound: bool = False  # called over and over for less than a sampling interval each
    framework: str = ""  # torch / jax / tensorflow when the time is in that framework: no NumPy levers
    gc_visible: bool = True  # False in the deterministic modes, which cannot see the cyclic GC
    loop_owner: int | None = None  # NumPy calls run in a Python loop: the frame whose loop it is (self or caller)


@dataclass(frozen=True, slots=True)
class KernelAdvice:
    """The answer for one hotspot."""

    hotspot: Hotspot
    category: Category
    verdict: str  # one of the verdict codes above
    reason: str  # one sentence quoting the numbers
    best: TargetEstimate | None  # the recommended target (None for leave / fix-io / tune-gc)
    estimates: tuple[TargetEstimate, ...]  # all candidate targets, best first

    @property
    def verdict_label(self) -> str:
        return VERDICT_LABELS.get(self.verdict, self.verdict)


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One row of the port plan: cumulative effect after porting this kernel too."""

    kernel: str  # hotspot qualname
    target: str
    end_to_end: Range  # cumulative step speedup
    cost_usd: float  # cumulative (typical)
    savings_per_month_usd: float  # cumulative (typical)
    payback_months: float | None
    pays_back: bool  # False from the first kernel whose own payback is beyond the horizon


@dataclass(frozen=True, slots=True)
class Advice:
    """Everything the cost model concluded, for renderers and advice.json."""

    analysis: Analysis
    config: Any  # CostConfig
    kernels: tuple[KernelAdvice, ...]
    plan: tuple[PlanStep, ...]
    monthly_bill_usd: float
    assumptions: tuple[Assumption, ...]
    config_source: str  # "built-in defaults" or the file path
    notes: tuple[str, ...] = field(default_factory=tuple)
    items: tuple[Any, ...] = ()  # costmodel.items.Item, largest savings first: what to do first, at any level
    measured: tuple[Any, ...] = field(default_factory=tuple)  # experiments.results.Tryout from `advisor try`
