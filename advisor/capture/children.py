"""Child processes (DataLoader workers, multiprocessing pools) profiled by the same sampler, no ptrace.

Each child samples its own main thread (``Sampler`` used as a library) and, as it exits, writes one small
part — its split and top functions (``partbuild.summarize``), a few kilobytes — into the run's
``workers/`` folder; the parent reads them back into ``Profile.parts`` as it saves.

How a child starts sampling:

* **fork** (Linux's default start method, DataLoader's default there): an ``os.register_at_fork``
  hook in the child starts a sampler on the forking thread (the child's only one).
* **spawn** / forkserver's spawned server is not touched; a spawned child (``mp.set_start_method("spawn")``,
  ``multiprocessing_context="spawn"``): the parent wraps ``multiprocessing.spawn.get_command_line`` so the
  child's ``-c`` program first runs ``start_spawned()``, inside ``try/except`` so that a child that cannot
  import advisor (another interpreter via ``set_executable``) runs unprofiled; the folder and interval
  travel in ``ADVISOR_CHILDREN``. No ``.pth`` file, nothing installed.

How it stays bounded and harmless: a child that lived under ``MIN_LIFE_S`` writes nothing but a line in
``skipped.log`` (a pool of 64 one-task children costs 64 short lines); at most ``MAX_FILES`` part files per
run, later children are counted in ``skipped.log`` too; every step is inside ``try`` and a failure is one
line on stderr, never an exception in the child. The part is written when the child leaves through
``os._exit`` (multiprocessing's forked children) or ``atexit`` (spawned ones), with SIGTERM blocked while
it writes (a pool's ``terminate()`` follows its sentinels closely). A child ended by SIGTERM before it left
(``Pool.terminate``, the end of a ``with Pool()`` block, for the workers still waiting for a task) dies as
in a plain run, without its part: advisor installs no Python SIGTERM handler in a child, because one can
lose the signal (it can land between the interpreter's last check and the worker's ``sem_wait`` on its
queue's lock, and the worker then waits forever, holding up the pool's ``terminate()``; seen under load).
SIGTERM is held
back across the fork itself, so one sent to a child that has not run yet is not dropped by CPython's own
at-fork code, and is delivered once advisor's handlers are gone. A child killed with SIGTERM or SIGKILL, or
still running when the parent saves (``persistent_workers=True`` iterators torn down at interpreter exit),
is missing, and the parent says how many of the children it started are missing.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from advisor.capture.guard import _real_exit  # the real one, bound before any run replaced os._exit

ENV = "ADVISOR_CHILDREN"
MIN_LIFE_S = 0.2  # a child shorter than this is counted, not sampled into a file
MAX_FILES = 32
SLOWER = 2.0  # children sample at twice the main interval: half the cost, enough samples for a part
SKIPPED = "skipped.log"

_config: dict[str, Any] | None = None  # set in the parent while a run captures children
_registered = False
_child: _ChildSampler | None = None
_counts = {"forked": 0, "spawned": 0}


def _say(text: str) -> None:
    try:
        os.write(2, f"advisor: {text}\n".encode("utf-8", "backslashreplace"))
    except OSError:
        pass


# ---- in the child ------------------------------------------------------------------------------------
class _ChildSampler:
    """The sampler of one child's main thread and the writing of its part."""

    def __init__(self, folder: str, interval_s: float, inherited: int = 0) -> None:
        from advisor.capture.sampler import Sampler

        self.folder = folder
        self.inherited = inherited  # frames the fork copied from the parent's stack (its script, advisor)
        self.t0 = time.perf_counter()
        self.pid = os.getpid()
        self.done = False  # finishing has begun
        self.sampler = Sampler(interval_s * SLOWER, thread_id=threading.get_ident())
        _start_deaf(self.sampler.start)

    def finish(self) -> None:
        """Stop sampling and write this child's part (once; from whichever exit path comes first)."""
        if self.done or os.getpid() != self.pid:
            return
        self.done = True
        watchdog = _arm_watchdog()
        held = _hold_term()
        try:
            self.sampler.stop()
            life = time.perf_counter() - self.t0
            role, name = _role()
            if life < MIN_LIFE_S or not self.sampler.records:
                _note(self.folder, role, name, "short")
                return
            from advisor.capture.partbuild import summarize_sampler
            from advisor.parts import part_to_json

            part = summarize_sampler(self.sampler, role, name, life, skip_root=self.inherited)
            _write_part(self.folder, {"pid": self.pid, **part_to_json(part)}, role, name)
        except Exception as exc:  # a child's failure to profile is a warning, never an error
            _say(f"could not profile child process {os.getpid()}: {type(exc).__name__}: {exc}"[:200])
        finally:
            if watchdog:
                signal.alarm(0)
            if held is not None:  # a SIGTERM that came meanwhile ends the process now, as it would have
                signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _hold_term() -> Any:
    """Block SIGTERM in this thread while the part is written (the worker is leaving anyway: a pool's
    terminate() sends it to the workers that took their sentinel too); no handler is involved, so no
    signal can be lost, and the alarm above still bounds the write. Returns the mask to put back."""
    try:
        return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    except (AttributeError, OSError, ValueError):
        return None


