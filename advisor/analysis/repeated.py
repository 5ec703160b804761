"""Set-up work repeated in every step: a (re-)import, a re-read of a file, a process or pool started.

These belong before the training loop, not in it. Each is measured from the samples of the measured
(post-warm-up) steps: a sample counts for a cause when a frame below the step is that cause's code
(``importlib``'s bootstrap for an import; ``subprocess`` or a ``multiprocessing`` pool or process being
created or shut down for a start-up; ``np.load``, ``json.load``, ``pandas.read_*``, ``gzip``... for a read),
or, for C-level calls that leave no Python frame (``open(...).read()``, ``pickle.load``), when the deepest
user-code line the sample was on calls one of them. Names alone never make a cause: only the time of the
samples that ran in it does.

Every sample is claimed by at most one cause (start-up, then import, then read), and a cause owns only
the non-GC time of its samples (the GC item owns the collector's). ``owners`` says which user functions
the time was charged to, so the cost model can take it out of their other items and never count it twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisor.model import Profile, Split

IMPORT, READ, SPAWN = "import", "read", "spawn"
KINDS = (SPAWN, IMPORT, READ)  # claim order: a sample that matches two causes goes to the first

_IMPORT_FILES = ("<frozen importlib._bootstrap", "/importlib/__init__.py", "/importlib/_bootstrap")
_IMPORT_NAMES = {"_find_and_load", "_gcd_import", "reload", "import_module", "_load_unlocked", "exec_module"}
_SPAWN_FILES = ("/subprocess.py",)
_MP = ("/multiprocessing/", "/concurrent/futures/process.py")
_MP_NAMES = re.compile(
    r"(^|\.)(Pool|ThreadPool|ProcessPoolExecutor)\.(__init__|__exit__|_repopulate_pool|terminate|join|close|"
    r"_setup_queues|shutdown|_start_executor_manager_thread|_adjust_process_count|_spawn_process|"
    r"_launch_processes)$|_repopulate_pool_static|_terminate_pool|^BaseProcess\.(start|join)$|^Popen\.|"
    r"^_launch$|^BaseContext\.(Pool|Process)$")
_READ_FILES = ("/numpy/lib/npyio.py", "/numpy/lib/_npyio_impl.py", "/numpy/lib/format.py",
               "/numpy/lib/_format_impl.py", "/json/__init__.py", "/pickle.py", "/pandas/io/", "/csv.py",
               "/gzip.py", "/bz2.py", "/lzma.py", "/zipfile", "/tarfile.py", "/pathlib", "/codecs.py",
               "/h5py/", "/PIL/Image.py", "/imageio/", "/_pyio.py", "/shelve.py", "/configparser.py",
               "/tomllib/", "/yaml/")
_READ_NAMES = re.compile(r"(^|\.)(load|loadtxt|genfromtxt|fromfile|read\w*|open|_read\w*|"
                         r"read_text|read_bytes|read_csv|read_parquet|read_json|read_pickle|imread|"
                         r"safe_load|__init__|__enter__|_open\w*|decompress)$")
_READ_LINE = re.compile(r"\b(open|np\.load|numpy\.load|np\.fromfile|np\.loadtxt|pickle\.load|json\.load|"
                        r"torch\.load|pd\.read_\w+|read_text|read_bytes|\.read)\s*\(")
_MULTI_LINE = re.compile(r"\b(subprocess\.\w+|Popen|Pool|ProcessPoolExecutor|Process)\s*\(")


@dataclass(frozen=True, slots=True)
class Repeated:
    """One kind of set-up work done inside the step: its share and where it was started from."""

    kind: str  # import | read | spawn
    split: Split  # seconds over the measured steps, GC included (the GC item owns that part)
    share: float  # non-GC share of the step
    seconds_per_step: float  # non-GC
    what: tuple[str, ...]  # the library functions or source lines it ran in, heaviest first
    sites: tuple[tuple[int, int, float], ...]  # (user frame, line, non-GC share) that started it, heaviest first
    owners: dict[int, float]  # user frame the time is charged to (the deepest) -> non-GC seconds
    records: frozenset[int]  # indices into profile.stacks of the claimed samples
    steps_seen: int | None  # measured steps with at least one sample of it (None without step boundaries)
    steps: int  # measured steps


def _matches(kind: str, file: str, name: str) -> bool:
    if kind == IMPORT:
        return any(s in file for s in _IMPORT_FILES) and (name in _IMPORT_NAMES or "<frozen" in file
                                                          or name.split(".")[-1] in _IMPORT_NAMES)
    if kind == SPAWN:
        return any(s in file for s in _SPAWN_FILES) or (any(s in file for s in _MP) and bool(_MP_NAMES.search(name)))
    return any(s in file for s in _READ_FILES) and bool(_READ_NAMES.search(name))


def _source_line(profile: Profile, file: str, line: int, cache: dict[str, list[str]]) -> str:
    if file not in cache:
        cache[file] = (profile.sources.get(file) or "").splitlines()
    lines = cache[file]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _classify(profile: Profile, frames: tuple[int, ...], lines: tuple[int, ...], pos: int,
              user: list[bool], cache: dict[str, list[str]]) -> tuple[str, str, int, int] | None:
    """(kind, what, site frame, site line) for one stack below the step position, or None."""
    below = range(pos + 1, len(frames))
    for kind in KINDS:
        for i in below:
            if user[frames[i]]:
                continue
            key = profile.frames[frames[i]].key
            if _matches(kind, key.file.replace("\\", "/"), key.qualname):
                site = max((j for j in range(pos, i) if user[frames[j]]), default=pos)
                return kind, key.qualname, frames[site], lines[site]
    # C calls leave no Python frame: the deepest user line says what ran (only when nothing user-level
    # runs below it, i.e. the time is in what that line calls).
    deepest = max((j for j in range(pos, len(frames)) if user[frames[j]]), default=pos)
    if any(user[frames[j]] for j in range(deepest + 1, len(frames))):
        return None
    text = _source_line(profile, profile.frames[frames[deepest]].key.file, lines[deepest], cache)
    if _MULTI_LINE.search(text) and deepest == len(frames) - 1:
        return SPAWN, text.strip()[:80], frames[deepest], lines[deepest]
    if _READ_LINE.search(text) and not any(
            _matches(IMPORT, profile.frames[frames[j]].key.file, profile.frames[frames[j]].key.qualname)
            for j in range(deepest + 1, len(frames))):
        return READ, text.strip()[:80], frames[deepest], lines[deepest]
    return None


def _pool_wait(profile: Profile, frames: tuple[int, ...], lines: tuple[int, ...], pos: int,
               user: list[bool]) -> tuple[str, int, int] | None:
    """(what, site frame, site line) when the stack waits on a pool's results (``Pool.map``, a future)."""
    for i in range(pos + 1, len(frames)):
        key = profile.frames[frames[i]].key
        if not user[frames[i]] and any(s in key.file.replace("\\", "/") for s in _MP):
            site = max((j for j in range(pos, i) if user[frames[j]]), default=pos)
            return key.qualname, frames[site], lines[site]
    return None


