"""Calls from samples, vectorised: ``track(table)`` is ``step.track_invocations`` over NumPy columns.

The rule (``step.track_invocations`` says it in words) walks the samples in order keeping the open calls,
one per depth. Here the same result comes from columns:

- per distinct stack: its frames' outermost depths (``outer``: -1 where a frame recurs), its root, its
  length;
- per sample: whether it is attached (its root is the run's), the previous attached sample's stack, and
  ``n``, the depths that continue the previous attached sample's calls (``new_from`` clipped to both
  stacks; after a detached gap, ``step.reattach``), written to ``continued``;
- calls of a frame = attached samples where its outermost depth is at or below ``n`` (a new call), counted
  per (stack, n) pair and spread over the stack's frames; inclusive time = each stack's time spread over
  its frames.

Exactly the walk's answer where a continued depth holds the same frame in both samples (the sampler's
``new_from`` guarantees it: it compares frame objects); where it does not, the walk trusted the open call
it kept and this trusts the previous sample's frame, which is the same thing for any input the sampler
writes.
"""

from __future__ import annotations

from typing import Any

from advisor._np import np
from advisor.analysis import step as stepmod
from advisor.analysis.samples import CHUNK, SampleTable

DENSE_MAX = 1 << 22  # (stack, continued depth) pairs counted in a dense table up to this many; else sorted


