"""Run the notebook suite: papermill execution, offline HTML export, an index page.

``run_suite`` executes each chapter notebook with the parameters of a
validated params file into ``<out>/NN_name.ipynb``, exports
``<out>/NN_name.html`` (interactive plotly figures, no CDN) and writes
``<out>/index.html`` and ``<out>/suite.json``. A failing notebook keeps its
executed copy with the traceback; chapters that depend on it are skipped,
the others still run. Files appear under their final names only when
complete (written under a temporary name, then renamed), so a killed run
never leaves a half-written notebook or report behind and earlier results
stay intact.

Each report reads like a chapter: a headline box under the title, written from
the numbers the chapter saved under ``data/`` (:mod:`thesislib.report.headlines`, also
saved as ``data/NN_headline.json``), a table of contents, links to the previous
and next chapter and the index, code cells folded behind a "show code" toggle
(``report_code``: shown, folded, hidden), and a one-line note where a live widget
was (:mod:`thesislib.report.pages`). The index shows each chapter's headline
number and a thumbnail of its main figure (``thumbnails/NN_name.png``,
:mod:`thesislib.report.thumbnail`). The executed ``.ipynb`` keeps every cell.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from thesislib.common import atomic_write_text
from thesislib.common import atomic_write_bytes
from .params import CHAPTERS, Chapter, ParamsError, load_params, notebook_parameters, output_dir
from .outputs import output_names
from thesislib.report import MAIN_FIGURES, chapter_headline, headline_html, read_headline, write_headline
from thesislib.report import finish_progress_bars
from thesislib.report import CODE_MODES, add_contents, insert_headline, nav_html, static_outputs
from thesislib.report import relative_paths

TEMPLATES = Path(__file__).resolve().parents[1] / "report" / "templates"
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.IGNORECASE)


@dataclass(frozen=True)
class ChapterResult:
    """Outcome of one chapter: status is ``ok``, ``failed``, ``skipped`` or ``missing``."""

    number: str
    name: str
    status: str
    seconds: float = 0.0
    notebook: str | None = None
    html: str | None = None
    error: str | None = None
    finished: str | None = None
    title: str | None = None


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source checkout, else of the current directory."""
    here = Path(__file__).resolve().parents[2] / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


def export_html(notebook_path, html_path, report_code: str = "folded", nav: str = "") -> None:
    """Export an executed notebook to a self-contained, offline HTML page.

    Parameters
    ----------
    notebook_path, html_path : the executed notebook and the page to write
    report_code : "shown", "folded" (each code cell behind a one-line toggle) or "hidden"
    nav : HTML of the links to the neighbouring chapters (:func:`thesislib.report.pages.nav_html`)
    """
    import nbformat
    from nbconvert import HTMLExporter

    if report_code not in CODE_MODES:
        raise ValueError(f"report_code: {report_code!r}; allowed: {', '.join(CODE_MODES)}")
    nb = nbformat.read(str(notebook_path), as_version=4)
    nb.metadata.pop("widgets", None)  # live widgets cannot run in a static page; static twins do
    static_outputs(nb)
    relative_paths(nb, Path(html_path).parent)  # the page lies in the output folder: no machine paths
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(nb, resources={"report_code": report_code, "thesislib_nav": nav})
    # plotly's notebook renderer adds a MathJax <script> from a CDN to every figure: drop
    # every remote script so the page makes no request beyond its own host
    body = add_contents(REMOTE_SCRIPT.sub("", body))
    atomic_write_text(Path(html_path), body)


def _finish_notebook(notebook_path: Path, headline) -> str | None:
    """Progress bars of the executed notebook as text lines of their final state (a static
    report would show them stuck at 0 %; see :mod:`thesislib.report.bars`) and the headline
    box under the title. Returns the chapter's title (its first ``# `` line)."""
    import nbformat

    nb = nbformat.read(str(notebook_path), as_version=4)
    finish_progress_bars(nb)
    insert_headline(nb, headline_html(headline) if headline else None)
    atomic_write_text(notebook_path, nbformat.writes(nb))
    return _title(nb)


def _title(nb) -> str | None:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.partition("\n")[0][2:].strip()
    return None


def _label(chapter: Chapter) -> str:
    return f"{chapter.number} · {chapter.name.replace('_', ' ')}"


