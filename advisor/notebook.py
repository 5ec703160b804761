"""Notebooks: ``%load_ext advisor`` gives ``%advisor`` (one statement) and ``%%advisor`` (a cell).

    %%advisor --out advisor-out --format json
    for _ in range(50):
        train_step()

The magic profiles the code in the notebook's own namespace, then runs the same pipeline as
``advisor profile`` (``pipeline.finish``) and returns its ``Report``, which shows itself as a compact HTML
summary. ``Advice`` and ``Analysis`` objects also render as HTML once the extension is loaded.

Functions defined in notebook cells are the team's code: IPython names a cell's code
``<ipython-input-N-hash>`` (terminal IPython, ``InteractiveShell``) or ``/tmp/ipykernel_PID/HASH.py``
(Jupyter's ipykernel, a file that does not exist on disk); both count, and their text comes from
``linecache`` so reports can show the source. IPython is imported only here, only when loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import linecache
import re
import shlex
from dataclasses import dataclass
from typing import Any

from advisor.capture.build import UserCode
from advisor.errors import AdvisorError, UsageError
from advisor.model import FrameKey, Profile

_CELL_FILE = re.compile(r"^(<ipython-input-\d+-[0-9a-f]+>|.*[/\\]ipykernel_\d+[/\\][^/\\]+\.py)$")


def is_cell_file(filename: str) -> bool:
    """True for the names IPython and ipykernel give to notebook cells."""
    return bool(_CELL_FILE.match(filename))


@dataclass(frozen=True, slots=True)
class NotebookUserCode(UserCode):
    """``UserCode`` that also counts notebook cells as the team's code."""

    def is_user(self, key: FrameKey) -> bool:
        if key.kind == "python" and is_cell_file(key.file):
            return True
        return UserCode.is_user(self, key)


def with_cell_sources(profile: Profile) -> Profile:
    """The profile with the text of every notebook cell it saw (from ``linecache``) in ``sources``."""
    cells = {}
    for f in profile.frames:
        if f.user and is_cell_file(f.key.file) and f.key.file not in profile.sources:
            text = "".join(linecache.getlines(f.key.file))
            if text:
                cells[f.key.file] = text
    return dataclasses.replace(profile, sources={**profile.sources, **cells}) if cells else profile


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%advisor", add_help=False, exit_on_error=False)
    p.add_argument("--out", "-o", default=None)
    p.add_argument("--step", default=None)
    p.add_argument("--interval", type=float, default=0.005)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--config", "-c", default=None)
    p.add_argument("--format", dest="formats", action="append", default=None)
    p.add_argument("statement", nargs=argparse.REMAINDER)
    return p


def parse_magic_line(line: str) -> argparse.Namespace:
    """Options of ``%advisor``/``%%advisor``; ``UsageError`` on a bad one (argparse would exit)."""
    try:
        ns, extra = _parser().parse_known_args(shlex.split(line, posix=True))
    except (argparse.ArgumentError, ValueError) as exc:
        raise UsageError(f"%advisor: {exc}") from None
    if extra:
        raise UsageError(f"%advisor: unknown option {extra[0]}")
    return ns


def run_in_notebook(shell: Any, code_text: str, line: str, number: int = 0) -> Any:
    """Profile ``code_text`` in ``shell``'s namespace with the options in ``line``; return the Report."""
    from advisor.api import finish_region, profiling
    from advisor.pipeline import load_cost_config, output_names

    ns = parse_magic_line(line)
    output_names(ns.formats), load_cost_config(ns.config)  # refuse bad options before running anything
    filename = shell.compile.cache(code_text, number)  # registers the text in linecache, IPython-style name
    code = compile(code_text, filename, "exec")
    region = profiling(interval_s=ns.interval, step=ns.step, warmup=ns.warmup,
                       user_code=NotebookUserCode.default())
    with region:
        exec(code, shell.user_ns)  # noqa: S102 - the user's own cell, as IPython would run it
    assert region.profile is not None
    return finish_region(with_cell_sources(region.profile), ns.out, ns.config, ns.formats)


def _magics(shell: Any) -> Any:
    from IPython.core.magic import Magics, line_cell_magic, magics_class

    @magics_class
    class AdvisorMagics(Magics):
        """``%advisor STATEMENT`` and ``%%advisor`` with the options of ``advisor profile``."""

        @line_cell_magic
        def advisor(self, line: str, cell: str | None = None) -> Any:
            number = getattr(self.shell, "execution_count", 0)
            try:
                if cell is None:
                    ns = parse_magic_line(line)
                    opts = line[: len(line) - len(" ".join(ns.statement))] if ns.statement else line
                    return run_in_notebook(self.shell, " ".join(ns.statement) + "\n", opts, number)
                return run_in_notebook(self.shell, cell, line, number)
            except AdvisorError as exc:  # one line, as the command line prints it
                print(f"advisor: error: {exc.message}")
                return None

    return AdvisorMagics(shell)


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext advisor``: register the magics and HTML views of Advice and Analysis."""
    from advisor.analysis import Analysis
    from advisor.costmodel import Advice
    from advisor.render.summary_html import render_analysis_html, render_summary_html

    shell.register_magics(_magics(shell))
    html = shell.display_formatter.formatters["text/html"]
    html.for_type(Advice, lambda advice: render_summary_html(advice))
    html.for_type(Analysis, render_analysis_html)
