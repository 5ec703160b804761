"""Finding the per-rank profiles of one distributed run under one or more folders.

``advisor profile --out DIR`` under torchrun writes ``DIR/rank-<RANK>/profile.json`` (``advisor/ranks.py``).
A multi-node job may write to one shared folder or one folder per node; ``merge`` takes them all. The rank
comes from the profile's own ``environment.distributed`` (the folder name only when that is missing); two
profiles of one rank are refused; profiles of another run (another ``TORCHELASTIC_RUN_ID``, e.g. a folder
reused by a later job with fewer ranks) are set aside with a note, keeping the newest run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from advisor.errors import UsageError
from advisor.model import Profile
from advisor.ranks import MAX_WORLD, RANK_PREFIX

PROFILE_NAME = "profile.json"
_RANK_FOLDER = re.compile(rf"^{RANK_PREFIX}(\d{{1,7}})$")


@dataclass(frozen=True, slots=True)
class RankProfile:
    """One rank's saved profile and where it was read from."""

    rank: int
    path: Path
    profile: Profile

    @property
    def distributed(self) -> dict:
        d = self.profile.environment.get("distributed")
        return d if isinstance(d, dict) else {}

    @property
    def run_id(self) -> str | None:
        rid = self.distributed.get("run_id")
        return rid if isinstance(rid, str) else None

    @property
    def world_size(self) -> int | None:
        w = self.distributed.get("world_size")
        return w if isinstance(w, int) and not isinstance(w, bool) and w > 0 else None

    @property
    def host(self) -> str:
        h = self.profile.environment.get("hostname")
        return h if isinstance(h, str) else "?"


def _candidates(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder")
    found = [p / PROFILE_NAME for p in sorted(folder.iterdir())
             if _RANK_FOLDER.match(p.name) and (p / PROFILE_NAME).is_file()]
    if not found and _RANK_FOLDER.match(folder.name) and (folder / PROFILE_NAME).is_file():
        found = [folder / PROFILE_NAME]  # a rank folder given directly
    return found


def _rank_of(path: Path, profile: Profile) -> int:
    d = profile.environment.get("distributed")
    rank = d.get("rank") if isinstance(d, dict) else None
    if isinstance(rank, int) and not isinstance(rank, bool) and 0 <= rank < MAX_WORLD:
        return rank
    m = _RANK_FOLDER.match(path.parent.name)
    if m:
        return int(m.group(1))
    raise UsageError(f"{path}: not one rank of a distributed run (no rank in its environment, not in a "
                     f"{RANK_PREFIX}N folder)", hint="profile each rank with torchrun ... -m advisor profile --out DIR")


def find_rank_profiles(folders: Iterable[Path]) -> tuple[list[RankProfile], list[str]]:
    """Load every ``rank-*/profile.json`` under ``folders`` (or the profile files given); returns the
    ranks of one run, ordered by rank, and notes on what was set aside.

    Raises ``UsageError`` when nothing is found or one rank appears twice, ``ProfileFormatError`` for a
    damaged profile (naming its path).
    """
    folders = list(folders)
    paths: list[Path] = []
    for folder in folders:
        paths += [p for p in _candidates(folder) if p.resolve() not in {q.resolve() for q in paths}]
    if not paths:
        raise UsageError(f"no {RANK_PREFIX}*/{PROFILE_NAME} under {', '.join(map(str, folders))}",
                         hint="profile each rank with: torchrun --nproc-per-node N -m advisor profile --out DIR "
                              "train.py")
    loaded = []
    for p in paths:
        prof = Profile.load(p)
        loaded.append(RankProfile(_rank_of(p, prof), p, prof))
    kept, notes = _one_run(loaded)
    by_rank: dict[int, RankProfile] = {}
    for rp in kept:
        if rp.rank in by_rank:
            raise UsageError(f"rank {rp.rank} twice: {by_rank[rp.rank].path} and {rp.path}",
                             hint="merge the folders of one run only")
        by_rank[rp.rank] = rp
    return [by_rank[r] for r in sorted(by_rank)], notes


def _one_run(loaded: list[RankProfile]) -> tuple[list[RankProfile], list[str]]:
    """Keep the profiles of the newest run id (profiles with no run id stay with it)."""
    runs: dict[str, list[RankProfile]] = {}
    for rp in loaded:
        if rp.run_id is not None:
            runs.setdefault(rp.run_id, []).append(rp)
    if len(runs) <= 1:
        return loaded, []
    newest = max(runs, key=lambda rid: max(rp.profile.started_at for rp in runs[rid]))
    kept = [rp for rp in loaded if rp.run_id in (None, newest)]
    dropped = [rp for rp in loaded if rp not in kept]
    return kept, [f"set aside {len(dropped)} profile(s) of other runs ("
                  + ", ".join(f"{rp.path.parent.name}: run {rp.run_id}" for rp in dropped[:4])
                  + (" ..." if len(dropped) > 4 else "") + f"); merged run {newest}"]
