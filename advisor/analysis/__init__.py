"""Pure functions Profile → Analysis: the step's time, where it goes, and what to distrust."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.analysis.hotspots import Hotspot, LineHeat, rank_hotspots
from advisor.analysis.workers import PipelineView, gil_caveats, pipeline_view
from advisor.model import Profile, Split, StepStats

MIN_TRUSTED_SAMPLES = 200


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the profile says about the step, computed once for every renderer."""

    profile: Profile
    step_name: str
    step_reason: str
    step_split: Split
    step_samples: int
    warmup_split: Split
    outside_split: Split
    stats: StepStats
    hotspots: tuple[Hotspot, ...]
    caveats: tuple[str, ...]
    count_exact: bool = False  # step count and times from recorded boundaries; else sampled estimates
    pipeline: PipelineView | None = None  # workers, child processes, threads (analysis/workers.py)

    @property
    def step_s(self) -> float:
        return self.step_split.total

    @property
    def counted_out(self) -> int:
        """Steps left out of the figures because their calls were counted (capture/callcount.py)."""
        step = self.profile.step
        if step is None or step.timing not in ("exact", "timed"):
            return 0
        return sum(1 for w in self.profile.counted if w.frame == step.frame)


def analyze(profile: Profile, step: str | None = None, warmup: int | None = None) -> Analysis:
    """Rank hotspots in the measured step and collect caveats (few samples, clock disagreement...).

    ``step`` / ``warmup`` (as ``--step`` / ``--warmup``): decide the step again from the profile's samples
    first (``stepping.apply_step``; raises ``StepNotFound`` if ``step`` never ran). Without them the
    step decided at profile time stands. ``Analysis.profile`` is the profile as analysed.
    """
    if step is not None or warmup is not None:
        from advisor.analysis.stepping import apply_step

        profile = apply_step(profile, step, warmup, strict=True)
    return _analyze(profile)


def _analyze(profile: Profile) -> Analysis:
    step = profile.step
    step_split = profile.region_split("step")
    samples = profile.region_samples("step")
    if step is not None:
        key = profile.frames[step.frame].key
        name = key.qualname
        if step.loop_lines is not None:
            name = f"loop at {key.file.replace(chr(92), '/').rsplit('/', 1)[-1]}:{step.loop_lines[0]}"
        reason = step.reason
        stats = step.stats
        if profile.mode == "cprofile" and step.calls:
            mean = step_split.total / step.calls
            stats = StepStats(step.calls, 0, mean, mean, mean, step_split.total)
    else:
        name = "(whole run)"
        reason = "no repeated function found; the whole run is analysed"
        stats = StepStats(1, 0, step_split.total, step_split.total, step_split.total, step_split.total)
    caveats = list(profile.warnings)
    if profile.mode != "cprofile" and samples < MIN_TRUSTED_SAMPLES:
        caveats.append(f"only {samples} samples in the measured step: shares below "
                       f"{max(1, round(100 / max(samples, 1) ** 0.5))}% are noise; run more steps or "
                       f"lower --interval")
    thread_cpu = profile.clock.get("thread_cpu_s")
    sampled_cpu = profile.clock.get("sampled_cpu_s")
    wall = profile.clock.get("sampled_wall_s")
    # Sampled on-CPU time above the thread's own clock is expected (BLAS / intra-op workers compute for
    # it); below it, samples called waiting what was CPU work: say so.
    if thread_cpu is not None and sampled_cpu is not None and wall and (thread_cpu - sampled_cpu) / wall > 0.10:
        caveats.append(f"the profiled thread used {thread_cpu:.2f} s of CPU but samples saw only "
                       f"{sampled_cpu:.2f} s on a CPU: part of what reads as waiting was CPU work "
                       "(a very busy machine, or other Python threads holding the GIL)")
    exact = step is not None and (step.count_exact or profile.mode == "cprofile")
    caveats.extend(gil_caveats(profile))
    return Analysis(profile, name, reason, step_split, samples, profile.region_split("warmup"),
                    profile.region_split("outside"), stats, rank_hotspots(profile), tuple(caveats), exact,
                    pipeline_view(profile, step_split.total))


__all__ = ["Analysis", "Hotspot", "LineHeat", "analyze", "rank_hotspots"]
