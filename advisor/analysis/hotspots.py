"""Hotspots: the team's own functions ranked by their share of step time, with split and line heat.

Time spent in library code (NumPy, PyTorch, the standard library, C built-ins) is charged to the
deepest *user-code* function that called it, keeping its measured bucket: a NumPy matmul called from
``forward`` makes ``forward`` hot and native, not ``numpy.matmul`` a hotspot nobody can port.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.model import FrameKey, Profile, Split, StackRecord


@dataclass(frozen=True, slots=True)
class LineHeat:
    """Time on one line of a hotspot (inclusive of what the line calls)."""

    line: int
    split: Split
    share: float  # of step time


@dataclass(frozen=True, slots=True)
class Hotspot:
    """A user-code function: its own time (with the library calls it makes) and its inclusive time."""

    frame: int
    key: FrameKey
    self_split: Split
    inclusive_split: Split
    self_share: float
    inclusive_share: float
    samples: int
    calls: int | None
    lines: tuple[LineHeat, ...]
    framework: str = ""  # "torch", "jax" or "tensorflow" when most of its own time runs in that framework
    framework_share: float = 0.0  # fraction of its own time with a framework frame below it


FRAMEWORKS = ("torch", "jax", "jaxlib", "tensorflow")


def framework_of(file: str) -> str:
    """The deep-learning framework a library file belongs to ("" for none): jaxlib counts as jax."""
    parts = file.replace("\\", "/").split("/")
    for name in FRAMEWORKS:
        if name in parts[:-1] or parts[-1] in (f"{name}.py",):
            return "jax" if name == "jaxlib" else name
    return ""


def _step_position(rec: StackRecord, step_frame: int | None) -> int:
    if step_frame is None:
        return 0
    try:
        return rec.frames.index(step_frame)
    except ValueError:
        return -1


MAX_LINE_HEAT = 200  # hotspots that get line-level heat (renderers show fewer)


def rank_hotspots(profile: Profile, region: str = "step") -> tuple[Hotspot, ...]:
    """Rank user functions in ``region`` by self share (then inclusive share).

    One pass over the stacks collects (frame, line, stack) triples; NumPy sums them, so a profile
    with hundreds of thousands of distinct stacks is analysed in seconds.
    """
    import numpy as np  # after the run only: capture must not import NumPy into the user's process

    step_frame = profile.step.frame if profile.step else None
    user = [f.user for f in profile.frames]
    fids: list[int] = []
    lns: list[int] = []
    recs: list[int] = []
    owners: list[int] = []
    splits: list[tuple[float, float, float, float]] = []
    samples: list[int] = []
    fw_of = [framework_of(f.key.file) if not f.user else "" for f in profile.frames]
    fw_time: dict[int, dict[str, float]] = {}
    for rec in profile.stacks:
        if rec.region != region:
            continue
        pos = _step_position(rec, step_frame)
        if pos < 0:
            continue
        frames = rec.frames
        pairs = [(f, ln) for f, ln in zip(frames[pos + 1:], rec.lines[pos + 1:]) if user[f]]
        pairs.insert(0, (frames[pos], rec.lines[pos]))
        owners.append(pairs[-1][0])
        fw = next((fw_of[f] for f in frames[pos + 1:] if fw_of[f]), "")
        if fw:
            per = fw_time.setdefault(pairs[-1][0], {})
            per[fw] = per.get(fw, 0.0) + rec.split.total
        seen = dict.fromkeys(f for f, _ in pairs)  # recursion: a frame counts once per stack
        if len(seen) != len(pairs):
            firsts: dict[int, int] = {}
            for f, ln in pairs:
                firsts.setdefault(f, ln)
            pairs = list(firsts.items())
        idx = len(splits)
        fids.extend(f for f, _ in pairs)
        lns.extend(ln for _, ln in pairs)
        recs.extend([idx] * len(pairs))
        sp = rec.split
        splits.append((sp.interpreted, sp.native, sp.waiting, sp.gc))
        samples.append(rec.samples)
    if not splits:
        return ()
    w = np.asarray(splits, dtype=float)
    total = float(w.sum())
    if total <= 0:
        return ()
    n = len(profile.frames)
    fa, ra = np.asarray(fids, dtype=np.int64), np.asarray(recs, dtype=np.int64)
    incl = np.stack([np.bincount(fa, weights=w[ra, b], minlength=n) for b in range(4)], axis=1)
    own = np.stack([np.bincount(np.asarray(owners), weights=w[:, b], minlength=n) for b in range(4)], axis=1)
    nsamp = np.bincount(fa, weights=np.asarray(samples, dtype=float)[ra], minlength=n)
    present = np.flatnonzero(np.bincount(fa, minlength=n))
    keep = [int(f) for f in present if user[f] or f == step_frame]
    order = sorted(keep, key=lambda f: (-own[f].sum(), -incl[f].sum()))
    heat = _line_heat(np, fa, np.asarray(lns, dtype=np.int64), ra, w, set(order[:MAX_LINE_HEAT]), total)
    out = []
    for fid in order:
        o, i = Split(*map(float, own[fid])), Split(*map(float, incl[fid]))
        calls = profile.calls.get(fid) if profile.calls is not None else None
        fws = fw_time.get(fid, {})
        fw = max(fws, key=lambda k: fws[k]) if fws else ""
        fw_share = min(1.0, sum(fws.values()) / o.total) if fws and o.total > 0 else 0.0
        out.append(Hotspot(fid, profile.frames[fid].key, o, i, o.total / total, i.total / total,
                           int(nsamp[fid]), calls, heat.get(fid, ()),
                           fw if fw_share >= 0.5 else "", fw_share))
    return tuple(out)


def _line_heat(np, fa, la, ra, w, wanted: set[int], total: float) -> dict[int, tuple[LineHeat, ...]]:
    """Inclusive time per (frame, line) for the ``wanted`` frames."""
    mask = np.isin(fa, np.fromiter(wanted, dtype=np.int64, count=len(wanted)))
    if not mask.any():
        return {}
    f, ln, r = fa[mask], la[mask], ra[mask]
    keys = f * (1 << 31) + ln
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.stack([np.bincount(inv, weights=w[r, b]) for b in range(4)], axis=1)
    out: dict[int, list[LineHeat]] = {}
    for k, v in zip(uniq.tolist(), sums.tolist()):
        fid, line = divmod(k, 1 << 31)
        out.setdefault(fid, []).append(LineHeat(line, Split(*v), sum(v) / total))
    return {fid: tuple(sorted(v, key=lambda h: h.line)) for fid, v in out.items()}
