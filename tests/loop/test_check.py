"""advisor check on real profiles: one line per breach, exit 1; a pass exits 0; bad budgets exit 2."""

import pytest

from tests.conftest import run_advisor

pytestmark = pytest.mark.slow


def _budget(tmp_path, text):
    path = tmp_path / "advisor-budget.toml"
    path.write_text(text)
    return str(path)


def test_breaches_one_line_each_and_exit_1(runs, tmp_path):
    # kernel: pure-Python conv1d, nearly all interpreted; fixed: the same script vectorised, several times faster
    budget = _budget(tmp_path, "[budget]\nmax_step_regression_pct = 10\nmax_interpreted_pct = 50\n"
                               "max_gc_pct = 50\n[budget.functions]\nconv1d = 40\n\"pure_python_kernel.py:mse_loss\" = 90\n")
    r = run_advisor(["check", str(runs["kernel"]), "--budget", budget, "--baseline", str(runs["fixed"])])
    assert r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("advisor: budget exceeded:")]
    assert len(lines) == 3 and len(r.stderr.splitlines()) == 3
    assert any("interpreted share" in ln and "(budget 50%)" in ln for ln in lines)
    assert any("function conv1d takes" in ln for ln in lines)
    assert any("step time" in ln and "vs baseline" in ln for ln in lines)
    assert "ok: gc share" in r.stdout


def test_within_budget_exits_0(runs, tmp_path):
    budget = _budget(tmp_path, "[budget]\nmax_step_regression_pct = 10\nmax_gc_pct = 50\n")
    r = run_advisor(["check", str(runs["fixed"] / "profile.json"), "--budget", budget, "--baseline", str(runs["kernel"])])
    assert r.returncode == 0, r.stderr
    assert "ok: step time" in r.stdout and r.stderr == ""


@pytest.mark.parametrize("text, words", [
    ("[budget]\nmax_gc = 3\n", "unknown key budget.max_gc"),
    ("[budget]\nmax_gc_pct = \"high\"\n", "budget.max_gc_pct must be a percentage"),
    ("[budget\n", "is not valid TOML"),
    ("[budget]\nmax_step_regression_pct = 5\n", "give --baseline PROFILE"),
])
def test_bad_budget_or_missing_baseline_is_one_line_exit_2(runs, tmp_path, text, words):
    r = run_advisor(["check", str(runs["before"]), "--budget", _budget(tmp_path, text)])
    assert r.returncode == 2 and words in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def test_baseline_with_another_interval_is_refused(runs, tmp_path):
    budget = _budget(tmp_path, "[budget]\nmax_step_regression_pct = 10\n")
    r = run_advisor(["check", str(runs["before"]), "--budget", budget, "--baseline", str(runs["interval"])])
    assert r.returncode == 2 and "baseline not comparable: sampling interval differs" in r.stderr
