"""The report in a real headless Chromium (Debian's package, driven by Playwright): it loads with no
console error and no network request, shows the Advice's numbers, and its sorting, cards and call tree
work; with JavaScript off the tables are still there."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from advisor.render.html import render_html
from tests.render.fixtures import advised_real, hand_advice

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("ADVISOR_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"no chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def advice():
    return hand_advice()


@pytest.fixture(scope="module")
def report(tmp_path_factory, advice) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(advice), encoding="utf-8")
    return path


class Opened:
    def __init__(self, browser, path: Path, width: int = 1280, js: bool = True) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=js)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")


@pytest.fixture
def opened(browser, report):
    o = Opened(browser, report)
    yield o
    o.context.close()


def test_loads_without_console_errors_network_requests_or_dialogs(opened):
    opened.page.hover("#flame-chart svg g >> nth=1")  # exercise the tooltip too
    opened.page.click("#hotspot-table thead th:nth-child(3) button")
    assert opened.errors == []
    assert opened.requests == [opened.url]
    assert opened.dialogs == []  # no hostile name ran as script


def _metric(page, name: str) -> tuple[str, str | None]:
    el = page.locator(f'[data-metric="{name}"]')
    return el.inner_text().strip(), el.get_attribute("data-value")


def test_first_screen_numbers_equal_the_advice(opened, advice):
    page, plan = opened.page, advice.plan[0]  # the only plan step that pays back
    stats = advice.analysis.stats
    text, value = _metric(page, "step_mean_s")
    assert float(value) == pytest.approx(stats.mean_s) and text == "250 ms"
    text, value = _metric(page, "steps_measured")
    assert int(value) == stats.count and text == str(stats.count)
    text, value = _metric(page, "plan_speedup")
    assert float(value) == pytest.approx(plan.end_to_end.typical)
    assert float(text.rstrip("×")) == pytest.approx(plan.end_to_end.typical, abs=0.005)
    text, value = _metric(page, "savings_per_month_usd")
    assert float(value) == pytest.approx(plan.savings_per_month_usd)
    assert float(re.sub(r"[$,]", "", text)) == pytest.approx(plan.savings_per_month_usd, abs=0.5)
    text, value = _metric(page, "migration_cost_usd")
    assert float(re.sub(r"[$,]", "", text)) == pytest.approx(plan.cost_usd, abs=0.5)
    text, value = _metric(page, "payback_months")
    assert float(value) == pytest.approx(plan.payback_months)
    assert page.locator("#summary").is_visible()
    box = page.locator('[data-metric="payback_months"]').bounding_box()
    assert box is not None and box["y"] + box["height"] < 900  # on the first screen


def _column(page, n: int) -> list[str]:
    return page.locator(f"#hotspot-table tbody tr td:nth-child({n})").all_inner_texts()


def test_clicking_a_header_sorts_the_table(opened):
    page = opened.page
    names = lambda: [t.splitlines()[0] for t in _column(page, 2)]  # noqa: E731
    assert names()[:2] == ["normalise", "forward"]
    page.click("#hotspot-table thead th:nth-child(4) button")  # inclusive share, largest first
    assert names()[0] == "train_step"
    assert page.get_attribute("#hotspot-table thead th:nth-child(4)", "aria-sort") == "descending"
    page.click("#hotspot-table thead th:nth-child(4) button")  # again: smallest first
    assert names()[0] == "<script>alert(1)</script>"
    page.click("#hotspot-table thead th:nth-child(2) button")  # by name, A to Z
    shown = names()
    assert shown == sorted(shown, key=str.lower)


def test_cards_expand_on_click_and_all_at_once(opened):
    page = opened.page
    card = page.locator("details.card").nth(1)
    assert card.get_attribute("open") is None
    assert not card.locator("table.src").is_visible()
    card.locator("summary").click()
    assert card.get_attribute("open") is not None
    assert card.locator("table.src").is_visible()
    page.click('button[data-cards="open"]')
    assert page.locator("details.card:not([open])").count() == 0
    page.click('button[data-cards="close"]')
    assert page.locator("details.card[open]").count() == 0
    page.click("#hotspot-table a.fn >> text=tokenize")  # a table link opens its card
    assert page.locator("details.card[open] summary >> text=tokenize").count() == 1


def test_flame_graph_draws_hovers_and_zooms(opened, advice):
    page = opened.page
    frames = page.locator("#flame-chart svg g")
    assert frames.count() >= 8  # step, 5 user functions, numpy's dot and its C call
    labels = page.locator("#flame-chart svg text").all_text_contents()
    assert "train_step" in labels and "normalise" in labels
    forward = page.locator("#flame-chart svg g", has_text="forward").first
    width_before = float(forward.locator("rect").get_attribute("width"))
    forward.hover()
    tip = page.locator("#flame-tip")
    assert tip.is_visible() and "25% of the step" in tip.inner_text()
    forward.click()
    assert "forward" in page.locator("#flame-crumbs").inner_text()
    zoomed = page.locator("#flame-chart svg g", has_text="forward").first
    width_after = float(zoomed.locator("rect").get_attribute("width"))
    assert width_after > 3 * width_before  # zoomed: forward now spans the chart
    page.click("#flame-reset")
    assert page.locator("#flame-crumbs").inner_text().startswith("train_step")


def test_tables_and_plan_read_without_javascript(browser, report):
    o = Opened(browser, report, js=False)
    try:
        page = o.page
        assert page.locator("#hotspot-table tbody tr").count() == 5
        assert page.locator("#hotspot-table tbody tr").first.is_visible()
        assert page.locator("table.plan tbody tr").count() == 2
        assert page.locator("svg.planchart").is_visible()
        assert page.locator("details.card[open] table.targets").is_visible()
        assert "Turn on JavaScript" in page.locator("#flame").inner_text()
        assert not page.locator('button[data-cards="open"]').is_visible()  # JS-only controls hidden
        assert o.requests == [o.url]
    finally:
        o.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_layout_fits_the_screen_width(browser, report, width, tmp_path):
    o = Opened(browser, report, width=width)
    try:
        page = o.page
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
        assert (tmp_path / f"report-{width}.png").stat().st_size > 10_000
        assert o.errors == []
    finally:
        o.context.close()


def test_printing_opens_every_card(opened, tmp_path):
    page = opened.page
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details.card:not([open])").count() == 0
    page.emulate_media(media="print")
    assert not page.locator("#flame-reset").is_visible()
    page.pdf(path=str(tmp_path / "report.pdf"))
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_first_screen_numbers_equal_advice_json_of_the_real_cost_model(browser, tmp_path):
    import json

    from advisor.render.advice_json import render_advice_json

    advice = advised_real()
    doc = json.loads(render_advice_json(advice))
    path = tmp_path / "report.html"
    path.write_text(render_html(advice), encoding="utf-8")
    o = Opened(browser, path)
    try:
        page = o.page
        assert _metric(page, "step_name")[0] == doc["step"]["name"]
        assert float(_metric(page, "step_mean_s")[1]) == pytest.approx(doc["step"]["mean_s"])
        assert int(_metric(page, "steps_measured")[0]) == doc["step"]["count"]
        paying = [p for p in doc["plan_outside_items"] if p["pays_back"]]  # the plan the page shows
        if paying:
            chosen = paying[-1]
            text, value = _metric(page, "plan_speedup")
            assert float(value) == pytest.approx(chosen["end_to_end"]["typical"])
            assert float(text.rstrip("×")) == pytest.approx(chosen["end_to_end"]["typical"], rel=0.01)
            text, value = _metric(page, "savings_per_month_usd")
            assert float(re.sub(r"[$,]", "", text)) == pytest.approx(chosen["savings_per_month_usd"], abs=0.5)
            text, value = _metric(page, "migration_cost_usd")
            assert float(re.sub(r"[$,]", "", text)) == pytest.approx(chosen["cost_usd"], abs=0.5)
        assert o.errors == [] and o.requests == [o.url]
    finally:
        o.context.close()
