"""advisor: profile a training step, rank hotspots by interpreted/native/waiting/gc time, and estimate
whether porting each one to a compiled language pays off.

Pipeline: capture → model.Profile → analysis.Analysis → costmodel → render.
Importing ``advisor`` does not import pandas, jinja2 or xlsxwriter.
"""

from typing import TYPE_CHECKING

from advisor._version import __version__

# Loaded on first use (PEP 562): a spawned child process that only starts advisor's sampler
# (capture/children.py) does not pay for the analysis and API modules.
_LAZY = {"Analysis": "advisor.analysis", "Hotspot": "advisor.analysis", "analyze": "advisor.analysis",
         "ProfileOptions": "advisor.api", "profile_script": "advisor.api", "profiling": "advisor.api",
         "Target": "advisor.capture.runner", "Profile": "advisor.model", "Split": "advisor.model",
         **{name: "advisor.errors" for name in ("AdvisorError", "ConfigError", "OutputError", "ProfileFormatError",
                                                "RenderError", "StepNotFound", "UsageError")}}

if TYPE_CHECKING:  # pragma: no cover
    from advisor.analysis import Analysis, Hotspot, analyze
    from advisor.api import ProfileOptions, profile_script, profiling
    from advisor.capture.runner import Target
    from advisor.errors import (AdvisorError, ConfigError, OutputError, ProfileFormatError, RenderError,
                                StepNotFound, UsageError)
    from advisor.model import Profile, Split


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'advisor' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AdvisorError", "Analysis", "ConfigError", "Hotspot", "OutputError", "Profile", "ProfileFormatError",
    "ProfileOptions", "RenderError", "Split", "StepNotFound", "Target", "UsageError", "__version__",
    "analyze", "profile_script", "profiling",
]


def load_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    """``%load_ext advisor`` in IPython or Jupyter (IPython is imported only then)."""
    from advisor.notebook import load_ipython_extension as load

    load(ipython)