def _stack_facts(st: SampleTable) -> tuple[list[list[int]], Any, Any, Any]:
    """Per stack: outermost depths (frame or -1 where it recurs), the flat array of them, offsets, lengths."""
    outer: list[list[int]] = []
    for frames in st.frames:
        seen: set[int] = set()
        od = []
        for fid in frames:
            od.append(-1 if fid in seen else fid)
            seen.add(fid)
        outer.append(od)
    lengths = np.fromiter((len(f) for f in st.frames), dtype=np.int64, count=st.n_stacks)
    offsets = np.zeros(st.n_stacks + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((f for od in outer for f in od), dtype=np.int64, count=int(offsets[-1]))
    return outer, flat, offsets, lengths


def run_root(st: SampleTable) -> int | None:
    """The root frame holding most of the run's time (the script's ``<module>``); a tie goes to the root
    seen first."""
    roots = np.fromiter((f[0] if f else -1 for f in st.frames), dtype=np.int64, count=st.n_stacks)
    if not (roots >= 0).any():
        return None
    n = int(roots.max()) + 1
    weight = st.sum_by(roots, n)
    seen = np.bincount(roots[(roots >= 0) & st.present()], minlength=n) > 0
    if not seen.any():
        return None
    return st.first_of(roots, np.flatnonzero(seen & (weight == weight[seen].max())))


def _narrow_uint(n_max: int) -> tuple[Any, int]:
    """The narrowest unsigned type holding 0..n_max with its maximum left free as the "detached" mark."""
    for t in (np.uint8, np.uint16, np.uint32):
        if n_max < np.iinfo(t).max:
            return t, int(np.iinfo(t).max)
    return np.uint64, stepmod.DETACHED  # pragma: no cover - stacks deeper than 4 billion frames


def track(st: SampleTable) -> stepmod.CallTable:
    """``step.track_invocations`` on a ``SampleTable`` (see the module docstring)."""
    table = stepmod.CallTable()
    outer, flat, offsets, lengths = _stack_facts(st)
    root = run_root(st)
    det_stack = np.fromiter((bool(f) and f[0] != root for f in st.frames), dtype=bool, count=st.n_stacks)
    ctype, detached = _narrow_uint(int(lengths.max()) if len(lengths) else 0)
    continued = np.full(len(st), detached, dtype=ctype)
    det = det_stack[st.stack]
    idx = None if not det.any() else np.flatnonzero(~det)
    del det
    a_sid = st.stack if idx is None else st.stack[idx]
    a_nf = st.new_from if idx is None else st.new_from[idx]
    width = int(lengths.max()) + 1 if len(lengths) else 1
    dense = st.n_stacks * width <= DENSE_MAX
    counts = np.zeros(st.n_stacks * width if dense else 0, dtype=np.int64)
    keys: list[Any] = []
    gaps = np.flatnonzero(np.diff(idx, prepend=-1) > 1) if idx is not None else np.zeros(0, dtype=np.int64)
    for a in range(0, len(a_sid), CHUNK):
        cont = _continued(st, outer, flat, offsets, lengths, a_sid, a_nf, a, a + CHUNK,
                          gaps[(gaps >= a) & (gaps < a + CHUNK)].tolist())
        if idx is None:
            continued[a:a + CHUNK] = cont
        else:
            continued[idx[a:a + CHUNK]] = cont
        key = a_sid[a:a + CHUNK].astype(np.int64) * width + cont
        if dense:
            counts += np.bincount(key, minlength=len(counts))
        else:
            keys.append(np.unique(key, return_counts=True))
    if dense:
        per_entry = _entries_count(flat, offsets, np.cumsum(counts.reshape(st.n_stacks, width), axis=1), width)
    else:
        per_entry = _entries_sparse(flat, offsets, keys, width)
    _count_calls(table, flat, per_entry)
    _inclusive_and_above(st, table, outer, det_stack)
    table.continued, table.detached = continued, detached
    table.invocations = stepmod.Invocations(st, continued, detached, table.calls)
    table.spans = stepmod.Spans(table.invocations)
    return table


def _continued(st: SampleTable, outer: list[list[int]], flat: Any, offsets: Any, lengths: Any, a_sid: Any,
               a_nf: Any, a: int, b: int, gap_ends: list[int]) -> Any:
    """``n`` for attached samples ``a..b``: the depths continuing the previous attached sample's calls."""
    sid = a_sid[a:b]
    prev = np.empty(len(sid), dtype=np.int64)
    prev[0] = a_sid[a - 1] if a else -1  # -1: no previous sample (an empty stack)
    prev[1:] = sid[:-1]
    lengths_x = np.append(lengths, 0)
    nf = a_nf[a:b]
    if nf.dtype.kind == "i":
        nf = np.maximum(nf, 0)
    cont = np.minimum(np.minimum(nf, lengths_x[prev]), lengths[sid]).astype(np.int64)
    for k in gap_ends:  # after a detached gap new_from was taken against the detached sample: reattach
        j = k - a
        before = st.frames[int(prev[j])] if prev[j] >= 0 else ()
        after = st.frames[int(sid[j])]
        cont[j] = min(stepmod.reattach(before, after), len(before), len(after))
    # a continued depth holds the same frame as before, else fewer depths continue (the walk's check)
    offsets_x = np.append(offsets[:-1], 0)
    check = np.flatnonzero(cont > 0)
    bad = check[flat[offsets_x[prev[check]] + cont[check] - 1] != flat[offsets[sid[check]] + cont[check] - 1]]
    for j in bad.tolist():
        od_prev, od_cur = outer[int(prev[j])], outer[int(sid[j])]
        c = int(cont[j])
        while c and od_prev[c - 1] != od_cur[c - 1]:
            c -= 1
        cont[j] = c
    return cont


def _entries_sparse(flat: Any, offsets: Any, parts: list[tuple[Any, Any]], width: int) -> Any:
    """``_entries_count`` from each chunk's distinct (stack, continued) keys and their counts, where a dense
    table would be too large."""
    uniq, where = np.unique(np.concatenate([u for u, _c in parts]) if parts else np.zeros(0, np.int64),
                            return_inverse=True)
    cnt = np.bincount(where.reshape(-1), weights=np.concatenate([c for _u, c in parts]) if parts else None,
                      minlength=len(uniq)).astype(np.int64)
    csum = np.concatenate(([0], np.cumsum(cnt)))
    n_stacks = len(offsets) - 1
    stack_of = np.repeat(np.arange(n_stacks), np.diff(offsets))
    depth_of = np.arange(len(flat)) - offsets[stack_of]
    hi = np.searchsorted(uniq, stack_of * width + np.minimum(depth_of, width - 1), side="right")
    lo = np.searchsorted(uniq, stack_of * width, side="left")
    return csum[hi] - csum[lo]


def _count_calls(table: stepmod.CallTable, flat: Any, per_entry: Any) -> None:
    """``table.calls``: per frame, the attached samples where it starts a new call (its outermost depth is
    at or below the sample's continued depths), in order of first appearance."""
    ok = flat >= 0
    if not ok.any():
        return
    fids = flat[ok]
    calls = np.bincount(fids, weights=per_entry[ok].astype(np.float64))
    for f in _first_seen(fids):
        c = int(calls[f])
        if c:
            table.calls[int(f)] = c


def _entries_count(flat: Any, offsets: Any, at_or_below: Any, width: int) -> Any:
    """For each flat (stack, depth) entry: the samples of that stack whose continued depths are <= depth."""
    n_stacks = len(offsets) - 1
    stack_of = np.repeat(np.arange(n_stacks), np.diff(offsets))
    depth_of = np.arange(len(flat)) - offsets[stack_of]
    return at_or_below[stack_of, np.minimum(depth_of, width - 1)]


def _first_seen(values: Any) -> list[int]:
    """The distinct values in order of first appearance."""
    uniq, first = np.unique(values, return_index=True)
    return uniq[np.argsort(first, kind="stable")].tolist()


def _inclusive_and_above(st: SampleTable, table: stepmod.CallTable, outer: list[list[int]],
                         det_stack: Any) -> None:
    """Inclusive time per frame (every stack's time spread over its frames, in order of first appearance)
    and the frames seen above each frame (attached stacks only)."""
    present = st.present()
    order = _stack_order(st)
    weight = st.stack_weight()
    inclusive = table.inclusive_s
    above = table.above
    for s in order:
        if not present[s]:
            continue
        w = float(weight[s])
        frames = st.frames[s]
        attached = not det_stack[s]
        for depth, fid in enumerate(outer[s]):
            if fid < 0:
                continue
            inclusive[fid] = inclusive.get(fid, 0.0) + w
            if attached:
                above.setdefault(fid, set()).update(frames[:depth])


def _stack_order(st: SampleTable) -> list[int]:
    """Stack ids in order of their first sample (a timeline numbers its stacks so: then no sort)."""
    s = st.stack
    if len(s) == 0:
        return []
    running = np.maximum.accumulate(s)
    grow = np.flatnonzero(s[1:] > running[:-1])  # where a sample has a higher id than all before it
    if s[0] == 0 and bool(np.all(s[1:][grow].astype(np.int64) == running[:-1][grow].astype(np.int64) + 1)):
        return list(range(int(running[-1]) + 1))
    return _first_seen(s)
