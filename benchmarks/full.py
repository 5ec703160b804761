"""``python -m benchmarks --full``: every row of issue 18's table, measured in one run on one machine.

Sections, in this order (each records the load average it saw and the competitors it ran with):

1. fixed cost: ``python empty.py`` vs ``advisor profile empty.py`` vs pyinstrument and py-spy on it;
2. quiet matrix: every workload (the five accuracy workloads, ``autograd`` (a GC-heavy scalar-autograd
   step) and ``threads16`` (16 busy Python threads)) × plain, advisor (5 ms, and 1 and 2 ms for the interval
   check), py-spy and pyinstrument, interleaved repeats;
3. the whole command on a ~30 s run (``numeric_mix`` at a larger scale) × plain, advisor, py-spy, pyinstrument;
4. loaded matrix: the same workloads × plain and advisor with one competing CPU-bound process per core;
5. post-processing at scale: ``benchmarks.scale.capture_isolated`` (1 h and 8 h at 200 Hz, 1M samples).

Results go to ``results.json`` (raw) and RESULTS.md (``benchmarks/fullreport.py``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from benchmarks import accuracy, scale
from benchmarks.tools import base_env, command

WORKLOADS = ("numeric_mix", "waiting_mix", "gc_churn", "call_heavy", "c_calls", "autograd", "threads16")
QUIET_TOOLS = ("plain", "advisor-sample", "advisor-sample@1ms", "advisor-sample@2ms", "py-spy", "pyinstrument")
LOADED_TOOLS = ("plain", "advisor-sample")
LONG_TOOLS = ("plain", "advisor-sample", "py-spy", "pyinstrument")
LONG_WORKLOAD = "numeric_mix"
FIXED_TOOLS = ("plain", "advisor-sample", "advisor-json-only", "pyinstrument", "py-spy")
CAPTURE_SIZES = (720_000, 1_000_000, scale.EIGHT_HOURS)  # 1 h and 8 h at 200 Hz; `advisor report` on 1M


@dataclasses.dataclass(frozen=True)
class Settings:
    reps: int = 3
    scale: float = 0.25
    loaded_reps: int = 2
    long_scale: float = 2.5  # numeric_mix: ~30 s plain on this shared 2-core machine
    long_reps: int = 2
    fixed_reps: int = 7
    competitors: int = 2
    capture_sizes: tuple[int, ...] = CAPTURE_SIZES
    capture_timeout_s: float = 600.0
    advice_cases: tuple[str, ...] | None = None  # sample workloads of the advice section (None: all)

    @classmethod
    def quick(cls, competitors: int) -> "Settings":
        return cls(reps=1, scale=0.15, loaded_reps=1, long_scale=0.5, long_reps=1, fixed_reps=3, competitors=competitors,
                   capture_sizes=(100_000,), capture_timeout_s=120.0)


def _section(name: str, competitors: int, fn: Callable[[], object], log: Callable[[str], None]) -> dict:
    """Run one section; its result with the load average before and after and the competitors it ran with."""
    log(f"== {name}" + (f" (with {competitors} competing CPU-bound processes)" if competitors else ""))
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
             for _ in range(competitors)]
    load0, t0 = os.getloadavg()[0], time.time()
    try:
        data = fn()
    finally:
        load1 = os.getloadavg()[0]
        for p in procs:
            p.kill()
            p.wait()
    return {"data": data, "load": [load0, load1], "competitors": competitors, "elapsed_s": time.time() - t0}


def fixed_cost(reps: int, log: Callable[[str], None]) -> dict[str, list[float]]:
    """Wall seconds of each tool on an empty script, interleaved repeats."""
    script = accuracy.WORKLOADS_DIR / "empty.py"
    out: dict[str, list[float]] = {t: [] for t in FIXED_TOOLS}
    env = base_env(1.0)  # bytecode may be written (see base_env)
    for rep in range(-1, reps):  # rep -1: one untimed run of each tool writes its bytecode caches
        for tool in FIXED_TOOLS:
            work = Path(tempfile.mkdtemp(prefix="bench-empty-"))
            try:
                cmd = command("advisor-sample" if tool == "advisor-json-only" else tool, script, work)
                if tool == "advisor-json-only":
                    cmd[-1:-1] = ["--format", "json"]
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, cwd=work, capture_output=True, timeout=120, env=env)
                dt = time.perf_counter() - t0
            finally:
                shutil.rmtree(work, ignore_errors=True)
            if rep < 0:
                continue
            if proc.returncode == 0:
                out[tool].append(dt)
            else:
                log(f"  fixed cost: {tool} exit {proc.returncode}: {proc.stderr.decode(errors='replace')[-200:]}")
        if rep >= 0:
            log(f"  fixed cost rep {rep + 1}/{reps}: " + ", ".join(f"{t} {v[-1]:.3f} s" for t, v in out.items()
                                                                   if v))
    return out


def _runs(workloads: tuple[str, ...], tools: tuple[str, ...], reps: int, wscale: float,
          log: Callable[[str], None]) -> list[dict]:
    return [dataclasses.asdict(r) for r in accuracy.run_all(workloads, tools, reps, wscale, log)]


def run(settings: Settings, log: Callable[[str], None], workloads: tuple[str, ...] = WORKLOADS) -> dict:
    from benchmarks import fixed_variants, report

    t0 = time.time()
    s = settings
    sections = {
        "fixed": _section("fixed cost per run (empty script)", 0, lambda: fixed_cost(s.fixed_reps, log), log),
        "quiet": _section(f"quiet: {len(workloads)} workloads × {len(QUIET_TOOLS)} tools × {s.reps}", 0,
                          lambda: _runs(workloads, QUIET_TOOLS, s.reps, s.scale, log), log),
        "long": _section(f"whole command on a long run ({LONG_WORKLOAD} at scale {s.long_scale})", 0,
                         lambda: _runs((LONG_WORKLOAD,), LONG_TOOLS, s.long_reps, s.long_scale, log), log),
        "loaded": _section(f"loaded: {len(workloads)} workloads × {len(LOADED_TOOLS)} tools × {s.loaded_reps}",
                           s.competitors, lambda: _runs(workloads, LOADED_TOOLS, s.loaded_reps, s.scale, log), log),
        "advice": _section("advice accuracy: fixed variants of the sample workloads (benchmarks.fixed_variants)",
                           0, lambda: fixed_variants.run_cases(log, s.advice_cases), log),
        "capture": _section("post-processing at scale (benchmarks.scale.capture_isolated)", 0,
                            lambda: [scale.capture_isolated(n, timeout=s.capture_timeout_s, log=log)
                                     for n in s.capture_sizes], log),
    }
    return {"meta": {"full": True, "settings": dataclasses.asdict(s), "cores": os.cpu_count() or 1,
                     "elapsed_s": time.time() - t0, "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                     "environment": report.environment()},
            "sections": sections}
