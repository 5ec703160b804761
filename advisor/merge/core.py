"""``merge(ranks)``: the ranks of one distributed run side by side.

Per rank, from its own profile: the measured steps (mean, median, p95), the step split, and the time per
step spent *waiting on other ranks* (in collectives, ``collectives.py``); what is left is the rank's
*busy* time, its own work. In a synchronous job (DDP, FSDP, any all-reduce per step) every rank's step
lasts as long as the slowest rank's work, so step times barely differ between ranks; busy times do. The
slowest rank is the one with the most busy time; a *straggler* is busier than the median rank by more
than ``STRAGGLER_MARGIN``. Hotspots are merged by function across ranks, as busy time per step on each
rank (collective time is its own row group, never a function's), with the spread between ranks.

Per-rank tables are pandas DataFrames (``advisor.frames.stacks_frame`` per rank, concatenated and
pivoted); what leaves this module is frozen dataclasses and plain tuples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from advisor.analysis import analyze
from advisor.merge.collectives import DDP_BACKWARD, FRAME, cuda_seen, ddp_seen, frame_classes
from advisor.merge.load import RankProfile, find_rank_profiles
from advisor.model import Profile, Split

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

STRAGGLER_MARGIN = 0.10  # busier than the median rank by 10%: beyond sampling noise on 100+ samples
MIN_SAMPLES = 50  # per rank, in the measured step, before a straggler is named
MAX_HOTSPOTS = 15


@dataclass(frozen=True, slots=True)
class RankRow:
    """One rank: its steps, its split per step, and what it waited on the others (seconds per step)."""

    rank: int
    host: str
    path: str
    step_name: str
    steps: int
    samples: int
    mean_s: float
    median_s: float
    p95_s: float
    split: Split  # seconds per step, by bucket (collective time included, in whatever bucket it read as)
    wait_s: float  # waiting on other ranks per step: frame evidence + DDP backward evidence
    wait_inferred_s: float  # the part of wait_s inferred from DDP's backward (no collective frame)
    wait_by_op: tuple[tuple[str, float], ...]  # (collective, seconds per step), largest first

    @property
    def busy_s(self) -> float:
        """Own work per step: the mean step less the waiting on other ranks."""
        return max(self.mean_s - self.wait_s, 0.0)

    @property
    def wait_share(self) -> float:
        return self.wait_s / self.mean_s if self.mean_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class MergedHotspot:
    """A function of the user's code: busy seconds per step on each rank (ranks in ``Merged.ranks`` order)."""

    label: str
    qualname: str
    file: str
    line: int
    per_rank_s: tuple[float, ...]
    mean_s: float
    min_s: float
    max_s: float
    max_rank: int

    @property
    def spread_s(self) -> float:
        return self.max_s - self.min_s


