"""Items and per-function verdicts that agree.

An item (the GC, an input-pipeline phase, a per-step re-read, a loop of NumPy calls...) owns part of some
functions' own time (``Item.claims``). A function whose time an item owns gets no verdict of its own in
the user-facing lists: it points to the item ("see: Open/read once and cache") instead of, say, "fix the
I/O" on a function whose wait is a pool started in every step, or "tune the GC" on each of five leaves.

The rule, per judged function (``Pointer``):

* an item that owns at least half of the function's own time takes it over, whatever the verdict;
* a function with an actionable verdict (port, JIT, accelerator, fix the I/O, tune the GC) but no item
  of its own (an item covering it stopped it from becoming one) points to the item owning most of it;
* otherwise the function keeps its verdict (its own item, if any, is that verdict).

The port plan the first screen and the terminal show leaves out the functions that point to an item
(``plan``): their time is in the item's figure already, so counting it again would double count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from advisor.analysis import Analysis
from advisor.costmodel.item import FRAMEWORK, GC, IO, KERNEL, THREADS, Item
from advisor.costmodel.items_repeated import REPEATED_KINDS
from advisor.costmodel.types import LEAVE, KernelAdvice, PlanStep
from advisor.model import Split

TAKEOVER = 0.5  # an item owning at least this share of a function's own time takes its verdict over


@dataclass(frozen=True, slots=True)
class Pointer:
    """A function's verdict handed to the item that owns its time."""

    rank: int  # the item's place in ``Advice.items`` (1 = first)
    kind: str
    title: str
    scope: str  # the item's scope: "the whole step", "phase tokenize"
    owned: float  # the share of the function's own time the item owns (0–1)
    verdict: str  # the function's own verdict code, superseded

    @property
    def words(self) -> str:
        where = "" if self.scope == "the whole step" else f" ({self.scope})"
        return f"see #{self.rank}: {self.title}{where}"


@dataclass(frozen=True, slots=True)
class Consistency:
    """What the user-facing lists show: items first, then the verdicts no item owns."""

    pointers: dict[int, Pointer]  # hotspot frame -> the item its verdict points to
    own: dict[int, int]  # hotspot frame -> rank of the item that is its own verdict (a port, a fix-io)
    rest: tuple[KernelAdvice, ...]  # actionable verdicts that are neither an item nor point to one
    plan: tuple[PlanStep, ...]  # the port plan without the functions that point to an item


def _non_gc(s: Split) -> float:
    return s.interpreted + s.native + s.waiting


def base_claims(it: Item, analysis: Analysis) -> tuple[tuple[int, float], ...]:
    """The seconds of each function's own time an item owns, by its kind (before repeated work is taken
    out): the GC item all GC time; a phase, a loop of NumPy calls or a port its frames' non-GC time; an
    I/O item the wait; threads and framework items the native time."""
    hot = {h.frame: h for h in analysis.hotspots}
    out = []
    if it.kind == GC:
        return tuple((h.frame, h.self_split.gc) for h in analysis.hotspots if h.self_split.gc > 0)
    for f in dict.fromkeys(it.frames):
        h = hot.get(f)
        if h is None:
            continue
        s = h.self_split
        got = {IO: s.waiting, THREADS: s.native, FRAMEWORK: s.native}.get(it.kind, _non_gc(s))
        if got > 0:
            out.append((f, got))
    return tuple(out)


def with_claims(items: list[Item], analysis: Analysis, repeated: dict[str, dict[int, Split]]) -> list[Item]:
    """``items`` with ``claims`` set: repeated items own the samples they found (``repeated``: item kind ->
    per-frame non-GC split); every other item owns its base claims less what repeated items took."""
    taken: dict[int, Split] = {}
    for per in repeated.values():
        for f, sp in per.items():
            taken[f] = taken.get(f, Split()) + sp
    out = []
    for it in items:
        if it.kind in REPEATED_KINDS.values():
            cl = tuple((f, _non_gc(sp)) for f, sp in repeated.get(it.kind, {}).items() if _non_gc(sp) > 0)
        else:
            cl = tuple((f, max(0.0, s - _taken(taken.get(f), it.kind))) for f, s in base_claims(it, analysis))
        out.append(replace(it, claims=tuple((f, s) for f, s in cl if s > 0)))
    return out


def _taken(sp: Split | None, kind: str) -> float:
    if sp is None or kind == GC:
        return 0.0
    if kind == IO:
        return sp.waiting
    if kind in (THREADS, FRAMEWORK):
        return sp.native
    return _non_gc(sp)


def _own_item(k: KernelAdvice, items: tuple[Item, ...]) -> int | None:
    """The rank of the item that is this function's own verdict (a port or JIT item, its fix-the-I/O)."""
    f = k.hotspot.frame
    return next((i for i, it in enumerate(items, 1) if it.kind in (KERNEL, IO) and tuple(it.frames) == (f,)), None)


def consistency(advice: Any) -> Consistency:
    """Which function points to which item, the verdicts left, and the port plan without double counting."""
    items: tuple[Item, ...] = tuple(advice.items)
    pointers: dict[int, Pointer] = {}
    own: dict[int, int] = {}
    rest = []
    for k in advice.kernels:
        f, total = k.hotspot.frame, k.hotspot.self_split.total
        mine = _own_item(k, items)
        best, rank = 0.0, 0
        for i, it in enumerate(items, 1):
            if i == mine:
                continue
            got = sum(s for g, s in it.claims if g == f)
            if got > best:
                best, rank = got, i
        owned = best / total if total > 0 else 0.0
        if rank and (owned >= TAKEOVER or (k.verdict != LEAVE and mine is None)):
            it = items[rank - 1]
            pointers[f] = Pointer(rank, it.kind, it.title, it.scope, min(owned, 1.0), k.verdict)
        elif mine is not None:
            own[f] = mine
        elif k.verdict != LEAVE:
            rest.append(k)
    return Consistency(pointers, own, tuple(rest), _plan(advice, pointers))


def _plan(advice: Any, pointers: dict[int, Pointer]) -> tuple[PlanStep, ...]:
    if not pointers or not any(advice.plan):
        return tuple(advice.plan)
    from advisor.costmodel.advise import port_plan  # advise imports this package: import at call time

    return port_plan([k for k in advice.kernels if k.hotspot.frame not in pointers], advice.config)


__all__ = ["Consistency", "Pointer", "base_claims", "consistency", "with_claims"]
