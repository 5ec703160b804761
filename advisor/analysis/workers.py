"""The input pipeline and the other threads, read from ``Profile.parts`` and the main thread's samples.

Two measurements answer "is the input pipeline my bottleneck?":

* **does the main process wait for batches?** The main thread's time with a DataLoader fetch on its stack
  (``_MultiProcessingDataLoaderIter._next_data``: the next batch from the worker queue, blocked or
  unpickling it), as a share of the training loop (the measured steps plus that wait);
* **what do the workers spend their time on?** Each worker part's own split and its top function
  (innermost, busy time: waiting on the index queue is a worker with nothing to do, not its work).

Under ``KEEP_UP`` of the loop waiting, the workers keep up whatever their code costs; above it, the
workers' top function is what to speed up (or add workers, if cores are idle).
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.model import Profile, Split
from advisor.parts import Part, PartFunction

KEEP_UP = 0.05  # the main thread waits under 5% of its loop for batches: the workers keep up
IDLE = 0.6  # a part waiting this share of its time has little to do
_DATALOADER = "torch/utils/data/dataloader.py"
_FETCH = ("_MultiProcessingDataLoaderIter._next_data", "_MultiProcessingDataLoaderIter._get_data")


@dataclass(frozen=True, slots=True)
class PartView:
    """A part with its top function and a one-line verdict."""

    part: Part
    hotspot: str | None  # label of its top function by busy self time (the team's code first)
    hotspot_share: float  # of the part's time
    hotspot_split: Split
    verdict: str


@dataclass(frozen=True, slots=True)
class PipelineView:
    """Workers, other children and threads of the run, and how long the main thread waited for batches."""

    workers: tuple[PartView, ...]
    children: tuple[PartView, ...]
    threads: tuple[PartView, ...]
    batch_wait_s: float  # main thread, fetching the next batch from the workers (whole run)
    loop_s: float  # measured steps plus that wait
    verdict: str | None  # about the input pipeline; None without DataLoader workers

    @property
    def batch_wait_share(self) -> float:
        return self.batch_wait_s / self.loop_s if self.loop_s > 0 else 0.0


def _busy(s: Split) -> float:
    return s.total - s.waiting


def _top(funcs: tuple[PartFunction, ...]) -> PartFunction | None:
    """The function with the most busy self time, the team's own code first when it has any."""
    for pool in ([f for f in funcs if f.user], list(funcs)):
        pool = [f for f in pool if _busy(f.self_split) > 0]
        if pool:
            return max(pool, key=lambda f: _busy(f.self_split))
    return None


def _verdict(part: Part, top: PartFunction | None) -> str:
    shares = part.split.shares()
    if part.samples == 0:
        return "no samples"
    if shares["waiting"] >= IDLE:
        return f"mostly idle ({shares['waiting']:.0%} waiting)"
    if top is None:
        return "busy, no single function stands out"
    s = top.self_split.shares()
    if s["interpreted"] >= 0.5:
        return "Python-bound: vectorize or compile it"
    if s["native"] >= 0.5:
        return "compiled code: cheaper transforms or more workers"
    if s["gc"] >= 0.2:
        return "GC-heavy: fewer short-lived objects"
    return "mixed"


def part_view(part: Part) -> PartView:
    top = _top(part.functions)
    total = part.split.total
    if top is None:
        return PartView(part, None, 0.0, Split(), _verdict(part, None))
    return PartView(part, top.key.label, top.self_split.total / total if total > 0 else 0.0, top.self_split,
                    _verdict(part, top))


def batch_wait(profile: Profile) -> tuple[float, float]:
    """Seconds the main thread spent fetching the next batch from DataLoader workers: in all, and outside
    the measured step (between steps, where a ``for batch in loader`` loop fetches)."""
    fetch = {i for i, f in enumerate(profile.frames)
             if f.key.qualname in _FETCH and f.key.file.replace("\\", "/").endswith(_DATALOADER)}
    if not fetch:
        return 0.0, 0.0
    hit = [r for r in profile.stacks if fetch.intersection(r.frames)]
    return sum(r.split.total for r in hit), sum(r.split.total for r in hit if r.region != "step")


def pipeline_view(profile: Profile, step_s: float) -> PipelineView | None:
    """The view of ``profile.parts`` (None when there are none and no batch was waited for)."""
    wait, between = batch_wait(profile)
    if not profile.parts and wait <= 0:
        return None
    by_role = {r: tuple(part_view(p) for p in profile.parts if p.role == r) for r in ("worker", "child", "thread")}
    # the loop: the measured steps and the waits between them (the whole run when no step was found)
    loop = step_s + between if profile.step is not None else sum(r.split.total for r in profile.stacks)
    workers = by_role["worker"]
    verdict = None
    if workers:
        share = wait / loop if loop > 0 else 0.0
        if share < KEEP_UP:
            verdict = (f"workers keep up: the main process waits {share:.0%} of its training loop for batches; the "
                       "input pipeline is not your bottleneck")
        else:
            merged: dict[str, float] = {}
            for w in workers:
                if w.hotspot:
                    merged[w.hotspot] = merged.get(w.hotspot, 0.0) + w.hotspot_split.total
            total = sum(w.part.split.total for w in workers)
            verdict = f"the main process waits {share:.0%} of its training loop for the next batch"
            if merged and total > 0:
                name, t = max(merged.items(), key=lambda kv: kv[1])
                verdict += f"; the workers' {name} is {t / total:.0%} of their time"
    return PipelineView(workers, by_role["child"], by_role["thread"], wait, loop, verdict)


def gil_caveats(profile: Profile) -> list[str]:
    """What the GIL (or its absence) means for reading this profile's split."""
    out = []
    if profile.environment.get("gil_enabled") is False:
        out.append("free-threaded Python with the GIL disabled: the sampler no longer waits for the GIL, so a "
                   "slow hand-over cannot tell interpreted from native time and other threads no longer delay "
                   "the step thread; the split rests on the thread's CPU clock (docs/how-it-works.md, Threads)")
    busy = sum(p.split.interpreted + p.split.gc for p in profile.parts if p.role == "thread")
    run = profile.wall_s
    if profile.environment.get("gil_enabled", True) and run > 0 and busy / run > 0.2:
        out.append(f"other Python threads ran Python or held the GIL for {busy / run:.0%} of the run: with the "
                   "GIL, the step thread's interpreted time includes waiting for them (docs/how-it-works.md)")
    return out
