"""The exported reports in a real browser, served the way a reader opens them: offline.

The smoke suite runs once per session (or ``THESISLIB_REPORTS_DIR`` names an existing output
folder); a thread serves it on 127.0.0.1 and headless Chromium opens ``index.html`` and every
chapter report. Each page must show no console error, draw every plotly figure, let its static
sliders (and group dropdowns) change the picture, and ask no host but 127.0.0.1 for anything.
Screenshots land in ``outputs/screenshots/reports/``.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from browserkit import Recorder, screenshot_dir

pytestmark = pytest.mark.slow

SETTLE_MS = 400


@pytest.fixture(scope="session")
def reports(request) -> Path:
    given = os.environ.get("THESISLIB_REPORTS_DIR")
    if given:
        out = Path(given)
        assert (out / "suite.json").exists(), f"THESISLIB_REPORTS_DIR={given} holds no suite.json"
        return out
    out, _ = request.getfixturevalue("smoke_suite")  # the session's one smoke run (tests/conftest.py)
    assert (out / "index.html").exists(), "the smoke suite wrote no index.html"
    return out


def chapter_pages(out: Path) -> list[str]:
    state = json.loads((out / "suite.json").read_text())
    return [c["html"] for c in state["chapters"] if c.get("html")]


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    rec = Recorder(page)
    page.goto(url, wait_until="load", timeout=60_000)
    return page, rec


def _figures_drawn(page) -> tuple[int, list[int]]:
    """(number of plotly figures, indices of those without an svg/canvas .main-svg)."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].every(d => d.querySelector('.main-svg'))",
        timeout=60_000)
    return page.evaluate("""() => {
        const figs = [...document.querySelectorAll('.js-plotly-plot')];
        return [figs.length, figs.map((d, i) => d.querySelector('svg.main-svg, canvas') ? -1 : i).filter(i => i >= 0)];
    }""")


_IMAGE_SOURCES = """(i) => {
    const fig = document.querySelectorAll('.js-plotly-plot')[i];
    return [...fig.querySelectorAll('image')].map(im => im.getAttribute('href') || im.getAttribute('xlink:href') || '');
}"""


def _slider_figures(page) -> list[int]:
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .map((d, i) => d.querySelector('.slider-group') ? i : -1).filter(i => i >= 0)""")


def _move_slider(page, fig_index: int, fraction: float) -> None:
    """Click the slider rail of figure ``fig_index`` at ``fraction`` of its length, like a reader."""
    fig = page.locator(".js-plotly-plot").nth(fig_index)
    fig.scroll_into_view_if_needed()
    rail = fig.locator(".slider-group .slider-rail-touch-rect").first
    box = rail.bounding_box()
    assert box, f"figure {fig_index}: slider rail not visible"
    page.mouse.click(box["x"] + max(2, min(box["width"] - 2, fraction * box["width"])), box["y"] + box["height"] / 2)
    page.wait_for_timeout(SETTLE_MS)


def _check_sliders(page, name: str) -> int:
    moved = 0
    for i in _slider_figures(page):
        before = page.evaluate(_IMAGE_SOURCES, i)
        assert before and before[0].startswith("data:image/"), f"{name} figure {i}: slider figure has no image"
        seen = {before[0]}
        for fraction in (0.0, 1.0):
            _move_slider(page, i, fraction)
            seen.add(page.evaluate(_IMAGE_SOURCES, i)[0])
        assert len(seen) > 1, f"{name} figure {i}: moving the slider to both ends did not change the image"
        # a group dropdown (e.g. one group per PCA component) swaps the frames
        fig = page.locator(".js-plotly-plot").nth(i)
        menus = fig.locator(".updatemenu-header-group")
        if menus.count():
            current = page.evaluate(_IMAGE_SOURCES, i)[0]
            menus.first.click()
            page.wait_for_timeout(SETTLE_MS)
            buttons = fig.locator(".updatemenu-dropdown-button-group .updatemenu-dropdown-button")
            assert buttons.count() >= 2, f"{name} figure {i}: dropdown opened without choices"
            buttons.nth(buttons.count() - 1).click()
            page.wait_for_timeout(SETTLE_MS)
            after_group = page.evaluate(_IMAGE_SOURCES, i)[0]
            _move_slider(page, i, 1.0)
            after_move = page.evaluate(_IMAGE_SOURCES, i)[0]
            assert len({current, after_group, after_move}) > 1, \
                f"{name} figure {i}: choosing another group and moving its slider changed nothing"
        moved += 1
    return moved


def test_index_page(browser, serve, reports):
    base = serve(reports)
    page, rec = _open(browser, base + "index.html")
    try:
        page.screenshot(path=str(screenshot_dir("reports") / "index.png"), full_page=True)
        links = page.eval_on_selector_all("a", "els => els.map(a => a.getAttribute('href'))")
        for html_page in chapter_pages(reports):
            assert html_page in links, f"index.html does not link {html_page}"
        statuses = page.eval_on_selector_all("td:nth-child(3)", "els => els.map(e => e.textContent)")
        assert "failed" not in statuses, f"index shows a failed chapter: {statuses}"
        assert not rec.errors, rec.errors
        assert not rec.foreign_requests(), rec.foreign_requests()
    finally:
        page.close()


def test_chapter_reports(browser, serve, reports, record_property):
    pages = chapter_pages(reports)
    assert pages, "the suite exported no chapter report"
    base = serve(reports)
    shots = screenshot_dir("reports")
    problems, summary = [], {}
    for name in pages:
        start = time.perf_counter()
        page, rec = _open(browser, base + name)
        try:
            n_figs, undrawn = _figures_drawn(page)
            if undrawn:
                problems.append(f"{name}: figures {undrawn} of {n_figs} not drawn")
            page.screenshot(path=str(shots / f"{Path(name).stem}.png"), full_page=True)
            try:
                n_sliders = _check_sliders(page, name)
            except AssertionError as e:
                problems.append(str(e))
                n_sliders = -1
            sliders = _slider_figures(page)
            if sliders:
                fig = page.locator(".js-plotly-plot").nth(sliders[0])
                fig.screenshot(path=str(shots / f"{Path(name).stem}_slider.png"))
            if rec.errors:
                problems.append(f"{name}: console errors {rec.errors[:5]}")
            foreign = rec.foreign_requests()
            if foreign:
                problems.append(f"{name}: requests to other hosts {foreign[:5]}")
            summary[name] = dict(figures=n_figs, sliders=n_sliders, requests=len(rec.requests),
                                 seconds=round(time.perf_counter() - start, 1))
        finally:
            page.close()
    record_property("reports", summary)
    print(json.dumps(summary, indent=1))
    assert not problems, "\n".join(problems)