def _start_deaf(start: Any) -> None:
    """Start the sampler thread with SIGTERM and SIGINT blocked in it (a thread inherits its creator's
    mask), so the kernel hands them to the script's thread: a Python handler there (SIGINT's, a script's
    own) is woken from a blocking call and runs; delivered to the sampler thread instead, it would wait
    for the main thread's next bytecode, which may never come."""
    deaf = {signal.SIGTERM, signal.SIGINT}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, deaf)
    except (AttributeError, OSError, ValueError):
        start()
        return
    try:
        start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


FINISH_LIMIT_S = 10  # the most seconds a child may spend writing its part before it leaves without it


def _arm_watchdog() -> bool:
    """A child must never hang its pool (``Pool.terminate`` joins every worker): if writing the part
    takes longer than ``FINISH_LIMIT_S``, the kernel ends the child (``alarm`` with SIGALRM's default
    action: no thread, no lock, no GIL needed). Not faulthandler's watchdog: after a fork from a parent
    that had armed one, ``dump_traceback_later`` waits forever on a lock held by a thread the child does
    not have. Only where SIGALRM is the script's default and no alarm of its own is pending."""
    try:
        if signal.getsignal(signal.SIGALRM) != signal.SIG_DFL:
            return False
        pending = signal.alarm(FINISH_LIMIT_S)
        if pending:  # the script's own alarm: put it back, leave unbounded
            signal.alarm(pending)
            return False
        return True
    except (AttributeError, ValueError, OSError):  # no SIGALRM here
        return False


def _role() -> tuple[str, str]:
    """``("worker", "worker N")`` in a torch DataLoader worker, else ``("child", process name stem)``."""
    worker = sys.modules.get("torch.utils.data._utils.worker")
    info = getattr(worker, "get_worker_info", lambda: None)() if worker is not None else None
    if info is not None and isinstance(getattr(info, "id", None), int):
        return "worker", f"worker {info.id}"
    mp = sys.modules.get("multiprocessing")
    name = mp.current_process().name if mp is not None else "child"
    return "child", (re.sub(r"[-_:]?\d+$", "", str(name))[:80] or "child")


