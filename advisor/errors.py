"""The one exception hierarchy of advisor.

    AdvisorError                 exit 1   base; never raised directly
    ├── UsageError               exit 2   bad command line (missing script, unknown module, ...)
    ├── ConfigError              exit 2   a cost-model config that does not validate
    ├── OutputError              exit 2   --out is a file, unwritable, or the disk is full
    ├── ProfileFormatError       exit 2   a profile file that is truncated, foreign or too new
    ├── StepNotFound             exit 3   --step named a function that never ran
    └── RenderError              exit 4   an output could not be rendered (the profile is kept)

Library code raises these; only ``advisor.cli`` turns them into a one-line message and an exit code.
"""

from __future__ import annotations


class AdvisorError(Exception):
    """Base class: a problem advisor can explain in one line."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AdvisorError):
    """The command line cannot be carried out (missing script, bad option value...)."""

    exit_code = 2


class ConfigError(AdvisorError):
    """A cost-model configuration file is invalid; the message names the key path."""

    exit_code = 2


class OutputError(AdvisorError):
    """The output folder cannot be used (a file, not writable, disk full)."""

    exit_code = 2


class ProfileFormatError(AdvisorError):
    """A saved profile cannot be loaded (truncated, another format, a newer version, bad types)."""

    exit_code = 2


class StepNotFound(AdvisorError):
    """The function given with --step never ran; the message lists the closest candidates."""

    exit_code = 3


class RenderError(AdvisorError):
    """One output failed to render; the profile and the other outputs were still written."""

    exit_code = 4
