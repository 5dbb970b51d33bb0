"""The exported reports in a real browser, served the way a reader opens them: offline.

The smoke suite runs once per session (or ``THESISLIB_REPORTS_DIR`` names an existing output
folder); a thread serves it on 127.0.0.1 and headless Chromium opens ``index.html`` and every
chapter report. Each page must show no console error, draw every plotly figure, let its static
sliders (and group dropdowns) change the picture, and ask no host but 127.0.0.1 for anything.
Each reads like a chapter: no widget repr, every code cell folded behind a toggle that opens
it, contents and prev/next/index links that lead somewhere; the index shows one headline per
chapter. Screenshots land in ``outputs/screenshots/reports/`` (full pages, and each page's
first screen as ``*_first_screen.png``: the README's pictures come from a default run,
``THESISLIB_REPORTS_DIR=outputs/default``).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.browser.browserkit import Recorder, screenshot_dir

pytestmark = pytest.mark.slow

SETTLE_MS = 400
VIEWPORT = {"width": 1280, "height": 900}


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
    page = browser.new_page(viewport=VIEWPORT)
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
            # a long list scrolls inside the figure (plotly clips it there): the last choice in view
            bottom = fig.bounding_box()["y"] + fig.bounding_box()["height"]
            shown = [k for k in range(buttons.count()) if buttons.nth(k).bounding_box()["y"]
                     + buttons.nth(k).bounding_box()["height"] <= bottom]
            assert len(shown) >= 2, f"{name} figure {i}: fewer than two dropdown choices in view"
            buttons.nth(shown[-1]).click()
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
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30_000)
        page.screenshot(path=str(screenshot_dir("reports") / "index.png"), full_page=True)
        page.screenshot(path=str(screenshot_dir("reports") / "index_first_screen.png"))
        links = page.eval_on_selector_all("a", "els => els.map(a => a.getAttribute('href'))")
        for html_page in chapter_pages(reports):
            assert html_page in links, f"index.html does not link {html_page}"
        statuses = page.eval_on_selector_all("td.status", "els => els.map(e => e.textContent)")
        assert "failed" not in statuses, f"index shows a failed chapter: {statuses}"
        # one headline number and one drawn thumbnail per chapter, all on the first screen
        rows = page.evaluate("""() => [...document.querySelectorAll('tr.chapter')].map(tr => ({
            id: tr.id, values: [...tr.querySelectorAll('.headline .value')].map(v => v.textContent.trim()),
            thumbs: [...tr.querySelectorAll('td.thumb img')].map(i => i.naturalWidth),
            bottom: tr.querySelector('.headline').getBoundingClientRect().bottom}))""")
        state = json.loads((reports / "suite.json").read_text())
        assert [r["id"] for r in rows] == [f"chapter-{c['number']}" for c in state["chapters"]]
        for r in rows:
            assert len(r["values"]) == 1 and r["values"][0], f"index row {r['id']}: headlines {r['values']}"
            assert len(r["thumbs"]) == 1 and r["thumbs"][0] > 0, f"index row {r['id']}: thumbnail not drawn"
        below = [r["id"] for r in rows if r["bottom"] > VIEWPORT["height"]]
        assert not below, f"headlines below the first screen: {below}"
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


def _code_cells_fold(page, name: str) -> int:
    """Every code cell is folded, and its toggle opens it; returns the number of code cells."""
    cells = page.evaluate("""() => [...document.querySelectorAll('.jp-CodeCell')].map(c => {
        const d = c.querySelector(':scope > details.thesislib-code');
        return d ? (d.open ? 'open' : 'folded') : 'none'; })""")
    assert cells and set(cells) == {"folded"}, f"{name}: code cells {cells}"
    editors = page.locator(".jp-CodeCell details.thesislib-code .jp-InputArea-editor")
    assert not any(editors.nth(i).is_visible() for i in range(editors.count())), f"{name}: code visible while folded"
    toggles = page.locator(".jp-CodeCell > details.thesislib-code > summary")
    for i in range(toggles.count()):
        toggles.nth(i).scroll_into_view_if_needed()
        toggles.nth(i).click()
        assert editors.nth(i).is_visible(), f"{name}: code cell {i} did not open"
    assert set(page.evaluate("() => [...document.querySelectorAll('details.thesislib-code')].map(d => d.open)")) == {True}
    return len(cells)


def _links(page, selector) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(a => a.getAttribute('href'))")


def test_reports_read_like_chapters(browser, serve, reports):
    """No widget repr, code folded behind working toggles, contents and prev/next/index links
    that resolve, and the headline on the first screen."""
    base = serve(reports)
    shots = screenshot_dir("reports")
    problems = []
    pages = chapter_pages(reports)
    for name in pages:
        page, rec = _open(browser, base + name)
        try:
            page.screenshot(path=str(shots / f"{Path(name).stem}_first_screen.png"))
            text, source = page.evaluate("() => document.body.innerText"), page.content()
            for repr_ in ("VBox(children", "HBox(children"):
                if repr_ in text or repr_ in source:
                    problems.append(f"{name}: shows {repr_}")
            box = page.locator(".thesislib-headline")
            if box.count() != 1 or box.bounding_box()["y"] > VIEWPORT["height"] / 2:
                problems.append(f"{name}: no headline box at the top ({box.count()} found)")
            toc = _links(page, "nav.thesislib-toc a")
            missing = page.evaluate("""(hrefs) => hrefs.filter(h => !(document.getElementById(h.slice(1))
                || document.getElementById(decodeURIComponent(h.slice(1)))))""", toc)
            if len(toc) < 2 or missing:
                problems.append(f"{name}: contents {len(toc)} links, unresolved {missing}")
            else:
                page.locator("nav.thesislib-toc a").last.click()
                page.wait_for_timeout(SETTLE_MS)
                if page.evaluate("() => window.scrollY") < VIEWPORT["height"] / 2:
                    problems.append(f"{name}: the last contents link did not scroll to its section")
            nav = _links(page, "nav.thesislib-nav a")
            expected = {"index.html"} | {p for i, p in enumerate(pages) if abs(i - pages.index(name)) == 1}
            if set(nav) != expected:
                problems.append(f"{name}: nav links {sorted(set(nav))}, expected {sorted(expected)}")
            for href in nav:
                if not (reports / href).is_file():
                    problems.append(f"{name}: nav link {href} leads nowhere")
            _code_cells_fold(page, name)
            if rec.errors or rec.foreign_requests():
                problems.append(f"{name}: console errors {rec.errors[:3]}, foreign requests {rec.foreign_requests()[:3]}")
        except AssertionError as e:
            problems.append(str(e))
        finally:
            page.close()
    # following "next" from the first report and "prev" back, like a reader
    page, _ = _open(browser, base + pages[0])
    try:
        if len(pages) > 1:
            page.locator("nav.thesislib-nav a[rel=next]").first.click()
            page.wait_for_load_state("load")
            assert page.url.endswith(pages[1]), page.url
            page.locator("nav.thesislib-nav a[rel=prev]").first.click()
            page.wait_for_load_state("load")
            assert page.url.endswith(pages[0]), page.url
        page.locator("nav.thesislib-nav a.thesislib-index").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith("index.html"), page.url
    finally:
        page.close()
    assert not problems, "\n".join(problems)
