"""The suite runner: a failing notebook is reported, not hidden; dependents are skipped."""
import json
import re
from pathlib import Path

import nbformat
import pytest

from thesislib import cli, suite

ROOT = Path(__file__).resolve().parents[1]


def _notebook(path, body, params="seed: int = 0\nprofile: str = 'x'\n"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


ALL_PARAMS = ("profile: str = 'x'\nseed: int = 0\nout_dir: str = '.'\nmodel: dict = {}\n"
              "data: dict = {}\npopulation: dict = {}\n")


@pytest.fixture
def fake_suite(tmp_path):
    """Notebooks 01 (ok, draws a plotly figure), 02 (raises), 05 (depends on 02)."""
    from thesislib.params import SECTIONS, CHAPTERS

    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    bodies = {"01": "import plotly.graph_objects as go, plotly.io as pio\n"
                    "pio.renderers.default = 'plotly_mimetype+notebook'\n"
                    "go.Figure(go.Scatter(y=[1, 3, 2])).show()\nprint('chapter one ran')",
              "02": "raise RuntimeError('deliberate failure in chapter two')",
              "05": "print('should not run')"}
    for c in CHAPTERS:
        if c.number in bodies:
            fields = "".join(f"{k} = None\n" for k in SECTIONS[c.section].model_fields)
            _notebook(nbdir / f"{c.stem}.ipynb", bodies[c.number], ALL_PARAMS + fields)
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
    from thesislib.params import CHAPTERS

    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    body = ("from tqdm.auto import tqdm\n"
            "for _ in tqdm(range(40), disable=False, desc='dlib features', unit='img'):\n    pass\n"
            "for _ in tqdm(range(5), disable=False, desc='epochs', leave=False):\n    pass\n"
            "for i in tqdm(range(9), disable=False, desc='early'):\n    if i == 3:\n        break\n")
    from thesislib.params import SECTIONS

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


def test_bar_line():
    from thesislib.report_bars import bar_line

    assert bar_line("a", 3, 3, "3/3 [00:01<00:00, 2.9it/s]") == "a: 100%|##########| 3/3 [00:01<00:00, 2.9it/s]"
    assert bar_line("a", 3, 3, "0/3 [00:00<?, ?it/s]") == "a: 100%|##########| 3/3"  # stale text dropped
    assert bar_line(None, 1, 3) == "stopped at 1/3"
    assert bar_line("a", 7, None) == "a: 7 done"
