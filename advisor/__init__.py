"""advisor: profile a training step, rank hotspots by interpreted/native/waiting/gc time, and estimate
whether porting each one to a compiled language pays off.

Pipeline: capture → model.Profile → analysis.Analysis → costmodel → render.
Importing ``advisor`` does not import pandas, jinja2 or xlsxwriter.
"""

from advisor._version import __version__
from advisor.analysis import Analysis, Hotspot, analyze
from advisor.api import ProfileOptions, profile_script, profiling
from advisor.capture.runner import Target
from advisor.errors import (AdvisorError, ConfigError, OutputError, ProfileFormatError, RenderError,
                            StepNotFound, UsageError)
from advisor.model import Profile, Split

__all__ = [
    "AdvisorError", "Analysis", "ConfigError", "Hotspot", "OutputError", "Profile", "ProfileFormatError",
    "ProfileOptions", "RenderError", "Split", "StepNotFound", "Target", "UsageError", "__version__",
    "analyze", "profile_script", "profiling",
]


def load_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    """``%load_ext advisor`` in IPython or Jupyter (IPython is imported only then)."""
    from advisor.notebook import load_ipython_extension as load

    load(ipython)
