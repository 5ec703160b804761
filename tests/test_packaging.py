"""Packaging and import hygiene: the wheel ships templates; capture imports nothing heavy."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


def test_capture_does_not_import_heavy_libraries():
    code = ("import sys, advisor, advisor.capture.sampler, advisor.capture.runner, advisor.api, advisor.cli; "
            "print(sorted(m for m in ('pandas', 'jinja2', 'xlsxwriter', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_is_pinned():
    import advisor
    assert sorted(advisor.__all__) == sorted([
        "AdvisorError", "Analysis", "ConfigError", "Hotspot", "OutputError", "Profile", "ProfileFormatError",
        "ProfileOptions", "RenderError", "Split", "StepNotFound", "Target", "UsageError", "__version__",
        "analyze", "profile_script", "profiling"] + [n for n in advisor.__all__ if n in ("advise", "load_config")])
    for name in advisor.__all__:
        assert hasattr(advisor, name)


@pytest.mark.slow
def test_wheel_contains_templates_and_config(tmp_path):
    # With build isolation, as `pip install .` on a fresh machine does (the venv's own setuptools may be old).
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                        "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(Path(tmp_path).glob("port_advisor-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("advisor/templates/") and n.endswith(".j2") for n in names), names
    assert "advisor/cli.py" in names and "advisor/capture/sampler.py" in names
    import shutil
    if shutil.which("cc") or shutil.which("gcc"):  # the C stack reader is built where a compiler exists
        assert any(n.startswith("advisor/capture/_stackread") and n.endswith((".so", ".pyd")) for n in names), names
