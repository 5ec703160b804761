"""Find another CPython with the JIT (3.13+ built with ``--enable-experimental-jit``, or 3.14+ where
``sys._jit.is_available()``), for the ``interpreter`` experiment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

CANDIDATES = ("python3.16", "python3.15", "python3.14", "python3.13")

# Run by the candidate: its version and whether its JIT can be switched on (PYTHON_JIT=1).
_PROBE = ("import json, sys, sysconfig\n"
          "jit = getattr(sys, '_jit', None)\n"
          "ok = bool(jit.is_available()) if jit is not None else "
          "'_Py_JIT' in (sysconfig.get_config_var('PY_CORE_CFLAGS') or '')\n"
          "print(json.dumps({'version': list(sys.version_info[:3]), 'jit': ok}))\n")


def probe(exe: str) -> tuple[tuple[int, ...] | None, bool, str]:
    """(version, JIT available, problem) for the interpreter at ``exe``."""
    try:
        out = subprocess.run([exe, "-c", _PROBE], capture_output=True, text=True, timeout=20,
                             env={**os.environ, "PYTHON_JIT": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, False, f"{exe} does not run: {exc}"
    if out.returncode != 0:
        return None, False, f"{exe} does not run (exit {out.returncode})"
    try:
        info = json.loads(out.stdout.strip().splitlines()[-1])
        return tuple(int(x) for x in info["version"]), bool(info["jit"]), ""
    except (ValueError, KeyError, IndexError):
        return None, False, f"{exe} gave no version"


def find_jit_python(explicit: str | None = None) -> tuple[str | None, str]:
    """(path, description) of a CPython 3.13+ with the JIT, or (None, why there is none)."""
    names = [explicit] if explicit else list(CANDIDATES)
    seen: list[str] = []
    for name in names:
        exe = shutil.which(name) if name else None
        if exe is None:
            if explicit:
                return None, f"--python {explicit}: not found"
            continue
        if os.path.realpath(exe) == os.path.realpath(sys.executable):
            continue
        version, jit, problem = probe(exe)
        if version is None:
            seen.append(problem)
            continue
        v = ".".join(map(str, version))
        if version < (3, 13):
            seen.append(f"{exe} is Python {v} (the JIT needs 3.13+)")
        elif not jit:
            seen.append(f"{exe} (Python {v}) was built without the JIT")
        else:
            return exe, f"{exe} (Python {v}, PYTHON_JIT=1)"
    why = "; ".join(seen) if seen else "no python3.13 or newer on PATH"
    return None, f"no CPython 3.13+ with the JIT found ({why}); name one with --python"
