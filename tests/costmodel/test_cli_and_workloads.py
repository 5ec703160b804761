"""`advisor config init/check`, config errors before the script runs, advice.json from a real run, and
each sample workload's verdict against the one its docstring names."""

import ast
import json
import re
from pathlib import Path

import pytest

from advisor import cli
from advisor.costmodel import load_config
from tests.conftest import ROOT, run_advisor

SAMPLES = sorted((ROOT / "sample_workloads").glob("*.py"))
LABELS = {"port": "port", "jit / vectorize first": "jit-vectorize", "tune the gc": "tune-gc",
          "fix the i/o": "fix-io", "move to an accelerator": "accelerator", "leave it": "leave"}


@pytest.mark.parametrize("preset", ["cpu-cluster", "gpu-cluster", "workstation"])
def test_config_init_writes_a_file_that_checks(tmp_path, preset, capsys):
    path = tmp_path / f"{preset}.toml"
    assert cli.run(["config", "init", "--preset", preset, str(path)]) == 0
    text = path.read_text()
    assert "[targets.rust.speedup]" in text and "# [" in text
    assert load_config(path).cluster.instance
    assert cli.run(["config", "check", str(path)]) == 0
    assert "OK" in capsys.readouterr().out
    assert cli.run(["config", "init", str(path)]) == 2  # refuses to overwrite without --force


def test_config_check_reports_the_key_path_with_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[cluster]\nnodes = 2\nprice_per_node_hour = -3\n[team]\n")
    assert cli.run(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cluster.price_per_node_hour cannot be negative" in err[0]
    assert cli.run(["config", "init", "--preset", "gpu", str(tmp_path / "x.toml")]) == 2


def test_bad_config_stops_profile_before_the_script_runs(tmp_path):
    marker = tmp_path / "ran"
    script = tmp_path / "train.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[cluster]\nnodes = 2\nprice_per_node_hour = 1\n[team]\nengineer_cost = 1\n")
    r = run_advisor(["profile", "--config", str(cfg), "-o", str(tmp_path / "out"), str(script)], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "unknown key team.engineer_cost (did you mean team.engineer_cost_per_week?)" in r.stderr
    assert not marker.exists()


@pytest.mark.slow
def test_profile_writes_advice_json_and_the_plan_line(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "def kernel(n):\n"
        "    acc = 0\n"
        "    for i in range(n):\n"
        "        for j in range(40):\n"
        "            acc += (i * j) % 7\n"
        "    return acc\n\n"
        "def train_step():\n"
        "    return kernel(3000)\n\n"
        "for _ in range(60):\n"
        "    train_step()\n")
    r = run_advisor(["profile", "-o", str(tmp_path / "out"), str(script)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "out" / "advice.json").read_text())
    assert data["format"] == "advisor-advice" and data["version"] == 1
    assert data["kernels"][0]["function"] == "kernel"
    assert data["kernels"][0]["category"]["name"] == "numeric-loop"
    assert "plan: " in r.stderr and "built-in cost defaults" in r.stderr
    assert "advice saved" in r.stderr


def _expected(path: Path) -> tuple[str | None, set[str]]:
    """The named top hotspot and the verdicts the docstring's ``verdict:`` bullet allows."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    m = re.search(r"\* verdict:(.*?)(?:\n\s*\*|\n\n|$)", doc, flags=re.S)
    if not m:
        return None, set()
    bullet = m.group(1)
    allowed = {LABELS[b.lower().split(",")[0].strip()] for b in re.findall(r"\*\*(.+?)\*\*", bullet)
               if b.lower().split(",")[0].strip() in LABELS}
    if re.search(r"\bJIT\b|numba", bullet):
        allowed.add("jit-vectorize")  # the docstring names a JIT as an equal alternative
    if "tune the GC" in bullet:
        allowed.add("tune-gc")  # "port, ... and tune the GC first"
    top = re.search(r"top hotspot: ``([^`]+)``", doc)
    return (top.group(1) if top else None), allowed


@pytest.mark.slow
@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_workload_reaches_its_documented_verdict(tmp_path, path):
    top, allowed = _expected(path)
    if not allowed:
        pytest.skip("no verdict in the docstring")
    if path.stem == "torch_cpu":
        pytest.importorskip("torch")
    r = run_advisor(["profile", "-q", "-o", str(tmp_path), str(path)], cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads((tmp_path / "advice.json").read_text())
    kernels = [k for k in data["kernels"] if top is None or k["function"] == top] or data["kernels"]
    k = kernels[0]
    assert k["verdict"] in allowed, f"{k['function']}: {k['verdict']} ({k['reason']}); docstring allows {allowed}"
