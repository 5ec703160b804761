"""profile.json: a ``Profile`` written and read back (format, versions, every field checked).

``save`` writes atomically (a temp file beside it, then ``os.replace``), streaming the timeline's
compressed columns; ``load`` / ``from_json`` refuse anything they do not understand with a one-line
``ProfileFormatError`` naming the field; version-1 and -2 files are migrated on load. The types are in
``advisor/model.py`` (``Profile.save`` / ``Profile.load`` call here).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import advisor.parts as _parts
from advisor import _profile_checks as checks
from advisor.atomic import write_atomic
from advisor.errors import ProfileFormatError
from advisor.model import (FORMAT, MAX_LOAD_BYTES, MODES, REGIONS, VERSION, Candidate, Command, Frame, FrameKey,
                           CountedStep, GcStats, Outcome, Profile, Split, StackRecord, StepInfo, StepTiming, _int,
                           _num, _str)
from advisor.model_columns import _MARK, _chain, _parse_timeline, _timeline_json, _timeline_parts  # noqa: F401

# Bound at import, before any script runs: a script that replaces json.dumps (it happens) does not change
# how its profile is written.
_dumps = json.dumps


def to_json(self: Profile, timeline: bool = True) -> dict[str, Any]:
    """The JSON document (``timeline=False``: without the timeline's columns, which ``save`` streams)."""
    return {
        "format": self.format,
        "version": VERSION,  # the encoding written is always this version's
        "mode": self.mode,
        "interval_s": self.interval_s,
        "command": self.command.to_json(),
        "environment": self.environment,
        "started_at": self.started_at,
        "wall_s": self.wall_s,
        "outcome": asdict(self.outcome),
        "samples": self.samples,
        "frames": [{**asdict(f.key), "user": f.user} for f in self.frames],
        "stacks": [
            {"frames": list(r.frames), "lines": list(r.lines), "region": r.region,
             "split": r.split.as_list(), "samples": r.samples}
            for r in self.stacks
        ],
        "step": None if self.step is None else {
            "frame": self.step.frame, "chosen_by": self.step.chosen_by, "reason": self.step.reason,
            "calls": self.step.calls, "warmup": self.step.warmup,
            "durations_s": list(self.step.durations_s), "timing": self.step.timing,
            "loop_lines": None if self.step.loop_lines is None else list(self.step.loop_lines),
            "count_exact": self.step.count_exact,
        },
        "candidates": [asdict(c) for c in self.candidates],
        "calls": None if self.calls is None else {str(k): v for k, v in self.calls.items()},
        "sources": self.sources,
        "clock": self.clock,
        "warnings": list(self.warnings),
        "timeline": None if self.timeline is None else (_timeline_json(self.timeline) if timeline else _MARK),
        "timings": [{"frame": t.frame, "line": t.line, "starts": list(t.starts), "ends": list(t.ends),
                     "exact": t.exact, "how": t.how} for t in self.timings],
        **({"counted": [{"frame": c.frame, "start": c.start, "end": c.end, "calls": [list(x) for x in c.calls],
                         "complete": c.complete} for c in self.counted]} if self.counted else {}),
        **({"parts": [_parts.part_to_json(p) for p in self.parts]} if self.parts else {}),
        **({"gc": self.gc.to_json()} if self.gc is not None else {}),
    }

def save(self: Profile, path: str | os.PathLike[str]) -> Path:
    """Write the profile as JSON atomically (temp file in the same folder, then rename).

    The timeline's columns are compressed and written one at a time, so saving an eight-hour run
    holds one compressed column in memory, not the whole document twice."""
    doc = to_json(self, timeline=False)
    if self.timeline is None:
        return write_atomic(Path(path), _dumps(doc, separators=(",", ":")).encode())
    mark = doc["timeline"] = f"\u0000timeline {os.urandom(8).hex()}\u0000"  # no other string is this
    head, tail = _dumps(doc, separators=(",", ":")).split(_dumps(mark), 1)
    return write_atomic(Path(path), _chain(head.encode(), _timeline_parts(self.timeline), tail.encode()))

def load(path: str | os.PathLike[str]) -> Profile:
    """Read a saved profile; raises ProfileFormatError with a one-line reason on anything odd."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_LOAD_BYTES:
            raise ProfileFormatError(f"{p}: {size / 1e6:.0f} MB is larger than any advisor profile "
                                     f"(limit {MAX_LOAD_BYTES // 2**20} MiB)")
        raw = p.read_bytes()
    except ProfileFormatError:
        raise
    except OSError as exc:
        raise ProfileFormatError(f"cannot read profile {p}: {exc.strerror or exc}") from None
    if not raw.strip():
        raise ProfileFormatError(f"{p} is empty, not an advisor profile")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ProfileFormatError(f"{p} is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); "
                                 "not an advisor profile") from None
    except (ValueError, RecursionError) as exc:
        raise ProfileFormatError(f"{p} is not valid JSON (truncated or corrupt?): {str(exc)[:80]}") from None
    scan = checks.may_need_scan(raw)
    del raw  # the file's bytes: not held while the columns are decoded (tens of MB for a long run)
    return from_json(data, source=str(p), scan=scan)


def from_json(data: Any, source: str = "profile", scan: bool = True) -> Profile:
    """Build a Profile from parsed JSON, checking format, version and every type and bound.

    ``scan``: look for NaN / Infinity and lone surrogates anywhere (``load`` skips it when the file
    cannot hold them). A lone surrogate is kept as a visible ``\\udXXX`` escape and noted in the
    profile's warnings; every other problem raises ``ProfileFormatError`` naming the field.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProfileFormatError(f"{source} is not an advisor profile (no \"format\": \"{FORMAT}\")")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProfileFormatError(f"{source}: \"version\" must be an integer")
    if version < 1:
        raise ProfileFormatError(f"{source}: \"version\" must be 1 or more (got {version})")
    if version > VERSION:
        raise ProfileFormatError(f"{source} was written by a newer advisor (format version {version}; "
                                 f"this one reads up to {VERSION}); upgrade advisor")
    try:
        fixed: list[str] = []
        if scan:
            data, fixed = checks.scan(data)
        profile = _parse(data, version)
        if fixed:
            note = (f"text in the profile was not valid Unicode (a lone surrogate in {fixed[0]}"
                    f"{f' and {len(fixed) - 1} more' if len(fixed) > 1 else ''}); it is shown escaped (\\udXXX)")
            profile = replace(profile, warnings=profile.warnings + (note,))
        return profile
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)[:120]
        raise ProfileFormatError(f"{source} is damaged: {what}") from None


