"""Checks on a parsed ``profile.json`` that ``model._parse`` leaves to one pass over the document.

JSON as Python reads it may hold ``NaN`` / ``Infinity`` (not JSON, but ``json.loads`` accepts them) and
lone surrogates (``"\\ud800"`` decodes to a ``str`` that cannot be encoded back to UTF-8). Both would
travel into every output: "nan" in the report, a spreadsheet that fails to save. ``scan`` finds them and
names the field (``stacks[3].split[0]``); the fast path (no such token in the file) costs one regex search.

Bounds used by the loader live here too, so the limits are stated once:
``MAX_SECONDS`` (a duration no run reaches: about 31 years) and ``MAX_COUNT`` (2**53, where floats stop
counting exactly).
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_SECONDS = 1e9
MAX_COUNT = 2**53

# A surrogate written as a \uD800-\uDFFF escape, or as raw bytes (``json.loads`` decodes bytes with
# "surrogatepass"); valid pairs match too, ``scan`` then checks each string.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")


def may_need_scan(raw: bytes) -> bool:
    """Whether the document can hold a non-finite number or a lone surrogate at all (false positives,
    such as a function named ``NaN``, only cost a scan)."""
    return b"NaN" in raw or b"Infinity" in raw or _SURROGATE.search(raw) is not None


def scan(data: Any) -> tuple[Any, list[str]]:
    """Return ``data`` with lone surrogates written as visible ``\\udXXX`` escapes, and the paths where that
    was done. Raises ``ValueError`` naming the first field that holds NaN or an infinity."""
    fixed: list[str] = []
    return _walk(data, "", fixed), fixed


def _walk(value: Any, path: str, fixed: list[str]) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            where = path.lstrip(".") or "the document"
            spelled = "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
            raise ValueError(f"{where} is {spelled}; a profile holds only finite numbers")
        return value
    if isinstance(value, str):
        if _has_lone_surrogate(value):
            fixed.append(path.lstrip("."))
            return visible(value)
        return value
    if isinstance(value, list):
        return [_walk(v, f"{path}[{i}]", fixed) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {_walk(k, f"{path}.<key>", fixed): _walk(v, f"{path}.{k}", fixed) for k, v in value.items()}
    return value


def _has_lone_surrogate(text: str) -> bool:
    # json.loads joins valid pairs into one character, so any surrogate left in a str is a lone one.
    # ASCII text (the timeline's base64 columns: megabytes) cannot hold one: one C-speed test.
    return not text.isascii() and any("\ud800" <= c <= "\udfff" for c in text)


def visible(text: str) -> str:
    """``text`` with every lone surrogate as a visible escape (valid UTF-8): ``\\udXXX``, or ``\\xNN`` for
    U+DC80..U+DCFF, the form ``surrogateescape`` gives a byte that was not UTF-8 (as capture writes it)."""
    return "".join(_escape(c) if "\ud800" <= c <= "\udfff" else c for c in text)


def _escape(c: str) -> str:
    o = ord(c)
    return f"\\x{o - 0xDC00:02x}" if 0xDC80 <= o <= 0xDCFF else f"\\u{o:04x}"

