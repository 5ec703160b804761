"""The rest of the job beside the step thread: other Python threads and child processes (``Part``).

The main thread of the main process is the profile itself (``model.Profile``). Everything else advisor
sampled — a DataLoader worker, a multiprocessing pool child, a prefetch thread under ``--threads all`` —
is kept as one compact ``Part`` per role and name: its own interpreted / native / waiting / GC split and
its top functions (self and inclusive split), never its every sample. That keeps a profile of a job with
64 short-lived pool children about as small as one without (``capture/children.py`` bounds the files).

Roles: ``worker`` (a torch DataLoader worker, named ``worker N`` by its worker id; the same id across
epochs is one part), ``child`` (any other forked or spawned child process, grouped by process name
without its counter, e.g. ``ForkPoolWorker``), ``thread`` (a Python thread of the main process).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.model import FrameKey, Split

ROLES = ("worker", "child", "thread")
MAX_FUNCTIONS = 40  # per part: the top functions by inclusive and by self time
MAX_PARTS = 64


@dataclass(frozen=True, slots=True)
class PartFunction:
    """One function of a part: time with it as the innermost frame (``self_split``) and anywhere on the
    stack (``total``, each sample counted once)."""

    key: FrameKey
    user: bool
    self_split: Split
    total: Split
    samples: int


@dataclass(frozen=True, slots=True)
class Part:
    """A thread or (group of) child processes, profiled by the same sampler as the main thread."""

    role: str
    name: str
    processes: int  # processes (or threads) summed into this part
    wall_s: float  # their lifetimes, summed
    samples: int
    split: Split
    functions: tuple[PartFunction, ...]
    skipped: int = 0  # processes of this group that lived too short to be written (counted, not sampled)

    @property
    def label(self) -> str:
        many = f" ×{self.processes}" if self.processes > 1 and self.role != "thread" else ""
        return f"{self.name}{many}"

    def top(self, n: int = 5, by: str = "self") -> tuple[PartFunction, ...]:
        """The ``n`` functions with the most time (``self``: innermost; ``total``: anywhere); the team's
        own code first when it holds any time."""
        pick = (lambda f: f.self_split.total) if by == "self" else (lambda f: f.total.total)
        return tuple(sorted(self.functions, key=lambda f: -pick(f))[:n])


def part_to_json(p: Part) -> dict[str, Any]:
    return {"role": p.role, "name": p.name, "processes": p.processes, "wall_s": p.wall_s, "samples": p.samples,
            "split": p.split.as_list(), "skipped": p.skipped,
            "functions": [{"file": f.key.file, "qualname": f.key.qualname, "line": f.key.line, "kind": f.key.kind,
                           "user": f.user, "self": f.self_split.as_list(), "total": f.total.as_list(),
                           "samples": f.samples} for f in p.functions]}


def _split(v: Any, name: str) -> Split:
    if type(v) is not list or len(v) != 4 or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                     and 0 <= x < 1e9 for x in v):
        raise ValueError(f"{name} must be four non-negative numbers")
    return Split.from_list(v)


def _count(v: Any, name: str) -> int:
    if type(v) is not int or not 0 <= v < 1 << 40:
        raise ValueError(f"{name} must be a non-negative integer")
    return v


def part_from_json(d: Any, where: str = "parts") -> Part:
    """One part back from JSON, every field checked (raises ``ValueError``/``TypeError``/``KeyError``)."""
    if not isinstance(d, dict):
        raise TypeError(f"{where} must be an object")
    role, name = d["role"], d["name"]
    if role not in ROLES or not isinstance(name, str) or len(name) > 200:
        raise ValueError(f"{where}: unknown role or bad name")
    funcs = d["functions"]
    if type(funcs) is not list or len(funcs) > 4 * MAX_FUNCTIONS:
        raise ValueError(f"{where}.functions must be a list of at most {4 * MAX_FUNCTIONS}")
    out = []
    for i, f in enumerate(funcs):
        w = f"{where}.functions[{i}]"
        if not isinstance(f, dict) or not isinstance(f["file"], str) or not isinstance(f["qualname"], str) \
                or f.get("kind", "python") not in ("python", "native") or type(f["user"]) is not bool:
            raise ValueError(f"{w} is malformed")
        key = FrameKey(f["file"], f["qualname"], _count(f["line"], f"{w}.line"), f.get("kind", "python"))
        out.append(PartFunction(key, f["user"], _split(f["self"], f"{w}.self"), _split(f["total"], f"{w}.total"),
                                _count(f["samples"], f"{w}.samples")))
    wall = d["wall_s"]
    if isinstance(wall, bool) or not isinstance(wall, (int, float)) or not 0 <= wall < 1e9:
        raise ValueError(f"{where}.wall_s must be a non-negative number")
    return Part(role, name, _count(d["processes"], f"{where}.processes"), float(wall),
                _count(d["samples"], f"{where}.samples"), _split(d["split"], f"{where}.split"), tuple(out),
                _count(d.get("skipped", 0), f"{where}.skipped"))


def parts_from_json(v: Any) -> tuple[Part, ...]:
    if v is None:
        return ()
    if type(v) is not list or len(v) > MAX_PARTS:
        raise ValueError(f"parts must be a list of at most {MAX_PARTS}")
    return tuple(part_from_json(d, f"parts[{i}]") for i, d in enumerate(v))
