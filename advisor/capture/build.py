"""After the run: RawCapture → Profile (frame table, step, regions, aggregated stacks, sources).

Runs once, after the script has stopped; nothing here runs inside the user's training loop.
"""

from __future__ import annotations

import datetime as _dt
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from advisor.analysis import loopstep
from advisor.analysis import step as stepmod
from advisor.capture.raw import RawCapture, RawSample
from advisor.capture.timing import exact_timings, timed_step
from advisor.model import Frame, FrameKey, Outcome, Profile, Split, StackRecord, StepInfo

_ADVISOR_DIR = str(Path(__file__).resolve().parents[1])
_SKIP_ROOT_FILES = ("runpy.py", "<frozen runpy>")
_RUNNER_FILE = str(Path(__file__).resolve().parent / "runner.py")
MAX_SOURCE_BYTES = 2_000_000
# endings after which the last step was cut short (not a complete step)
_CUT_SHORT = ("interrupt", "sigterm", "max-steps", "exception", "checkpoint", "os._exit")
MAX_SOURCE_FILES = 100


@dataclass(frozen=True, slots=True)
class UserCode:
    """Decides which files are the team's own code.

    By default: any real file outside the standard library, site-packages and advisor itself (so the
    script's folder and the team's own packages count). ``only`` restricts user code to given folders.
    """

    library_roots: tuple[str, ...]
    only: tuple[str, ...] = ()

    @classmethod
    def default(cls, only: tuple[str, ...] = ()) -> UserCode:
        paths = sysconfig.get_paths()
        roots = {paths.get(k, "") for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        roots.add(_ADVISOR_DIR)
        return cls(tuple(sorted(os.path.realpath(r) for r in roots if r)),
                   tuple(os.path.realpath(p) for p in only))

    def is_user(self, key: FrameKey) -> bool:
        if key.kind != "python" or key.file.startswith("<") or not os.path.isabs(key.file):
            return False
        real = os.path.realpath(key.file)
        parts = Path(real).parts
        if "site-packages" in parts or "dist-packages" in parts:
            return False
        if any(real == r or real.startswith(r + os.sep) for r in self.library_roots):
            return False
        if self.only:
            return any(real == r or real.startswith(r + os.sep) for r in self.only)
        return True


def clean_text(text: str) -> str:
    """``text`` as valid UTF-8: bytes that were not UTF-8 (surrogate escapes from the file system or
    ``sys.argv``) shown as ``\\xe9``, so every renderer can write them."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _clean_key(key: FrameKey) -> FrameKey:
    file, name = clean_text(key.file), clean_text(key.qualname)
    return key if (file is key.file and name is key.qualname) else FrameKey(file, name, key.line, key.kind)


def _clean_json(value: object) -> object:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    return value


def _strip_root(sample: RawSample) -> tuple[tuple[FrameKey, ...], tuple[int, ...], int]:
    """Drop the harness below the user's code (launcher, typer, advisor's runner, runpy) and
    advisor's own frames above it (the GC callback runs on the profiled thread)."""
    frames = sample.frames
    n = 0
    for i, k in enumerate(frames):
        if k.file == _RUNNER_FILE:
            n = i + 1
    while n < len(frames) and frames[n].file.endswith(_SKIP_ROOT_FILES):
        n += 1
    keep = [i for i in range(n, len(frames)) if not frames[i].file.startswith(_ADVISOR_DIR)]
    if len(keep) == len(frames) - n:
        return frames[n:], sample.lines[n:], max(0, sample.new_from - n)
    new_from = sum(1 for i in keep if i < sample.new_from)
    return tuple(frames[i] for i in keep), tuple(sample.lines[i] for i in keep), new_from