@dataclass(frozen=True, slots=True)
class MergeAdvice:
    """One piece of advice: ``kind`` is straggler, imbalance, overlap, balanced or caveat."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class ProcessRow:
    """A DataLoader worker, child-process group or thread of one rank (its ``Profile.parts``): its own split
    (seconds over the run, not per step), top function and verdict (``analysis/workers.py``)."""

    rank: int
    role: str
    name: str
    processes: int
    split: Split
    hotspot: str | None
    verdict: str


@dataclass(frozen=True, slots=True)
class Merged:
    """Everything ``advisor merge`` reports; renderers only format it."""

    ranks: tuple[RankRow, ...]
    world_size: int
    run_id: str | None
    hosts: tuple[str, ...]
    slowest: int
    stragglers: tuple[int, ...]
    median_busy_s: float  # own work per step of the median rank
    typical_busy_s: float  # ... of the median rank that is not a straggler (all ranks when none is)
    spread_s: float  # busiest rank's own work less the least busy's, per step
    imbalance_s: float  # busiest less typical: what every rank loses per step to the slowest one
    hotspots: tuple[MergedHotspot, ...]
    advice: tuple[MergeAdvice, ...]
    notes: tuple[str, ...]
    processes: tuple[ProcessRow, ...] = ()  # every rank's workers and threads, rank by rank
    pipelines: tuple[tuple[int, str], ...] = ()  # (rank, input-pipeline verdict) where the rank had workers

    @property
    def spread_share(self) -> float:
        return self.spread_s / self.median_busy_s if self.median_busy_s > 0 else 0.0

    def row(self, rank: int) -> RankRow:
        return next(r for r in self.ranks if r.rank == rank)


def rank_stacks(profile: Profile, rank: int) -> pd.DataFrame:
    """The rank's step-region stacks (``frames.stacks_frame``) with ``rank``, ``wait`` (seconds waiting on
    other ranks), ``op`` (the collective, or "") and ``evidence`` (frame, ddp-backward or "") columns."""
    from advisor.frames import stacks_frame

    df = stacks_frame(profile, region="step")
    df = df[df["in_step"]].copy()
    ops, backward = frame_classes(profile)
    ddp = ddp_seen(profile)
    wait, op, evidence = [], [], []
    for rec_id in df.index:
        rec = profile.stacks[rec_id]
        found = next((ops[f] for f in rec.frames if ops[f] is not None), None)  # outermost: all_reduce > wait
        if found is not None:
            wait.append(rec.split.total), op.append(found), evidence.append(FRAME)
        elif ddp and any(backward[f] for f in rec.frames):
            wait.append(rec.split.waiting), op.append("all-reduce (DDP, in backward)"), evidence.append(DDP_BACKWARD)
        else:
            wait.append(0.0), op.append(""), evidence.append("")
    df["wait"], df["op"], df["evidence"], df["rank"] = wait, op, evidence, rank
    df["busy"] = df["total"] - df["wait"]
    return df


def _rank_row(rp: RankProfile, df: pd.DataFrame) -> RankRow:
    a = analyze(rp.profile)
    sampled = float(df["total"].sum())
    # Sampled seconds → seconds per step: shares of the sampled step time, times the measured mean step.
    per_step = a.stats.mean_s / sampled if sampled > 0 else 0.0
    by_op = df[df["wait"] > 0].groupby("op")["wait"].sum().sort_values(ascending=False)
    split = Split(*(float(df[b].sum()) * per_step for b in ("interpreted", "native", "waiting", "gc")))
    return RankRow(
        rp.rank, rp.host, str(rp.path), a.step_name, a.stats.count, int(df["samples"].sum()),
        a.stats.mean_s, a.stats.median_s, a.stats.p95_s, split,
        float(df["wait"].sum()) * per_step,
        float(df.loc[df["evidence"] == DDP_BACKWARD, "wait"].sum()) * per_step,
        tuple((str(k), float(v) * per_step) for k, v in by_op.items()))


def _merged_hotspots(frames: list[pd.DataFrame], rows: list[RankRow]) -> tuple[MergedHotspot, ...]:
    """Busy seconds per step of each user function on each rank, busiest function (on any rank) first."""
    import pandas as pd

    scales = {}
    for df, row in zip(frames, rows):
        sampled = float(df["total"].sum())
        scales[row.rank] = row.mean_s / sampled if sampled > 0 else 0.0  # sampled seconds → per step
    allf = pd.concat(frames)
    allf = allf[allf["owner"] >= 0]
    if allf.empty:
        return ()
    allf = allf.assign(per_step=allf["busy"] * allf["rank"].map(scales),
                       base=allf["file"].map(lambda f: os.path.basename(f.replace("\\", "/"))))
    table = allf.pivot_table(index=["qualname", "base", "line"], columns="rank", values="per_step",
                             aggfunc="sum", fill_value=0.0)
    table = table.reindex(columns=[r.rank for r in rows], fill_value=0.0)
    files = allf.groupby(["qualname", "base", "line"])["file"].first()
    stats = pd.DataFrame({"mean": table.mean(axis=1), "min": table.min(axis=1), "max": table.max(axis=1),
                          "argmax": table.idxmax(axis=1)}).sort_values("max", ascending=False)
    stats = stats[stats["max"] > 0]  # a function whose every sample was waiting on other ranks
    out = []
    for key, s in stats.head(MAX_HOTSPOTS).iterrows():
        qualname, base, line = key
        out.append(MergedHotspot(f"{qualname} ({base}:{line})", qualname, str(files[key]), int(line),
                                 tuple(float(v) for v in table.loc[key]), float(s["mean"]), float(s["min"]),
                                 float(s["max"]), int(s["argmax"])))
    return tuple(out)


def merge(ranks: list[RankProfile], notes: Iterable[str] = ()) -> Merged:
    """Merge the profiles of one run's ranks (``find_rank_profiles`` gives them)."""
    import statistics

    from advisor.merge.advice import advise_merged

    frames = [rank_stacks(rp.profile, rp.rank) for rp in ranks]
    rows = [_rank_row(rp, df) for rp, df in zip(ranks, frames)]
    busy = [r.busy_s for r in rows]
    median = statistics.median(busy)
    slowest = rows[max(range(len(rows)), key=lambda i: busy[i])].rank
    enough = len(rows) > 1 and min(r.samples for r in rows) >= MIN_SAMPLES
    stragglers = tuple(r.rank for r in rows if enough and r.busy_s > median * (1 + STRAGGLER_MARGIN))
    typical = statistics.median([r.busy_s for r in rows if r.rank not in stragglers] or busy)
    world = max([rp.world_size or 0 for rp in ranks] + [len(ranks)])
    notes = list(notes) + _coverage_notes(ranks, rows, world)
    hosts = tuple(dict.fromkeys(r.host for r in rows))
    merged = Merged(tuple(rows), world, ranks[0].run_id, hosts, slowest, stragglers, median, typical,
                    max(busy) - min(busy), max(busy) - typical, _merged_hotspots(frames, rows), (), tuple(notes))
    processes, pipelines = _processes(ranks)
    return replace(merged, advice=advise_merged(merged, any(cuda_seen(rp.profile) for rp in ranks)),
                   processes=processes, pipelines=pipelines)


