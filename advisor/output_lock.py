"""Exclusive use of an output folder for one advisor run: ``.advisor.lock`` names its owner.

Why not simply hold ``flock`` on an open descriptor for the whole run (as advisor did first)? The profiled
script runs in advisor's own process, and a script that closes inherited descriptors
(``os.closerange(3, 1 << 16)``, common in daemonising code) closes the lock's descriptor too: the lock is
gone and a second run on the same folder is accepted. So the lock holds no descriptor while the script runs:

* ``.advisor.lock`` holds a one-line JSON *owner record*: pid, the process's start time (``/proc``), host,
  boot id, a random token. An empty file means "free".
* Taking or releasing the lock is a short read-check-write done under ``flock`` on that same file (so two
  runs starting together cannot both win); the descriptor is closed right after, before any script runs.
* An owner counts as alive while its pid exists with the same start time on the same boot of the same
  host: a run that was SIGKILLed, OOM-killed or lost with a reboot leaves a stale record that the next
  run takes over; a reused pid does not keep the folder locked. A record from another host cannot be
  checked and is honoured; the message names the host and the file to delete.
* The file is opened with ``O_NOFOLLOW`` and must be a regular file with one link: a planted symlink or
  hard link to another file is refused, never followed or written through.

``OutputLock.held()`` re-reads the record, for a caller that wants to check the lock is still its own
before saving (the script may have deleted the folder).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from advisor.errors import OutputError


def _host() -> str:
    """socket.gethostname(), without importing socket before the user's script (uname's node name is
    what it returns)."""
    return os.uname().nodename if hasattr(os, "uname") else __import__("platform").node()

LOCK_NAME = ".advisor.lock"
GUARD_WAIT_S = 5.0  # the read-check-write under flock takes milliseconds; wait this long for another one


class OutputLock:
    """Exclusive use of ``out_dir`` for one advisor run; ``with OutputLock(out):`` around the run.

    Raises ``OutputError`` on entry when another live run owns the folder, or when ``.advisor.lock`` is a
    symlink, not a regular file, or cannot be created.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.path = Path(out_dir) / LOCK_NAME
        self.token = os.urandom(8).hex()
        self._pid: int | None = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Write this process's owner record, unless a live run owns the folder."""
        fd = _open_guarded(self.path, create=True)
        try:
            owner = _read(fd)
            if owner and owner.get("token") != self.token and _alive(owner):
                raise OutputError(f"another advisor run is writing to {self.path.parent} ({_who(owner)}); wait for "
                                  "it or use another --out", hint=_hint(owner, self.path))
            record = json.dumps(_me(self.token)).encode() + b"\n"
            os.ftruncate(fd, 0)
            os.pwrite(fd, record, 0)
            os.fsync(fd)
            self._pid = os.getpid()
        finally:
            os.close(fd)  # also releases the flock: nothing stays open for the script to close

    def held(self) -> bool:
        """Whether the record on disk is still this lock's (False after the script deleted it)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except OSError:
            return False
        try:
            return (_read(fd) or {}).get("token") == self.token
        finally:
            os.close(fd)

    def release(self) -> None:
        """Clear the record if it is still this lock's. A forked child (another pid) leaves it alone."""
        if self._pid is None or self._pid != os.getpid():
            return
        self._pid = None
        try:
            fd = _open_guarded(self.path, create=False)
        except (OutputError, OSError):
            return  # the folder or the file is gone (the script deleted it): nothing left to release
        try:
            if (_read(fd) or {}).get("token") == self.token:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _open_guarded(path: Path, create: bool) -> int:
    """Open the lock file (never through a symlink), check it, and take ``flock`` on it."""
    flags = os.O_RDWR | _NOFOLLOW | _CLOEXEC | (os.O_CREAT if create else 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno in (errno.EEXIST, errno.ENXIO) and path.is_symlink()):
            raise OutputError(f"{path} is a symbolic link; advisor does not follow it (remove it: a lock file "
                              "is never a link)") from None
        if not create and exc.errno == errno.ENOENT:
            raise
        raise OutputError(f"--out {path.parent} is not writable: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            what = "not a regular file" if not stat.S_ISREG(st.st_mode) else "a hard link to another file"
            raise OutputError(f"{path} is {what}; advisor does not write through it (remove it)")
        _flock(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _flock(fd: int, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the record alone, without the guard
        return
    deadline = time.monotonic() + GUARD_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            # Held past the deadline: an advisor of the older kind holds it for its whole run.
            if time.monotonic() > deadline:
                raise OutputError(f"another advisor run is writing to {path.parent}; wait for it or use "
                                  "another --out") from None
            time.sleep(0.05)


def _read(fd: int) -> dict[str, Any] | None:
    data = os.pread(fd, 4096, 0)
    if not data.strip():
        return None
    try:
        owner = json.loads(data)
    except ValueError:
        return {"pid": None}  # unreadable: treated as stale (nothing to check it against)
    return owner if isinstance(owner, dict) else {"pid": None}


def _me(token: str) -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "started": _start_ticks(pid), "host": _host(), "boot": _boot_id(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "token": token}


def _alive(owner: dict[str, Any]) -> bool:
    """Whether the run that wrote ``owner`` may still be running."""
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if owner.get("host") != _host():
        return True  # another machine on a shared folder: cannot be checked from here
    boot = _boot_id()
    if boot is not None and owner.get("boot") not in (None, boot):
        return False  # written before this machine's last reboot
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's process
    except OSError:
        return False
    started = owner.get("started")
    return started is None or _start_ticks(pid) in (None, started)


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return int(fields[19])  # field 22 of stat(5); fields[0] is field 3
    except (OSError, IndexError, ValueError):
        return None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _who(owner: dict[str, Any]) -> str:
    host = owner.get("host")
    where = f" on {host}" if host and host != _host() else ""
    return f"pid {owner.get('pid')}{where} since {owner.get('since', '?')}"


def _hint(owner: dict[str, Any], path: Path) -> str | None:
    if owner.get("host") != _host():
        return f"if no advisor run is going on {owner.get('host')}, delete {path}"
    return None
