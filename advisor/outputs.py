"""Writes every output of a run next to the profile, each on its own: one failing renderer is
reported and the others (and the profile, saved before) are kept. Also the files of ``advisor merge``
(``write_merged``) and ``advisor compare`` (``write_comparison``).

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

# The one output registry: (output name, --format value, file name, module, function, kind).
# kind "text" returns str; "file" writes a path.
OUTPUTS = (
    ("advice", "json", "advice.json", "advisor.render.advice_json", "render_advice_json", "text"),
    ("report", "html", "report.html", "advisor.render.html", "render_html", "text"),
    ("spreadsheet", "xlsx", "roi.xlsx", "advisor.render.xlsx", "write_xlsx", "file"),
    ("csv", "csv", "kernels.csv", "advisor.render.xlsx", "render_kernels_csv", "text"),
)
FORMATS = {fmt: name for name, fmt, *_ in OUTPUTS}  # --format value -> output name
DEFAULT_FORMATS = ("advice", "report", "spreadsheet")


@dataclass(slots=True)
class Written:
    """What was written (name → path) and what failed (name → one-line reason)."""

    paths: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def write_outputs(advice: Any, out_dir: Path, formats: tuple[str, ...] = DEFAULT_FORMATS) -> Written:
    """Render each requested output into ``out_dir`` atomically; never raises for a renderer's bug.

    A renderer that raises (or cannot be imported) is recorded in ``failed`` and the others are still
    written; the caller turns ``failed`` into ``RenderError`` (``pipeline.Report.raise_for_failed``).
    """
    result = Written()
    for name, _fmt, filename, module, func, kind in OUTPUTS:
        if name not in formats:
            continue
        target = out_dir / filename
        try:
            fn = getattr(importlib.import_module(module), func)
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


def write_merged(merged: Any, out_dir: Path) -> list[Path]:
    """merged.json and merged.html of ``advisor merge`` into ``out_dir`` (prepared, held under OutputLock)."""
    from advisor.output_lock import OutputLock
    from advisor.render.merge import render_merged_html, render_merged_json

    with OutputLock(out_dir):
        return [write_atomic(out_dir / "merged.json", render_merged_json(merged).encode("utf-8")),
                write_atomic(out_dir / "merged.html", render_merged_html(merged).encode("utf-8"))]


def write_comparison(result: Any, json_out: Path | None = None, html_out: Path | None = None) -> list[Path]:
    """The JSON and/or HTML files of ``advisor compare`` (each only when its path is given)."""
    from advisor.render.compare import render_compare_html, render_compare_json

    paths = []
    if json_out is not None:
        paths.append(write_atomic(json_out, render_compare_json(result).encode("utf-8")))
    if html_out is not None:
        paths.append(write_atomic(html_out, render_compare_html(result).encode("utf-8")))
    return paths