def build_profile(raw: RawCapture, *, command: dict, environment: dict, outcome: Outcome, wall_s: float,
                  started_at: str | None = None, step_spec: str | None = None, warmup: int = 1,
                  user_code: UserCode | None = None) -> Profile:
    """Turn a RawCapture into a Profile: intern frames, find the step, assign regions, aggregate.

    If ``step_spec`` matches nothing, the profile is built with ``step=None`` and a warning; the caller
    saves it and then raises ``StepNotFound`` (see ``advisor.api``).
    """
    user_code = user_code or UserCode.default()
    frame_ids: dict[FrameKey, int] = {}
    keys: list[FrameKey] = []
    rows: list[tuple[tuple[int, ...], tuple[int, ...], float, int, Split]] = []
    row_t: list[float] = []
    for s in raw.samples:
        frames, lines, new_from = _strip_root(s)
        if not frames:
            continue
        row_t.append(s.t)
        ids = []
        for k in frames:
            fid = frame_ids.get(k)
            if fid is None:
                fid = frame_ids[k] = len(keys)
                keys.append(k)
            ids.append(fid)

        rows.append((tuple(ids), lines, s.split.total, new_from, s.split))
    user = [user_code.is_user(k) for k in keys]
    raw_files = [k.file for k in keys]  # the real paths, to read sources from
    keys = [_clean_key(k) for k in keys]
    calls = None
    if raw.calls is not None:
        calls = {frame_ids[k]: n for k, n in raw.calls.items() if k in frame_ids}
    table = stepmod.track_invocations([(ids, w, nf) for ids, _, w, nf, _ in rows])
    cands = stepmod.candidates(table, keys, calls)
    warnings = list(raw.warnings)
    loop_info = None
    if step_spec and _is_loop_spec(step_spec):
        loop_info = _explicit_loop(step_spec, rows, table, keys, user, warmup, outcome, warnings)
        step_info, step_fid = (loop_info[0], loop_info[0].frame) if loop_info else (None, None)
    else:
        step_info, step_fid = _find_step(step_spec, cands, table, keys, user, calls, warmup, outcome, raw,
                                         warnings)
        if step_info is not None and step_info.chosen_by == "auto" and raw.mode != "cprofile":
            loop_info = _auto_loop(step_fid, rows, table, keys, user, warmup, outcome)
            if loop_info is not None:
                step_info, step_fid = loop_info[0], loop_info[0].frame
    timings = exact_timings(raw, frame_ids)
    if step_info is not None and step_info.loop_lines is None and raw.mode != "cprofile":
        step_info = timed_step(step_info, timings, table, row_t, outcome)
    if loop_info is not None:
        regions = loop_info[1]
    else:
        regions = _regions(rows, table, step_fid, warmup if raw.mode != "cprofile" else 0)
    stacks = _aggregate(rows, regions)
    sources = _sources(keys, user, stacks, raw_files)
    total_cpu = sum(r[4].interpreted + r[4].native + r[4].gc for r in rows)
    clock = {"sampled_cpu_s": total_cpu, "sampled_wall_s": sum(r[2] for r in rows)}
    if raw.thread_cpu_s is not None:
        clock["thread_cpu_s"] = raw.thread_cpu_s
    return Profile(
        mode=raw.mode, interval_s=raw.interval_s, command=_clean_json(command),  # type: ignore[arg-type]
        environment=_clean_json(environment),  # type: ignore[arg-type]
        started_at=started_at or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        wall_s=wall_s, outcome=outcome, frames=tuple(Frame(k, u) for k, u in zip(keys, user)),
        stacks=tuple(stacks), step=step_info, candidates=tuple(cands[:50]), calls=calls, sources=sources,
        clock=clock, timings=timings, samples=len(raw.samples), warnings=tuple(warnings),
    )


