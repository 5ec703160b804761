"""Which rank of a distributed job this process is, read from the launcher's environment.

torchrun (torch.distributed.run / torchelastic), Ray Train and Slurm-launched torchrun all set the same
contract: ``RANK`` (global), ``LOCAL_RANK`` (on this node), ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``,
``GROUP_RANK`` (the node) and ``TORCHELASTIC_RUN_ID``. Each rank of a job profiles itself and writes into
its own ``rank-<RANK>`` folder under ``--out``, so ranks never share an output folder, a lock or a file;
``advisor merge`` reads them back together. Pure functions over a mapping: no import of torch, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from advisor.errors import UsageError

RANK_PREFIX = "rank-"
MAX_WORLD = 1 << 20  # no job has a million ranks; a larger number is a mistyped variable


@dataclass(frozen=True, slots=True)
class RankInfo:
    """This process's place in a distributed job (``None``: the launcher did not say)."""

    rank: int
    world_size: int
    local_rank: int | None = None
    local_world_size: int | None = None
    node_rank: int | None = None
    run_id: str | None = None

    @property
    def folder(self) -> str:
        return f"{RANK_PREFIX}{self.rank}"

    def to_json(self) -> dict[str, object]:
        return {"rank": self.rank, "world_size": self.world_size, "local_rank": self.local_rank,
                "local_world_size": self.local_world_size, "node_rank": self.node_rank, "run_id": self.run_id}


def _count(env: Mapping[str, str], name: str, high: int = MAX_WORLD) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise UsageError(f"{name}={raw[:40]!r} is not a number; advisor reads it to give each rank its own "
                         "output folder") from None
    if not 0 <= value <= high:
        raise UsageError(f"{name}={value} is out of range (0 to {high})")
    return value


def rank_info(env: Mapping[str, str]) -> RankInfo | None:
    """The rank this environment describes, or ``None`` when it is not one rank of a distributed job.

    A rank needs both ``RANK`` and ``WORLD_SIZE`` (torchrun, Ray Train and Slurm-launched torchrun set
    both); either alone is a stray variable and ignored. Raises ``UsageError`` when they are set but not
    numbers, or ``RANK`` is not below ``WORLD_SIZE``: ranks sharing one folder would refuse each other.
    """
    if not env.get("RANK", "").strip() or not env.get("WORLD_SIZE", "").strip():
        return None
    world = _count(env, "WORLD_SIZE")
    rank = _count(env, "RANK")
    assert world is not None and rank is not None
    if world < 1 or rank >= world:
        raise UsageError(f"RANK={rank} with WORLD_SIZE={world}: a rank must be below the world size")
    run_id = env.get("TORCHELASTIC_RUN_ID") or None
    return RankInfo(rank, world, _count(env, "LOCAL_RANK"), _count(env, "LOCAL_WORLD_SIZE"),
                    _count(env, "GROUP_RANK"), run_id[:200] if run_id else None)


def rank_out_dir(out: Path, env: Mapping[str, str]) -> Path:
    """Where this process writes its outputs: ``out/rank-<RANK>`` for a rank, else ``out`` itself.

    ``--out runs/rank-3`` given by hand on rank 3 stays as it is (no ``rank-3/rank-3``).
    """
    info = rank_info(env)
    if info is None or out.name == info.folder:
        return out
    return out / info.folder
