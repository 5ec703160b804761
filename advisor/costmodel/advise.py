"""``advise(analysis, config) -> Advice``: per hotspot, a category, an estimate for every target, a
verdict; then the port plan, the notes and the assumptions behind every figure.

The arithmetic is in ``formulas.py``; this module only gathers its inputs (which profile field, which
config key) and records them in each estimate's ``sources``.
"""

from __future__ import annotations

from typing import Any

from advisor.analysis import Analysis, Hotspot, analyze
from advisor.costmodel import formulas as fm
from advisor.costmodel import measured as ms
from advisor.costmodel.classify import classify
from advisor.costmodel.config import CostConfig, Target, load_config
from advisor.costmodel.effort import cost_range, effort_range
from advisor.costmodel.item import _span
from advisor.costmodel.items import build_items, combined, lead_line
from advisor.costmodel.native import batch_speedup
from advisor.costmodel.types import (JIT_VECTORIZE, PORT, Advice, Assumption, Category, KernelAdvice,
                                     PlanStep, Range, TargetEstimate)
from advisor.costmodel.verdict import decide, money, rank, times
from advisor.model import Profile


MAX_KERNELS = 50


def advise(analysis: Analysis | Profile, config: CostConfig | None = None,
           measured: tuple[Any, ...] = ()) -> Advice:
    """Turn an analysis (or a profile, analysed here) into advice.

    Args:
        analysis: the ``Analysis`` of a profile, or the ``Profile`` itself.
        config: a validated ``CostConfig``; None for the built-in defaults.
        measured: ``advisor try`` results (``experiments.results.Tryout``); a measured step speedup
            replaces the prior it tested before any verdict is decided (``costmodel.measured``).

    Returns:
        ``Advice`` with one ``KernelAdvice`` per hotspot (in the analysis' order), the port plan, notes and
        the assumptions used.
    """
    if isinstance(analysis, Profile):
        analysis = analyze(analysis)
    cfg = config if config is not None else load_config()
    targets, skipped = _available_targets(cfg, analysis.profile)
    kernels = []
    categories: set[str] = set()
    # Judge the heaviest functions only: past the first MAX_KERNELS (by self share) every function is
    # far below the share threshold, and judging tens of thousands of them only bloats the outputs.
    for h in analysis.hotspots[:MAX_KERNELS]:
        cat = classify(h, analysis.profile)
        categories.add(cat.name)
        ests = rank(_with_measured([estimate_target(h, cat, t, analysis, cfg) for t in targets], h, cfg, measured))
        verdict, reason, best = decide(h, cat, ests, cfg)
        if best is not None:
            ests = [best] + [e for e in ests if e is not best]
        kernels.append(KernelAdvice(h, cat, verdict, reason, best, tuple(ests)))
    plan = port_plan(kernels, cfg)
    items = build_items(analysis, cfg, kernels, measured)
    notes = _notes(analysis, cfg, kernels, skipped) + ms.notes(measured)
    if items:
        both = combined(items, cfg.levers.step_floor)
        together = (f" All {len(items)} items together (their shares are disjoint): step {_span(both)}."
                    if len(items) > 1 else "")
        notes.insert(0, f"First: {lead_line(items, cfg.is_builtin)}.{together}")
    gc_blind = _gc_blind_note(analysis)
    if gc_blind:
        notes.append(gc_blind)
    from advisor.analysis.stepwide import native_note

    blind = native_note(analysis.profile)
    if blind:
        notes.append(blind[:1].upper() + blind[1:] + ".")
    rest = analysis.hotspots[MAX_KERNELS:]
    if rest:
        notes.append(f"{len(rest):,} more functions, each at most {rest[0].self_share:.2%} of the step "
                     f"({sum(h.self_share for h in rest):.1%} together), were not judged")
    return Advice(analysis, cfg, tuple(kernels), plan, cfg.monthly_bill_usd,
                  _assumptions(cfg, targets, categories), _config_source(cfg), tuple(notes), items, tuple(measured))