def _note(folder: str, role: str, name: str, why: str) -> None:
    """One short line per child not written (O_APPEND: lines from many children do not interleave)."""
    os.makedirs(folder, exist_ok=True)  # the parent removes it when empty as it ends
    fd = os.open(os.path.join(folder, SKIPPED), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{why}\t{role}\t{name}\n".encode("utf-8", "backslashreplace"))
    finally:
        os.close(fd)


def _write_part(folder: str, data: dict[str, Any], role: str, name: str) -> None:
    """Claim the first free ``part-K.json`` (K < MAX_FILES) and fill it atomically."""
    blob = json.dumps(data, separators=(",", ":")).encode()
    os.makedirs(folder, exist_ok=True)
    for k in range(MAX_FILES):
        path = os.path.join(folder, f"part-{k}.json")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
        return
    _note(folder, role, name, "cap")


def _exit_then(code: int = 0) -> None:
    if _child is not None:
        _child.finish()
    _real_exit(code)


def _start_in_child(folder: str, interval_s: float, inherited: int = 0) -> None:
    global _child
    try:
        _child = _ChildSampler(folder, interval_s, inherited)
        os._exit = _exit_then  # type: ignore[assignment]  # multiprocessing's forked children leave here
        atexit.register(_child.finish)  # spawned children leave through sys.exit
    except Exception as exc:
        _say(f"could not profile child process {os.getpid()}: {type(exc).__name__}: {exc}"[:200])


_fork_masks: dict[int, Any] = {}  # the forking thread's signal mask before ``_before_fork`` blocked SIGTERM


def _before_fork() -> None:
    """Hold SIGTERM back across the fork. A SIGTERM that reaches a new child before CPython's own at-fork
    code has run is dropped there (``_PySignal_AfterFork`` clears the flags of Python handlers, and the
    child inherits advisor's): ``Pool.terminate`` sends it to a worker just forked by the pool's handler
    thread, and the worker then waits forever on the queue's lock the pool holds. Blocked, it stays
    pending in the kernel and is delivered once the child's handlers are in place (end of
    ``_after_fork_child``, where the handler is SIGTERM's default again); the parent's mask is put back at
    once."""
    if _config is None:
        return
    try:
        _fork_masks[threading.get_ident()] = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    except (AttributeError, OSError, ValueError):
        pass


def _restore_mask() -> None:
    old = _fork_masks.pop(threading.get_ident(), None)
    if old is not None:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        except (AttributeError, OSError, ValueError):
            pass


def _after_fork_child() -> None:
    try:
        _set_up_child()
    finally:
        _restore_mask()  # a SIGTERM held back since the fork is delivered now: the child ends at once
        _fork_masks.clear()  # only the forking thread exists here


def _set_up_child() -> None:
    global _child
    cfg = _config
    if cfg is None or os.getpid() == cfg["parent"]:
        return
    _child = None  # a grandchild: its parent's sampler (and thread) did not survive the fork
    depth, f = 0, sys._getframe(2)  # the frame that called os.fork, and its callers
    while f is not None:
        depth, f = depth + 1, f.f_back
    _start_in_child(cfg["dir"], cfg["interval_s"], depth)


def _after_fork_parent() -> None:
    _restore_mask()
    if _config is not None and os.getpid() == _config["parent"]:
        _counts["forked"] += 1


def start_spawned() -> None:
    """Run first in a spawned child (see the module docstring); reads ``ADVISOR_CHILDREN``."""
    try:
        cfg = json.loads(os.environ.get(ENV, ""))
        folder, interval = str(cfg["dir"]), float(cfg["interval_s"])
    except (ValueError, KeyError, TypeError):
        return
    _start_in_child(folder, interval)


# ---- in the parent -----------------------------------------------------------------------------------
class ChildCapture:
    """Makes the run's children sample themselves into ``folder``; ``collect`` reads their parts back."""

    def __init__(self, folder: Path, interval_s: float) -> None:
        self.folder = folder
        self.interval_s = interval_s
        self._saved_env: str | None = None
        self._patched: Any = None

    def install(self) -> ChildCapture:
        global _config, _registered
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.iterdir():  # a previous run's parts
            if old.is_file() and (old.name.startswith("part-") or old.name == SKIPPED):
                old.unlink()
        _counts.update(forked=0, spawned=0)
        _config = {"dir": str(self.folder), "interval_s": self.interval_s, "parent": os.getpid()}
        self._saved_env = os.environ.get(ENV)
        os.environ[ENV] = json.dumps({"dir": str(self.folder), "interval_s": self.interval_s})
        if not _registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child,
                                after_in_parent=_after_fork_parent)
            _registered = True
        try:
            import multiprocessing.spawn as spawn

            self._patched = spawn.get_command_line
            spawn.get_command_line = _command_line(self._patched)  # type: ignore[assignment]
        except Exception:  # pragma: no cover - no multiprocessing here
            self._patched = None
        return self

    def close(self) -> None:
        global _config
        _config = None
        try:
            self.folder.rmdir()  # only when empty: a run without children leaves no folder behind
        except OSError:
            pass
        if self._saved_env is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = self._saved_env
        if self._patched is not None:
            import multiprocessing.spawn as spawn

            if getattr(spawn.get_command_line, "__wrapped__", None) is self._patched:
                spawn.get_command_line = self._patched  # type: ignore[assignment]
            self._patched = None

    def collect(self) -> tuple[tuple[Any, ...], list[str]]:
        """The children's parts, one per role and name, and notes about the ones missing."""
        from advisor.capture.partbuild import combine
        from advisor.parts import part_from_json

        groups: dict[tuple[str, str], list[Any]] = {}
        bad = 0
        for path in sorted(self.folder.glob("part-*.json")):
            try:
                raw = path.read_bytes()
                if not raw:
                    continue  # claimed, still being written
                part = part_from_json(json.loads(raw), path.name)
            except (OSError, ValueError, TypeError, KeyError):
                bad += 1
                continue
            groups.setdefault((part.role, part.name), []).append(part)
        skipped: dict[str, int] = {}
        try:
            for line in (self.folder / SKIPPED).read_text("utf-8", "replace").splitlines():
                why = line.split("\t", 1)[0]
                skipped[why] = skipped.get(why, 0) + 1
        except OSError:
            pass
        parts = tuple(combine(g) for _key, g in sorted(groups.items(), key=lambda kv: (kv[0][0] != "worker", kv[0])))
        notes = []
        if skipped.get("short"):
            notes.append(f"{skipped['short']} child processes lived under {MIN_LIFE_S:g} s and were counted, "
                         "not sampled")
        if skipped.get("cap"):
            notes.append(f"{skipped['cap']} child processes beyond the first {MAX_FILES} were not written")
        if bad:
            notes.append(f"{bad} child parts could not be read")
        started = _counts["forked"] + _counts["spawned"]
        seen = sum(p.processes for p in parts) + sum(skipped.values()) + bad
        if started > seen:
            notes.append(f"{started - seen} of the {started} child processes started had not finished (or were "
                         "killed) when the profile was saved; they are not in it")
        return parts, notes


def _command_line(original: Any) -> Any:
    """``spawn.get_command_line`` whose ``-c`` program starts the child's sampler first."""
    root = str(Path(__file__).resolve().parents[2])

    def get_command_line(**kwds: Any) -> list[str]:
        cmd = original(**kwds)
        try:
            i = cmd.index("-c")
        except ValueError:
            return cmd  # a frozen executable: left as it is
        if _config is not None:
            _counts["spawned"] += 1
        pre = ("import sys as _s\n_s.path.append(%r)\ntry:\n from advisor.capture.children import start_spawned"
               " as _a\n _a()\nexcept BaseException:\n pass\nfinally:\n _s.path.remove(%r)\n" % (root, root))
        return [*cmd[:i + 1], pre + cmd[i + 1], *cmd[i + 2:]]

    get_command_line.__wrapped__ = original  # type: ignore[attr-defined]
    return get_command_line
