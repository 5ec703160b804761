"""What ``--step`` names: a function (``name``, ``Class.method``, ``module:qualname``) or a loop
(``FILE:LINE``). Pure name matching over frame keys, shared by analysis (deciding the step) and capture
(the ``--max-steps`` watcher), which may not import analysis.
"""

from __future__ import annotations

from pathlib import PurePath

from advisor.model import FrameKey


def is_loop_spec(spec: str) -> bool:
    """``--step FILE:LINE`` names a loop; ``--step module:qualname`` a function."""
    return ":" in spec and spec.rpartition(":")[2].isdigit()


def match_step(spec: str, frames: list[FrameKey]) -> list[int]:
    """Frame ids matching ``--step``: ``name``, ``Class.method`` or ``module:qualname``."""
    module, _, qual = spec.rpartition(":")
    hits = []
    for fid, key in enumerate(frames):
        if key.kind != "python":
            continue
        if module:
            if key.qualname != qual or not _file_is_module(key.file, module):
                continue
        elif "." in spec:
            if key.qualname != spec and not key.qualname.endswith("." + spec):
                continue
        elif key.qualname.rpartition(".")[2] != spec:
            continue
        hits.append(fid)
    return hits


def _file_is_module(file: str, module: str) -> bool:
    parts = PurePath(file).with_suffix("").parts
    mod = tuple(module.split("."))
    return parts[-len(mod):] == mod or (parts[-1:] == ("__init__",) and parts[-len(mod) - 1:-1] == mod)
