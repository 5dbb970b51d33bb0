"""A chapter's report as a page to read: headline first, static outputs, contents, links.

The suite applies these to each executed chapter (see :mod:`thesislib.suite.runner`):

* :func:`insert_headline` puts the chapter's headline box (:mod:`thesislib.report.headlines`) as a
  markdown cell right under the chapter's title, in the executed ``.ipynb`` too;
* :func:`static_outputs` (on the copy that is exported, not on the ``.ipynb``) swaps each
  live widget's output for one line, :data:`WIDGET_NOTE` (a static page cannot run the
  widget; the chapters draw a static twin right below it), each JSON tree for a table, and
  each plotly figure's JSON for its HTML (the notebooks keep a figure once, as JSON:
  renderer ``plotly_mimetype``; the page carries plotly.js once, inline, in its first figure);
* :func:`add_contents` fills the table of contents from the exported page's section headings;
* :func:`nav_html` is the bar of links to the previous chapter, the index and the next one.

How code cells show (``shown``, ``folded`` behind a "show code" toggle, ``hidden``) is the
offline template's business (``templates/offline``); :data:`CODE_MODES` names the choices.
"""
from __future__ import annotations

import html
import json
import re

__all__ = ["WIDGET_NOTE", "CODE_MODES", "HEADLINE_TAG", "CONTENTS_MARK", "insert_headline", "static_outputs",
           "add_contents", "nav_html", "section_headings"]

WIDGET_NOTE = "live in JupyterLab; the static twin is below"
CODE_MODES = ("shown", "folded", "hidden")
HEADLINE_TAG = "thesislib-headline"
CONTENTS_MARK = "<!--thesislib-contents-->"
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_JSON = "application/json"
_PLOTLY = "application/vnd.plotly.v1+json"
#: height of a figure that sets none, as plotly's notebook renderer draws it
FIGURE_HEIGHT = 525
_HEADING = re.compile(r'<h([23]) id="[^"]*">(.*?)<a class="anchor-link" href="(#[^"]*)">', re.S)


def insert_headline(nb, box_html: str | None) -> None:
    """Put a markdown cell with the headline box (and the contents mark) under the title.

    The first markdown cell's ``# title`` line stays where it is; the rest of that cell
    (the chapter's introduction) moves to a cell after the headline. A headline cell from
    an earlier call is replaced. ``nb`` is edited in place.
    """
    import nbformat

    nb.cells = [c for c in nb.cells if HEADLINE_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(((box_html or "") + "\n" + CONTENTS_MARK).strip())
    cell.metadata["tags"] = [HEADLINE_TAG]
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), None)
    if first is None:
        nb.cells.insert(0, cell)
        return
    title, _, rest = nb.cells[first].source.partition("\n")
    at = first + 1
    if title.startswith("# ") and rest.strip():
        nb.cells[first].source = title
        nb.cells.insert(at, nbformat.v4.new_markdown_cell(rest.strip("\n")))
    elif not title.startswith("# "):
        at = first
    nb.cells.insert(at, cell)


def _json_html(value) -> str:
    from .tables import metrics_table

    if isinstance(value, dict) and value:
        body = metrics_table(value).to_html(classes="thesislib-json-table", border=0)
        summary = f"{len(value)} fields"
    else:
        body = f"<pre>{html.escape(json.dumps(value, indent=1, ensure_ascii=False))}</pre>"
        summary = "JSON"
    return f'<details class="thesislib-json"><summary>{summary} (show)</summary>{body}</details>'


def _figure_html(figure: dict, with_plotlyjs: bool) -> str:
    import plotly.io as pio

    return pio.to_html(figure, include_plotlyjs=with_plotlyjs, include_mathjax=False, full_html=False,
                       default_width="100%", default_height=FIGURE_HEIGHT, validate=False)


def static_outputs(nb) -> int:
    """Outputs a static page can show, in place of those it cannot; returns how many changed.

    A widget view becomes the line :data:`WIDGET_NOTE`; a JSON tree (``IPython.display.JSON``,
    whose HTML form is its Python repr) becomes a folded table of its fields; a plotly figure
    stored as JSON only becomes its interactive HTML, the first one with plotly.js inline.
    """
    import nbformat

    changed, plotlyjs = 0, True
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for i, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            if _WIDGET_VIEW in data:
                page = f'<p class="thesislib-live">{html.escape(WIDGET_NOTE)}</p>'
                text = WIDGET_NOTE
            elif _JSON in data and "text/html" not in data:
                page, text = _json_html(data[_JSON]), json.dumps(data[_JSON])[:200]
            elif _PLOTLY in data and "text/html" not in data:
                page, text = _figure_html(data[_PLOTLY], plotlyjs), "plotly figure"
                plotlyjs = False
            else:
                continue
            cell.outputs[i] = nbformat.v4.new_output("display_data", data={"text/html": page, "text/plain": text})
            changed += 1
    return changed


def section_headings(page: str) -> list[tuple[int, str, str]]:
    """(level 2 or 3, text, href) of each section heading of an exported page, in order."""
    out = []
    for level, inner, href in _HEADING.findall(page):
        text = html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()
        if text:
            out.append((int(level), text, href))
    return out


def add_contents(page: str) -> str:
    """The page with a table of contents of its ``##``/``###`` headings at the contents mark
    (right after the headline; at the top of ``<main>`` when there is no mark)."""
    items, open_sub = [], False
    for level, text, href in section_headings(page):
        link = f'<a href="{html.escape(href)}">{html.escape(text)}</a>'
        if level == 3:
            items.append(("" if open_sub else "<ol>") + f"<li>{link}</li>")
            open_sub = True
            continue
        if open_sub:
            items.append("</ol>")
            open_sub = False
        items.append(("</li>" if items else "") + f"<li>{link}")
    if not items:
        return page.replace(CONTENTS_MARK, "")
    toc = ('<nav class="thesislib-toc" aria-label="contents"><p class="thesislib-toc-title">Contents</p><ol>'
           + "".join(items) + ("</ol>" if open_sub else "") + "</li></ol></nav>")
    if CONTENTS_MARK in page:
        return page.replace(CONTENTS_MARK, toc, 1)
    return page.replace("<main>", "<main>" + toc, 1)


def nav_html(previous: tuple[str, str] | None, following: tuple[str, str] | None, index: str = "index.html") -> str:
    """The bar of links between chapters.

    Parameters
    ----------
    previous, following : (href, label) of the neighbouring chapters' reports, or None
    index : href of the suite's index page
    """
    def link(cls, target, text, rel=None):
        if target is None:
            return f'<span class="{cls}"></span>'
        r = f' rel="{rel}"' if rel else ""
        return f'<a class="{cls}" href="{html.escape(target[0])}"{r}>{text}</a>'

    e = html.escape
    return ('<nav class="thesislib-nav">'
            + link("thesislib-prev", previous, f"&larr; {e(previous[1])}" if previous else "", "prev")
            + link("thesislib-index", (index, "index"), "index of the suite")
            + link("thesislib-next", following, f"{e(following[1])} &rarr;" if following else "", "next")
            + "</nav>")