def _with_measured(ests: list[TargetEstimate], h: Hotspot, cfg: CostConfig,
                   measured: tuple[Any, ...]) -> list[TargetEstimate]:
    """The Numba estimate of the function ``advisor try``'s jit experiment compiled, as measured."""
    t = ms.jit_result(measured, h.key.qualname)
    if t is None:
        return ests
    return [ms.measured_estimate(e, t, cfg.monthly_bill_usd, cfg.step_fraction, _payback_range)
            if e.target == "numba" else e for e in ests]


def _gc_blind_note(analysis: Analysis) -> str:
    from advisor.analysis.stepwide import gc_cause

    cause = gc_cause(analysis.profile, analysis.step_split, (), 1)
    return "" if cause.visible else cause.note[:1].upper() + cause.note[1:] + "."


def _python_version(profile: Profile) -> tuple[int, ...]:
    raw = str(profile.environment.get("python", ""))
    try:
        return tuple(int(x) for x in raw.split(".")[:2])
    except ValueError:
        return ()


def _available_targets(cfg: CostConfig, profile: Profile) -> tuple[list[Target], list[str]]:
    """Targets that apply to the profiled Python (the CPython JIT needs 3.13+)."""
    have = _python_version(profile)
    keep, skipped = [], []
    for t in cfg.targets.values():
        if t.requires_python and have and have < tuple(int(x) for x in t.requires_python.split(".")):
            skipped.append(f"{t.name} not considered: the profile ran Python "
                           f"{'.'.join(map(str, have))} (needs {t.requires_python}+)")
            continue
        keep.append(t)
    return keep, skipped


def step_mean_s(analysis: Analysis) -> float:
    """T: the mean measured step, or the whole measured time when there is no per-step figure."""
    return analysis.stats.mean_s if analysis.stats.mean_s > 0 else analysis.step_s


MIN_CALL_S = 2e-8  # the cheapest Python-level call (tens of ns on 3.11+): no function runs more often


def calls_ceiling(h: Hotspot, analysis: Analysis) -> float:
    """The most calls per step the hotspot can have: its inclusive time per step over the shortest a call
    can be. Where the count is not exact, the boundary cost's worst case uses this.

    That shortest call is the cheapest Python call (``MIN_CALL_S``), unless the sampler saw the calls last:
    a call seen across k consecutive samples (the same frame, not a new call) lasted at least k − 1
    gaps between samples (the run's wall time over its samples: longer than the interval under load),
    so seen calls of s samples on average lasted at least (s − 1) gaps on average. It is used only where
    s ≥ 2: back-to-back tiny calls read as a new call at every sample (s = 1), and now and then two of
    them read as one (s a little over 1: a 1 us ``__mul__`` at s = 1.4 would get a ceiling of 1.4 calls
    a step against 272 true), so below 2 the ceiling stays at the cheapest call: too high a ceiling only
    widens the low estimate, too low a one would hide the boundary cost. Used only where the calls were
    not counted (``counted_calls``), which is the default sample mode's exception."""
    if analysis.step_s <= 0:
        return 1.0
    per_step = h.inclusive_split.total / analysis.step_s * step_mean_s(analysis)
    shortest = MIN_CALL_S
    prof = analysis.profile
    seen = next((c for c in prof.candidates if c.frame == h.frame), None)
    # The real time between samples, not the asked interval: on a loaded machine the sampler wakes late
    # (tens of ms), and a 1 us call seen once then holds one long gap of time (the ceiling came out 1).
    gap = max(prof.interval_s, prof.wall_s / prof.samples) if prof.samples > 0 else prof.interval_s
    if seen is not None and seen.calls > 0 and gap > 0:
        span = seen.inclusive_s / seen.calls / gap  # samples per seen call, on average
        if span >= 2:
            shortest = max(shortest, (span - 1) * gap)
    return max(1.0, per_step / shortest)


def counted_calls(h: Hotspot, analysis: Analysis) -> int | None:
    """Calls of the hotspot in the step whose calls were counted (capture/callcount.py), or None: no
    complete count of this step, or the hotspot was not called in the counted step."""
    prof = analysis.profile
    step = prof.step
    if step is None or step.loop_lines is not None:
        return None
    for w in prof.counted:
        if w.frame == step.frame and w.complete:
            n = w.calls_of(h.frame)
            return n if n > 0 else None
    return None


