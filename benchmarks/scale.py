"""Scale: synthetic profiles of 10k, 100k and 1M samples with up to 100k distinct frames.

A random call tree (``<module>`` → ``main`` → ``train_step`` → ...) of F frames; each sample is the path
to a leaf (half from a hot set of 1% of the frames, half uniform), with the leaf line drawn from 5
lines, so identical stacks aggregate into ``StackRecord``s as they would in a real run. The Profile is
built directly (no script runs); we time save, load, analyse and render, and measure each stage's peak
Python memory with ``tracemalloc`` in a separate pass (tracemalloc slows what it traces).
"""

from __future__ import annotations

import gc
import os
import random
import shutil
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo

SIZES = (10_000, 100_000, 1_000_000)
MAX_FRAMES = 100_000
TRACE_LIMIT_S = 15.0  # tracemalloc slows a stage several-fold: skip tracing stages slower than this


@dataclass
class ScaleResult:
    samples: int
    frames: int
    stacks: int
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> s
    peak_mb: dict[str, float] = field(default_factory=dict)  # stage -> MB
    sizes_mb: dict[str, float] = field(default_factory=dict)  # file -> MB
    notes: list[str] = field(default_factory=list)


def synthetic_profile(samples: int, seed: int = 0) -> Profile:
    rng = random.Random(seed)
    n_frames = min(MAX_FRAMES, max(100, samples // 10))
    keys = [FrameKey("/proj/train.py", "<module>", 1), FrameKey("/proj/train.py", "main", 10),
            FrameKey("/proj/train.py", "train_step", 20)]
    parent = [-1, 0, 1]
    for i in range(3, n_frames):
        lib = i % 4 == 0
        keys.append(FrameKey(f"/venv/site-packages/lib{i % 97}.py" if lib else f"/proj/pkg/mod{i % 211}.py",
                             f"func_{i}", 1 + i % 900))
        parent.append(rng.randrange(max(2, i // 8), i))
    frames = tuple(Frame(k, not k.file.startswith("/venv")) for k in keys)
    paths: dict[int, tuple[int, ...]] = {}

    def path(leaf: int) -> tuple[int, ...]:
        p = paths.get(leaf)
        if p is None:
            chain = []
            f = leaf
            while f >= 0:
                chain.append(f)
                f = parent[f]
            p = paths[leaf] = tuple(reversed(chain))
        return p

    hot = max(1, n_frames // 100)
    agg: dict[tuple, list[Any]] = {}
    for s in range(samples):
        leaf = rng.randrange(3, 3 + hot) if rng.random() < 0.5 else rng.randrange(3, n_frames)
        region = "step" if s % 20 else ("warmup" if s % 40 else "outside")
        ids = path(leaf) if region != "outside" else (0, 1)
        lines = tuple(keys[f].line + (rng.randrange(5) if j == len(ids) - 1 else 1) for j, f in enumerate(ids))
        bucket = rng.randrange(4)
        k = (ids, lines, region)
        cur = agg.get(k)
        if cur is None:
            cur = agg[k] = [[0.0, 0.0, 0.0, 0.0], 0]
        cur[0][bucket] += 0.005
        cur[1] += 1
    stacks = tuple(StackRecord(ids, lines, region, Split(*v[0]), v[1]) for (ids, lines, region), v in agg.items())
    steps = max(2, samples // 200)
    step = StepInfo(2, "auto", "synthetic", steps, 1, tuple(0.2 + 0.01 * (i % 7) for i in range(steps - 1)), "sampled")
    return Profile(mode="sample", interval_s=0.005, command={"kind": "script", "target": "train.py", "args": []},
                   environment={"python": "synthetic"}, started_at="2024-01-01T00:00:00+00:00",
                   wall_s=samples * 0.005, outcome=Outcome(0, "exit"), frames=frames, stacks=stacks, step=step,
                   candidates=(), samples=samples)


def _renderers() -> tuple[Callable[[Any, Path], Any] | None, str]:
    """advice + write_outputs when the cost model exists, else None and why."""
    try:
        from advisor.costmodel.advise import advise
        from advisor.outputs import write_outputs
    except ImportError as exc:
        return None, f"advisor.costmodel.advise not available ({exc}): render not measured"

    def render(analysis: Any, out: Path) -> Any:
        return write_outputs(advise(analysis), out)

    return render, ""


def measure(samples: int, log: Callable[[str], None] = print, skip_render: str = "") -> ScaleResult:
    from advisor.analysis import analyze

    profile = synthetic_profile(samples)
    res = ScaleResult(samples, len(profile.frames), len(profile.stacks))
    render, why = (None, skip_render) if skip_render else _renderers()
    if why:
        res.notes.append(why)
    out = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        state: dict[str, Any] = {}
        stages: list[tuple[str, Callable[[], Any]]] = [
            ("save", lambda: profile.save(out / "profile.json")),
            ("load", lambda: state.__setitem__("p", Profile.load(out / "profile.json"))),
            ("analyse", lambda: state.__setitem__("a", analyze(state["p"]))),
        ]
        if render is not None:
            stages.append(("render", lambda: state.__setitem__("w", render(state["a"], out))))
        for traced in (False, True):
            for name, fn in stages:
                if traced and res.seconds.get(name, 0.0) > TRACE_LIMIT_S:
                    res.notes.append(f"{name}: peak memory not traced (took {res.seconds[name]:.0f} s untraced)")
                    continue
                gc.collect()
                if traced:
                    tracemalloc.start()
                t0 = time.perf_counter()
                try:
                    fn()
                except (Exception, MemoryError) as exc:  # a renderer bug is a result to report
                    res.notes.append(f"{name} failed: {type(exc).__name__}: {exc}"[:200])
                    if traced:
                        tracemalloc.stop()
                    continue
                dt = time.perf_counter() - t0
                if traced:
                    res.peak_mb[name] = tracemalloc.get_traced_memory()[1] / 1e6
                    tracemalloc.stop()
                else:
                    res.seconds[name] = dt
        written = state.get("w")
        if written is not None and getattr(written, "failed", None):
            res.notes.extend(f"{k} failed: {v}"[:200] for k, v in written.failed.items())
        for f in sorted(out.iterdir()):
            if f.is_file():
                res.sizes_mb[f.name] = f.stat().st_size / 1e6
        log(f"  scale {samples:>9,} samples: {res.seconds} peak {res.peak_mb} sizes {res.sizes_mb} {res.notes}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return res


MEMORY_LIMIT_BYTES = 6 * 2**30  # the machine is shared: a runaway renderer must not take it all


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def measure_isolated(samples: int, timeout: float, log: Callable[[str], None] = print,
                     skip_render: str = "") -> ScaleResult:
    """``measure`` in a fresh interpreter (bounded time, memory returned to the system afterwards)."""
    import dataclasses
    import json
    import subprocess
    import sys

    from benchmarks.tools import REPO, base_env

    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", str(samples), skip_render], cwd=REPO,
                              env=base_env(1.0), capture_output=True, text=True, timeout=timeout,
                              preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        res = ScaleResult(samples, 0, 0, notes=[f"did not finish within {timeout:.0f} s"])
        log(f"  scale {samples:>9,} samples: timed out")
        return res
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        res = ScaleResult(**data)
    except (ValueError, IndexError, TypeError):
        res = ScaleResult(samples, 0, 0, notes=[f"failed: {proc.stderr.strip()[-300:]}"])
    log(f"  scale {samples:>9,} samples: {res.seconds} peak {res.peak_mb} sizes {res.sizes_mb} {res.notes}")
    del dataclasses
    return res



# ---- a long capture through the real path ---------------------------------------------------------------
# A training script's source (written to a temp folder so sources and loops are found as in a real run):
# main() loops over train_step(), which runs forward (LAYERS layers, each calling a library op), backward
# and an optimizer step. The sampler's own records (``Sampler.records`` / ``Sampler.stacks``) are filled
# as ``Sampler._run`` fills them; from there everything is the real post-processing: ``to_raw`` ->
# ``build_profile`` (with the step decided) -> save -> load -> ``advisor report --step`` -> outputs.
LAYERS = 24
LIB_OPS = 60  # library functions (a "torch" under site-packages): distinct leaves, as in a real run
SAMPLES_PER_STEP = 40  # a 200 ms step at 5 ms
TRAIN_SRC = """import math

def layer(i, x):
    y = op(x)
    return y + i

def forward(x):
    for i in range(24):
        x = layer(i, x)
    return x

def backward(x):
    for i in range(24):
        x = grad(x)
    return x

def optimizer_step(x):
    for p in range(10):
        x = x * 0.9
    return x

def train_step(i):
    x = forward(i)
    x = backward(x)
    return optimizer_step(x)

def main():
    for i in range(10 ** 9):
        train_step(i)

main()
"""
LIB_SRC = "\n".join(f"def op{j}(x):\n    y = x\n    y = y + 1\n    return y\n" for j in range(LIB_OPS))


def _codes(folder: Path) -> dict[str, Any]:
    """Real code objects of the training script, a fake library and advisor's runner (stripped at build)."""
    import types

    from advisor.capture import build as buildmod

    train = folder / "train.py"
    train.write_text(TRAIN_SRC)
    top = compile(TRAIN_SRC, str(train), "exec")
    out: dict[str, Any] = {"<module>": top}
    for c in top.co_consts:
        if isinstance(c, types.CodeType):
            out[c.co_name] = c
    lib = compile(LIB_SRC, "/venv/lib/python3.11/site-packages/torch/_ops.py", "exec")
    out["ops"] = [c for c in lib.co_consts if isinstance(c, types.CodeType)]
    out["runner"] = compile("def run_target():\n    pass\n", buildmod._RUNNER_FILE, "exec").co_consts[0]
    return out


def _lines(code: Any) -> dict[str, int]:
    return {"first": code.co_firstlineno, "body": code.co_firstlineno + 1, "second": code.co_firstlineno + 2}


def _cycle(codes: dict[str, Any], rng: random.Random, steps: int) -> tuple[list, list, list]:
    """One cycle of ``steps`` steps: per sample (stack key, unchanged depth, phase 0 fwd / 1 bwd / 2 opt)."""
    root = (codes["runner"], codes["<module>"], codes["main"])
    root_lines = (2, 31, 32)
    keys, same, phase = [], [], []
    prev: tuple = ()
    for _s in range(steps):
        n = SAMPLES_PER_STEP + rng.randrange(-3, 4)
        for j in range(n):
            pos = j / n
            if pos < 0.55:  # forward: layer i calls a library op
                i = int(pos / 0.55 * LAYERS)
                op = codes["ops"][(i * 7 + rng.randrange(3)) % LIB_OPS]
                chain = (codes["train_step"], codes["forward"], codes["layer"], op)
                lines = (22, 8, 4, op.co_firstlineno + 1 + rng.randrange(2))
                ph, call = 0, i
            elif pos < 0.9:  # backward: the library's grad op under backward's loop
                i = int((pos - 0.55) / 0.35 * LAYERS)
                op = codes["ops"][(LIB_OPS - 1 - i * 5 - rng.randrange(3)) % LIB_OPS]
                chain = (codes["train_step"], codes["backward"], op)
                lines = (23, 13, op.co_firstlineno + 1 + rng.randrange(2))
                ph, call = 1, i
            else:  # optimizer: interpreted
                chain = (codes["train_step"], codes["optimizer_step"])
                lines = (24, 18 + rng.randrange(2))
                ph, call = 2, 0
            key = (root + chain, root_lines + lines)
            # frames kept from the previous sample: the root, and this step's calls while they continue
            if j == 0:
                keep = len(root)
            else:
                k = 0
                while k < min(len(prev[0]), len(key[0])) and prev[0][k] is key[0][k]:
                    k += 1
                keep = min(k, len(root) + 2) if (ph, call) != prev[2] else min(k, len(key[0]) - 1)
            keys.append(key)
            same.append(keep)
            phase.append(ph)
            prev = (key[0], key[1], (ph, call))
    return keys, same, phase


def fill_sampler(samples: int, folder: Path, seed: int = 0) -> Any:
    """A ``Sampler`` whose records hold ``samples`` samples of a long training run, as ``_run`` leaves them."""
    from array import array

    import numpy as np

    from advisor.capture.sampler import INTERP, NATIVE, WAITING, Sampler

    rng = random.Random(seed)
    codes = _codes(folder)
    keys, same, phase = _cycle(codes, rng, 500)
    sampler = Sampler(interval_s=0.005)
    sids = np.empty(len(keys), dtype=np.int64)
    for i, k in enumerate(keys):
        sid = sampler.stacks.get(k)
        if sid is None:
            sid = sampler.stacks[k] = len(sampler.stacks)
        sids[i] = sid
    reps = -(-samples // len(keys))
    sid = np.tile(sids, reps)[:samples]
    unchanged = np.tile(np.asarray(same, dtype=np.int64), reps)[:samples]
    ph = np.tile(np.asarray(phase, dtype=np.int8), reps)[:samples]
    g = np.random.default_rng(seed)
    latency = g.exponential(4e-5, samples)
    weight = 0.005 * (0.5 + g.random(samples)) + latency
    read = 1000.0 + np.cumsum(weight)
    wake = read - latency
    state = np.where(ph == 2, INTERP, np.where(g.random(samples) < 0.1, WAITING, NATIVE)).astype(np.int8)
    gc_s = np.where(g.random(samples) < 0.002, weight * 0.5, 0.0)
    cols = sampler.records
    cols.wake, cols.read, cols.weight = array("d", wake.tobytes()), array("d", read.tobytes()), array("d", weight.tobytes())
    cols.state, cols.gc, cols.latency = array("b", state.tobytes()), array("d", gc_s.tobytes()), array("d", latency.tobytes())
    cols.sid, cols.same = array("q", sid.tobytes()), array("q", unchanged.tobytes())
    return sampler


class _PeakRSS:
    """Peak resident memory above the level at ``start``, polled every 5 ms (no tracing slowdown)."""

    def __init__(self) -> None:
        import threading

        self._stop = threading.Event()
        self.base = self.peak = self._rss()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> "_PeakRSS":
        gc.collect()
        self.base = self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.base) / 1e6


def measure_capture(samples: int, log: Callable[[str], None] = print, step: str = "train_step") -> dict[str, Any]:
    """Post-processing of a ``samples``-long sampler capture through the real path, stage by stage.

    Returns seconds and peak extra RSS (MB, over the process as the run left it) per stage, file sizes,
    and per-sample costs. Run each size in a fresh interpreter (``python -m benchmarks.scale capture N``):
    the peak of one size must not hide in the memory another left behind.
    """
    from advisor.analysis.stepping import apply_step
    from advisor.capture.build import UserCode, measure as build_measure
    from advisor.model import Outcome, Profile
    from advisor.pipeline import finish

    folder = Path(tempfile.mkdtemp(prefix="bench-capture-"))
    out: dict[str, Any] = {"samples": samples, "seconds": {}, "cpu_s": {}, "peak_mb": {}, "sizes_mb": {},
                          "notes": []}
    try:
        sampler = fill_sampler(samples, folder)
        state: dict[str, Any] = {}

        stages: dict[str, float] = {}

        def timed(name: str, fn: Callable[[], Any]) -> Any:
            c0 = time.process_time()
            r = fn()
            stages[name] = round(time.process_time() - c0, 3)
            return r

        def post() -> None:  # what happens after the script stops: to_raw, build (measure + decide), save
            raw = timed("to_raw", sampler.to_raw)
            prof = timed("build: measure", lambda: build_measure(
                raw, command={"kind": "script", "target": "train.py", "args": []}, environment={"python": "bench"},
                outcome=Outcome(0, "exit"), wall_s=samples * 0.005, user_code=UserCode.default()))
            del raw
            state["profile"] = timed("build: decide the step", lambda: apply_step(prof, None, 1))
            timed("save", lambda: state["profile"].save(folder / "profile.json"))

        def report() -> None:  # advisor report --step: load, decide again, analyse, write the outputs
            prof = timed("load", lambda: Profile.load(folder / "profile.json"))
            prof = timed("decide again (--step)", lambda: apply_step(prof, step, None, strict=True))
            state["report"] = timed("analyse + advice + report.html", lambda: finish(
                prof, folder / "out", outputs=("advice", "report")))

        for name, fn in (("post-process (to_raw+build+decide+save)", post), ("report --step (load+decide+analyse+render)", report)):
            with _PeakRSS() as rss:
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    fn()
                except (Exception, MemoryError) as exc:  # a failure is a result to report
                    out["notes"].append(f"{name} failed: {type(exc).__name__}: {exc}"[:200])
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            out["seconds"][name] = round(dt, 3)
            out["cpu_s"][name] = round(cpu, 3)
            out["peak_mb"][name] = round(rss.extra_mb, 1)
            log(f"  capture {samples:>9,}: {name}: {dt:.2f} s ({cpu:.2f} s CPU), +{rss.extra_mb:.0f} MB")
        out["stages_cpu_s"] = stages
        prof = state.get("profile")
        if prof is not None:
            out["stacks"] = len(prof.stacks)
            out["step"] = None if prof.step is None else prof.step.reason
        rep = state.get("report")
        if rep is not None:
            out["notes"].extend(f"{k} failed: {v}"[:200] for k, v in rep.failed.items())
        for f in [folder / "profile.json", *sorted((folder / "out").glob("*"))]:
            if f.is_file():
                out["sizes_mb"][f.name] = round(f.stat().st_size / 1e6, 2)
        out["us_per_sample"] = {k: round(v / samples * 1e6, 2) for k, v in out["cpu_s"].items()}
        out["bytes_per_sample"] = {k: round(v * 1e6 / samples, 1) for k, v in out["peak_mb"].items()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


EIGHT_HOURS = 8 * 3600 * 200  # samples at the default 5 ms interval
CAPTURE_SIZES = (100_000, 720_000, 1_000_000, EIGHT_HOURS)


def capture_isolated(samples: int, timeout: float = 900.0, log: Callable[[str], None] = print) -> dict[str, Any]:
    import json
    import subprocess
    import sys

    from benchmarks.tools import REPO

    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", "capture", str(samples)], cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"samples": samples, "notes": [f"did not finish within {timeout:.0f} s"]}
    try:
        res = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        res = {"samples": samples, "notes": [f"failed: {proc.stderr.strip()[-300:]}"]}
    log(f"  capture {samples:>9,}: {res}")
    return res


def _table(rows: list[dict[str, Any]]) -> list[str]:
    f = lambda v, fmt="{:.2f}": "-" if v is None else fmt.format(v)  # noqa: E731
    out = ["| samples | post-process CPU s (wall) | peak MB | CPU µs/sample | report --step CPU s (wall) | peak MB "
           "| profile.json MB | report.html MB | notes |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        s, c, m, z = (list(r.get(k, {}).values()) + [None, None] for k in ("seconds", "cpu_s", "peak_mb", "us_per_sample"))
        sizes = r.get("sizes_mb", {})
        out.append(f"| {r['samples']:,} | {f(c[0])} ({f(s[0], '{:.1f}')}) | {f(m[0], '{:.0f}')} | {f(z[0], '{:.1f}')} | "
                   f"{f(c[1])} ({f(s[1], '{:.1f}')}) | {f(m[1], '{:.0f}')} | {f(sizes.get('profile.json'))} | "
                   f"{f(sizes.get('report.html'))} | {'; '.join(r.get('notes', []))[:200]} |")
    return out


def write_results(rows: list[dict[str, Any]], path: Path, before: list[dict[str, Any]] | None = None) -> None:
    """benchmarks/RESULTS-scale.md: the runs just measured, the stages of the longest, and ``before`` (rows
    measured the same way on the tree before the columnar timeline, benchmarks/scale-before.json)."""
    import datetime
    import platform

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = ["# Scale: long captures through the real path", "",
             f"Generated by `python -m benchmarks.scale results` on "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC: {platform.machine()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load:.1f} (a shared "
             "machine: wall times swing with the load, CPU times are the figures to compare).", "",
             "A `Sampler` is filled as `Sampler._run` fills it (a training script's real code objects: `main` → "
             f"`train_step` → forward over {LAYERS} layers calling {LIB_OPS} library ops, backward, an optimizer; "
             f"{SAMPLES_PER_STEP} samples a step), then the real post-processing runs. **Post-process** = "
             "`Sampler.to_raw` → `build.measure` → `apply_step` (step auto-detected) → `Profile.save`. "
             "**Report** = `Profile.load` → `apply_step(--step train_step)` → analyse + advice → advice.json + "
             "report.html (`advisor report --step`). **Peak** = resident memory above the process as the run "
             "left it (the sampler's records, ~57 bytes a sample, are in that base), polled every 5 ms; each size "
             "in a fresh interpreter.", "",
             "Goals (issues 12, 18): eight hours at 5 ms (5,760,000 samples) post-processed in ≤ 3 s and ≤ 200 MB; "
             "`advisor report` on 1M samples ≤ 3 s with report.html ≤ 10 MB.", "", "## Now", ""]
    lines += _table(rows)
    staged = [r for r in rows if r.get("stages_cpu_s")]
    if staged:
        names = list(staged[-1]["stages_cpu_s"])
        lines += ["", "Where the CPU goes (seconds; µs a sample in brackets). A plain `advisor report` (no --step) is "
                  "load + analyse + render:", "",
                  "| stage | " + " | ".join(f"{r['samples']:,}" for r in staged) + " |",
                  "|---|" + "---:|" * len(staged)]
        for name in names + ["plain `advisor report`"]:
            cells = []
            for r in staged:
                st = r["stages_cpu_s"]
                v = (st.get("load", 0.0) + st.get("analyse + advice + report.html", 0.0)) if name.startswith("plain") \
                    else st.get(name)
                cells.append("-" if v is None else f"{v:.2f} ({v / r['samples'] * 1e6:.2f})")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if before:
        lines += ["", "## Before (the tree before the columnar timeline: a RawSample and a Split per sample, "
                  "format 2 with JSON lists)", ""]
        lines += _table(before)
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    import dataclasses
    import json
    import os
    import sys

    if len(sys.argv) > 2 and sys.argv[1] == "capture":
        print(json.dumps(measure_capture(int(sys.argv[2]), log=lambda s: print(s, file=sys.stderr))))
    elif len(sys.argv) > 1 and sys.argv[1] == "results":
        sizes = [int(a) for a in sys.argv[2:]] or list(CAPTURE_SIZES)
        rows = [capture_isolated(n, timeout=3600, log=lambda s: print(s, file=sys.stderr)) for n in sizes]
        here = Path(__file__).parent
        before = here / "scale-before.json"
        write_results(rows, here / "RESULTS-scale.md", json.loads(before.read_text()) if before.is_file() else None)
        json.dump(rows, sys.stdout)
    else:
        r = measure(int(sys.argv[1]), log=lambda s: print(s, file=sys.stderr),
                    skip_render=sys.argv[2] if len(sys.argv) > 2 else "")
        print(json.dumps(dataclasses.asdict(r)))