def _parse_timings(d: Any, n_frames: int) -> tuple[StepTiming, ...]:
    if not isinstance(d, list):
        raise TypeError("timings must be a list")
    out = []
    for i, t in enumerate(d):
        frame = _int(t["frame"], f"timings[{i}].frame")
        if frame >= n_frames:
            raise ValueError(f"timings[{i}].frame is not in the frame table")
        line = None if t.get("line") is None else _int(t["line"], f"timings[{i}].line")
        big = float(checks.MAX_COUNT)
        starts = tuple(_num(x, f"timings[{i}].starts", high=big) for x in t["starts"])
        ends = tuple(_num(x, f"timings[{i}].ends", high=big) for x in t["ends"])
        if len(starts) != len(ends):
            raise ValueError(f"timings[{i}]: starts and ends differ in length")
        how = t.get("how", "")
        out.append(StepTiming(frame, line, starts, ends, bool(t.get("exact", False)),
                              how if isinstance(how, str) else ""))
    return tuple(out)


def _parse_counted(d: Any, n_frames: int) -> tuple[CountedStep, ...]:
    if not isinstance(d, list):
        raise TypeError("counted must be a list")
    out = []
    big = float(checks.MAX_COUNT)
    for i, c in enumerate(d):
        frame = _int(c["frame"], f"counted[{i}].frame")
        calls = []
        for pair in c["calls"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise TypeError(f"counted[{i}].calls must hold [frame, calls] pairs")
            calls.append((_int(pair[0], f"counted[{i}].calls"), _int(pair[1], f"counted[{i}].calls")))
        if frame >= n_frames or any(f >= n_frames for f, _ in calls):
            raise ValueError(f"counted[{i}] names a frame that is not in the frame table")
        out.append(CountedStep(frame, _num(c["start"], f"counted[{i}].start", high=big),
                               _num(c["end"], f"counted[{i}].end", high=big), tuple(calls),
                               bool(c.get("complete", False))))
    return tuple(out)


def _parse(d: dict[str, Any], version: int = VERSION) -> Profile:
    mode = _str(d["mode"], "mode")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    frames = tuple(
        Frame(FrameKey(_str(f["file"], "frame file"), _str(f["qualname"], "frame qualname"),
                       _int(f["line"], "frame line"), _str(f.get("kind", "python"), "frame kind")),
              bool(f["user"]))
        for f in d["frames"]
    )
    n = len(frames)
    stacks = []
    for i, r in enumerate(d["stacks"]):
        # Checked in bulk (a million-sample profile has hundreds of thousands of records).
        ids, lines, split_vals = r["frames"], r["lines"], r["split"]
        if not (type(ids) is list and type(lines) is list and all(type(i) is int for i in ids)
                and all(type(x) is int for x in lines)):
            raise TypeError("stack frames and lines must be lists of integers")
        if ids and (min(ids) < 0 or max(ids) >= n):
            raise ValueError("stack refers to a frame that is not in the frame table")
        if len(lines) != len(ids):
            raise ValueError("stack lines and frames differ in length")
        region = r["region"]
        if region not in REGIONS:
            raise ValueError(f"unknown region {str(region)[:40]!r}")
        if not (type(split_vals) is list and len(split_vals) == 4
                and all(type(v) in (int, float) for v in split_vals)):
            raise ValueError(f"stacks[{i}].split must be a list of four numbers")
        if not all(0 <= v <= checks.MAX_SECONDS for v in split_vals):  # also rejects NaN
            raise ValueError(f"stacks[{i}].split must hold four durations between 0 and "
                             f"{checks.MAX_SECONDS:g} s, got {split_vals!r}"[:160])
        stacks.append(StackRecord(tuple(ids), tuple(lines), region, Split(*map(float, split_vals)),
                                  _int(r["samples"], f"stacks[{i}].samples")))
    step = None
    if d.get("step") is not None:
        s = d["step"]
        frame = _int(s["frame"], "step frame")
        if not 0 <= frame < n:
            raise ValueError("step frame is not in the frame table")
        loop = s.get("loop_lines")
        if loop is not None:
            if not isinstance(loop, list) or len(loop) != 2:
                raise ValueError("loop_lines must be two line numbers")
            loop = (_int(loop[0], "loop line"), _int(loop[1], "loop line"))
        step = StepInfo(frame, _str(s["chosen_by"], "chosen_by"), _str(s["reason"], "reason"),
                        _int(s["calls"], "step.calls"), _int(s["warmup"], "step.warmup"),
                        tuple(_num(x, "step.durations_s") for x in s["durations_s"]), _str(s["timing"], "timing"),
                        loop, bool(s.get("count_exact", False)))
    candidates = tuple(Candidate(_int(c["frame"], "candidate frame"), _int(c["calls"], "candidates.calls"),
                                 _num(c["inclusive_s"], "candidates.inclusive_s")) for c in d.get("candidates", []))
    if any(not 0 <= c.frame < n for c in candidates):
        raise ValueError("candidate frame is not in the frame table")
    calls = None
    if d.get("calls") is not None:
        calls = {int(k): _int(v, f"calls.{k}") for k, v in d["calls"].items()}
    o = d["outcome"]
    outcome = Outcome(_int(o["exit_code"], "outcome.exit_code", low=None), _str(o["stopped_by"], "stopped_by"),
                      _str(o.get("detail", ""), "detail"))
    sources = d.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sources.items()):
        raise TypeError("sources must map file names to text")
    command, env = Command.from_json(d["command"]), d["environment"]
    if not isinstance(env, dict):
        raise TypeError("environment must be an object")
    clock = {str(k): _num(v, f"clock.{k}") for k, v in d.get("clock", {}).items()}
    return Profile(
        mode=mode, interval_s=_num(d["interval_s"], "interval_s", high=3600.0), command=command, environment=env,
        started_at=_str(d["started_at"], "started_at"), wall_s=_num(d["wall_s"], "wall_s"), outcome=outcome,
        frames=frames, stacks=tuple(stacks), step=step, candidates=candidates, calls=calls, sources=sources,
        clock=clock, samples=_int(d.get("samples", 0), "samples"),
        warnings=tuple(_str(w, "warning") for w in d.get("warnings", [])), version=VERSION,
        # version 1 had neither (migration: no timeline, no timings; the saved step stands as it is)
        timeline=None if d.get("timeline") is None else _parse_timeline(d["timeline"], len(stacks), version),
        timings=_parse_timings(d.get("timings", []), n),
        counted=_parse_counted(d.get("counted", []), n),
        parts=_parts.parts_from_json(d.get("parts")),
        gc=GcStats.from_json(d.get("gc")),  # absent in profiles written before it: None
    )
