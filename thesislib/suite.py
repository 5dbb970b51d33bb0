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

from .atomic import atomic_write_text
from .params import CHAPTERS, Chapter, ParamsError, load_params, notebook_parameters, output_dir
from .report_bars import finish_progress_bars

TEMPLATES = Path(__file__).parent / "templates"
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


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source checkout, else of the current directory."""
    here = Path(__file__).resolve().parents[1] / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


def export_html(notebook_path, html_path) -> None:
    """Export an executed notebook to a self-contained, offline HTML page."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook_path), as_version=4)
    nb.metadata.pop("widgets", None)  # live widgets cannot run in a static page; static twins do
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(nb)
    # plotly's notebook renderer adds a MathJax <script> from a CDN to every figure: drop
    # every remote script so the page makes no request beyond its own host
    body = REMOTE_SCRIPT.sub("", body)
    atomic_write_text(Path(html_path), body)


def _finish_bars(notebook_path: Path) -> None:
    """Progress bars of the executed notebook as text lines of their final state (a static
    report would show them stuck at 0 %; see :mod:`thesislib.report_bars`)."""
    import nbformat

    nb = nbformat.read(str(notebook_path), as_version=4)
    if finish_progress_bars(nb):
        atomic_write_text(notebook_path, nbformat.writes(nb))


def declared_parameters(notebook_path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(notebook_path)))


def _first_error(exc: BaseException) -> str:
    name = getattr(exc, "ename", type(exc).__name__)
    value = getattr(exc, "evalue", str(exc))
    return f"{name}: {value}".strip()


def run_chapter(chapter: Chapter, params, out_dir: Path, notebooks_dir: Path,
                progress: bool = True) -> ChapterResult:
    """Execute one chapter notebook and export its HTML (:func:`run_suite` has checked its parameters)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = notebooks_dir / f"{chapter.stem}.ipynb"
    if not source.exists():
        return ChapterResult(chapter.number, chapter.name, "missing", error=f"{source} not found")
    values = notebook_parameters(params, chapter, out_dir)  # declared: checked by run_suite first
    final = out_dir / f"{chapter.stem}.ipynb"
    partial = out_dir / f".{chapter.stem}.partial.ipynb"
    start = time.perf_counter()
    error = None
    # progress bars inside the kernel would be frozen widgets in the report; the suite
    # shows its own per-cell progress instead (tqdm reads TQDM_DISABLE). Bars that code
    # enables explicitly (``disable=False``) still draw: _finish_bars writes their final state
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
    _finish_bars(partial)
    os.replace(partial, final)
    page = out_dir / f"{chapter.stem}.html"
    try:
        export_html(final, page)
    except Exception as e:  # a report that cannot be exported is a failure, not a crash
        error = error or f"HTML export failed: {_first_error(e)}"
        page.unlink(missing_ok=True)  # never link a previous run's report to this run
    status = "failed" if error else "ok"
    return ChapterResult(chapter.number, chapter.name, status, round(seconds, 1), final.name,
                         page.name if page.exists() else None, error,
                         _dt.datetime.now().isoformat(timespec="seconds"))


def run_suite(params_path, only=None, out=None, notebooks_dir=None, progress: bool = True) -> list[ChapterResult]:
    """Run the chapters of a params file.

    Parameters
    ----------
    params_path : the YAML params file (validated before anything runs)
    only : chapter numbers to run, e.g. ``["01", "03"]`` (default: all)
    out : output folder (default ``outputs/<profile>``)
    notebooks_dir : where the ``NN_name.ipynb`` files are

    Returns
    -------
    one :class:`ChapterResult` per chapter that was asked for
    """
    from tqdm.auto import tqdm

    params = load_params(params_path)
    out_dir = output_dir(params, out)
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    known = {c.number for c in CHAPTERS}
    wanted = [str(o).zfill(2) for o in (only or [c.number for c in CHAPTERS])]
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
            res = run_chapter(chapter, params, out_dir, notebooks_dir, progress=progress)
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


def render_index(results: list[ChapterResult], profile: str, out_dir=None) -> str:
    """The suite's index page: one row per chapter with status, duration, links, error; and a
    link to ``<out_dir>/meshes/`` when that folder exists."""
    colours = {"ok": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700", "missing": "#6e7781"}
    rows = []
    for r in results:
        link = (f'<a href="{html.escape(r.html)}">report</a>' if r.html else "")
        nb = (f'<a href="{html.escape(r.notebook)}">notebook</a>' if r.notebook else "")
        rows.append(
            f"<tr><td>{r.number}</td><td>{html.escape(r.name.replace('_', ' '))}</td>"
            f'<td style="color:{colours.get(r.status, "#000")};font-weight:bold">{r.status}</td>'
            f"<td>{r.seconds:.0f} s</td><td>{link} {nb}</td>"
            f"<td><pre>{html.escape(r.error or '')}</pre></td><td>{html.escape(r.finished or '')}</td></tr>")
    total = sum(r.seconds for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>thesislib suite: {html.escape(profile)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.4em .8em;text-align:left;vertical-align:top}}
pre{{white-space:pre-wrap;margin:0;max-width:40em}}</style></head>
<body><h1>thesislib suite &mdash; profile <code>{html.escape(profile)}</code></h1>
<p>Synthetic training data for 3D face reconstruction: one report per chapter. Total {total:.0f} s.</p>
<table><tr><th>#</th><th>chapter</th><th>status</th><th>time</th><th>files</th><th>error</th><th>finished</th></tr>
{''.join(rows)}
</table>{_mesh_links(out_dir)}</body></html>
"""
