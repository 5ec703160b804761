"""Text from a profile made safe to show: one line, no control or escape sequences.

A profile is data someone else may have written: a function named ``"\\x1b]0;owned\\x07"`` or a path holding
``"\\r=cmd"`` must show as those characters, not act on the terminal or split a CSV row. ``printable`` is the
one place that decides what is shown escaped; the terminal summary, the CLI's messages and the CSV export
all pass profile-derived text through it.
"""

from __future__ import annotations


def printable(text: object) -> str:
    """``text`` with every character that is not printable written as its Python escape.

    Covers C0/C1 controls (ESC, BEL, CR, LF, TAB, the 8-bit CSI ``\\x9b``), DEL, bidirectional overrides and
    other format characters, line/paragraph separators and lone surrogates: ``"a\\x1b[2Jb"`` →
    ``"a\\\\x1b[2Jb"``. Printable text of any script (``"café"``, ``"训练"``) is unchanged.
    """
    s = str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else _escape(c) for c in s)


def _escape(c: str) -> str:
    if c in "\n\r\t":
        return repr(c)[1:-1]
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): shown as the byte, as capture does
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o <= 0xFF else f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"
