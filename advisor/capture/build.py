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

from advisor.capture.raw import RawCapture, RawSample
from advisor.capture.timing import exact_timings
from advisor.model import US, Frame, FrameKey, Outcome, Profile, Split, StackRecord, Timeline

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
    timeline of every sample, sources of the user files seen, clocks. ``step`` is None."""
    user_code = user_code or UserCode.default()
    frame_ids: dict[FrameKey, int] = {}
    keys: list[FrameKey] = []
    rows: list[tuple[tuple[int, ...], tuple[int, ...], int, Split, float]] = []
    for s in raw.samples:
        frames, lines, new_from = _strip_root(s)
        if not frames:
            continue
        ids = []
        for k in frames:
            fid = frame_ids.get(k)
            if fid is None:
                fid = frame_ids[k] = len(keys)
                keys.append(k)
            ids.append(fid)
        rows.append((tuple(ids), lines, new_from, s.split, s.t))
    user = [user_code.is_user(k) for k in keys]
    raw_files = [k.file for k in keys]  # the real paths, to read sources from
    keys = [_clean_key(k) for k in keys]
    calls = None
    if raw.calls is not None:
        calls = {frame_ids[k]: n for k, n in raw.calls.items() if k in frame_ids}
    stacks, timeline = _aggregate(rows)
    sources = _sources(keys, user, stacks, raw_files)
    total_cpu = sum(r[3].interpreted + r[3].native + r[3].gc for r in rows)
    clock = {"sampled_cpu_s": total_cpu, "sampled_wall_s": sum(r[3].total for r in rows)}
    if raw.thread_cpu_s is not None:
        clock["thread_cpu_s"] = raw.thread_cpu_s
    return Profile(
        mode=raw.mode, interval_s=raw.interval_s, command=_clean_json(command),  # type: ignore[arg-type]
        environment=_clean_json(environment),  # type: ignore[arg-type]
        started_at=started_at or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        wall_s=wall_s, outcome=outcome, frames=tuple(Frame(k, u) for k, u in zip(keys, user)),
        stacks=tuple(stacks), step=None, candidates=(), calls=calls, sources=sources,
        clock=clock, samples=len(raw.samples), warnings=tuple(raw.warnings), timeline=timeline,
        timings=exact_timings(raw, frame_ids),
    )


def _aggregate(rows) -> tuple[list[StackRecord], Timeline]:
    """Stack records (one per distinct stack, region "step" until a step is decided) and the timeline."""
    index: dict[tuple, int] = {}
    acc: list[list] = []
    sid_of: list[int] = []
    for ids, lines, _nf, split, _t in rows:
        k = (ids, lines)
        i = index.get(k)
        if i is None:
            i = index[k] = len(acc)
            acc.append([ids, lines, split, 1])
        else:
            acc[i][2] = acc[i][2] + split
            acc[i][3] += 1
        sid_of.append(i)
    t0 = rows[0][4] if rows else 0.0
    # Whole microseconds, as saved: the profile in memory equals the one read back.
    timeline = Timeline(t0, tuple(round(max(0.0, r[4] - t0) / US) * US for r in rows), tuple(sid_of),
                        tuple(r[2] for r in rows), tuple(_quantized(r[3]) for r in rows))
    return [StackRecord(ids, lines, "step", split, n) for ids, lines, split, n in acc], timeline


def _quantized(split: Split) -> Split:
    return Split(round(split.interpreted / US) * US, round(split.native / US) * US, round(split.waiting / US) * US,
                 round(split.gc / US) * US)


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
