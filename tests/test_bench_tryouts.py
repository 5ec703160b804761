"""benchmarks/tryouts.py's record and report: the GC lever check's arithmetic and the table's wording."""

from __future__ import annotations

import json

import pytest

from benchmarks import tryouts as bt


def _run(date: str, ratio: float, status: str = "faster") -> bt.BenchRun:
    rows = [bt.Row("scalar_autograd.py", "gc:freeze", status, "", [1.5, 2.5], "cost model", ratio, ratio * 0.95,
                   ratio * 1.05, 5, 75, 0.04, "inside", 40.0, gc_share=0.6),
            bt.Row("scalar_autograd.py", "threads", "not-applicable", "no thread pool to resize")]
    return bt.BenchRun(date, "test machine", 15, 5, rows, ["torch_cpu.py: torch is not installed"])


def test_removed_fraction_is_the_share_of_gc_time_the_speedup_implies():
    r = _run("d", 2.0).rows[0]
    assert bt.removed_fraction(r) == pytest.approx((1 - 1 / 2.0) / 0.6)  # 83%
    assert bt.removed_fraction(_run("d", 2.0).rows[1]) is None


def test_lever_check_says_inside_above_and_no_gain():
    lines = bt.lever_check([_run("a", 2.0), _run("b", 5.0), _run("c", 1.01, "no-gain")], (0.6, 0.85, 1.0))
    assert "| 83% | yes |" in lines[2]
    assert "| 133% | above |" in lines[3]  # (1 - 1/5) / 0.6
    assert lines[4].endswith("below (no measurable gain) |")


def test_record_round_trips_and_the_report_shows_every_run(tmp_path):
    path = tmp_path / "results-try.json"
    from dataclasses import asdict

    path.write_text(json.dumps([asdict(_run("first", 2.0)), asdict(_run("second", 3.0))]))
    runs = bt._load(path)
    md = bt.render(runs, (0.6, 0.85, 1.0))
    assert "## Latest run: second" in md and "### first" in md
    assert "| scalar_autograd.py | gc:freeze | 1.50×–2.50× | 3.00× (2.85×–3.15×, 5 × 15) | ±4% | faster | inside | — |" in md
    assert "not-applicable: no thread pool to resize" in md
    assert "Not run: torch_cpu.py: torch is not installed." in md


def test_results_section_for_results_md(tmp_path):
    from dataclasses import asdict

    path = tmp_path / "results-try.json"
    assert bt.results_section(path) == []
    path.write_text(json.dumps([asdict(_run("first", 2.0)), asdict(_run("second", 3.0))]))
    lines = bt.results_section(path)
    assert lines[0].startswith("## Advice accuracy: `advisor try`")
    assert "The latest of 2 recorded run(s) (second" in lines[2]
    assert sum(1 for ln in lines if "| gc:freeze |" in ln) == 3  # the latest table + both runs' lever check