def _find_step(spec, cands, table, keys, user, calls, warmup, outcome, raw, warnings):
    if spec:
        hits = stepmod.match_step(spec, keys)
        if not hits:
            warnings.append(f"--step {spec!r} matched no function that ran")
            return None, None
        fid = max(hits, key=lambda h: table.inclusive_s.get(h, 0.0))
        chosen_by, reason_head = "--step", f"--step {spec}"
    else:
        best = stepmod.choose_step(cands, table, user, [k.qualname for k in keys])
        if best is None:
            warnings.append("no function was called repeatedly: the whole run is analysed as one step "
                            "(use --step to name the step function)")
            return None, None
        fid, chosen_by, reason_head = best.frame, "auto", "auto-detected"
    invs = table.invocations.get(fid, [])
    n_calls = calls.get(fid, len(invs)) if calls is not None else len(invs)
    run_total = _run_total(table)
    share = table.inclusive_s.get(fid, 0.0) / run_total if run_total else 0.0
    if raw.mode == "cprofile":
        durations: tuple[float, ...] = ()
        timing = "cprofile"
    else:
        complete = invs
        if outcome.stopped_by in _CUT_SHORT and invs:
            complete = invs[:-1]  # the last call was cut short
        durations = tuple(inv.covered_s for inv in complete[warmup:])
        timing = "sampled"
    tail = "; --step to choose" if chosen_by == "auto" else ""
    reason = f"{reason_head}: {n_calls} calls, {share:.0%} of run time{tail}"
    return StepInfo(fid, chosen_by, reason, n_calls, warmup, durations, timing), fid


def _is_loop_spec(spec: str) -> bool:
    return spec.rpartition(":")[2].isdigit() and ":" in spec


def _new_calls(rows, marker: int) -> list[bool]:
    """Whether each row starts a new call of ``marker`` (its outermost frame is past ``new_from``)."""
    out = []
    for ids, _lines, _w, new_from, _split in rows:
        out.append(marker in ids and ids.index(marker) >= new_from)
    return out


def _read_source(file: str) -> str | None:
    try:
        return Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _loop_step(loop: loopstep.Loop, marker: int | None, rows, keys, warmup, outcome, chosen_by, head,
               run_total) -> tuple[StepInfo, list[str]]:
    simple = [(ids, lines, w) for ids, lines, w, _nf, _s in rows]
    new_call = _new_calls(rows, marker) if marker is not None else [False] * len(rows)
    iters = loopstep.loop_iterations(simple, loop, marker if marker is not None else -1, new_call)
    per_iter: dict[int, float] = {}
    for (ids, lines, w), it in zip(simple, iters):
        if it is not None:
            per_iter[it] = per_iter.get(it, 0.0) + w
    n = (max(per_iter) + 1) if per_iter else 0
    complete = n - 1 if outcome.stopped_by in _CUT_SHORT and n else n
    durations = tuple(per_iter.get(i, 0.0) for i in range(warmup, complete))
    regions = ["outside" if it is None else ("warmup" if it < warmup else "step") for it in iters]
    in_loop = sum(per_iter.values())
    where = f"{os.path.basename(keys[loop.frame].file)}:{loop.start}"
    each = f", one {keys[marker].qualname} call each" if marker is not None else ""
    tail = "; --step to choose" if chosen_by == "auto" else ""
    reason = (f"{head}: the {loop.kind} loop at {where} ({n} iterations{each}), "
              f"{in_loop / run_total if run_total else 0:.0%} of run time{tail}")
    return StepInfo(loop.frame, chosen_by, reason, n, warmup, durations, "sampled",
                    (loop.start, loop.end)), regions


def _auto_loop(marker: int, rows, table, keys, user, warmup, outcome):
    """The loop around the detected step function, when that loop holds clearly more time."""
    for ids, lines, _w, _nf, _s in rows:
        if marker not in ids:
            continue
        depth = ids.index(marker)
        parents = [d for d in range(depth - 1, -1, -1) if user[ids[d]]]
        if not parents:
            return None
        d = parents[0]
        frame, line = ids[d], lines[d]
        if len(table.invocations.get(frame, [])) >= len(table.invocations.get(marker, [])):
            return None
        source = _read_source(keys[frame].file)
        span = loopstep.innermost_loop(source, line) if source else None
        if span is None:
            return None
        loop = loopstep.Loop(frame, *span, nested=loopstep.nested_loop_lines(source, span[0], span[1]))
        in_loop = sum(w for i2, l2, w, _nf, _s in rows
                      if frame in i2 and loop.start <= l2[i2.index(frame)] <= loop.end)
        if in_loop < loopstep.LOOP_GAIN * table.inclusive_s.get(marker, 0.0):
            return None
        return _loop_step(loop, marker, rows, keys, warmup, outcome, "auto", "auto-detected",
                          _run_total(table))
    return None