def _processes(ranks: list[RankProfile]) -> tuple[tuple[ProcessRow, ...], tuple[tuple[int, str], ...]]:
    """Each rank's workers, child processes and threads, with the rank's input-pipeline verdict."""
    rows, verdicts = [], []
    for rp in ranks:
        view = analyze(rp.profile).pipeline
        if view is None:
            continue
        for v in (*view.workers, *view.children, *view.threads):
            rows.append(ProcessRow(rp.rank, v.part.role, v.part.name, v.part.processes, v.part.split, v.hotspot,
                                   v.verdict))
        if view.verdict:
            verdicts.append((rp.rank, view.verdict))
    return tuple(rows), tuple(verdicts)


def _coverage_notes(ranks: list[RankProfile], rows: list[RankRow], world: int) -> list[str]:
    notes = []
    missing = sorted(set(range(world)) - {r.rank for r in rows})
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        notes.append(f"{len(missing)} of {world} ranks have no profile here (rank {shown}): the merged view "
                     "covers only the ranks found; on a multi-node job pass every node's folder")
    names = {r.step_name for r in rows}
    if len(names) > 1:
        notes.append("ranks found different steps (" + ", ".join(f"rank {r.rank}: {r.step_name}" for r in rows[:6])
                     + "); name it with --step on every rank")
    few = [r.rank for r in rows if r.samples < 200]
    if few:
        notes.append(f"rank {', '.join(map(str, few[:10]))}: under 200 samples in the measured step; per-rank "
                     "differences below about 10% are noise"
                     + (f" (no straggler is named under {MIN_SAMPLES})" if min(r.samples for r in rows) < MIN_SAMPLES
                        else ""))
    if len(rows) > 1 and all(r.wait_s == 0 for r in rows):
        notes.append("no rank was seen in a collective: the ranks ran independently, or their collectives "
                     "left no frame advisor knows (docs/how-it-works.md, Ranks)")
    return notes


def merge_paths(folders: Iterable[str | os.PathLike[str]]) -> Merged:
    """Find the rank profiles under ``folders`` and merge them."""
    ranks, notes = find_rank_profiles([Path(f) for f in folders])
    return merge(ranks, notes)
