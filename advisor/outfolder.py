"""The ``--out`` folder of a run: proved writable before the script runs, the previous run's files moved
aside, the profile written with a fallback when the folder cannot take it."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from advisor.errors import OutputError
from advisor.model import Profile


def prepare_output(out_dir: str | os.PathLike[str]) -> Path:
    """Create ``out_dir`` if needed and prove it is writable, before any script runs."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".advisor-probe-", dir=out)
        try:
            os.write(fd, b"x" * 4096)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"--out {out} is not writable: {exc.strerror or exc}") from None
    return out


# Every file a run writes into --out; a new run moves the previous run's into --out/previous/ first, so
# that a run that fails half-way never leaves old files beside new ones as if they belonged together.
RUN_FILES = ("profile.json", "advice.json", "report.html", "roi.xlsx", "kernels.csv", "profile.speedscope.json",
             "profile.pyisession")


def retire_outputs(out: Path) -> None:
    old = [out / n for n in RUN_FILES if (out / n).is_file()]
    if not old:
        return
    keep = out / "previous"
    try:
        keep.mkdir(exist_ok=True)
        for n in RUN_FILES:
            stale = keep / n
            if stale.is_file() or stale.is_symlink():
                stale.unlink()
        for path in old:
            os.replace(path, keep / path.name)
    except OSError as exc:
        raise OutputError(f"cannot move the previous run's files in {out} aside: {exc.strerror or exc}") from None


def _announce_save(samples: int) -> None:
    """Say on stderr that the profile is being saved when that takes long enough to notice."""
    seconds = samples * 2e-5
    if seconds >= 1.0:
        print(f"advisor: saving the profile of {samples:,} samples (about {seconds:.0f} s; Ctrl-C will not "
              "interrupt it)", file=sys.stderr, flush=True)


def save_profile(profile: Profile, path: Path, announce: bool = True) -> Path:
    """Write ``profile`` to ``path``; where that folder cannot take it (a full disk, a deleted folder),
    to a temporary folder instead, saying where on stderr."""
    try:
        return profile.save(path)
    except (OSError, OutputError) as exc:
        fallback = Path(tempfile.mkdtemp(prefix="advisor-rescue-")) / path.name
        profile.save(fallback)
        if announce:
            print(f"advisor: could not write {path} ({getattr(exc, 'strerror', None) or exc}); the profile was saved to {fallback}",
                  file=sys.stderr, flush=True)
        return fallback
