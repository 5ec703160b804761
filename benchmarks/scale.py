"""Scale: synthetic profiles of 10k, 100k and 1M samples with up to 100k distinct frames.

A random call tree (``<module>`` → ``main`` → ``train_step`` → ...) of F frames; each sample is the path
to a leaf (half from a hot set of 1% of the frames, half uniform), with the leaf line drawn from 5
lines, so identical stacks aggregate into ``StackRecord``s as they would in a real run. The Profile is
built directly (no script runs); we time save, load, analyse and render, and measure each stage's peak
Python memory with ``tracemalloc`` in a separate pass (tracemalloc slows what it traces).
"""

from __future__ import annotations

import gc
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


if __name__ == "__main__":
    import dataclasses
    import json
    import sys

    r = measure(int(sys.argv[1]), log=lambda s: print(s, file=sys.stderr),
                skip_render=sys.argv[2] if len(sys.argv) > 2 else "")
    print(json.dumps(dataclasses.asdict(r)))
