"""%load_ext advisor in a real IPython shell (subprocess): cell functions are user code; the pipeline
call writes what `advisor report` writes."""

import json
import sys
import textwrap

import pytest

from tests.conftest import ROOT, run_advisor, run_group

pytestmark = pytest.mark.slow

SHELL = """
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "advisor")
ip.run_cell('''
def inner_kernel(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s
''')
ip.run_cell('''
def train_step():
    return inner_kernel(40000)
''')
r = ip.run_cell("%%advisor --out OUT --format json --step train_step\\nfor _ in range(60):\\n    train_step()\\n")
rep = r.result
print("TOP", rep.analysis.hotspots[0].key.qualname, rep.analysis.hotspots[0].key.file)
print("STEP", rep.analysis.step_name)
print("HTML", "inner_kernel" in ip.display_formatter.format(rep.advice)[0]["text/html"])
print("REPR", "inner_kernel" in rep._repr_html_())
r2 = ip.run_cell("%advisor --step train_step [train_step() for _ in range(40)]")
print("LINE", r2.result.analysis.hotspots[0].key.qualname)
ip.run_cell("%advisor --format pdf train_step()")
"""


def _run(code, tmp_path):
    return run_group([sys.executable, "-c", code], timeout=300,
                     cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_magics_profile_cell_functions_as_user_code(tmp_path):
    pytest.importorskip("IPython")
    r = _run(SHELL.replace("OUT", str(tmp_path / "out")), tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = dict(ln.split(" ", 1) for ln in r.stdout.splitlines() if ln.split(" ")[0].isupper())
    assert lines["TOP"].startswith("inner_kernel <ipython-input-")
    assert lines["STEP"] == "train_step" and lines["HTML"] == "True" and lines["REPR"] == "True"
    assert lines["LINE"] == "inner_kernel"
    assert "advisor: error: unknown --format 'pdf'" in r.stdout
    prof = json.loads((tmp_path / "out" / "profile.json").read_text())
    cell = next(f["file"] for f in prof["frames"] if f["qualname"] == "inner_kernel")
    assert "def inner_kernel(n):" in prof["sources"][cell]  # the report can show the cell's code
    assert (tmp_path / "out" / "advice.json").exists() and not (tmp_path / "out" / "report.html").exists()


LIBRARY = """
import advisor.api
def hot(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s
def train_step():
    hot(40000)
def work():
    for _ in range(60):
        train_step()
rep = advisor.api.profile_call(work, out_dir="lib", formats=["json", "html"])
print(rep.analysis.hotspots[0].key.qualname, sorted(rep.written))
"""


def test_library_call_and_cli_share_one_pipeline(tmp_path):
    (tmp_path / "w.py").write_text(textwrap.dedent(LIBRARY))
    r = run_group([sys.executable, "w.py"], timeout=300, cwd=tmp_path,
                  env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "hot ['advice saved', 'report saved']"
    lib = tmp_path / "lib"
    assert (lib / "profile.json").exists() and (lib / "report.html").exists()
    again = run_advisor(["report", "-q", "--format", "json", "--out", str(tmp_path / "cli"), str(lib / "profile.json")])
    assert again.returncode == 0, again.stderr
    # The same profile through `advisor report` gives the same advice, byte for byte.
    assert (tmp_path / "cli" / "advice.json").read_text() == (lib / "advice.json").read_text()