def calls_per_step(h: Hotspot, analysis: Analysis) -> tuple[float, bool, str]:
    """Calls of the hotspot per step, whether the count is exact, and where it came from.

    Exact with ``--mode cprofile`` (profile.calls / step calls). Otherwise the invocations the sampler saw
    (``profile.candidates``) over the step's invocations, at least 1: a lower bound only, since calls
    shorter than the sampling interval merge or go unseen (a scalar-autograd ``__mul__`` called thousands
    of times a step is seen as one or two): the true count is unknown, up to ``calls_ceiling``.
    """
    prof = analysis.profile
    step = prof.step
    step_calls = step.calls if step is not None and step.calls > 0 else max(analysis.stats.count, 1)
    if step is not None and h.frame == step.frame:
        # the step function is called once a step by definition (a loop step's function is not: its count
        # is unknown unless cprofile counted it)
        return 1.0, step.loop_lines is None or prof.mode == "cprofile", "profile.step (the step itself: 1 call per step)"
    if prof.mode == "cprofile" and prof.calls is not None and h.frame in prof.calls:
        return prof.calls[h.frame] / step_calls, True, f"profile.calls[{h.frame}] / profile.step.calls"
    counted = counted_calls(h, analysis)
    if counted is not None:
        return float(counted), True, (f"profile.counted: {counted} calls of frame {h.frame} counted over one "
                                      "step (capture/callcount.py)")
    seen = next((c.calls for c in prof.candidates if c.frame == h.frame), None)
    if seen is not None:
        return (max(1.0, seen / step_calls), False,
                f"profile.candidates[frame {h.frame}].calls / profile.step.calls (sampled: a lower bound)")
    return 1.0, False, "at least 1 call per step (not seen repeating; the count is unknown)"


def _transfer(t: Target) -> Range:
    """Host-to-device seconds per step (low at the highest bandwidth)."""
    if t.kind != "accelerator" or t.transfer_mb_per_step <= 0 or t.bandwidth_gbs is None:
        return Range(0.0, 0.0, 0.0)
    bw = t.bandwidth_gbs
    return Range(fm.transfer_seconds(t.transfer_mb_per_step, bw.high),
                 fm.transfer_seconds(t.transfer_mb_per_step, bw.typical),
                 fm.transfer_seconds(t.transfer_mb_per_step, bw.low))


