"""The suite runner: a failing notebook is reported, not hidden; dependents are skipped."""
import json
import re
from pathlib import Path

import nbformat
import pytest

from thesislib.suite import cli
from thesislib.suite import runner as suite

ROOT = Path(__file__).resolve().parents[2]


def _notebook(path, body, params="seed: int = 0\nprofile: str = 'x'\n", title=None):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    if title:
        nb.cells[:0] = [nbformat.v4.new_markdown_cell(title)]
        nb.cells.append(nbformat.v4.new_markdown_cell("## Results\n\n### Details\n\n## More"))
    nbformat.write(nb, path)


ALL_PARAMS = ("profile: str = 'x'\nseed: int = 0\nout_dir: str = '.'\nmodel: dict = {}\n"
              "data: dict = {}\npopulation: dict = {}\n")


@pytest.fixture
def fake_suite(tmp_path):
    """Notebooks 01 (ok: draws a plotly figure and a live widget, writes its headline's table),
    02 (raises), 05 (depends on 02)."""
    from thesislib.suite.params import SECTIONS, CHAPTERS

    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    bodies = {"01": "import plotly.graph_objects as go, plotly.io as pio\n"
                    "pio.renderers.default = 'plotly_mimetype'\n"
                    "go.Figure(go.Scatter(y=[1, 3, 2])).show()\nprint('chapter one ran')\n"
                    "import ipywidgets, pathlib, pandas as pd\n"
                    "display(ipywidgets.VBox([ipywidgets.IntSlider(description='pc 1')]))\n"
                    "pd.DataFrame({'sampler': ['N(0, 1.0)', 'N(0, 2.0)'], 'median_distance': [6.0, 12.0], "
                    "'valid_fraction': [0.875, 0.0]}).to_csv(pathlib.Path(out_dir) / 'data' / '01_validity.csv', "
                    "index=False)",
              "02": "raise RuntimeError('deliberate failure in chapter two')",
              "05": "print('should not run')"}
    for c in CHAPTERS:
        if c.number in bodies:
            fields = "".join(f"{k} = None\n" for k in SECTIONS[c.section].model_fields)
            _notebook(nbdir / f"{c.stem}.ipynb", bodies[c.number], ALL_PARAMS + fields,
                      title=f"# {c.number} · Chapter {c.name}\n\nWhat it is about." if c.number == "01" else None)
    params = tmp_path / "p.yaml"
    params.write_text((ROOT / "params" / "smoke.yaml").read_text())
    return nbdir, params, tmp_path / "out"


