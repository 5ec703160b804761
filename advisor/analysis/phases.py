"""Phases: the step's direct user-code callees as inclusive subtrees, and which of them prepare data.

A step is made of phases (load the batch, forward, backward, optimizer, logging). A per-function verdict
from self time misses the phase as a unit: when a data-preparation subtree is most of the step, the
change that pays is to that subtree as a whole (preprocess once and cache, or overlap it with workers),
not a port of the one leaf that ranks first. This module finds the phases and, for each, the user
functions whose own time lies (almost) entirely inside it, so the cost model can give the phase one
verdict without counting its leaves twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisor.model import FrameKey, Profile, Split

INPUT_WORDS = re.compile(
    r"(load|batch|data|prep|tokeni[sz]|augment|collate|read|fetch|decode|transform|featur|pipeline|"
    r"loader|shard|parse|encode|vocab|corpus|sample|example|record|__next__|__iter__|__getitem__)", re.I)
INPUT_LIBS = ("/gzip.py", "/csv.py", "/json/", "/pickle.py", "/PIL/", "/torch/utils/data/", "/tokenizers/",
              "/datasets/", "/pandas/io/", "/re/", "/re.py", "/string.py", "/unicodedata", "/io.py",
              "/zipfile", "/tarfile.py", "/h5py/", "/imageio/", "/cv2/")
INSIDE = 0.9  # a function belongs to a phase when this much of its own time lies under it


@dataclass(frozen=True, slots=True)
class Phase:
    """One direct user-code callee of the step, with everything it calls."""

    frame: int
    key: FrameKey
    split: Split  # inclusive, seconds over the measured steps
    share: float  # of step time
    kind: str  # "input-pipeline" or "compute"
    evidence: str  # why it reads as data preparation ("" for compute)
    members: frozenset[int]  # user frames whose own time lies at least INSIDE under this phase


def find_phases(profile: Profile, region: str = "step") -> tuple[Phase, ...]:
    """The step's phases, largest first (empty when there is no step or it calls no user code)."""
    step = profile.step
    if step is None:
        return ()
    user = [f.user for f in profile.frames]
    incl: dict[int, Split] = {}
    owned: dict[tuple[int, int], float] = {}  # (phase root, owner) -> seconds
    owner_total: dict[int, float] = {}
    lib_hits: dict[int, set[str]] = {}
    total = 0.0
    for rec in profile.stacks:
        if rec.region != region:
            continue
        total += rec.split.total
        try:
            pos = rec.frames.index(step.frame)
        except ValueError:
            continue
        below = rec.frames[pos + 1:]
        users = [f for f in below if user[f] and f != step.frame]
        if not users:
            continue
        root, owner = users[0], users[-1]
        incl[root] = incl.get(root, Split()) + rec.split
        owned[(root, owner)] = owned.get((root, owner), 0.0) + rec.split.total
        owner_total[owner] = owner_total.get(owner, 0.0) + rec.split.total
        for f in below:
            if not user[f]:
                hit = _input_lib(profile.frames[f].key.file)
                if hit:
                    lib_hits.setdefault(root, set()).add(hit)
    if total <= 0:
        return ()
    out = []
    for root, sp in incl.items():
        members = frozenset(o for (r, o), t in owned.items()
                            if r == root and owner_total.get(o, 0.0) > 0 and t >= INSIDE * owner_total[o])
        key = profile.frames[root].key
        kind, why = _kind(root, key, lib_hits.get(root, set()), profile, members)
        out.append(Phase(root, key, sp, sp.total / total, kind, why, members))
    return tuple(sorted(out, key=lambda p: -p.share))


def _input_lib(file: str) -> str:
    path = file.replace("\\", "/")
    for lib in INPUT_LIBS:
        if lib in path:
            return lib.strip("/").removesuffix(".py")
    return ""


def _kind(root: int, key: FrameKey, libs: set[str], profile: Profile, members: frozenset[int]) -> tuple[str, str]:
    """``input-pipeline`` when the phase's name, or its callees' names, or the libraries it uses read as
    data preparation; the evidence names what matched."""
    reasons = []
    m = INPUT_WORDS.search(key.qualname)
    if m:
        reasons.append(f"its name ({key.qualname}) reads as data preparation")
    inner = sorted({profile.frames[f].key.qualname for f in members if f != root and
                    INPUT_WORDS.search(profile.frames[f].key.qualname)})
    if inner and not m:
        reasons.append(f"it calls {', '.join(inner[:3])}")
    if libs:
        reasons.append(f"it uses {', '.join(sorted(libs)[:3])}")
    if not reasons:
        return "compute", ""
    return "input-pipeline", "; ".join(reasons)


__all__ = ["Phase", "find_phases"]
