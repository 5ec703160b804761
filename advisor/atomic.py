"""Atomic writes: a temp file beside the target, then ``os.replace`` (readers see the old file or the new).

Files get mode 0666 less the umask, as any file the user writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from advisor.errors import OutputError

# Bound at import, before any script runs: a script that replaces os.replace (it happens) does not change
# how its profile is written.
_replace = os.replace


def temp_beside(path: Path) -> tuple[int, Path]:
    """Create an empty temp file next to ``path`` (same folder, so ``os.replace`` is atomic); returns its
    open descriptor and path.

    Created with mode 0666 and the process umask applied by the kernel, as any file the user writes
    (``tempfile.mkstemp`` makes 0600 files, which teammates on a shared folder cannot read). ``O_EXCL`` and
    ``O_NOFOLLOW``: never an existing file, never through a planted symlink.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name beside {path}")  # pragma: no cover - 100 collisions of 48 bits


def write_atomic(path: Path, data: bytes | Iterable[bytes]) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``.

    Readers see the old file or the new one, never a mix; two writers leave one complete file. The file
    gets mode 0666 less the umask, like any file the user writes.
    """
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(path)
        with os.fdopen(fd, "wb") as fh:
            for part in ((data,) if isinstance(data, (bytes, bytearray)) else data):
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
        _replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    return path