def _explicit_loop(spec: str, rows, table, keys, user, warmup, outcome, warnings):
    """``--step FILE:LINE``: the loop at that line of that file is the step."""
    file, _, line_s = spec.rpartition(":")
    line = int(line_s)
    for fid, key in enumerate(keys):
        if key.kind != "python" or not (key.file == file or key.file.endswith(os.sep + file.lstrip("./"))):
            continue
        source = _read_source(key.file)
        span = loopstep.innermost_loop(source, line) if source else None
        if span is None:
            continue
        loop = loopstep.Loop(fid, *span, nested=loopstep.nested_loop_lines(source, span[0], span[1]))
        children: dict[int, float] = {}
        hit = False
        for ids, lines, w, _nf, _s in rows:
            if fid in ids:
                d = ids.index(fid)
                if loop.start <= lines[d] <= loop.end:
                    hit = True
                    if d + 1 < len(ids) and len(table.invocations.get(ids[d + 1], [])) >= 2:
                        children[ids[d + 1]] = children.get(ids[d + 1], 0.0) + w
        if hit:
            marker = max(children, key=children.get) if children else None
            return _loop_step(loop, marker, rows, keys, warmup, outcome, "--step", f"--step {spec}",
                              _run_total(table))
    warnings.append(f"--step {spec!r}: no loop at that line ran")
    return None


def _run_total(table: stepmod.CallTable) -> float:
    """Total sampled time = the inclusive time of the root frames (each sample counted once)."""
    roots = {fid for fid, above in table.above.items() if not above}
    return sum(table.inclusive_s[f] for f in roots)


def _regions(rows, table, step_fid, warmup) -> list[str]:
    if step_fid is None:
        return ["step"] * len(rows)
    warm_idx: set[int] = set()
    for inv in table.invocations.get(step_fid, [])[:warmup]:
        warm_idx.update(range(inv.first, inv.last + 1))
    out = []
    for idx, row in enumerate(rows):
        if step_fid not in row[0]:
            out.append("outside")
        elif idx in warm_idx:
            out.append("warmup")
        else:
            out.append("step")
    return out


def _aggregate(rows, regions) -> list[StackRecord]:
    agg: dict[tuple, list] = {}
    for (ids, lines, _w, _nf, split), region in zip(rows, regions):
        k = (ids, lines, region)
        cur = agg.get(k)
        if cur is None:
            agg[k] = [split, 1]
        else:
            cur[0] = cur[0] + split
            cur[1] += 1
    return [StackRecord(ids, lines, region, split, n) for (ids, lines, region), (split, n) in agg.items()]


def _sources(keys: list[FrameKey], user: list[bool], stacks: list[StackRecord],
             raw_files: list[str]) -> dict[str, str]:
    """Text of the user files seen in the step, heaviest first, so reports render anywhere."""
    weight: dict[int, float] = {}
    for rec in stacks:
        if rec.region != "step":
            continue
        for fid in set(rec.frames):
            if user[fid]:
                weight[fid] = weight.get(fid, 0.0) + rec.split.total
    out: dict[str, str] = {}
    for fid in sorted(weight, key=lambda f: -weight[f]):
        if len(out) >= MAX_SOURCE_FILES or keys[fid].file in out:
            continue
        try:
            if os.path.getsize(raw_files[fid]) <= MAX_SOURCE_BYTES:
                out[keys[fid].file] = Path(raw_files[fid]).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
    return out