def estimate_target(h: Hotspot, category: Category, t: Target, analysis: Analysis,
                    cfg: CostConfig) -> TargetEstimate:
    """Porting ``h`` to ``t``: kernel and end-to-end speedup, effort, dollars and payback (low/typical/high)."""
    sp = h.self_split
    i, n, w, g = fm.step_shares(sp.interpreted, sp.native, sp.waiting, sp.gc, analysis.step_s)
    p = i + n + w + g
    T = step_mean_s(analysis)
    c, exact, calls_src = calls_per_step(h, analysis)
    # An inexact count is a lower bound: the worst case crosses the boundary as often as time allows.
    c_max = c if exact else max(c, calls_ceiling(h, analysis))
    s, o, ns, tr = t.speedup[category.name], t.overhead_ns, t.native_speedup, _transfer(t)
    measured = batch_speedup(analysis.profile) if t.key == "numpy-vectorize" and category.dispatch_bound else None
    if measured is not None:
        s = measured  # what batching a loop of NumPy calls gains on this machine (advisor.machine)
    if fm.batches_native(category.name, t.kind, category.dispatch_bound):
        ns = s  # batching small NumPy calls removes their C dispatch time as well
    # Low estimate: slowest speedup with the costliest crossing; high: the reverse.
    worst = fm.new_share(i, n, w, g, s.low, c_max, o.high, T, ns.low, tr.high)
    typ = fm.new_share(i, n, w, g, s.typical, c, o.typical, T, ns.typical, tr.typical)
    best = fm.new_share(i, n, w, g, s.high, c, o.low, T, ns.high, tr.low)
    e2e = Range(fm.end_to_end(p, worst), fm.end_to_end(p, typ), fm.end_to_end(p, best))
    kernel = Range(fm.kernel_speedup(p, worst), fm.kernel_speedup(p, typ), fm.kernel_speedup(p, best))
    bill = cfg.monthly_bill_usd
    new_bill = cfg.accelerator_bill_usd if t.kind == "accelerator" else None
    savings = Range(*(fm.monthly_savings(bill, cfg.step_fraction, x, new_bill) for x in (e2e.low, e2e.typical, e2e.high)))
    effort = effort_range(category, t, cfg.team)
    cost = cost_range(effort, cfg.team)
    key = f"targets.{t.key}"
    sources = (
        f"profile.stacks: self split of frame {h.frame} / step time (p = {p:.3f})",
        f"T = {T:.4g} s: analysis.stats.mean_s",
        f"calls per step = {c:.4g}: {calls_src}" if exact else
        f"calls per step >= {c:.4g}: {calls_src}; at most {c_max:.4g} (inclusive time per step / the shortest "
        f"a call can be: {MIN_CALL_S * 1e9:.0f} ns, the cheapest Python call, or longer where the sampler saw "
        "the calls last across samples; calls_ceiling), used for the low estimate",
        ("profile.environment.numpy_rates.loop_vs_batch (measured here; costmodel/native.py)" if measured is not None
         else f"{key}.speedup.{category.name}"), f"{key}.overhead_ns", f"{key}.effort_multiplier", f"{key}.fixed_weeks",
        *( (f"{key}.native_speedup", f"{key}.transfer_mb_per_step", f"{key}.bandwidth_gbs",
            "cluster.accelerator_price_per_node_hour") if t.kind == "accelerator" else ()),
        "cluster.monthly_bill_usd" if cfg.cluster.monthly_bill_usd is not None
        else "cluster.nodes x cluster.price_per_node_hour x cluster.hours_per_month",
        "job.step_fraction", "team.weeks_per_100_loc", "team.complexity_weight", "team.engineer_cost_per_week",
        f"lines = {category.lines}, complexity = {category.complexity}: source (radon)",
    )
    return TargetEstimate(
        target=t.key, target_name=t.name, kernel_speedup=kernel, end_to_end=e2e,
        boundary_s_per_step=Range(c * o.low * fm.NS, c * o.typical * fm.NS, c_max * o.high * fm.NS),
        calls_per_step=c, calls_exact=exact, calls_max=c_max, effort_weeks=effort, cost_usd=cost, savings_per_month_usd=savings,
        payback_months=_payback_range(cost, savings), sources=sources, kind=t.kind, share=p,
        new_share=Range(best, typ, worst), maturity=t.maturity,
    )


def _payback_range(cost: Range, savings: Range) -> Range | None:
    typical = fm.payback_months(cost.typical, savings.typical)
    if typical is None:
        return None
    low = fm.payback_months(cost.low, savings.high)
    high = fm.payback_months(cost.high, savings.low)
    return Range(low if low is not None else typical, typical, high if high is not None else float("inf"))


def port_plan(kernels: list[KernelAdvice], cfg: CostConfig) -> tuple[PlanStep, ...]:
    """Kernels to port or JIT/vectorize, best return first, with cumulative effect.

    Cumulative speedup is Amdahl over all kernels so far (their self shares are disjoint); cumulative
    savings follow from it, not from summing each kernel's own savings.
    """
    chosen = [k for k in kernels if k.verdict in (PORT, JIT_VECTORIZE) and k.best is not None]
    chosen.sort(key=lambda k: -_ratio(k.best))  # type: ignore[arg-type]
    steps: list[PlanStep] = []
    ps: list[float] = []
    news: list[Range] = []
    cost = 0.0
    ok = True
    for k in chosen:
        e = k.best
        assert e is not None and e.new_share is not None
        ps.append(e.share)
        news.append(e.new_share)
        cost += e.cost_usd.typical
        e2e = Range(fm.cumulative_end_to_end(ps, [x.high for x in news]),
                    fm.cumulative_end_to_end(ps, [x.typical for x in news]),
                    fm.cumulative_end_to_end(ps, [x.low for x in news]))
        savings = fm.monthly_savings(cfg.monthly_bill_usd, cfg.step_fraction, e2e.typical)
        own = e.payback_months.typical if e.payback_months is not None else None
        ok = ok and own is not None and own <= cfg.team.horizon_months
        steps.append(PlanStep(k.hotspot.key.qualname, e.target, e2e, cost, savings,
                              fm.payback_months(cost, savings), ok))
    return tuple(steps)