def chapter_nav(chapter: Chapter, notebooks_dir: Path) -> str:
    """Links to the chapters before and after ``chapter`` among those with a notebook, and the index."""
    present = [c for c in CHAPTERS if c == chapter or (notebooks_dir / f"{c.stem}.ipynb").exists()]
    i = present.index(chapter)
    link = lambda c: (f"{c.stem}.html", _label(c))  # noqa: E731
    return nav_html(link(present[i - 1]) if i > 0 else None, link(present[i + 1]) if i + 1 < len(present) else None)


def _save_thumbnail(notebook_path: Path, chapter: Chapter, out_dir: Path) -> None:
    """``thumbnails/NN_name.png``: the chapter's main figure, small, for the index."""
    import io

    import nbformat

    from thesislib.report import notebook_thumbnail

    path = out_dir / "thumbnails" / f"{chapter.stem}.png"
    try:
        img = notebook_thumbnail(nbformat.read(str(notebook_path), as_version=4), MAIN_FIGURES.get(chapter.number))
    except Exception:  # a picture for the index never fails a chapter
        img = None
    if img is None:
        path.unlink(missing_ok=True)
        return
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    path.parent.mkdir(exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def declared_parameters(notebook_path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(notebook_path)))


def _first_error(exc: BaseException) -> str:
    name = getattr(exc, "ename", type(exc).__name__)
    value = getattr(exc, "evalue", str(exc))
    return f"{name}: {value}".strip()


