"""After the run: RawCapture → Profile (frame table, timeline of samples, aggregated stacks, sources).

Runs once, after the script has stopped; nothing here runs inside the user's training loop.
"""

from __future__ import annotations

import datetime as _dt
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from typing import Callable

from advisor.capture.raw import RawCapture, SampleColumns
from advisor.capture.timing import counted_steps, exact_timings
from advisor.model import US, Frame, FrameKey, GcStats, Outcome, Profile, Split, StackRecord, Timeline

_ADVISOR_DIR = str(Path(__file__).resolve().parents[1])
_SKIP_ROOT_FILES = ("runpy.py", "<frozen runpy>")
_RUNNER_FILE = str(Path(__file__).resolve().parent / "runner.py")
MAX_SOURCE_BYTES = 2_000_000
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


def _strip_root(frames: tuple[FrameKey, ...], lines: tuple[int, ...]) -> tuple[list[int], int]:
    """The depths of a stack that are the user's: without the harness below the user's code (launcher,
    typer, advisor's runner, runpy) and advisor's own frames above it (the GC callback runs on the profiled
    thread). Returns the kept depths and ``n``, the depth where the user's part starts."""
    n = 0
    for i, k in enumerate(frames):
        if k.file == _RUNNER_FILE:
            n = i + 1
    while n < len(frames) and frames[n].file.endswith(_SKIP_ROOT_FILES):
        n += 1
    return [i for i in range(n, len(frames)) if not frames[i].file.startswith(_ADVISOR_DIR)], n


def build_profile(raw: RawCapture, *, command: dict, environment: dict, outcome: Outcome, wall_s: float,
                  started_at: str | None = None, step_spec: str | None = None, warmup: int = 1,
                  user_code: UserCode | None = None,
                  decide: Callable[[Profile, str | None, int], Profile] | None = None) -> Profile:
    """Turn a RawCapture into a Profile: intern frames, keep every sample in order (the timeline),
    aggregate stacks, keep sources; then ``decide(profile, step_spec, warmup)`` fills in the step.

    Capture only measures: the decision is analysis's (``advisor.analysis.stepping.apply_step``, the
    default ``decide``), and a saved profile can be decided again (``advisor report --step``). If
    ``step_spec`` matches nothing, the profile has ``step=None`` and a warning; the caller saves it and
    then raises ``StepNotFound`` (see ``advisor.api``).
    """
    profile = measure(raw, command=command, environment=environment, outcome=outcome, wall_s=wall_s,
                      started_at=started_at, user_code=user_code)
    if decide is None:
        # Transitional: until the caller passes ``decide`` (advisor.api), capture looks it up here, lazily,
        # so importing capture never imports analysis.
        from advisor.analysis.stepping import apply_step as decide
    return decide(profile, step_spec, warmup)


def measure(raw: RawCapture, *, command: dict, environment: dict, outcome: Outcome, wall_s: float,
            started_at: str | None = None, user_code: UserCode | None = None) -> Profile:
    """The measurement only: frame table, stacks (all in region "step" until a step is decided), the
    timeline of every sample, sources of the user files seen, clocks. ``step`` is None.

    Per distinct stack (thousands) the work is Python; per sample (millions) it is NumPy over chunks of
    ``SampleColumns``: no object per sample, so memory stays bounded by the timeline's own columns.
    """
    user_code = user_code or UserCode.default()
    cols = raw.samples if isinstance(raw.samples, SampleColumns) else SampleColumns.from_samples(raw.samples)
    frame_ids: dict[FrameKey, int] = {}
    keys: list[FrameKey] = []
    table = _stack_table(cols.stacks, frame_ids, keys)
    user = [user_code.is_user(k) for k in keys]
    raw_files = [k.file for k in keys]  # the real paths, to read sources from
    keys = [_clean_key(k) for k in keys]
    calls = None
    if raw.calls is not None:
        calls = {frame_ids[k]: n for k, n in raw.calls.items() if k in frame_ids}
    stacks, timeline, clock = _aggregate(cols, table)
    sources = _sources(keys, user, stacks, raw_files)
    if raw.thread_cpu_s is not None:
        clock["thread_cpu_s"] = raw.thread_cpu_s
    return Profile(
        mode=raw.mode, interval_s=raw.interval_s, command=_clean_json(command),  # type: ignore[arg-type]
        environment=_clean_json(environment),  # type: ignore[arg-type]
        started_at=started_at or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        wall_s=wall_s, outcome=outcome, frames=tuple(Frame(k, u) for k, u in zip(keys, user)),
        stacks=tuple(stacks), step=None, candidates=(), calls=calls, sources=sources,
        clock=clock, samples=len(cols), warnings=tuple(raw.warnings), timeline=timeline,
        timings=exact_timings(raw, frame_ids), counted=counted_steps(raw, frame_ids), gc=_gc_stats(raw.gc),
    )


def _gc_stats(d: dict | None) -> GcStats | None:
    """The sampler's per-generation GC counts and seconds (None when it recorded none, or in other modes)."""
    try:
        return GcStats.from_json(d)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class _StackTable:
    """Raw stack id → the profile's stack (``remap``, -1: nothing of the user's, the sample is dropped),
    its frame ids and lines, and ``new_from`` translated: ``nf_flat[nf_start[raw] + same]``."""

    remap: list[int]
    records: list[tuple[tuple[int, ...], tuple[int, ...]]]
    nf_start: list[int]
    nf_len: list[int]
    nf_flat: list[int]


