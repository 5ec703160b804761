"""Writes every output of a run next to the profile, each on its own: one failing renderer is
reported and the others (and the profile, saved before) are kept.

Renderers plug in here with fixed signatures:
    advisor.render.advice_json.render_advice_json(advice) -> str      -> advice.json
    advisor.render.html.render_html(advice) -> str                    -> report.html
    advisor.render.xlsx.write_xlsx(advice, path) -> None               -> roi.xlsx (written to a temp path)
    advisor.render.xlsx.render_kernels_csv(advice) -> str             -> kernels.csv (--format csv)
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.model import temp_beside, write_atomic

# (output name, file name, module, function, kind) — kind "text" returns str; "file" writes a path.
OUTPUTS = (
    ("advice", "advice.json", "advisor.render.advice_json", "render_advice_json", "text"),
    ("report", "report.html", "advisor.render.html", "render_html", "text"),
    ("spreadsheet", "roi.xlsx", "advisor.render.xlsx", "write_xlsx", "file"),
    ("csv", "kernels.csv", "advisor.render.xlsx", "render_kernels_csv", "text"),
)
DEFAULT_FORMATS = ("advice", "report", "spreadsheet")


@dataclass(slots=True)
class Written:
    """What was written (name → path) and what failed (name → one-line reason)."""

    paths: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def write_outputs(advice: Any, out_dir: Path, formats: tuple[str, ...] = DEFAULT_FORMATS) -> Written:
    """Render each requested output into ``out_dir`` atomically; never raises for a renderer's bug."""
    result = Written()
    for name, filename, module, func, kind in OUTPUTS:
        if name not in formats:
            continue
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError):
            continue  # renderer not available in this build
        target = out_dir / filename
        try:
            if kind == "text":
                write_atomic(target, fn(advice).encode("utf-8", "backslashreplace"))
            else:
                fd, tmp = temp_beside(target)  # 0666 less the umask, like write_atomic
                os.close(fd)
                try:
                    fn(advice, Path(tmp))
                    os.replace(tmp, target)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            result.paths[name] = str(target)
        except Exception as exc:  # one renderer's failure must not lose the others
            result.failed[name] = f"{type(exc).__name__}: {exc}"[:300]
    return result
