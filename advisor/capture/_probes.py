"""Probes the sampler reads at each sample: the sampled thread's scheduler state and system call,
the sampler's own run-queue delay (all from ``/proc``, read with the GIL held), and whether a frame
stands on a call instruction. Each factory returns a cheap callable (and a file descriptor to close).
"""

from __future__ import annotations

import ctypes
import dis
import os
import platform
import threading
import time
from types import CodeType
from typing import Callable

# Blocking sleep / I/O system calls (read, pread, readv, poll, select, nanosleep, accept, recv*, wait4,
# clock_nanosleep, epoll_wait, ppoll, pselect6, epoll_pwait, accept4, preadv, io_getevents, io_uring_enter).
_IO_SYSCALLS = {
    "x86_64": frozenset({0, 17, 19, 7, 23, 35, 43, 45, 47, 61, 230, 232, 271, 270, 281, 288, 295, 299, 208, 426}),
    "aarch64": frozenset({63, 67, 65, 73, 72, 101, 115, 22, 202, 207, 212, 260, 242, 4, 426}),
}
_IO_SYSCALLS["arm64"] = _IO_SYSCALLS["aarch64"]


_CALL_OPS = frozenset(dis.opmap[n] for n in ("CALL", "PRECALL", "CALL_FUNCTION", "CALL_METHOD", "CALL_KW",
                                              "CALL_FUNCTION_EX", "CALL_FUNCTION_KW") if n in dis.opmap)


def call_checker() -> Callable[[CodeType, int], bool]:
    """A function telling whether a frame (its code and last instruction's byte offset) stands on a
    call instruction (bytecode cached per code)."""
    cache: dict[CodeType, bytes] = {}

    def is_call(code: CodeType, lasti: int) -> bool:
        raw = cache.get(code)
        if raw is None:
            raw = cache[code] = code.co_code
        if not 0 <= lasti < len(raw):
            return False
        if raw[lasti] in _CALL_OPS:
            return True
        # 3.11 pads calls with inline caches: look back over CACHE entries to the instruction itself
        i = lasti
        while i >= 2 and raw[i] == _CACHE:
            i -= 2
        return raw[i] in _CALL_OPS

    return is_call


_CACHE = dis.opmap.get("CACHE", -1)


def _proc_reader(path: str, size: int) -> tuple[Callable[[], bytes], int] | None:
    """A function returning the first ``size`` bytes of a ``/proc`` file, read afresh each call with
    the GIL held, and the file descriptor to close; None where the file cannot be opened.

    ``os.pread`` would release the GIL, and the sampled thread would run Python meanwhile (and read as
    running); libc's ``pread`` called through ``ctypes.PyDLL`` keeps the GIL.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
        st = os.fstat(fd)
    except (OSError, TypeError):
        return None
    _OWN_FDS[fd] = (st.st_dev, st.st_ino)
    libc_pread = ctypes.PyDLL(None).pread
    libc_pread.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long)
    libc_pread.restype = ctypes.c_ssize_t
    buf = ctypes.create_string_buffer(size)

    def read() -> bytes:
        n = libc_pread(fd, buf, size, 0)
        return buf.raw[:max(n, 0)]

    return read, fd


_OWN_FDS: dict[int, tuple[int, int]] = {}


def close_fd(fd: int | None) -> None:
    """Close a probe's file descriptor, only if it is still ours: a script that closed every inherited
    descriptor (``os.closerange``) may have reopened the same number for a file of its own."""
    if fd is None:
        return
    ident = _OWN_FDS.pop(fd, None)
    try:
        st = os.fstat(fd)
        if ident is not None and (st.st_dev, st.st_ino) == ident:
            os.close(fd)
    except OSError:
        pass


def run_delay_reader() -> tuple[Callable[[], float], int | None]:
    """Seconds the calling thread has waited on a run queue (``/proc/thread-self/schedstat``),
    and the file descriptor to close; a constant 0 where the kernel does not say."""
    opened = _proc_reader(f"/proc/self/task/{threading.get_native_id()}/schedstat", 96)
    if opened is None:
        return (lambda: 0.0), None
    read_raw, fd = opened

    def read() -> float:
        parts = read_raw().split()
        return int(parts[1]) / 1e9 if len(parts) > 1 else 0.0

    return read, fd


def native_id_of(ident: int | None) -> int | None:
    for t in threading.enumerate():
        if t.ident == ident:
            return t.native_id
    return None


def running_probe(native_id: int | None, cpu_clock: int | None) -> tuple[Callable[[], bool], int | None]:
    """A function telling whether the sampled thread is on a CPU right now.

    Linux: the thread's scheduler state in ``/proc/self/task/TID/stat`` ('R' = running or runnable;
    a thread waiting for the GIL, a lock, I/O or a timer is 'S' or 'D'). Elsewhere: whether its CPU
    clock advances over a 50 µs window. Also returns the file descriptor to close (or None).
    """
    opened = _proc_reader(f"/proc/self/task/{native_id}/stat", 256)
    if opened is not None:
        read, fd = opened

        def proc_state() -> bool:
            data = read()
            cut = data.rfind(b")")
            return data[cut + 2:cut + 3] == b"R"

        return proc_state, fd
    clk = cpu_clock
    if clk is None:
        return (lambda: False), None
    gettime, perf = time.clock_gettime, time.perf_counter

    def clock_state() -> bool:
        c0, t0 = gettime(clk), perf()
        while perf() - t0 < 5e-5:
            pass
        return gettime(clk) - c0 > 2.5e-5

    return clock_state, None


def io_probe(native_id: int | None) -> tuple[Callable[[], bool], int | None]:
    """A function telling whether the sampled thread is blocked in a sleep or I/O system call
    (``/proc/self/task/TID/syscall``, Linux x86-64/arm64); elsewhere it answers False. Also returns the file descriptor to close (or None)."""
    calls = _IO_SYSCALLS.get(platform.machine())
    opened = _proc_reader(f"/proc/self/task/{native_id}/syscall", 64) if calls else None
    if opened is None or calls is None:
        return (lambda: False), None
    read, fd = opened

    def in_io() -> bool:
        head = read().split(b" ", 1)[0]
        return head.isdigit() and int(head) in calls

    return in_io, fd


_WAIT_FILES = ("threading.py", "queue.py", "selectors.py", "socket.py", "subprocess.py")
_WAIT_DIRS = ("multiprocessing", "concurrent", "asyncio")


def waits_on_others(code: CodeType) -> bool:
    """Whether the innermost frame is standard-library code that blocks on other threads or processes
    (``Thread.join``, ``Queue.get``, a pipe, a pool's result)."""
    name = code.co_filename
    if name.endswith(_WAIT_FILES):
        return True
    parts = name.replace("\\", "/").split("/")
    return len(parts) > 1 and parts[-2] in _WAIT_DIRS