def _stack_table(raw_stacks: list[tuple[tuple[FrameKey, ...], tuple[int, ...]]], frame_ids: dict[FrameKey, int],
                 keys: list[FrameKey]) -> _StackTable:
    index: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
    remap, records, nf_start, nf_len, nf_flat = [], [], [], [], []
    for frames, lines in raw_stacks:
        keep, _n = _strip_root(frames, lines)
        # new_from for each possible "unchanged depth" 0..len(frames): the kept depths above it
        nf_start.append(len(nf_flat))
        nf_len.append(len(frames))
        kept = 0
        j = 0
        for same in range(len(frames) + 1):
            while j < len(keep) and keep[j] < same:
                j += 1
                kept += 1
            nf_flat.append(kept)
        if not keep:
            remap.append(-1)
            continue
        ids = []
        for i in keep:
            k = frames[i]
            fid = frame_ids.get(k)
            if fid is None:
                fid = frame_ids[k] = len(keys)
                keys.append(k)
            ids.append(fid)
        key = (tuple(ids), tuple(lines[i] for i in keep))
        sid = index.get(key)
        if sid is None:
            sid = index[key] = len(records)
            records.append(key)
        remap.append(sid)
    return _StackTable(remap, records, nf_start, nf_len, nf_flat)


def _aggregate(cols: SampleColumns, table: _StackTable) -> tuple[list[StackRecord], Timeline, dict[str, float]]:
    """Stack records (one per distinct stack, region "step" until a step is decided), the timeline, and
    the sampled clocks, chunk by chunk."""
    import numpy as np

    n = len(cols)
    remap = np.asarray(table.remap, dtype=np.int64)
    nf_start, nf_len = np.asarray(table.nf_start, dtype=np.int64), np.asarray(table.nf_len, dtype=np.int64)
    nf_flat = np.asarray(table.nf_flat, dtype=np.int64)
    n_rec = len(table.records)
    t_us = np.empty(n, dtype=np.int64)
    # Allocated as narrow as the timeline keeps them (no second, narrowed copy of an eight-hour run).
    stack = np.empty(n, dtype=np.uint8 if n_rec <= 2**8 else np.uint16 if n_rec <= 2**16 else np.int32)
    nf_max = int(nf_flat.max()) if nf_flat.size else 0
    new_from = np.empty(n, dtype=np.uint8 if nf_max < 2**8 else np.uint16 if nf_max < 2**16 else np.int32)
    split_us = np.empty((n, 4), dtype=np.uint16)  # 65 ms a sample; wider only if a sample is longer
    sums = np.zeros((n_rec, 4), dtype=np.float64)
    counts = np.zeros(n_rec, dtype=np.int64)
    t0: float | None = None
    m = 0
    cpu = wall = 0.0
    for c in cols.chunks():
        sid = remap[c.stack]
        keep = sid >= 0
        if not keep.all():
            c_t, c_split, c_raw, c_same, sid = c.t[keep], c.split[keep], c.stack[keep], c.new_from[keep], sid[keep]
        else:
            c_t, c_split, c_raw, c_same = c.t, c.split, c.stack, c.new_from
        k = len(sid)
        if not k:
            continue
        if t0 is None:
            t0 = float(c_t[0])
        same = np.minimum(np.maximum(c_same, 0), nf_len[c_raw])
        nf = nf_flat[nf_start[c_raw] + same]
        # Whole microseconds, as saved: the profile in memory equals the one read back.
        q = np.rint(np.maximum(c_split, 0.0) / US).astype(np.int64)
        t_us[m:m + k] = np.rint(np.maximum(0.0, c_t - t0) / US).astype(np.int64)
        stack[m:m + k] = sid
        new_from[m:m + k] = nf
        if q.size and q.max() >= 2**16 and split_us.dtype == np.uint16:
            split_us = split_us.astype(np.uint32)
        if q.size and q.max() >= 2**32 and split_us.dtype != np.int64:
            split_us = split_us.astype(np.int64)
        split_us[m:m + k] = q
        for b in range(4):
            sums[:, b] += np.bincount(sid, weights=q[:, b], minlength=n_rec)
        counts += np.bincount(sid, minlength=n_rec)
        cpu += float(c_split[:, 0].sum() + c_split[:, 1].sum() + c_split[:, 3].sum())
        wall += float(c_split.sum())
        m += k
    timeline = Timeline.of(t0 or 0.0, t_us[:m], stack[:m], new_from[:m], split_us[:m])
    del t_us, stack, new_from, split_us
    records = [StackRecord(ids, lines, "step", Split(*(sums[i] * US).tolist()), int(counts[i]))
               for i, (ids, lines) in enumerate(table.records) if counts[i]]
    if len(records) != n_rec:  # stacks no kept sample used (none in practice): renumber the timeline
        used = np.flatnonzero(counts)
        renum = np.full(n_rec, -1, dtype=np.int64)
        renum[used] = np.arange(len(used))
        timeline = Timeline.of(timeline.t0_s, timeline.t_us, renum[timeline.stack], timeline.new_from,
                               timeline.split_us)
    return records, timeline, {"sampled_cpu_s": cpu, "sampled_wall_s": wall}


def _sources(keys: list[FrameKey], user: list[bool], stacks: list[StackRecord],
             raw_files: list[str]) -> dict[str, str]:
    """Text of the user files seen in the run, heaviest first, so reports render anywhere and a saved
    profile can be decided again (loops are found in the source)."""
    weight: dict[int, float] = {}
    for rec in stacks:
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
