"""RESULTS.md for ``python -m benchmarks --full``: issue 18's table, measured, then the figures behind each row."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks import scale
from benchmarks.accuracy import BUCKETS, Cell, stability, summarize, truth_split
from benchmarks.tools import Run

HIDDEN = ("numeric_mix", "waiting_mix", "gc_churn", "call_heavy", "c_calls")  # the "hidden workloads" rows
ANCHORS = ("py-spy", "pyinstrument")
GOAL_X = 1.05
GOAL_FIXED_S = 0.2
GOAL_POST_S, GOAL_POST_MB = 3.0, 200.0
GOAL_REPORT_S, GOAL_HTML_MB = 3.0, 10.0
GOAL_LOAD_PP = 5.0
GOAL_INTERVAL_PP = 2.0
GOAL_SPLIT_PP = 5.0
MIN_PHASE_SHARE = 0.05  # phases below 5% of the step are too short for a per-phase ratio on this machine
VERDICT_MIN_SHARE = 0.05  # verdicts compared for functions with ≥ 5% self share at 5 ms


@dataclass(frozen=True)
class Row:
    what: str
    advisor: str
    pyspy: str
    pyinstrument: str
    goal: str
    met: bool | None  # None: no goal, or not measured
    condition: str


def _x(c: Cell | None, inside: bool = False) -> str:
    if c is None or c.wall_ratio is None:
        return "failed" if c and c.errors else "–"
    return f"{c.step_ratio:.2f}×" if inside else f"{c.wall_ratio:.2f}× ({c.step_ratio:.2f}× in the loop)"


def _cond(sec: dict, cores: int) -> str:
    lo, hi = sec["load"]
    comp = sec["competitors"]
    text = (f"loaded: {comp} competing CPU-bound processes, " if comp else "quiet, ") + f"load {lo:.1f}→{hi:.1f}"
    if max(lo, hi) > 1.5 * cores + comp:
        text += " (**busy**: other work ran meanwhile)"
    return text


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def _runs(sec: dict) -> list[Run]:
    return [Run(**r) for r in sec["data"]]


def _true_shares(runs: list[Run]) -> dict[str, dict[str, float]]:
    from benchmarks.accuracy import truth_shares

    out: dict[str, dict[str, float]] = {}
    for w in sorted({r.workload for r in runs}):
        plain = [r for r in runs if r.workload == w and r.tool == "plain" and r.truth]
        if plain:
            out[w] = {p: statistics.median(truth_shares(r.truth, 1)[p] for r in plain) for p in plain[0].truth["phases"]}
    return out


def _true_splits(runs: list[Run], w: str) -> dict[str, dict[str, float]]:
    plain = [r for r in runs if r.workload == w and r.tool == "plain" and r.truth]
    if not plain:
        return {}
    return {p: {b: 100 * statistics.median(truth_split(r.truth, p, 1)[b] for r in plain) for b in BUCKETS}
            for p in plain[0].truth["phases"]}


def worst_phase(cells: dict, shares: dict, tool: str, workloads: tuple[str, ...]) -> tuple[float, str] | None:
    worst = None
    for w in workloads:
        c = cells.get((w, tool))
        if not c or not c.phase_ratio:
            continue
        for p, r in c.phase_ratio.items():
            if r is not None and shares.get(w, {}).get(p, 0) >= MIN_PHASE_SHARE and (worst is None or r > worst[0]):
                worst = (r, f"{w}/{p}")
    return worst


def _split_delta(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[k] - b[k]) for k in BUCKETS)


def _capture(rows: list[dict], n: int) -> dict | None:
    return next((r for r in rows if r.get("samples") == n and r.get("cpu_s")), None)


def _stage(d: dict, field: str, prefix: str) -> float | None:
    return next((v for k, v in d.get(field, {}).items() if k.startswith(prefix)), None)


def modal_verdicts(runs: list[Run], w: str, tool: str) -> dict[str, tuple[str, float]]:
    """function -> (its most frequent verdict over the repeats, median self share)."""
    per: dict[str, list] = {}
    for r in runs:
        if r.workload == w and r.tool == tool and not r.error:
            for fn, (verdict, share) in r.verdicts.items():
                per.setdefault(fn, []).append((verdict, share))
    return {fn: (Counter(v for v, _ in vs).most_common(1)[0][0], statistics.median(s for _, s in vs))
            for fn, vs in per.items()}


def build(raw: dict) -> tuple[list[Row], list[str]]:
    """The summary rows and the detail sections (markdown lines)."""
    secs = raw["sections"]
    cores = raw["meta"]["cores"]
    quiet_runs, loaded_runs, long_runs = _runs(secs["quiet"]), _runs(secs["loaded"]), _runs(secs["long"])
    q, ld, lg = summarize(quiet_runs), summarize(loaded_runs), summarize(long_runs)
    shares = _true_shares(quiet_runs)
    cq, cl = _cond(secs["quiet"], cores), _cond(secs["loaded"], cores)
    rows: list[Row] = []
    detail: list[str] = []

    # 1. GC-heavy real step
    cells = {t: q.get(("autograd", t)) for t in ("advisor-sample", *ANCHORS)}
    a = cells["advisor-sample"]
    rows.append(Row("GC-heavy real step (scalar autograd), whole run (in the loop)", _x(a), _x(cells["py-spy"]),
                    _x(cells["pyinstrument"]), f"≤ {GOAL_X}×",
                    None if not a or a.wall_ratio is None else a.wall_ratio <= GOAL_X and a.step_ratio <= GOAL_X, cq))

    # 2. hidden workloads inside the loop, worst phase
    def loop_cell(tool: str) -> tuple[str, bool | None]:
        ratios = [q[(w, tool)].step_ratio for w in HIDDEN if q.get((w, tool)) and q[(w, tool)].step_ratio]
        wp = worst_phase(q, shares, tool, HIDDEN)
        if not ratios:
            return "–", None
        text = f"{min(ratios):.2f}–{max(ratios):.2f}×" + (f" ({wp[0]:.2f}×, {wp[1]})" if wp else "")
        return text, max(ratios) <= GOAL_X and (wp is None or wp[0] <= GOAL_X)

    (adv, ok), (spy, _), (pyi, _) = loop_cell("advisor-sample"), loop_cell("py-spy"), loop_cell("pyinstrument")
    rows.append(Row("hidden workloads, inside the loop (worst phase ≥ 5% of the step)", adv, spy, pyi,
                    f"≤ {GOAL_X}× ({GOAL_X}×)", ok, cq))

    # 3. whole command: short runs (information) and a ~30 s run (the goal)
    def wall_range(tool: str) -> str:
        ratios = [q[(w, tool)].wall_ratio for w in HIDDEN if q.get((w, tool)) and q[(w, tool)].wall_ratio]
        return f"{min(ratios):.2f}–{max(ratios):.2f}×" if ratios else "–"

    short = [r.wall_s for r in quiet_runs if r.tool == "plain" and r.workload in HIDDEN and not r.error]
    span = f"{min(short):.0f}–{max(short):.0f} s runs" if short else "short runs"
    rows.append(Row(f"hidden workloads, whole command ({span})", wall_range("advisor-sample"),
                    wall_range("py-spy"), wall_range("pyinstrument"), "(information)", None, cq))
    plain_long = [r.wall_s for r in long_runs if r.tool == "plain" and not r.error]
    long_name = f"whole command on a {statistics.median(plain_long):.0f} s run" if plain_long else "whole command, long run"
    la = lg.get(("numeric_mix", "advisor-sample"))
    rows.append(Row(f"hidden workloads, {long_name} (numeric_mix)", _x(la), _x(lg.get(("numeric_mix", "py-spy"))),
                    _x(lg.get(("numeric_mix", "pyinstrument"))), f"≤ {GOAL_X}× on a 30 s run",
                    None if not la or la.wall_ratio is None else la.wall_ratio <= GOAL_X, _cond(secs["long"], cores)))

    # 4. 16 busy threads
    t16 = {t: q.get(("threads16", t)) for t in ("advisor-sample", *ANCHORS)}
    a = t16["advisor-sample"]
    rows.append(Row("16 busy threads, inside the loop", _x(a, True), _x(t16["py-spy"], True),
                    _x(t16["pyinstrument"], True), f"≤ {GOAL_X}×",
                    None if not a or a.step_ratio is None else a.step_ratio <= GOAL_X, cq))

    # 5. fixed cost
    fx = {t: statistics.median(v) for t, v in secs["fixed"]["data"].items() if v}
    base = fx.get("plain")

    def fixed(tool: str) -> str:
        if tool not in fx or base is None:
            return "–"
        return f"{fx[tool]:.2f} s ({fx[tool] - base:+.2f} s)"

    adv_fixed = fixed("advisor-sample") + (f"; json only {fx['advisor-json-only'] - base:+.2f} s"
                                           if "advisor-json-only" in fx and base is not None else "")
    rows.append(Row(f"fixed cost per run (empty script; plain {base or 0:.3f} s)", adv_fixed, fixed("py-spy"),
                    fixed("pyinstrument"), f"≤ {GOAL_FIXED_S} s over plain",
                    None if "advisor-sample" not in fx or base is None else fx["advisor-sample"] - base <= GOAL_FIXED_S,
                    _cond(secs["fixed"], cores)))

    # 6-7. post-processing at scale (benchmarks/scale.py)
    cap = secs["capture"]["data"]
    ccond = _cond(secs["capture"], cores) + "; CPU seconds (wall in brackets)"
    for n, label in ((720_000, "a one-hour"), (scale.EIGHT_HOURS, "an eight-hour")):
        d = _capture(cap, n)
        if d is None:
            rows.append(Row(f"post-processing {label} run at 200 Hz", "not measured", "—", "—",
                            f"≤ {GOAL_POST_S} s, ≤ {GOAL_POST_MB:.0f} MB for eight hours", None, ccond))
            continue
        cpu, wall = _stage(d, "cpu_s", "post-process"), _stage(d, "seconds", "post-process")
        mb = _stage(d, "peak_mb", "post-process")
        ok = cpu is not None and cpu <= GOAL_POST_S and (mb or 0) <= GOAL_POST_MB
        rows.append(Row(f"post-processing {label} run at 200 Hz ({n:,} samples)", f"{cpu:.1f} s ({wall:.1f} s), {mb:.0f} MB",
                        "—", "—", f"≤ {GOAL_POST_S} s, ≤ {GOAL_POST_MB:.0f} MB for eight hours", ok, ccond))
    d = _capture(cap, 1_000_000)
    if d is not None:
        st = d.get("stages_cpu_s", {})
        plain_report = st.get("load", 0.0) + st.get("analyse + advice + report.html", 0.0)
        step_report = _stage(d, "cpu_s", "report --step")
        html = d.get("sizes_mb", {}).get("report.html")
        rows.append(Row("`advisor report` on 1M samples (with `--step`)",
                        f"{plain_report:.1f} s ({step_report:.1f} s), report.html {html} MB", "—", "—",
                        f"≤ {GOAL_REPORT_S} s, report.html ≤ {GOAL_HTML_MB:.0f} MB",
                        plain_report <= GOAL_REPORT_S and step_report <= GOAL_REPORT_S and (html or 0) <= GOAL_HTML_MB,
                        ccond))

    # 8. split quiet vs loaded
    worst_load = None
    load_lines = ["| workload | phase | true split (quiet) | quiet | loaded | Δ pp | error vs truth: quiet / loaded pp |",
                  "|---|---|---|---|---|---|---|"]
    for w in sorted({k[0] for k in q}):
        cq_, cl_ = q.get((w, "advisor-sample")), ld.get((w, "advisor-sample"))
        if not (cq_ and cl_ and cq_.splits and cl_.splits):
            continue
        want = _true_splits(quiet_runs, w)
        for p in cq_.splits:
            dlt = _split_delta(cq_.splits[p], cl_.splits[p])
            big = shares.get(w, {}).get(p, 0) >= MIN_PHASE_SHARE
            if big and (worst_load is None or dlt > worst_load[0]):
                worst_load = (dlt, f"{w}/{p}")
            fmt = lambda s: " / ".join(f"{s[b]:.0f}" for b in BUCKETS)  # noqa: E731
            mark = "**" if dlt > GOAL_LOAD_PP else ""
            load_lines.append(f"| {w} | {p} | {fmt(want[p]) if p in want else '–'} | {fmt(cq_.splits[p])} | "
                              f"{fmt(cl_.splits[p])} | {mark}{dlt:.1f}{mark} | {cq_.split_err[p]:.1f} / {cl_.split_err[p]:.1f} |")
    rows.append(Row("split on the same script, loaded vs quiet (largest bucket move, phases ≥ 5% of the step)",
                    f"{worst_load[0]:.1f} pp ({worst_load[1]})" if worst_load else "–", "— (no split)", "— (no split)",
                    f"≤ {GOAL_LOAD_PP:.0f} pp apart", None if worst_load is None else worst_load[0] <= GOAL_LOAD_PP,
                    f"{cq} vs {cl}"))

    # advice accuracy (issue 14): the top item against the measured fix
    adv_sec = secs.get("advice")
    if adv_sec is not None:
        from benchmarks import fixed_variants

        _, rate = fixed_variants.score(adv_sec["data"])
        nums = [int(x) for x in re.findall(r"(\d+)/(\d+)", rate) for x in x]
        ok = len(nums) == 4 and nums[0] == nums[1] and nums[2] == nums[3]
        rows.append(Row("advice: top item = the measured fix, measured speedup in its range (fixed variants of "
                        "the sample workloads)", rate.removeprefix("hit rate: "), "—", "—", "every case", ok,
                        _cond(adv_sec, cores)))

    # 9. interval invariance
    stab = stability(quiet_runs)
    worst_iv, diffs, iv_lines, vd_lines = None, [], [], []
    iv_lines += ["| workload | phase | share at 5 ms | 2 ms | 1 ms | max Δ pp | spread over repeats at 5 ms pp |",
                 "|---|---|---|---|---|---|---|"]
    vd_lines += ["| workload | function (self share at 5 ms) | verdict at 5 ms | 2 ms | 1 ms |", "|---|---|---|---|---|"]
    for w in sorted({k[0] for k in q}):
        c5 = q.get((w, "advisor-sample"))
        others = {iv: q.get((w, f"advisor-sample@{iv}")) for iv in ("2ms", "1ms")}
        if not c5 or not c5.shares:
            continue
        for p, s5 in c5.shares.items():
            got = {iv: c.shares[p] for iv, c in others.items() if c and c.shares}
            dlt = max((abs(v - s5) for v in got.values()), default=None)
            big = shares.get(w, {}).get(p, 0) >= MIN_PHASE_SHARE
            if big and dlt is not None and (worst_iv is None or dlt > worst_iv[0]):
                worst_iv = (dlt, f"{w}/{p}")
            spread = stab[w].phase_spread_pp.get(p) if w in stab else None
            mark = "**" if dlt is not None and dlt > GOAL_INTERVAL_PP else ""
            iv_lines.append(f"| {w} | {p} | {s5:.1f}% | " + " | ".join(
                f"{got[iv]:.1f}%" if iv in got else "–" for iv in ("2ms", "1ms"))
                + f" | {mark}{'–' if dlt is None else f'{dlt:.1f}'}{mark} | {'–' if spread is None else f'{spread:.1f}'} |")
        v = {iv: modal_verdicts(quiet_runs, w, t) for iv, t in
             (("5ms", "advisor-sample"), ("2ms", "advisor-sample@2ms"), ("1ms", "advisor-sample@1ms"))}
        for fn, (verdict, share) in sorted(v["5ms"].items(), key=lambda kv: -kv[1][1]):
            if share < VERDICT_MIN_SHARE:
                continue
            alt = [v[iv].get(fn, ("(not a hotspot)", 0))[0] for iv in ("2ms", "1ms")]
            same = all(x == verdict for x in alt)
            if not same:
                diffs.append(f"{w}/{fn}")
            vd_lines.append(f"| {w} | {fn} ({100 * share:.0f}%) | {verdict} | "
                            + " | ".join(x if x == verdict else f"**{x}**" for x in alt) + " |")
    iv_ok = None if worst_iv is None else worst_iv[0] <= GOAL_INTERVAL_PP and not diffs
    floor = max((v for w, st in stab.items() for p, v in st.phase_spread_pp.items()
                 if shares.get(w, {}).get(p, 0) >= MIN_PHASE_SHARE), default=None)
    rows.append(Row("the same scripts at --interval 1 and 2 ms vs 5 ms (phase shares ≥ 5% of the step; verdicts)",
                    (f"{worst_iv[0]:.1f} pp ({worst_iv[1]}); " if worst_iv else "– ; ")
                    + (f"{len(diffs)} verdict(s) changed ({', '.join(diffs)})" if diffs else "same verdicts")
                    + (f"; repeats at the same 5 ms differ by up to {floor:.1f} pp" if floor is not None else ""),
                    "—", "—", f"shares within {GOAL_INTERVAL_PP:.0f} pp, same verdicts", iv_ok, cq))

    # 10. C calls: split error per phase
    cc = q.get(("c_calls", "advisor-sample"))
    c_lines = ["| phase (what it does) | reference interp / native / wait / gc % | advisor (quiet) | error pp | advisor (loaded) | error pp |",
               "|---|---|---|---|---|---|"]
    worst_c = None
    if cc and cc.splits:
        want = _true_splits(quiet_runs, "c_calls")
        cll = ld.get(("c_calls", "advisor-sample"))
        for p, sp in cc.splits.items():
            err = cc.split_err[p]
            if worst_c is None or err > worst_c[0]:
                worst_c = (err, p)
            fmt = lambda s: " / ".join(f"{s[b]:.0f}" for b in BUCKETS)  # noqa: E731
            mark = "**" if err > GOAL_SPLIT_PP else ""
            lerr = cll.split_err[p] if cll and cll.split_err else None
            lmark = "**" if lerr is not None and lerr > GOAL_SPLIT_PP else ""
            c_lines.append(f"| {p} | {fmt(want[p])} | {fmt(sp)} | {mark}{err:.1f}{mark} | "
                           f"{fmt(cll.splits[p]) if cll and cll.splits else '–'} | "
                           f"{lmark}{'–' if lerr is None else f'{lerr:.1f}'}{lmark} |")
    rows.append(Row("C calls holding the GIL (c_calls: json.loads, sorted, small NumPy, np.asarray, read(), "
                    "Thread.join): worst split error", f"{worst_c[0]:.1f} pp ({worst_c[1]})" if worst_c else "–",
                    "— (no split)", "— (no split)", f"≤ {GOAL_SPLIT_PP:.0f} pp every phase",
                    None if worst_c is None else worst_c[0] <= GOAL_SPLIT_PP, cq))

    # details
    detail += ["## C calls: split per phase against the reference", "",
               "Reference: the phase's known nature, its GC seconds (gc.callbacks) moved to gc; for `read_shard` the "
               "thread's CPU time plus its run-queue delay (`/proc/thread-self/schedstat`) over the phase's wall time "
               "is native, the rest waiting.", "",
               *c_lines, ""]
    detail += ["## Overhead per workload (quiet)", "",
               "Whole command ÷ plain (in brackets: inside the `train_step` calls); then the worst phase (≥ 5% of "
               "the step): that phase's wall time ÷ the plain run's, median over the repeats.", "",
               "| workload | " + " | ".join(("advisor-sample", *ANCHORS)) + " |", "|---|---|---|---|"]
    for w in sorted({k[0] for k in q}):
        vals = []
        for t in ("advisor-sample", *ANCHORS):
            wp = worst_phase(q, shares, t, (w,))
            vals.append(_x(q.get((w, t))) + (f"; worst phase {wp[0]:.2f}× ({wp[1].split('/')[1]})" if wp else ""))
        detail.append(f"| {w} | " + " | ".join(vals) + " |")
    detail += ["", "Per phase (wall time under the tool ÷ plain, median over repeats):", "",
               "| workload | phase | true share | " + " | ".join(("advisor-sample", *ANCHORS)) + " |", "|---|---|---|---|---|---|"]
    for w in sorted(shares):
        for p, s in shares[w].items():
            vals = []
            for t in ("advisor-sample", *ANCHORS):
                r = (q.get((w, t)) or Cell()).phase_ratio or {}
                vals.append("–" if r.get(p) is None else f"{r[p]:.2f}×")
            detail.append(f"| {w} | {p} | {100 * s:.0f}% | " + " | ".join(vals) + " |")
    detail += ["", "Cyclic GC collections per run (generation 0 / 1 / 2, median over repeats; `gc.callbacks` in the "
               "workload): a GC-heavy phase runs slower or faster under a tool as the number of full collections "
               "and the objects each walks change.", "",
               "| workload | " + " | ".join(("plain", "advisor-sample", *ANCHORS)) + " |", "|---|---|---|---|---|"]
    for w in ("autograd", "gc_churn"):
        vals = []
        for t in ("plain", "advisor-sample", *ANCHORS):
            cols = [r.truth["collections"] for r in quiet_runs if r.workload == w and r.tool == t and r.truth
                    and "collections" in r.truth]
            vals.append(" / ".join(f"{statistics.median(c[g] for c in cols):.0f}" for g in range(3)) if cols else "–")
        detail.append(f"| {w} | " + " | ".join(vals) + " |")
    detail += ["", "## Split, quiet vs loaded (advisor, interp / native / waiting / gc %)", "", *load_lines, ""]
    detail += ["## Interval invariance: phase shares (median over repeats)", "",
               "The last column is how much the same phase moved between repeats at the same 5 ms interval: a "
               "difference between intervals below it is noise.", "", *iv_lines, "",
               "Verdicts (advice.json, most frequent over the repeats) for functions with ≥ 5% self share at 5 ms:",
               "", *vd_lines, ""]
    detail += ["## Fixed cost per run (empty script, seconds, median of the repeats)", "",
               "| tool | median | min | max |", "|---|---|---|---|",
               *[f"| {t} | {statistics.median(v):.3f} | {min(v):.3f} | {max(v):.3f} |"
                 for t, v in secs["fixed"]["data"].items() if v], ""]
    adv = secs.get("advice")
    if adv is not None:
        from benchmarks import fixed_variants

        lines, rate = fixed_variants.score(adv["data"])
        detail += ["## Advice accuracy: the top item against the measured fix (issue 14)", "",
                   "For each sample workload with a known fix, advisor profiles the original (a subprocess, JSON "
                   "outputs) and the step of the original and of the fixed variant are timed in one process, "
                   "interleaved, best of 5 (benchmarks/fixed_variants.py). A *hit*: the top item is the fix "
                   "(or, where the fix does not help on this machine, advisor does not lead with it); *in "
                   f"range*: the measured step speedup lies in the top item's low–high range. Taken: {_cond(adv, cores)}.",
                   "", *lines, "", rate, ""]
    detail += ["## Post-processing at scale (from benchmarks/scale.py, called unchanged)", "",
               *scale._table(cap), ""]
    return rows, detail


def write(raw: dict, out: Path) -> None:
    meta = raw["meta"]
    rows, detail = build(raw)
    errors = sorted({f"{sec}: {r['workload']}/{r['tool']}: {r['error']}" for sec in ("quiet", "long", "loaded")
                     for r in raw["sections"][sec]["data"] if r.get("error")})
    s = meta["settings"]
    md = ["# Benchmarks: issue 18's table, measured", "",
          f"Generated by `python -m benchmarks --full` on {meta['date']} in {meta['elapsed_s'] / 60:.1f} min, all rows "
          f"in this one run on this machine: {s['reps']} interleaved repeats per workload × tool at workload scale "
          f"{s['scale']} ({s.get('loaded_reps', s['reps'])} in the loaded condition); the long run {s['long_reps']} × at scale {s['long_scale']}; the fixed cost {s['fixed_reps']} × "
          f"on an empty script; the loaded condition with {s['competitors']} competing CPU-bound processes "
          f"(`while True: pass`) on {meta['cores']} cores.", "",
          *meta["environment"], "",
          "Ratios are medians over repeats of a per-repeat ratio against the plain run of the same repeat. advisor "
          "runs `advisor profile --quiet` with its defaults (5 ms; 1 and 2 ms for the interval row); py-spy `record "
          "--format raw --idle -r 200`; pyinstrument its default 1 ms. **Bold** = goal missed. Each row says under "
          "what load it was taken (1-minute load average at the start → end of its section); a section whose load "
          "exceeded 1.5 × cores plus its own competitors is marked busy.", "",
          "| what | advisor | py-spy | pyinstrument | goal | met? | condition |", "|---|---|---|---|---|---|---|",
          *[f"| {r.what} | {r.advisor} | {r.pyspy} | {r.pyinstrument} | {r.goal} | {_met(r.met)} | {r.condition} |"
            for r in rows], "", *detail]
    if errors:
        md += ["## Runs that failed", "", *[f"- {e}" for e in errors], ""]
    notes = Path(__file__).resolve().parent / "NOTES.md"
    if notes.exists():
        md += ["## What each missed goal would take (hand-written, benchmarks/NOTES.md)", "", notes.read_text().strip(), ""]
    out.write_text("\n".join(md) + "\n")