def find_repeated(profile: Profile, region: str = "step") -> tuple[Repeated, ...]:
    """The set-up work done inside the measured steps, largest first (empty without a step)."""
    step = profile.step
    if step is None:
        return ()
    user = [f.user for f in profile.frames]
    cache: dict[str, list[str]] = {}
    total = 0.0
    acc: dict[str, dict] = {}
    pending: list[tuple[int, int, str, int, int]] = []  # pool waits: claimed if the pool was made in the step
    hits: list[tuple[int, int, str, str, int, int]] = []
    for idx, rec in enumerate(profile.stacks):
        if rec.region != region:
            continue
        total += rec.split.total
        try:
            pos = rec.frames.index(step.frame)
        except ValueError:
            continue
        hit = _classify(profile, rec.frames, rec.lines, pos, user, cache)
        if hit is not None:
            hits.append((idx, pos, *hit))
            continue
        wait = _pool_wait(profile, rec.frames, rec.lines, pos, user)
        if wait is not None:
            pending.append((idx, pos, *wait))
    made = {site for _, _, kind, _, site, _ in hits if kind == SPAWN}
    hits += [(idx, pos, SPAWN, what + " (waiting for the step's new workers)", site, line)
             for idx, pos, what, site, line in pending if site in made]
    for idx, pos, kind, what, site, line in hits:
        rec = profile.stacks[idx]
        a = acc.setdefault(kind, {"split": Split(), "what": {}, "sites": {}, "owners": {}, "records": set()})
        a["split"] = a["split"] + rec.split
        t = rec.split.total - rec.split.gc
        a["what"][what] = a["what"].get(what, 0.0) + t
        a["sites"][(site, line)] = a["sites"].get((site, line), 0.0) + t
        owner = next((f for f in reversed(rec.frames[pos:]) if user[f]), step.frame)
        a["owners"][owner] = a["owners"].get(owner, 0.0) + t
        a["records"].add(idx)
    if total <= 0:
        return ()
    steps = max(step.stats.count, 1)
    out = []
    for kind, a in acc.items():
        sp: Split = a["split"]
        non_gc = sp.total - sp.gc
        out.append(Repeated(
            kind, sp, non_gc / total, non_gc / steps,
            tuple(w for w, _ in sorted(a["what"].items(), key=lambda kv: -kv[1])),
            tuple((f, ln, t / total) for (f, ln), t in sorted(a["sites"].items(), key=lambda kv: -kv[1])),
            dict(a["owners"]), frozenset(a["records"]), _steps_seen(profile, a["records"]), step.stats.count))
    return tuple(sorted(out, key=lambda r: -r.share))


def _steps_seen(profile: Profile, records: set[int]) -> int | None:
    """How many measured steps hold a sample of ``records`` (from the timeline and recorded boundaries)."""
    tl, step = profile.timeline, profile.step
    if tl is None or step is None or not len(tl):
        return None
    timing = next((t for t in profile.timings if t.frame == step.frame and t.line is None) if
                  step.loop_lines is None else
                  (t for t in profile.timings if t.frame == step.frame and t.line == step.loop_lines[0]), None)
    if timing is None or not timing.starts:
        return None
    import numpy as np

    mask = np.isin(np.asarray(tl.stack), np.fromiter(records, dtype=np.int64))
    t = tl.t0_s + tl.t_s[mask]
    starts, ends = np.asarray(timing.starts), np.asarray(timing.ends)
    n = min(len(starts), len(ends))
    starts, ends = starts[:n], ends[:n]
    i = np.searchsorted(starts, t, side="right") - 1
    ok = (i >= 0) & (i < n)
    i = i[ok]
    inside = t[ok] <= ends[i]
    seen = set(int(x) for x in i[inside] if x >= step.stats.dropped_warmup)
    return len(seen)


__all__ = ["IMPORT", "READ", "SPAWN", "Repeated", "find_repeated"]
