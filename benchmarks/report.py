"""RESULTS.md: the tables, the goals met or missed (by how much), the machine and the versions."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.accuracy import BUCKETS, Cell, Stability
from benchmarks.scale import ScaleResult
from benchmarks.tools import REPO, TOOLS

GOAL_OVERHEAD = 1.05
GOAL_SHARE_PP = 2.0
GOAL_SPLIT_PP = 5.0
GOAL_SCALE_S = 3.0
GOAL_HTML_MB = 10.0
PROFILERS = tuple(t for t in TOOLS if t != "plain")


def _f(x: float | None, fmt: str = "{:.2f}") -> str:
    return "–" if x is None else fmt.format(x)


def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30, cwd=REPO).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def environment() -> list[str]:
    import numpy

    try:
        import pyinstrument

        pyi = pyinstrument.__version__
    except ImportError:
        pyi = "not installed"
    from advisor._version import __version__

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "?"
    try:
        cfg = numpy.show_config(mode="dicts")  # type: ignore[call-arg]
        b = cfg["Build Dependencies"]["blas"]
        blas = f"{b.get('name')} {b.get('version')}"
    except Exception:
        pass
    sampler = REPO / "advisor" / "capture" / "sampler.py"
    dirty = _cmd(["git", "status", "--short", "--", "advisor"]).splitlines()
    return [
        f"- machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {sys.version.split()[0]}, NumPy {numpy.__version__} ({blas}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}), pyinstrument {pyi}, "
        f"{_cmd(['py-spy', '--version']) or 'py-spy not found'}",
        f"- advisor {__version__} at commit {_cmd(['git', 'rev-parse', '--short', 'HEAD'])}"
        + (f" with {len(dirty)} uncommitted change(s) under advisor/ ({', '.join(d.split()[-1] for d in dirty[:6])})"
           if dirty else "")
        + f"; advisor/capture/sampler.py sha256 {hashlib.sha256(sampler.read_bytes()).hexdigest()[:12]}",
    ]


def _workload_order(cells: dict[tuple[str, str], Cell]) -> list[str]:
    seen: list[str] = []
    for w, _ in cells:
        if w not in seen:
            seen.append(w)
    return sorted(seen)


def overhead_table(cells: dict[tuple[str, str], Cell]) -> list[str]:
    rows = ["| workload | " + " | ".join(PROFILERS) + " |", "|---" * (len(PROFILERS) + 1) + "|"]
    for w in _workload_order(cells):
        vals = []
        for t in PROFILERS:
            c = cells.get((w, t))
            if c is None or c.wall_ratio is None:
                vals.append("failed" if c and c.errors else "–")
            else:
                vals.append(f"{c.wall_ratio:.2f}× ({c.step_ratio:.2f}×)")
        rows.append(f"| {w} | " + " | ".join(vals) + " |")
    return rows


def share_table(cells: dict[tuple[str, str], Cell], truth: dict[str, dict[str, tuple[float, str, float, float]]]) -> list[str]:
    rows = ["| workload | phase | nature | true share | " + " | ".join(PROFILERS) + " | advisor-sample own-run |",
            "|---" * (len(PROFILERS) + 5) + "|"]
    for w in _workload_order(cells):
        for p, (share, nature, _gc, _spread) in truth.get(w, {}).items():
            vals = []
            for t in PROFILERS:
                c = cells.get((w, t))
                if c is None or c.share_err is None:
                    vals.append("–")
                else:
                    err = c.share_err[p]
                    mark = "**" if err > GOAL_SHARE_PP else ""
                    vals.append(f"{mark}{err:.1f}{mark} ({c.shares[p]:.0f}%)")
            own = cells.get((w, "advisor-sample"))
            vals.append(_f(own.own_err[p] if own and own.own_err else None, "{:.1f}"))
            rows.append(f"| {w} | {p} | {nature} | {share:.1f}% | " + " | ".join(vals) + " |")
    return rows


def split_table(cells: dict[tuple[str, str], Cell], truth: dict[str, dict[str, tuple[float, str, float, float]]],
                tool: str) -> list[str]:
    rows = ["| workload | phase | true split | measured split (interp / native / waiting / gc %) | error pp |",
            "|---|---|---|---|---|"]
    for w in _workload_order(cells):
        c = cells.get((w, tool))
        if c is None or c.split_err is None:
            continue
        for p, (_share, nature, gc, _spread) in truth.get(w, {}).items():
            own = {"native": "native", "waiting": "waiting"}.get(nature, "interp")
            want = f"{nature}" + (f" ({100 - gc:.0f}% {own}, {gc:.0f}% gc)" if gc >= 0.5 else "")
            got = " / ".join(f"{c.splits[p][b]:.0f}" for b in BUCKETS)
            err = c.split_err[p]
            mark = "**" if err > GOAL_SPLIT_PP else ""
            rows.append(f"| {w} | {p} | {want} | {got} | {mark}{err:.1f}{mark} |")
    return rows


def stability_table(stab: dict[str, Stability]) -> list[str]:
    rows = ["| workload | runs | modal top-5 (self share) | same order | same set | max spread of top-5 self shares | max spread of phase shares |",
            "|---|---|---|---|---|---|---|"]
    for w, s in stab.items():
        worst = max(s.spread_pp.items(), key=lambda kv: kv[1], default=("", 0.0))
        pworst = max(s.phase_spread_pp.items(), key=lambda kv: kv[1], default=("", 0.0))
        rows.append(f"| {w} | {s.runs} | {', '.join(s.modal_top5)} | {s.same_top5}/{s.runs} | {s.same_set}/{s.runs} "
                    f"| {worst[1]:.1f} pp ({worst[0]}) | {pworst[1]:.1f} pp ({pworst[0]}) |")
    return rows


def scale_table(results: list[ScaleResult]) -> list[str]:
    rows = ["| samples | frames | stack records | save s | load s | analyse s | render s | load+analyse+render s "
            "| µs/sample | peak MB (save/load/analyse/render) | profile.json MB | report.html MB | other outputs MB | notes |",
            "|---" * 14 + "|"]
    for r in results:
        s = r.seconds
        total = sum(s.get(k, 0.0) for k in ("load", "analyse", "render")) if s else None
        per = 1e6 * total / r.samples if total else None
        peaks = "/".join(_f(r.peak_mb.get(k), "{:.0f}") for k in ("save", "load", "analyse", "render"))
        others = ", ".join(f"{k} {v:.1f}" for k, v in r.sizes_mb.items() if k not in ("profile.json", "report.html"))
        rows.append(f"| {r.samples:,} | {r.frames:,} | {r.stacks:,} | {_f(s.get('save'))} | {_f(s.get('load'))} "
                    f"| {_f(s.get('analyse'))} | {_f(s.get('render'))} | {_f(total)} | {_f(per, '{:.1f}')} | {peaks} "
                    f"| {_f(r.sizes_mb.get('profile.json'), '{:.1f}')} | {_f(r.sizes_mb.get('report.html'), '{:.2f}')} "
                    f"| {others or '–'} | {'; '.join(r.notes) or ''} |")
    return rows


def goal_check(cells: dict[tuple[str, str], Cell], scale: list[ScaleResult]) -> list[str]:
    out = []
    for (w, t), c in sorted(cells.items()):
        if c.steps and set(c.steps) != {"train_step"}:
            out.append(f"- {w}/{t}: step detected as {', '.join(sorted(c.steps))} instead of train_step "
                       "(its shares are of that function)")
    for w in _workload_order(cells):
        a = cells.get((w, "advisor-sample"))
        if a is None or a.wall_ratio is None:
            out.append(f"- {w}: advisor (sample) did not produce a result: {'; '.join(a.errors or []) if a else ''}")
            continue
        if a.step_ratio > GOAL_OVERHEAD:
            out.append(f"- {w}: overhead of the step {a.step_ratio:.2f}× > {GOAL_OVERHEAD}× "
                       f"(by {100 * (a.step_ratio - GOAL_OVERHEAD):.0f} points)")
        if a.wall_ratio > GOAL_OVERHEAD:
            out.append(f"- {w}: whole-command wall time {a.wall_ratio:.2f}× > {GOAL_OVERHEAD}× "
                       f"(includes advisor's start-up, profile build and save)")
        for t in ("pyinstrument", "cProfile"):
            o = cells.get((w, t))
            if o and o.step_ratio is not None and a.step_ratio >= o.step_ratio:
                out.append(f"- {w}: advisor's step overhead {a.step_ratio:.2f}× is not lower than {t}'s {o.step_ratio:.2f}×")
        for p, e in (a.share_err or {}).items():
            if e > GOAL_SHARE_PP:
                own = a.own_err[p] if a.own_err else None
                out.append(f"- {w}/{p}: share error {e:.1f} pp > {GOAL_SHARE_PP} pp (by {e - GOAL_SHARE_PP:.1f}; "
                           f"against its own run's timing {_f(own, '{:.1f}')} pp)")
        for p, e in (a.split_err or {}).items():
            if e > GOAL_SPLIT_PP:
                out.append(f"- {w}/{p}: split error {e:.1f} pp > {GOAL_SPLIT_PP} pp (by {e - GOAL_SPLIT_PP:.1f})")
    for r in scale:
        if r.samples != max(x.samples for x in scale):
            continue
        total = sum(r.seconds.get(k, 0.0) for k in ("load", "analyse", "render"))
        if not r.seconds or "render" not in r.seconds:
            out.append(f"- scale {r.samples:,}: not fully measured ({'; '.join(r.notes)})")
        elif total > GOAL_SCALE_S:
            out.append(f"- scale {r.samples:,}: load+analyse+render {total:.1f} s > {GOAL_SCALE_S} s "
                       f"(×{total / GOAL_SCALE_S:.1f})")
        html = r.sizes_mb.get("report.html")
        if html is not None and html > GOAL_HTML_MB:
            out.append(f"- scale {r.samples:,}: report.html {html:.1f} MB > {GOAL_HTML_MB} MB")
    return out or ["- all goals met in this run"]


def diagnosis_tables(diags: list[dict[str, Any]]) -> list[str]:
    rows = ["| workload | true phase (at wake) | weight s | charged to other phases | read latency p50 / p90 / p99 ms "
            "| buckets assigned (interp / native / waiting / gc %) | GC s true → charged |",
            "|---|---|---|---|---|---|---|"]
    for d in diags:
        for phase, conf in d["confusion"].items():
            if phase.startswith("("):
                continue
            total = sum(conf.values())
            other = {k: v for k, v in conf.items() if k != phase}
            moved = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(other.items(), key=lambda kv: -kv[1])
                              if v / total >= 0.01) or "–"
            lat = d["latency_ms"].get(phase, [0, 0, 0, 0])
            st = d["states"].get(phase, {})
            buckets = " / ".join(f"{st.get(b, 0):.0f}" for b in BUCKETS)
            gct, gcc = d["gc_true"].get(phase, 0.0), d["gc_charged"].get(phase, 0.0)
            rows.append(f"| {d['workload']} | {phase} | {total:.2f} | {moved} | {lat[0]:.2f} / {lat[1]:.2f} / {lat[2]:.2f} "
                        f"| {buckets} | {gct:.2f} → {gcc:.2f} |")
    return rows
