"""Run the user's script or module exactly as ``python train.py ...`` / ``python -m pkg.mod ...`` would.

``__main__`` semantics, ``sys.argv``, ``sys.path[0]`` (the script's folder, or the cwd for ``-m``), the
script's stdout/stderr untouched. The script's ending is recorded, never propagated: ``SystemExit`` gives
its code, an exception is printed as Python would print it (exit 1), Ctrl-C gives 130, SIGTERM 143,
``--max-steps`` 0. The caller saves the profile and then exits with that code.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from advisor.capture.guard import Terminated
from advisor.capture.sampler import StopProfiling
from advisor.errors import UsageError
from advisor.model import Outcome


class _Profiler(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """What to run: a script path or a module name, and the arguments after it."""

    kind: str  # "script" or "module"
    name: str
    args: tuple[str, ...]

    @property
    def argv(self) -> list[str]:
        return [self.name, *self.args]

    @property
    def folder(self) -> Path:
        """The folder whose files count as user code by default."""
        if self.kind == "script":
            return Path(self.name).resolve().parent
        return Path.cwd()


def check_target(target: Target) -> types.CodeType | None:
    """Fail fast, before anything runs: a missing or unreadable script, a directory, a syntax error,
    an unknown module. Returns the compiled script code (None for a module)."""
    if target.kind == "module":
        # as `python -m` does: the current folder first on sys.path (the advisor command's own folder is
        # there instead when it runs from its console script)
        saved = sys.path[:]
        _set_path0(os.getcwd())
        try:
            spec = importlib.util.find_spec(target.name)
        except (ImportError, ValueError) as exc:
            raise UsageError(f"cannot find module {target.name!r}: {exc}") from None
        finally:
            sys.path[:] = saved
        if spec is None:
            raise UsageError(f"no module named {target.name!r} (run from the folder that contains it, "
                             "or install it)")
        return None
    path = Path(target.name)
    if not path.exists():
        raise UsageError(f"no such script: {target.name}")
    if path.is_dir():
        raise UsageError(f"{target.name} is a directory; give the training script inside it "
                         "(or use -m for a package with __main__.py)")
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {target.name}: {exc.strerror or exc}") from None
    try:
        return compile(source, str(path.resolve()), "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise UsageError(f"syntax error in {target.name} line {exc.lineno}: {exc.msg}") from None
    except ValueError as exc:  # e.g. null bytes
        raise UsageError(f"cannot compile {target.name}: {exc}") from None


def run_target(target: Target, profiler: _Profiler, code: types.CodeType | None = None) -> Outcome:
    """Run ``target`` under ``profiler`` (started just before, stopped just after); never raises
    for anything the script does."""
    saved_argv, saved_path0 = sys.argv[:], (sys.path[0] if sys.path else None)
    saved_main = sys.modules.get("__main__")
    try:
        if target.kind == "script":
            if code is None:
                code = check_target(target)
            assert code is not None
            sys.argv = target.argv
            _set_path0(str(Path(target.name).resolve().parent))
            module = types.ModuleType("__main__")
            module.__dict__.update({"__file__": str(Path(target.name).resolve()), "__builtins__": __builtins__,
                                    "__cached__": None, "__loader__": None, "__spec__": None,
                                    "__package__": None})
            sys.modules["__main__"] = module
            return _execute(lambda: exec(code, module.__dict__), profiler)
        sys.argv = target.argv
        _set_path0(os.getcwd())
        import runpy

        return _execute(lambda: runpy.run_module(target.name, run_name="__main__", alter_sys=True), profiler)
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None and sys.path:
            sys.path[0] = saved_path0
        if saved_main is not None:
            sys.modules["__main__"] = saved_main


def _set_path0(folder: str) -> None:
    if sys.path:
        sys.path[0] = folder
    else:
        sys.path.insert(0, folder)


def _execute(run: Any, profiler: _Profiler) -> Outcome:
    profiler.start()
    try:
        run()
        outcome = Outcome(0, "exit")
    except SystemExit as exc:
        outcome = _exit_outcome(exc)
    except StopProfiling:
        outcome = Outcome(0, "max-steps", "stopped after --max-steps measured steps")
    except KeyboardInterrupt:
        outcome = Outcome(130, "interrupt", "interrupted (Ctrl-C)")
    except Terminated:
        outcome = Outcome(143, "sigterm", "terminated (SIGTERM)")
    except BaseException as exc:  # the script's own error: report it as Python would
        _print_script_traceback(exc)
        outcome = Outcome(1, "exception", f"{_safe_name(exc)}: {_safe_str(exc)}"[:300])
    finally:
        profiler.stop()
    return outcome


def _exit_outcome(exc: SystemExit) -> Outcome:
    code = exc.code
    if code is None:
        return Outcome(0, "exit")
    if isinstance(code, int) and not isinstance(code, bool):
        return Outcome(code, "exit", f"sys.exit({code})" if code else "")
    try:
        print(code, file=sys.stderr)  # Python prints a non-integer exit argument and exits 1
    except Exception:
        pass
    return Outcome(1, "exit", f"sys.exit({_safe_str(code, repr)})"[:300])


def _safe_name(exc: BaseException) -> str:
    try:
        return str(type(exc).__name__)
    except Exception:
        return "exception"


def _safe_str(obj: object, fn: Any = str) -> str:
    """``str(obj)`` (or ``repr``), or a placeholder when the script's ``__str__`` itself raises."""
    try:
        return str(fn(obj))
    except Exception:
        return f"<{_safe_name(obj) if isinstance(obj, BaseException) else type(obj).__name__}: str() failed>"


def _print_script_traceback(exc: BaseException) -> None:
    """Print the script's traceback without advisor's own frames at the top."""
    tb = exc.__traceback__
    advisor_dir = str(Path(__file__).resolve().parents[1])
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(advisor_dir):
        tb = tb.tb_next
    try:
        traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
    except Exception:  # a closed stderr, an exception whose __str__ raises...
        pass
