"""``python -m benchmarks --full``: one real, small run of every section, and issue 18's table from it.

The run is real (workload scripts under plain, advisor, py-spy and pyinstrument as subprocesses, a
competing process for the loaded condition), cut to one workload and tiny scales; the assertions are on
what must hold whatever the machine's load: every row of the table is there, with a verdict or a dash.
"""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from benchmarks import accuracy, full, fullreport

pytestmark = pytest.mark.slow

ROWS = ("GC-heavy real step", "hidden workloads, inside the loop", "hidden workloads, whole command on",
        "16 busy threads", "fixed cost per run", "post-processing a one-hour run", "post-processing an eight-hour run",
        "split on the same script, loaded vs quiet", "--interval 1 and 2 ms", "C calls holding the GIL",
        "advice: top item = the measured fix")


def test_truth_split_of_a_read_phase_comes_from_its_cpu_time():
    truth = {"phases": {"read_shard": "cpu-io"}, "steps": [[1.0], [2.0]], "gc": [[0.0], [0.0]], "cpu": [[1.0], [1.5]]}
    split = accuracy.truth_split(truth, "read_shard", 1)
    assert split == pytest.approx({"interpreted": 0.0, "native": 0.75, "waiting": 0.25, "gc": 0.0})


@pytest.mark.skipif(shutil.which("py-spy") is None, reason="py-spy not installed")
def test_a_small_full_run_fills_every_row_of_the_table(tmp_path):
    pytest.importorskip("pyinstrument")
    settings = full.Settings(reps=1, scale=0.1, loaded_reps=1, long_scale=0.1, long_reps=1, fixed_reps=1,
                             competitors=1, capture_sizes=(20_000,), capture_timeout_s=120,
                             advice_cases=("reread_step.py",))
    raw = full.run(settings, lambda m: print(m, file=sys.stderr), workloads=("c_calls", "threads16"))
    json.dumps(raw)  # results.json must be writable
    sec = raw["sections"]
    assert sec["loaded"]["competitors"] == 1 and sec["quiet"]["competitors"] == 0
    assert all(len(s["load"]) == 2 for s in sec.values())
    tools = {(r["workload"], r["tool"]) for r in sec["quiet"]["data"] if not r["error"]}
    assert ("c_calls", "advisor-sample@1ms") in tools and ("threads16", "py-spy") in tools
    verdicts = [r["verdicts"] for r in sec["quiet"]["data"] if r["tool"].startswith("advisor") and not r["error"]]
    assert verdicts and all(verdicts), "advice.json's verdicts are read from every advisor run"
    out = tmp_path / "RESULTS.md"
    fullreport.write(raw, out)
    md = out.read_text()
    table = [line for line in md.splitlines() if line.startswith("| ") and " | " in line]
    for name in ROWS:
        row = next((line for line in table if name in line), None)
        assert row is not None, name
        assert row.split(" | ")[5] in ("yes", "**no**", "–"), row
    assert "| read_shard |" in md and "| thread_join |" in md
    assert "loaded: 1 competing CPU-bound processes" in md
    assert "| reread_step.py |" in md and "hit rate:" in md


def test_advice_accuracy_is_scored_against_the_measured_fix():
    from benchmarks import fixed_variants

    def case(kind, before, after, low, high, top_kind, capped=False):
        return {"script": f"{kind}.py", "fix": "f", "kind": kind, "before_s": before, "after_s": after,
                "top": {"kind": top_kind, "end_to_end": {"low": low, "typical": (low + high) / 2, "high": high},
                        "end_to_end_capped": capped}}

    rows = [case("gc", 2.0, 1.0, 1.5, 2.5, "gc"),  # hit, in range
            case("threads", 2.0, 1.0, 1.1, 1.5, "gc"),  # miss, out of range
            case("pipeline", 10.0, 1.0, 1.5, 20.0, "pipeline", capped=True),  # capped: "20x or more"
            case("threads", 1.0, 1.0, 1.2, 1.5, "gc"),  # the fix does not help: right not to lead with it
            {"script": "torch_cpu.py", "fix": "f", "kind": "threads", "skipped": "torch is not installed"}]
    lines, rate = fixed_variants.score(rows)
    assert rate.startswith("hit rate: 3/4 ") and "2/3 measured speedups" in rate
    assert any("not run: torch is not installed" in line for line in lines)
