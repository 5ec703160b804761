"""Which function in the *after* profile is which function in the *before* profile.

Three passes, each only over what the previous ones left: the same qualified name in a file of the same
name ("same name"); the same qualified name anywhere, when it is unique on both sides ("moved"); then the
most similar function body (``difflib``), the name left out, at least ``MIN_SIMILARITY`` alike
("renamed"). Each match says how it was made, so a report can say what it paired.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass

from advisor.model import FrameKey

MIN_SIMILARITY = 0.6
MAX_SIMILARITY_CANDIDATES = 200  # per side: difflib is quadratic, the tail is far below any budget
_DEF = re.compile(r"^(\s*)(async\s+def|def|class)\s+\w+")


@dataclass(frozen=True, slots=True)
class Match:
    """One pairing: ``how`` is "same name", "moved", "renamed", "gone" (before only) or "new" (after only)."""

    before: FrameKey | None
    after: FrameKey | None
    how: str
    similarity: float | None = None  # body similarity, for "renamed"

    @property
    def name(self) -> str:
        if self.before is not None and self.after is not None and self.how == "renamed":
            return f"{self.before.qualname} → {self.after.qualname}"
        key = self.before or self.after
        assert key is not None
        return key.qualname

    def describe(self) -> str:
        """One phrase for a report, e.g. ``renamed: a → b (source 93% alike)``."""
        if self.how == "renamed":
            return f"renamed: {self.name} (source {self.similarity:.0%} alike)"
        if self.how == "moved" and self.before is not None and self.after is not None:
            return (f"moved: {self.name} from {os.path.basename(self.before.file)} to "
                    f"{os.path.basename(self.after.file)}")
        return f"{self.how}: {self.name}"


def function_body(sources: dict[str, str], key: FrameKey) -> str | None:
    """The function's source without decorators and with its name blanked, or None if unknown."""
    text = sources.get(key.file)
    if text is None or key.line < 1:
        return None
    lines = text.splitlines()
    i = key.line - 1
    while i < len(lines) and lines[i].lstrip().startswith("@"):
        i += 1
    if i >= len(lines) or not _DEF.match(lines[i]):
        return None
    indent = len(lines[i]) - len(lines[i].lstrip())
    j = i + 1
    while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
        j += 1
    head = _DEF.sub(r"\1\2 _", lines[i], count=1)
    return "\n".join([head.strip(), *(ln[indent:] for ln in lines[i + 1:j])]).strip()


def match_functions(before: list[FrameKey], after: list[FrameKey], before_sources: dict[str, str],
                    after_sources: dict[str, str]) -> list[Match]:
    """Pair ``before`` with ``after`` keys (each list heaviest first); unpaired keys come back as gone/new."""
    matches: list[Match] = []
    left_b, left_a = list(before), list(after)

    def take(pairs: list[tuple[FrameKey, FrameKey, str, float | None]]) -> None:
        for b, a, how, sim in pairs:
            matches.append(Match(b, a, how, sim))
            left_b.remove(b)
            left_a.remove(a)

    by_name = {(os.path.basename(k.file), k.qualname): k for k in reversed(left_a)}
    take([(b, by_name[(os.path.basename(b.file), b.qualname)], "same name", None) for b in before
          if (os.path.basename(b.file), b.qualname) in by_name])
    take(_unique_names(left_b, left_a))
    take(_similar(left_b, left_a, before_sources, after_sources))
    matches += [Match(b, None, "gone") for b in left_b] + [Match(None, a, "new") for a in left_a]
    return matches


def _unique_names(before: list[FrameKey], after: list[FrameKey]) -> list[tuple[FrameKey, FrameKey, str, None]]:
    def unique(keys: list[FrameKey]) -> dict[str, FrameKey]:
        count: dict[str, int] = {}
        for k in keys:
            count[k.qualname] = count.get(k.qualname, 0) + 1
        return {k.qualname: k for k in keys if count[k.qualname] == 1}

    ub, ua = unique(before), unique(after)
    return [(b, ua[name], "moved", None) for name, b in ub.items() if name in ua]


def _similar(before: list[FrameKey], after: list[FrameKey], bs: dict[str, str],
             as_: dict[str, str]) -> list[tuple[FrameKey, FrameKey, str, float]]:
    bodies_b = [(k, function_body(bs, k)) for k in before[:MAX_SIMILARITY_CANDIDATES]]
    bodies_a = [(k, function_body(as_, k)) for k in after[:MAX_SIMILARITY_CANDIDATES]]
    scored = []
    for b, tb in bodies_b:
        if not tb:
            continue
        for a, ta in bodies_a:
            if not ta:
                continue
            sm = difflib.SequenceMatcher(None, tb, ta, autojunk=False)
            if sm.real_quick_ratio() >= MIN_SIMILARITY and sm.quick_ratio() >= MIN_SIMILARITY:
                r = sm.ratio()
                if r >= MIN_SIMILARITY:
                    scored.append((r, b, a))
    scored.sort(key=lambda t: -t[0])
    used_b: set[FrameKey] = set()
    used_a: set[FrameKey] = set()
    out = []
    for r, b, a in scored:  # greedy: the most alike pair first
        if b in used_b or a in used_a:
            continue
        used_b.add(b)
        used_a.add(a)
        out.append((b, a, "renamed", r))
    return out