def test_failing_notebook_is_reported_not_hidden(fake_suite):
    nbdir, params, out = fake_suite
    results = {r.number: r for r in suite.run_suite(params, out=out, notebooks_dir=nbdir, progress=False)}
    assert results["01"].status == "ok"
    assert results["02"].status == "failed" and "deliberate failure" in results["02"].error
    assert results["05"].status == "skipped" and "02" in results["05"].error
    assert results["03"].status == "missing"
    # the failed chapter keeps its executed copy with the traceback, and a report
    failed = nbformat.read(out / "02_samplers.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in failed.cells for o in c.get("outputs", []))
    assert (out / "02_samplers.html").exists()
    index = (out / "index.html").read_text()
    assert "failed" in index and "deliberate failure in chapter two" in index and "01_event_space.html" in index
    state = json.loads((out / "suite.json").read_text())
    assert [c["status"] for c in state["chapters"]][:2] == ["ok", "failed"]
    assert not list(out.glob(".*partial*"))
    # the report of chapter 01 is offline: no script from another host, the figure is inline
    page = (out / "01_event_space.html").read_text()
    assert "cdn" not in page.lower().split("<body")[0]
    assert "require.js" not in page and 'src="http' not in page
    assert "Plotly.newPlot" in page or "Plotly.react" in page
    # --only reruns one chapter and keeps the others' entries in the index
    again = suite.run_suite(params, only=["01"], out=out, notebooks_dir=nbdir, progress=False)
    assert [r.number for r in again] == ["01"]
    assert "deliberate failure" in (out / "index.html").read_text()


def test_reports_read_like_chapters(fake_suite):
    """Headline box under the title (from the numbers the chapter wrote), contents, links to the
    neighbouring chapters and the index, code folded, a note instead of the widget's repr; the
    index shows the headline and a thumbnail; the .ipynb keeps the code and the widget."""
    nbdir, params, out = fake_suite
    results = {r.number: r for r in suite.run_suite(params, out=out, notebooks_dir=nbdir, progress=False)}
    page = (out / "01_event_space.html").read_text()
    body = page.split("<main>", 1)[1]
    assert body.index("01 · Chapter event_space") < body.index("thesislib-headline") < body.index("What it is about")
    assert '<span class="thesislib-headline-value">88 %</span>' in page and "data/01_validity.csv" in page
    assert json.loads((out / "data" / "01_headline.json").read_text())["value"] == "88 %"
    toc = re.search(r'<nav class="thesislib-toc".*?</nav>', page, re.S).group(0)
    assert re.findall(r'href="(#[^"]+)"', toc) == ["#Results", "#Details", "#More"]
    assert page.count('rel="next"') == 2 and 'href="02_samplers.html" rel="next"' in page
    assert 'rel="prev"' not in page and 'href="index.html"' in page
    second = (out / "02_samplers.html").read_text()
    assert 'href="01_event_space.html" rel="prev"' in second and 'href="05_bprn.html" rel="next"' in second
    executed = nbformat.read(out / "01_event_space.ipynb", as_version=4)
    code_cells = [c for c in executed.cells if c.cell_type == "code"]
    assert page.count('<details class="thesislib-code">') == len(code_cells) == 3  # parameters, injected, body
    assert "<details class=\"thesislib-code\" open" not in page
    assert "VBox(children" not in page and "live in JupyterLab; the static twin is below" in page
    assert any("VBox(children" in o.get("data", {}).get("text/plain", "") for c in code_cells for o in c.outputs)
    assert "thesislib-headline" in executed.cells[1].metadata["tags"][0]
    assert results["02"].status == "failed" and not (out / "data" / "02_headline.json").exists()
    index = (out / "index.html").read_text()
    assert "88 %" in index and 'src="thumbnails/01_event_space.png"' in index
    assert (out / "thumbnails" / "01_event_space.png").stat().st_size > 100
    assert not (out / "thumbnails" / "02_samplers.png").exists()


@pytest.mark.parametrize("mode", ["shown", "hidden"])
def test_report_code_switch(fake_suite, mode, tmp_path):
    nbdir, params, out = fake_suite
    assert cli.main(["run", "--params", str(params), "--out", str(out), "--notebooks", str(nbdir),
                     "--only", "01", "--quiet", "--report-code", mode]) == 0
    body = (out / "01_event_space.html").read_text().split("<main>", 1)[1]
    assert "thesislib-code" not in body and "chapter one ran" in body
    assert ("jp-InputArea-editor" in body) == (mode == "shown")
    nb = nbformat.read(out / "01_event_space.ipynb", as_version=4)
    assert any("go.Scatter" in c.source for c in nb.cells)  # the notebook keeps the code either way
    via_params = tmp_path / "hidden.yaml"
    via_params.write_text(params.read_text() + "\nreport: {code: hidden}\n")
    assert cli.main(["run", "--params", str(via_params), "--out", str(out), "--notebooks", str(nbdir),
                     "--only", "01", "--quiet"]) == 0
    assert "jp-InputArea-editor" not in (out / "01_event_space.html").read_text().split("<main>", 1)[1]
    with pytest.raises(SystemExit):
        cli.main(["run", "--params", str(params), "--report-code", "sideways"])


def test_cli_exit_codes(fake_suite, capsys):
    nbdir, params, out = fake_suite
    assert cli.main(["run", "--params", str(params), "--out", str(out), "--notebooks", str(nbdir),
                     "--only", "01", "--quiet"]) == 0
    assert cli.main(["run", "--params", str(params), "--out", str(out), "--notebooks", str(nbdir),
                     "--quiet"]) == 1
    bad = params.with_name("bad.yaml")
    bad.write_text("gan: {epochs: zero}\n")
    assert cli.main(["run", "--params", str(bad), "--out", str(out), "--quiet"]) == 2
    assert "gan.epochs" in capsys.readouterr().err
    assert cli.main(["run", "--params", str(params), "--only", "42", "--quiet"]) == 2


def test_undeclared_parameter_is_an_error(fake_suite):
    nbdir, params, out = fake_suite
    _notebook(nbdir / "01_event_space.ipynb", "print(1)", ALL_PARAMS)  # section keys missing
    with pytest.raises(suite.ParamsError, match="does not declare"):
        suite.run_suite(params, out=out, notebooks_dir=nbdir, progress=False)
    assert not (out / "index.html").exists()  # nothing ran


def test_report_shows_no_stuck_progress_bar(tmp_path):
    """A tqdm bar enabled explicitly in a chapter (so TQDM_DISABLE does not hold it) is a
    finished bar or a one-line summary in the saved notebook and the HTML, never 0 %."""
    from thesislib.suite.params import CHAPTERS

    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    body = ("from tqdm.auto import tqdm\n"
            "for _ in tqdm(range(40), disable=False, desc='dlib features', unit='img'):\n    pass\n"
            "for _ in tqdm(range(5), disable=False, desc='epochs', leave=False):\n    pass\n"
            "for i in tqdm(range(9), disable=False, desc='early'):\n    if i == 3:\n        break\n"
            "import sys, tqdm.std\n"  # a bar drawn as text lands on stderr
            "for _ in tqdm.std.tqdm(range(6), disable=False, desc='text bar', file=sys.stderr):\n    pass\n"
            "print(f'saved to {out_dir}/data/x.csv')\n")
    from thesislib.suite.params import SECTIONS

    chapter = CHAPTERS[0]
    fields = "".join(f"{k} = None\n" for k in SECTIONS[chapter.section].model_fields)
    _notebook(nbdir / f"{chapter.stem}.ipynb", body, ALL_PARAMS + fields)
    params = suite.load_params(ROOT / "params" / "smoke.yaml")
    out = tmp_path / "out"
    out.mkdir()
    res = suite.run_chapter(chapter, params, out, nbdir, progress=False)
    assert res.status == "ok", res.error
    page = (out / res.html).read_text()
    saved = nbformat.read(out / res.notebook, as_version=4)
    text = "".join(o.get("text", "") for c in saved.cells if c.cell_type == "code" for o in c.outputs)
    stuck = re.compile(r"(?<!\d)0%\|")  # "  0%|", not "100%|"
    assert not stuck.search(page) and not stuck.search(text)
    assert "dlib features: 100%|##########| 40/40 [" in text and "dlib features: 100%" in page
    assert "epochs: 100%|##########| 5/5" in text
    assert "early: stopped at 3/9" in text  # the bar counts finished iterations
    assert "text bar: 100%|##########| 6/6" in text
    # finished bars read as plain text, not in the red box of stderr; no path of this machine
    assert not [o for c in saved.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    assert "saved to data/x.csv" in page and str(out.resolve()) not in page and str(out) not in page


def test_bar_line():
    from thesislib.report.bars import bar_line

    assert bar_line("a", 3, 3, "3/3 [00:01<00:00, 2.9it/s]") == "a: 100%|##########| 3/3 [00:01<00:00, 2.9it/s]"
    assert bar_line("a", 3, 3, "0/3 [00:00<?, ?it/s]") == "a: 100%|##########| 3/3"  # stale text dropped
    assert bar_line(None, 1, 3) == "stopped at 1/3"
    assert bar_line("a", 7, None) == "a: 7 done"