def recommended_steps(plan: tuple[PlanStep, ...]) -> tuple[PlanStep, ...]:
    """The plan steps advisor recommends: the leading steps that pay back within the horizon.

    The one place this is decided; every renderer (terminal, HTML, notebook, spreadsheet) reads it. The
    last step returned carries the recommended plan's cumulative speedup, cost, savings and payback; an
    empty tuple means no port or JIT pays back.
    """
    out: list[PlanStep] = []
    for step in plan:
        if not step.pays_back:
            break
        out.append(step)
    return tuple(out)


def _ratio(e: TargetEstimate) -> float:
    sav, cost = e.savings_per_month_usd.typical, e.cost_usd.typical
    return float("inf") if cost <= 0 and sav > 0 else (sav / cost if cost > 0 else sav)


def _config_source(cfg: CostConfig) -> str:
    return cfg.source


def _notes(analysis: Analysis, cfg: CostConfig, kernels: list[KernelAdvice], skipped: list[str]) -> list[str]:
    notes = []
    c = cfg.cluster
    bill = (f"{money(c.monthly_bill_usd)}/month given" if c.monthly_bill_usd is not None else
            f"{c.nodes} × {c.instance} at ${c.price_per_node_hour:g}/h × {c.hours_per_month:g} h = "
            f"{money(cfg.monthly_bill_usd)}/month")
    if cfg.is_builtin:
        notes.append(f"No config file: the built-in defaults apply ({bill}, engineer "
                     f"{money(cfg.team.engineer_cost_per_week)}/week); write your own with `advisor config init`.")
    else:
        notes.append(f"Config {cfg.source}: {bill}.")
    total = analysis.step_split
    if total.total > 0:
        interp = total.interpreted / total.total
        wait = total.waiting / total.total
        floor = cfg.levers.step_floor
        cap = fm.bounded_amdahl_cap(interp, floor)
        bound = (f"at most {times(cap)} faster (Amdahl)" if 1.0 - interp > floor else
                 f"{times(cap)} faster or more: the estimate stops there, since the rest of the step "
                 f"({1.0 - interp:.1%}) plus what any change costs is taken as at least {floor:.0%} of it "
                 "(levers.step_floor)")
        notes.append(f"Interpreted Python is {interp:.0%} of the step: even if all of it vanished the step "
                     f"could run {bound}.")
        if wait >= 0.2:
            notes.append(f"{wait:.0%} of the step is waiting (data loading, I/O): no compiler shortens it; "
                         "fix the pipeline first.")
    unknown = [k.hotspot.key.qualname for k in kernels if any(not e.calls_exact for e in k.estimates[:1])]
    if unknown:
        counted = any(w.complete for w in analysis.profile.counted)
        why = ("were not called in the step whose calls were counted" if counted else
               "were not counted (a loop step, ADVISOR_COUNT_CALLS=off, or no step call was timed)")
        notes.append(f"Calls per step of {', '.join(unknown[:3])}{' and others' if len(unknown) > 3 else ''} "
                     f"{why}: the sampled invocations are a lower bound (the typical boundary cost uses it; the "
                     "low estimate assumes as many calls as the time allows); --mode cprofile counts them all.")
    notes.extend(skipped)
    return notes


def _assumptions(cfg: CostConfig, targets: list[Target], categories: set[str]) -> tuple[Assumption, ...]:
    keys = [k for k in cfg.values if not k.startswith("targets.")]
    for t in targets:
        base = f"targets.{t.key}."
        keys += [k for k in cfg.values if k.startswith(base) and (
            not k.startswith(base + "speedup.") or k[len(base) + len("speedup."):] in categories)]
    return tuple(Assumption(k, cfg.values[k], cfg.sources.get(k, cfg.source)) for k in keys)


def advice_for_profile(profile: Profile, config: CostConfig | None = None) -> Advice:
    """``advise`` for a profile (what the CLI hook calls)."""
    return advise(analyze(profile), config)


__all__ = ["advise", "advice_for_profile", "calls_ceiling", "calls_per_step", "estimate_target", "port_plan",
           "recommended_steps", "step_mean_s"]