def run_chapter(chapter: Chapter, params, out_dir: Path, notebooks_dir: Path,
                progress: bool = True, report_code: str | None = None) -> ChapterResult:
    """Execute one chapter notebook and export its HTML (:func:`run_suite` has checked its parameters).

    ``report_code`` (default: the params' ``report.code``) is how code cells show in the report.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = notebooks_dir / f"{chapter.stem}.ipynb"
    if not source.exists():
        return ChapterResult(chapter.number, chapter.name, "missing", error=f"{source} not found")
    values = notebook_parameters(params, chapter, out_dir)  # declared: checked by run_suite first
    final = out_dir / f"{chapter.stem}.ipynb"
    partial = out_dir / f".{chapter.stem}.partial.ipynb"
    start, started = time.perf_counter(), time.time()
    error = None
    # progress bars inside the kernel would be frozen widgets in the report; the suite
    # shows its own per-cell progress instead (tqdm reads TQDM_DISABLE). Bars that code
    # enables explicitly (``disable=False``) still draw: _finish_notebook writes their final state
    saved = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        papermill.execute_notebook(str(source), str(partial), parameters=values, cwd=str(notebooks_dir),
                                   progress_bar=progress, kernel_name="python3", log_output=False,
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"])  # no TCP-on-localhost warning
    except PapermillExecutionError as e:
        error = _first_error(e)
    except BaseException:  # interrupted or the kernel died: leave nothing half-written
        partial.unlink(missing_ok=True)
        raise
    finally:
        if saved is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = saved
    seconds = time.perf_counter() - start
    # the headline comes from files this run wrote (never an earlier run's numbers)
    headline = (chapter_headline(chapter.number, out_dir, params, since=started,
                                 files=output_names(chapter.number)) if error is None else None)
    saved_headline = out_dir / "data" / f"{chapter.number}_headline.json"
    if headline is not None:
        write_headline(headline, out_dir)
    else:
        saved_headline.unlink(missing_ok=True)
    title = _finish_notebook(partial, headline)
    os.replace(partial, final)
    page = out_dir / f"{chapter.stem}.html"
    try:
        export_html(final, page, report_code or params.report.code, chapter_nav(chapter, notebooks_dir))
    except Exception as e:  # a report that cannot be exported is a failure, not a crash
        error = error or f"HTML export failed: {_first_error(e)}"
        page.unlink(missing_ok=True)  # never link a previous run's report to this run
    if error is None:
        _save_thumbnail(final, chapter, out_dir)
    else:
        (out_dir / "thumbnails" / f"{chapter.stem}.png").unlink(missing_ok=True)
    status = "failed" if error else "ok"
    return ChapterResult(chapter.number, chapter.name, status, round(seconds, 1), final.name,
                         page.name if page.exists() else None, error,
                         _dt.datetime.now().isoformat(timespec="seconds"), title)


def run_suite(params_path, only=None, out=None, notebooks_dir=None, progress: bool = True,
              report_code: str | None = None) -> list[ChapterResult]:
    """Run the chapters of a params file.

    Parameters
    ----------
    params_path : the YAML params file (validated before anything runs)
    only : chapter numbers to run, e.g. ``["01", "03"]`` (default: the params' ``chapters``, else 01-06)
    out : output folder (default ``outputs/<profile>``)
    notebooks_dir : where the ``NN_name.ipynb`` files are
    report_code : how code cells show in the reports, "shown", "folded" or "hidden"
        (default: the params' ``report.code``, itself "folded" unless set)

    Returns
    -------
    one :class:`ChapterResult` per chapter that was asked for
    """
    from tqdm.auto import tqdm

    params = load_params(params_path)
    if report_code is not None and report_code not in CODE_MODES:
        raise ParamsError(f"report code: {report_code!r}; allowed: {', '.join(CODE_MODES)}")
    out_dir = output_dir(params, out)
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    known = {c.number for c in CHAPTERS}
    wanted = [str(o).zfill(2) for o in (only or params.chapters or [c.number for c in CHAPTERS if not c.opt_in])]
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise ParamsError(f"--only: unknown chapters {unknown}; known: {sorted(known)}")
    chapters = [c for c in CHAPTERS if c.number in wanted]
    for c in chapters:  # check every notebook's parameters before running any
        nb = notebooks_dir / f"{c.stem}.ipynb"
        if nb.exists():
            missing = sorted(set(notebook_parameters(params, c, out_dir)) - declared_parameters(nb))
            if missing:
                raise ParamsError(f"{nb}: the cell tagged 'parameters' does not declare {missing}; "
                                  "add them with typed defaults")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "data").mkdir(exist_ok=True)
    (out_dir / "models").mkdir(exist_ok=True)
    atomic_write_text(out_dir / "params.yaml", Path(params_path).read_text())

    previous = _read_state(out_dir)
    results: dict[str, ChapterResult] = {}
    bar = tqdm(chapters, desc=f"suite {params.profile}", unit="chapter", disable=not progress)
    for chapter in bar:
        bar.set_postfix_str(chapter.stem)
        blocked = [d for d in chapter.depends_on if d in results and results[d].status != "ok"]
        if blocked and (notebooks_dir / f"{chapter.stem}.ipynb").exists():
            res = ChapterResult(chapter.number, chapter.name, "skipped",
                                error=f"needs chapter {', '.join(blocked)}, which did not succeed")
        else:
            res = run_chapter(chapter, params, out_dir, notebooks_dir, progress=progress, report_code=report_code)
        results[chapter.number] = res
        previous[chapter.number] = res
        _write_state(out_dir, previous, params)
        if progress:
            bar.write(f"  {chapter.stem}: {res.status} ({res.seconds:.0f} s)"
                      + (f" - {res.error}" if res.error and res.status != "missing" else ""))
    return list(results.values())


def _read_state(out_dir: Path) -> dict[str, ChapterResult]:
    path = out_dir / "suite.json"
    if not path.exists():
        return {}
    try:
        return {r["number"]: ChapterResult(**r) for r in json.loads(path.read_text())["chapters"]}
    except (ValueError, KeyError, TypeError):
        return {}


def _write_state(out_dir: Path, results: dict[str, ChapterResult], params) -> None:
    ordered = [results[c.number] for c in CHAPTERS if c.number in results]
    state = {"profile": params.profile, "updated": _dt.datetime.now().isoformat(timespec="seconds"),
             "chapters": [asdict(r) for r in ordered]}
    atomic_write_text(out_dir / "suite.json", json.dumps(state, indent=1))
    atomic_write_text(out_dir / "index.html", render_index(ordered, params.profile, out_dir))


def _mesh_links(out_dir) -> str:
    """A paragraph linking ``<out>/meshes/`` and its subfolders (PLY files for mesh viewers), or ''."""
    meshes = Path(out_dir) / "meshes" if out_dir is not None else None
    if meshes is None or not meshes.is_dir():
        return ""
    subs = sorted(d for d in meshes.iterdir() if d.is_dir())
    items = "".join(f'<li><a href="meshes/{html.escape(d.name)}/">{html.escape(d.name)}</a> '
                    f'({sum(1 for f in d.iterdir() if f.is_file())} files)</li>' for d in subs)
    return (f'<h2>3D meshes</h2><p><a href="meshes/">meshes/</a>: PLY files with vertex colours (mm), '
            f"for MeshLab, Blender or ParaView.</p><ul>{items}</ul>")


_INDEX_CSS = """body{font-family:system-ui,sans-serif;margin:1.2em 2em;max-width:84em;color:#1f2328}
h1{font-size:1.5em;margin:.2em 0}p.lead{margin:.2em 0 .8em 0;color:#57606a}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.25em .7em;text-align:left;
vertical-align:top}td.time{white-space:nowrap}th{font-size:.85em;color:#57606a;font-weight:600}
td.thumb img{display:block;border:1px solid #d0d7de;border-radius:4px}
td.name a{font-weight:600;color:#0969da;text-decoration:none}td.name .title{display:block;color:#57606a;font-size:.9em}
.headline .value{font-size:1.35em;font-weight:700;color:#0a3069;margin-right:.25em}
.headline .label{font-weight:600}.headline .sentence{color:#424a53;font-size:.88em;margin-top:.1em}
.status{font-weight:bold}pre{white-space:pre-wrap;margin:0;max-width:40em;color:#cf222e}
td.files a{margin-right:.6em}"""


def _index_row(r: ChapterResult, out_dir) -> str:
    e = html.escape
    colours = {"ok": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700", "missing": "#6e7781"}
    stem = f"{r.number}_{r.name}"
    page = f'<a href="{e(r.html)}">{e(r.number)} · {e(r.name.replace("_", " "))}</a>' if r.html \
        else f"{e(r.number)} · {e(r.name.replace('_', ' '))}"
    title = re.sub(rf"^{re.escape(r.number)}\s*[·.:-]?\s*", "", r.title or "")
    title = f'<span class="title">{e(title)}</span>' if title else ""
    thumb = ""
    if out_dir is not None and r.status == "ok" and (Path(out_dir) / "thumbnails" / f"{stem}.png").exists():
        img = (f'<img src="thumbnails/{e(stem)}.png" width="128" height="80" '
               f'alt="main figure of chapter {e(r.number)}">')
        thumb = f'<a href="{e(r.html)}">{img}</a>' if r.html else img
    h = read_headline(out_dir, r.number) if out_dir is not None and r.status == "ok" else None
    found = (f'<span class="value">{e(h.value)}</span><span class="label">{e(h.label)}</span>'
             f'<div class="sentence">{e(h.sentence)}</div>') if h else ""
    if r.error:
        found += f"<pre>{e(r.error)}</pre>"
    files = " ".join(f'<a href="{e(f)}">{k}</a>' for k, f in (("report", r.html), ("notebook", r.notebook)) if f)
    when = f' title="finished {e(r.finished)}"' if r.finished else ""
    return (f'<tr class="chapter" id="chapter-{e(r.number)}"><td class="thumb">{thumb}</td>'
            f'<td class="name">{page}{title}</td><td class="headline">{found}</td>'
            f'<td class="status" style="color:{colours.get(r.status, "#000")}">{e(r.status)}</td>'
            f'<td class="time"{when}>{r.seconds:.0f} s</td><td class="files">{files}</td></tr>')


def render_index(results: list[ChapterResult], profile: str, out_dir=None) -> str:
    """The suite's index page: one row per chapter with a thumbnail of its main figure, its
    headline (``data/NN_headline.json``), status, duration, links and error; and a link to
    ``<out_dir>/meshes/`` when that folder exists."""
    rows = "".join(_index_row(r, out_dir) for r in results)
    total = sum(r.seconds for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>thesislib suite: {html.escape(profile)}</title>
<style>{_INDEX_CSS}</style></head>
<body><h1>thesislib suite &mdash; profile <code>{html.escape(profile)}</code></h1>
<p class="lead">Synthetic training data for 3D face reconstruction: one report per chapter, each number below
from this run. Total {total:.0f} s.</p>
<table><tr><th>main figure</th><th>chapter</th><th>what it found</th><th>status</th><th>time</th><th>files</th></tr>
{rows}
</table>{_mesh_links(out_dir)}</body></html>
"""
