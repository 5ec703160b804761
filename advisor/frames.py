"""pandas DataFrames of a Profile or an Analysis, for notebooks and for ``advisor merge``.

A table a user can take elsewhere (``df.to_csv``, a groupby in a notebook) with the same numbers the
reports show. Seconds everywhere, one column per bucket (``interpreted``, ``native``, ``waiting``, ``gc``)
plus ``total``:

* ``stacks_frame(profile)`` — one row per stack record (samples that share a stack and region), with the
  function the hotspot table charges it to (``owner``: the deepest function of your code at or below
  the step) and the leaf frame. Group it by any column instead of writing loops.
* ``hotspots_frame(analysis)`` — one row per hotspot, as the terminal and report rank them.
* ``steps_frame(profile)`` — one row per measured step (warm-up excluded): its duration.
* ``processes_frame(profile)`` — the main thread and each worker, child-process group and thread.
* ``part_functions_frame(profile)`` — the top functions of each worker, child process and thread.

pandas is imported inside each function: nothing loaded while a script is profiled imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.model import BUCKETS, Profile, Split, StackRecord

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from advisor.analysis import Analysis

KEY_COLUMNS = ("file", "qualname", "line")


def _owner(rec: StackRecord, user: list[bool], step_frame: int | None) -> int:
    """The function a sample is charged to: the deepest user-code frame at or below the step frame (the
    step frame itself when none is deeper), as ``analysis.hotspots`` charges it; outside the step, the
    deepest user-code frame, else the leaf."""
    frames = rec.frames
    if not frames:
        return -1
    start = frames.index(step_frame) if step_frame is not None and step_frame in frames else None
    if start is not None:
        deepest = frames[start]
        for f in frames[start + 1:]:
            if user[f]:
                deepest = f
        return deepest
    for f in reversed(frames):
        if user[f]:
            return f
    return frames[-1]


def stacks_frame(profile: Profile, region: str | None = None) -> pd.DataFrame:
    """One row per stack record of ``profile`` (of ``region`` only, when given).

    Index ``record``: the record's position in ``profile.stacks``. Columns: ``region``, ``samples``, the
    four buckets and ``total`` in seconds, ``in_step`` (the step frame is on the stack), ``owner`` and
    ``leaf`` (frame ids, -1 for an empty stack), and the owner's ``file``, ``qualname``, ``line``, ``label``.
    """
    import pandas as pd

    step_frame = profile.step.frame if profile.step is not None else None
    user = [f.user for f in profile.frames]
    rows = []
    for i, rec in enumerate(profile.stacks):
        if region is not None and rec.region != region:
            continue
        owner = _owner(rec, user, step_frame)
        key = profile.frames[owner].key if owner >= 0 else None
        rows.append((i, rec.region, rec.samples, *rec.split.as_list(), rec.split.total,
                     step_frame is None or step_frame in rec.frames, owner, rec.frames[-1] if rec.frames else -1,
                     key.file if key else "", key.qualname if key else "(no stack)", key.line if key else 0,
                     key.label if key else "(no stack)"))
    columns = ["record", "region", "samples", *BUCKETS, "total", "in_step", "owner", "leaf", *KEY_COLUMNS, "label"]
    return pd.DataFrame.from_records(rows, columns=columns, index="record")


def hotspots_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per hotspot of ``analysis``, in its order: the function (``file``, ``qualname``, ``line``,
    ``label``), ``self_share`` and ``inclusive_share`` of the step, the self split in seconds (four buckets,
    ``total``), ``self_per_step_s``, ``inclusive_s``, ``samples`` and ``calls`` (None when not counted)."""
    import pandas as pd

    steps = max(analysis.stats.count, 1)
    rows = [(h.key.file, h.key.qualname, h.key.line, h.key.label, h.self_share, h.inclusive_share,
             *h.self_split.as_list(), h.self_split.total, h.self_split.total / steps, h.inclusive_split.total,
             h.samples, h.calls) for h in analysis.hotspots]
    columns = [*KEY_COLUMNS, "label", "self_share", "inclusive_share", *BUCKETS, "total", "self_per_step_s",
               "inclusive_s", "samples", "calls"]
    return pd.DataFrame.from_records(rows, columns=columns)


def steps_frame(profile: Profile) -> pd.DataFrame:
    """One row per measured step (index ``step``: 0 is the first step after the warm-up): ``duration_s``
    (sampled span, or exact in cprofile mode). Empty when the profile has no step."""
    import pandas as pd

    durations = list(profile.step.durations_s) if profile.step is not None else []
    return pd.DataFrame({"duration_s": pd.Series(durations, dtype=float)}).rename_axis("step")


def processes_frame(profile: Profile) -> pd.DataFrame:
    """One row per sampled thread or process group: the main thread first (role ``main``, its whole
    run), then ``Profile.parts`` (DataLoader ``worker``s, other ``child`` processes, ``thread``s): ``role``,
    ``name``, ``processes`` summed into the row, ``wall_s``, ``samples``, seconds per bucket and ``total``."""
    import pandas as pd

    main = sum((r.split for r in profile.stacks), start=Split())
    rows = [("main", "main thread", 1, profile.wall_s, profile.samples, *main.as_list(), main.total)]
    rows += [(p.role, p.name, p.processes, p.wall_s, p.samples, *p.split.as_list(), p.split.total)
             for p in profile.parts]
    return pd.DataFrame.from_records(rows, columns=["role", "name", "processes", "wall_s", "samples", *BUCKETS,
                                                    "total"])


def part_functions_frame(profile: Profile) -> pd.DataFrame:
    """One row per (part, function) of ``Profile.parts``: ``role``, ``name``, the function's ``file``,
    ``qualname``, ``line``, ``user``, self seconds per bucket, ``self_total``, ``inclusive_s``, ``samples``.
    ``groupby("qualname")`` adds a function up across workers."""
    import pandas as pd

    rows = [(p.role, p.name, f.key.file, f.key.qualname, f.key.line, f.user, *f.self_split.as_list(),
             f.self_split.total, f.total.total, f.samples) for p in profile.parts for f in p.functions]
    return pd.DataFrame.from_records(rows, columns=["role", "name", *KEY_COLUMNS, "user", *BUCKETS, "self_total",
                                                    "inclusive_s", "samples"])
