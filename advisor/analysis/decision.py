"""What step detection reads and decides: ``Measurement`` in, ``StepDecision`` out, and the context the
rules share (``Ctx``: the samples as columns, the call table, the run's model-update frames)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from advisor._np import np
from advisor.analysis import loopstep
from advisor.analysis import step as stepmod
from advisor.analysis.samples import SampleTable
from advisor.model import REGIONS, Candidate, CountedStep, FrameKey, StepInfo, StepTiming

Row = tuple[tuple[int, ...], tuple[int, ...], float, int]  # frame ids, lines, weight (s), new_from

# endings after which the last step was cut short (not a complete step)
CUT_SHORT = ("interrupt", "sigterm", "max-steps", "exception", "checkpoint", "os._exit")


@dataclass(frozen=True, slots=True)
class Measurement:
    """What detection reads: the samples in order, the frame table, user flags and sources."""

    rows: Sequence[Row]  # a tuple, or stepping.Rows (made as read)
    frames: tuple[FrameKey, ...]
    user: tuple[bool, ...]
    sources: dict[str, str]
    mode: str = "sample"
    stopped_by: str = "exit"
    calls: dict[int, int] | None = None  # exact call counts (cprofile)
    timings: tuple[StepTiming, ...] = ()
    times: Any = ()  # each row's time on the sampler's clock (what StepTiming uses; see samples.times_at)
    counted: tuple[CountedStep, ...] = ()  # calls counted over one step (left out of the step's figures)


@dataclass(frozen=True, slots=True)
class StepDecision:
    """The step (None: the whole run), the region of each row, candidates, and notes for the user."""

    step: StepInfo | None
    regions: Any  # per row, its region as an index into model.REGIONS (NumPy int8)
    candidates: tuple[Candidate, ...]
    warnings: tuple[str, ...] = ()
    matched: bool = True  # False when --step named nothing that ran


STEP, WARMUP, OUTSIDE = (REGIONS.index(r) for r in ("step", "warmup", "outside"))


@dataclass(slots=True)
class Ctx:
    m: Measurement
    st: SampleTable
    table: stepmod.CallTable
    run_total: float
    updates: frozenset[int] = frozenset()
    optimizers: frozenset[int] = frozenset()
    _loops: dict[tuple[int, int], list[tuple[int, int, str]]] = field(default_factory=dict)

    def loops_at(self, fid: int, line: int) -> list[tuple[int, int, str]]:
        """Loops of ``fid``'s source around ``line``, innermost first (cached)."""
        key = (fid, line)
        got = self._loops.get(key)
        if got is None:
            src = self.m.sources.get(self.m.frames[fid].file)
            got = self._loops[key] = loopstep.enclosing_loops(src, line) if src else []
        return got

    def loop(self, fid: int, span: tuple[int, int, str]) -> loopstep.Loop:
        src = self.m.sources.get(self.m.frames[fid].file, "")
        return loopstep.Loop(fid, span[0], span[1], span[2], loopstep.nested_spans(src, span[0], span[1]))


def sample_table(m: Measurement) -> SampleTable:
    """The measurement's samples as columns (a timeline's rows carry them; other rows are tabulated)."""
    table = getattr(m.rows, "table", None)
    return table if isinstance(table, SampleTable) else SampleTable.of(m.rows)


def all_step(st: SampleTable) -> Any:
    """Every sample in the step (no step was found: the whole run is analysed)."""
    return np.full(len(st), STEP, dtype=np.int8)


def new_calls(st: SampleTable, marker: int) -> Any:
    """Whether each sample starts a new call of ``marker`` (its outermost frame is past ``new_from``)."""
    depth = st.per_sample(st.depth_of(marker)) if marker >= 0 else np.full(len(st), -1, dtype=np.int32)
    return (depth >= 0) & (depth >= st.new_from)
