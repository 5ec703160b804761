"""Keeping a long run's measurement whatever the script does: stops that always land, a save that a
second Ctrl-C cannot interrupt, ``os._exit`` and hard kills that still leave a profile.

One ``RunGuard`` per profiled run. It is given ``save(outcome, final) -> str | None`` (build and write
profile.json; returns where it went) and:

* **stops always land.** A ``KeyboardInterrupt``/``StopProfiling``/``SIGTERM`` exception raised while
  Python code of advisor's GC callback runs is swallowed by CPython ("Exception ignored in ...
  gc callback"); ``sys.unraisablehook`` is wrapped to raise it again in the same thread. A script that
  swallows the stop itself (a bare ``except:`` around its step) gets it again every ``RESEND_S``; if it
  is still running ``FORCE_AFTER_S`` after a SIGTERM or ``--max-steps`` stop, the profile is saved from a
  guard thread and the process exits with the stop's code, as plain Python would have exited at once.
* **os._exit(n)** by the script's own process saves the profile first (children of ``fork`` exit
  untouched).
* **checkpoints**: every ``checkpoint_s`` (stretched so that saving costs at most ~2% of the run) the
  profile so far is written as profile.json, marked as a checkpoint; a segfault, SIGKILL or the OOM
  killer then loses at most that interval.
* **saving is not interrupted**: while the final profile is built and written, SIGINT/SIGTERM print
  that advisor is saving and are otherwise ignored.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

from advisor.model import Outcome

RESEND_S = 0.5
FORCE_AFTER_S = 2.0
FIRST_CHECKPOINT_S = 10.0
MAX_SAVE_SHARE = 0.02  # checkpoints are spaced so that writing them takes at most this share of the run

_real_exit = os._exit  # bound at import: a script that replaces os._exit does not replace ours
_write = os.write


class Terminated(BaseException):
    """SIGTERM arrived while the script ran."""


def _say(text: str) -> None:
    """One line on stderr, written with ``os.write`` so it works from a signal handler or after the
    script closed or replaced ``sys.stderr``."""
    try:
        _write(2, f"advisor: {text}\n".encode("utf-8", "backslashreplace"))
    except OSError:
        pass


def _async_raise(thread_id: int, exc_type: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc_type))


class RunGuard:
    """Installs the protections around one run; ``close()`` removes them (idempotent)."""

    def __init__(self, save: Callable[[Outcome, bool], str | None], thread_id: int,
                 own_callbacks: Callable[[object], bool], checkpoint_s: float | None = 60.0,
                 exit_after_save: bool = False) -> None:
        self.exit_after_save = exit_after_save  # the CLI: after saving, a signal ends advisor at once
        self.saved_to: str | None = None
        self._save = save
        self.thread_id = thread_id
        self._own = own_callbacks  # does this unraisable come from advisor's own callback?
        self.checkpoint_s = checkpoint_s
        self.pid = os.getpid()
        self._lock = threading.Lock()  # one save at a time; the final one wins
        self._final_done = False
        self._closed = threading.Event()
        self._stop: tuple[type[BaseException], Outcome, float] | None = None
        self._prev_hook: Any = None
        self._prev_term: Any = None
        self._prev_exit: Any = None
        self._threads: list[threading.Thread] = []
        self._faulthandler = False
        self._fork_masks: dict[int, Any] = {}  # the forking thread's mask while SIGTERM is held back
        self._redeliver: list[tuple[int, type[BaseException]]] = []
        self._shielded: dict[int, Any] | None = None
        self._stop_closed = False  # the script has ended: nothing more is raised in its thread
        self.started = time.monotonic()
        self.checkpoints = 0
        self.last_checkpoint_s = 0.0

    # ---- install / remove ----------------------------------------------------------------------------
    def install(self) -> RunGuard:
        import faulthandler

        if not faulthandler.is_enabled():  # a crash then at least says where (python -X faulthandler)
            try:
                faulthandler.enable(all_threads=True)
                self._faulthandler = True
            except (OSError, ValueError, AttributeError, RuntimeError):  # no usable stderr
                pass
        self._prev_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        try:
            self._prev_term = signal.signal(signal.SIGTERM, self._on_term)
        except (ValueError, OSError):  # not the main thread / no SIGTERM here
            self._prev_term = None
        self._prev_exit = os._exit
        os._exit = self._os_exit  # type: ignore[assignment]
        if hasattr(os, "register_at_fork"):
            # A forked child (a multiprocessing or DataLoader worker) must not inherit advisor's stop
            # handling: SIGTERM from Pool.terminate() ends it silently, as in a plain run.
            # SIGTERM is held back across the fork (see children._before_fork: a SIGTERM that reaches the
            # child before CPython's at-fork code would be dropped with advisor's handler inherited).
            os.register_at_fork(before=self._before_fork, after_in_parent=self._restore_mask,
                                after_in_child=self._in_child)
        for name, target in (("advisor-guard", self._watch), ("advisor-checkpoint", self._checkpoints)):
            if name == "advisor-checkpoint" and not self.checkpoint_s:
                continue
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def close(self) -> None:
        """Stop the guard threads and put back what was replaced (only where still ours)."""
        self._closed.set()
        if self._shielded is not None:
            self.unshield()
        if self._faulthandler:
            import faulthandler

            faulthandler.disable()
            self._faulthandler = False
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=5)
        if sys.unraisablehook == self._unraisable:
            sys.unraisablehook = self._prev_hook
        if os._exit == self._os_exit:
            os._exit = self._prev_exit  # type: ignore[assignment]
        if self._prev_term is not None and not (self.exit_after_save and self.saved_to):
            try:
                if signal.getsignal(signal.SIGTERM) == self._on_term:
                    signal.signal(signal.SIGTERM, self._prev_term)
            except (ValueError, OSError, TypeError):
                pass
            self._prev_term = None

    def _before_fork(self) -> None:
        if not self._closed.is_set() and os.getpid() == self.pid:
            try:
                self._fork_masks[threading.get_ident()] = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            except (AttributeError, OSError, ValueError):
                pass

    def _restore_mask(self) -> None:
        old = self._fork_masks.pop(threading.get_ident(), None)
        if old is not None:
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
            except (AttributeError, OSError, ValueError):
                pass

    def _in_child(self) -> None:
        try:
            self._reset_in_child()
        finally:
            self._restore_mask()
            self._fork_masks.clear()

    def _reset_in_child(self) -> None:
        if self._closed.is_set() or os.getpid() == self.pid:
            return
        # A fresh Event, not ``self._closed.set()``: a parent thread (``_watch`` waits on it every 0.1 s)
        # may have held its lock at the fork, and here that lock would stay held forever.
        self._closed = threading.Event()
        self._closed.set()
        try:
            if signal.getsignal(signal.SIGTERM) == self._on_term:
                signal.signal(signal.SIGTERM, self._prev_term if self._prev_term is not None else signal.SIG_DFL)
        except (ValueError, OSError, TypeError):
            pass
        if sys.unraisablehook == self._unraisable:
            sys.unraisablehook = self._prev_hook
        if os._exit == self._os_exit:
            os._exit = self._prev_exit  # type: ignore[assignment]

    # ---- stops ---------------------------------------------------------------------------------------
    def request_stop(self, exc_type: type[BaseException], outcome: Outcome) -> None:
        """Ask the profiled thread to stop with ``exc_type``; enforced if the script swallows it."""
        if self._stop is None:
            self._stop = (exc_type, outcome, time.monotonic())
        _async_raise(self.thread_id, exc_type)

    def _on_term(self, signum: int, frame: Any) -> None:
        if os.getpid() != self.pid:
            # A forked child before (or without) ``_in_child``: raising here would be swallowed where it
            # lands (an at-fork hook) and the child would live on, holding its pool's terminate() forever.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self._stop = self._stop or (Terminated, Outcome(143, "sigterm", "terminated (SIGTERM)"), time.monotonic())
        raise Terminated()

    def _unraisable(self, unraisable: Any) -> None:
        exc = unraisable.exc_value
        if (isinstance(exc, BaseException) and not isinstance(exc, Exception)
                and self._own(unraisable.object)):
            # A stop raised inside advisor's own GC callback: CPython drops it. The guard thread raises
            # it again in this thread (raising it from here would land in this very hook).
            self._redeliver.append((threading.get_ident(), type(exc)))
            return
        hook = self._prev_hook or sys.__unraisablehook__
        hook(unraisable)

    def _watch(self) -> None:
        resent = 0.0
        while not self._closed.wait(0.1):
            while self._redeliver and not self._stop_closed:
                tid, exc_type = self._redeliver.pop(0)
                _async_raise(tid, exc_type)
            stop = self._stop
            if stop is None or self._final_done or self._stop_closed:
                continue
            exc_type, outcome, since = stop
            waited = time.monotonic() - since
            if waited >= FORCE_AFTER_S and outcome.stopped_by in ("sigterm", "max-steps"):
                self._force(outcome, waited)
                return
            if waited - resent >= RESEND_S and outcome.stopped_by in ("sigterm", "max-steps"):
                resent = waited
                _async_raise(self.thread_id, exc_type)

    def _force(self, outcome: Outcome, waited: float) -> None:
        what = "SIGTERM" if outcome.stopped_by == "sigterm" else "the --max-steps stop"
        _say(f"the script caught {what} and kept running for {waited:.1f} s; saving the profile and exiting "
             f"with {outcome.exit_code}")
        detail = f"{outcome.detail}; the script swallowed the stop, advisor ended the process".lstrip("; ")
        where = self.save_final(Outcome(outcome.exit_code, outcome.stopped_by, detail))
        if where:
            _say(f"profile saved: {where} (`advisor report {where}` renders it)")
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        _real_exit(outcome.exit_code)

    def _os_exit(self, code: int = 0) -> None:
        if os.getpid() == self.pid and not self._final_done:
            try:
                n = int(code)
            except (TypeError, ValueError):
                n = 1
            where = self.save_final(Outcome(n, "os._exit", f"os._exit({n}) called by the script"))
            _say(f"the script called os._exit({n}); the profile was saved to {where}" if where else
                 f"the script called os._exit({n})")
        _real_exit(code)

    # ---- saving ----------------------------------------------------------------------------------------
    def save_final(self, outcome: Outcome) -> str | None:
        """Build and write the final profile once; SIGINT/SIGTERM meanwhile only print that it is saving."""
        self.shield()
        with self._lock:
            if self._final_done:
                return None
            try:
                self.saved_to = self._save(outcome, True)
                return self.saved_to
            finally:
                self._final_done = True
                self.unshield()

    def shield(self) -> None:
        """From the moment the script has ended until the profile is written, SIGINT and SIGTERM only
        say that advisor is saving (called as the profiler stops, and again by ``save_final``)."""
        if self._shielded is not None or threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be changed from the main thread
        # The script has ended: a stop still queued for it (a redelivery) would land in advisor's own code.
        # (Clearing a pending one with PyThreadState_SetAsyncExc(id, NULL) would leave CPython 3.11's
        # eval breaker set for good, slowing every instruction after it.)
        self._redeliver.clear()
        self._stop_closed = True

        def saving(signum: int, frame: Any) -> None:
            _say("still saving the profile; advisor exits as soon as it is written")

        saved = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                saved[sig] = signal.signal(sig, saving)
            except (ValueError, OSError):
                pass
        self._shielded = saved

    def unshield(self) -> None:
        saved, self._shielded = self._shielded, None
        if threading.current_thread() is not threading.main_thread():
            return
        if self.exit_after_save and self.saved_to is not None:
            # A command-line run: once the profile is written, Ctrl-C or SIGTERM end advisor at once
            # (the outputs are written atomically, so nothing half-written is left).
            where = self.saved_to

            def done(signum: int, frame: Any) -> None:
                _say(f"interrupted while writing the outputs; the profile is saved: {where}")
                _real_exit(130 if signum == signal.SIGINT else 143)

            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    signal.signal(sig, done)
                except (ValueError, OSError):
                    pass
            return
        for sig, handler in (saved or {}).items():
            try:
                signal.signal(sig, handler)
            except (ValueError, OSError, TypeError):
                pass

    def _checkpoints(self) -> None:
        assert self.checkpoint_s
        wait = min(FIRST_CHECKPOINT_S, self.checkpoint_s)
        while not self._closed.wait(wait):
            if self._final_done or not self._lock.acquire(blocking=False):
                continue
            try:
                if self._final_done:
                    continue
                t0 = time.monotonic()
                elapsed = t0 - self.started
                try:
                    self._save(Outcome(-1, "checkpoint", f"checkpoint after {elapsed:.0f} s of the run; the run "
                                       "ended before advisor could save (killed, crashed or still running)"), False)
                    self.checkpoints += 1
                except Exception as exc:  # a checkpoint must never disturb the run
                    _say(f"could not write a checkpoint: {type(exc).__name__}: {exc}"[:200])
                self.last_checkpoint_s = time.monotonic() - t0
            finally:
                self._lock.release()
            wait = max(self.checkpoint_s, self.last_checkpoint_s / MAX_SAVE_SHARE)


class Pristine:
    """The standard-library functions advisor's own saving and rendering use, as they were before the
    script ran; ``restore()`` puts back any the script replaced (it has finished by then)."""

    NAMES = {"json": ("dumps", "dump", "loads", "load"), "os": ("replace", "rename", "fsync", "open", "close",
             "write", "fdopen", "fstat", "unlink", "mkdir", "makedirs", "getcwd"),
             "tempfile": ("mkstemp", "mkdtemp", "NamedTemporaryFile"), "builtins": ("open", "print")}

    def __init__(self) -> None:
        import importlib

        self._saved = []
        for mod_name, names in self.NAMES.items():
            mod = importlib.import_module(mod_name)
            for name in names:
                if hasattr(mod, name):
                    self._saved.append((mod, name, getattr(mod, name)))

    def restore(self) -> list[str]:
        """Put back what was replaced; returns the names put back."""
        back = []
        for mod, name, obj in self._saved:
            if getattr(mod, name, None) is not obj:
                setattr(mod, name, obj)
                back.append(f"{mod.__name__}.{name}")
        return back
