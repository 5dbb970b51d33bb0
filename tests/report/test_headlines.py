"""Chapter headlines from data files, report pages and figure thumbnails."""
import base64
import io
import json
import os
import time

import nbformat
import numpy as np
import pandas as pd
import pytest

from thesislib.report import headlines as R
from thesislib.report import pages as P
from thesislib.suite.params import parse_params
from thesislib.report.thumbnail import decode_array, figure_thumbnail
from thesislib.report import notebook_thumbnail
from thesislib.suite import output_names, output_path


def _write(out, chapter, key, frame_or_dict, **fields):
    path = output_path(out, chapter, key, **fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frame_or_dict, pd.DataFrame):
        frame_or_dict.to_csv(path, index=False)
    else:
        path.write_text(json.dumps(frame_or_dict))
    return path


@pytest.fixture
def run(tmp_path):
    """An output folder with the data files each chapter writes (columns as the notebooks write them)."""
    out = tmp_path / "out"
    _write(out, "01", "validity", pd.DataFrame({
        "sampler": ["N(0, 0.5)", "N(0, 1.0)", "N(0, 2.0)", "U(-2.0, 2.0)", "U(-4.0, 4.0)", "reference population"],
        "median_distance": [3.1, 6.3, 12.4, 7.3, 14.0, 6.0], "valid_fraction": [1.0, 0.953, 0.0, 0.74, 0.0, 1.0]}))
    _write(out, "02", "samplers", pd.DataFrame({
        "sampler": ["naive_normal_1", "naive_uniform_4", "fitted_normal"],
        "label": ["naive normal σ 1", "naive uniform 4", "normal μ, σ fitted"], "median_norm": [6.25, 14.7, 7.08],
        "mean_abs": [0.8, 2.0, 0.9], "std": [1.0, 2.3, 1.1], "per_face_std": [1, 2, 1], "max_abs": [4.5, 4.0, 4.4],
        "valid_fraction": [0.97, 0.0, 0.99]}))
    _write(out, "02", "dataset_card", {"counts": {"n_images": 100}, "elapsed_s": 12.3},
           sampler="naive_normal_1")
    ks = pd.DataFrame({"sampler": ["GMM 1 (diag)", "GMM 3 (diag)", "Gaussian copula", "naive normal σ 1"],
                       "kind": ["GMM", "GMM", "copula", "baseline"], "chosen": [False, True, False, False],
                       "ks_sum": [4.72, 4.91, 4.65, 8.40], "mean_p": [0.47, 0.41, 0.51, 0.19],
                       "ks_sex_axis": [0.25, 0.17, 0.17, 0.4], "valid_fraction": [0.99, 1.0, 1.0, 0.97]})
    _write(out, "03", "ks", ks)
    _write(out, "03", "summary", {"best": {"n_components": 3, "covariance_type": "diag", "criterion": "bic"},
                                        "n_fit": 225, "n_held_out": 75})
    _write(out, "04", "ks", ks)
    variant = dict(epochs=2, seconds=2.3, gan_sex_accuracy=0.625, gan_age_mae=17.74, real_sex_accuracy=0.982,
                   real_age_mae=7.0, ks_sum=17.03)
    _write(out, "04", "metrics", {"variants": {"cvgan2": variant, "cvgan1": {**variant, "ks_sum": 20.0}}})
    _write(out, "05", "geometry", pd.DataFrame({
        "test_set": ["held-out"] * 4 + ["shifted"] * 2,
        "sampler": ["naive_normal_1", "naive_normal_1", "model mean face", "naive_uniform_4", "naive_uniform_4",
                    "naive_normal_1"],
        "head": ["bprn", "ridge", "baseline", "bprn", "bprn", "bprn"], "draws": [3, 3, 1, 3, 3, 3],
        "faces": [40] * 6, "vertex_mm": [4.2345, 4.60, 4.89, 5.76, 5.1, 5.3], "vertex_low": [3.70, 3.6, 3.8, 5.2, 4.9, 5.0],
        "vertex_high": [4.86, 5.8, 5.98, 6.3, 5.3, 5.6]}))
    _write(out, "05", "comparisons", pd.DataFrame({
        "test_set": ["held-out", "held-out", "shifted"], "metric": ["vertex_mm", "albedo", "vertex_mm"],
        "sampler_a": ["naive_normal_1"] * 3, "sampler_b": ["naive_uniform_4"] * 3, "mean": [-1.5, 0.1, 0.2],
        "low": [-2.0, -0.1, -0.1], "high": [-1.0, 0.3, 0.5], "p_value": [0.001, 0.3, 0.2],
        "p_adjusted": [0.001, 0.3, 0.2]}))
    _write(out, "06", "variety", pd.DataFrame({
        "sampler": ["fitted_set", "naive_normal_1", "gmm"], "dataset": ["fitted set", "naive normal σ 1", "GMM 2 (full)"],
        "ks_sum": [4.6, 8.5, 4.59], "distortion_drop": [0.24, 0.18, 0.25], "valid_fraction": [1.0, 0.96, 1.0]}))
    return out


def test_each_chapter_headline_comes_from_its_files(run):
    params = parse_params({"profile": "unit", "bprn": {"faces": 50, "images_per_face": 2, "draws": 3}})
    heads = {c: R.chapter_headline(c, run, params, files=output_names(c)) for c in ("01", "02", "03", "04", "05", "06")}
    assert all(h is not None and h.profile == "unit" for h in heads.values()), heads
    assert heads["01"].value == "95 %" and "N(0, 1.0)" in heads["01"].label
    assert heads["02"].value == "99 %" and "normal μ, σ fitted" in heads["02"].label
    assert ("training dataset", "100 images of naive normal σ 1 in 12 s") in heads["02"].rows
    assert heads["03"].value == "4.91" and "GMM 3 (diag)" in heads["03"].label and "BIC" in heads["03"].label
    assert heads["04"].value == "62 %" and "CVGAN2" in heads["04"].label  # lowest KS sum of the two variants
    h5 = heads["05"]
    assert h5.value == "4.23 mm" and "naive normal σ 1" in h5.label and "3.70–4.86" in h5.label and "3 draws" in h5.label
    assert "1 of 1 sampler pairs differ" in h5.sentence and "model mean face 4.89 mm" in h5.sentence
    assert ("shifted: best / worst", "naive uniform 4 5.10 mm, naive normal σ 1 5.30 mm") in h5.rows
    assert ("profile", "unit: 100 renders per draw, 3 draws per sampler, 40 faces per test set, stem facemesh") in h5.rows
    assert h5.sources == ("data/05_geometry.csv", "data/05_comparisons.csv")
    assert heads["06"].value == "4.59" and "GMM 2 (full)" in heads["06"].label and "2 datasets" in heads["06"].label


def test_headline_ignores_stale_or_missing_files(run):
    old = time.time() - 3600
    os.utime(output_path(run, "05", "geometry"), (old, old))
    assert R.chapter_headline("05", run, since=time.time(), files=output_names("05")) is None  # an earlier run's numbers
    assert R.chapter_headline("05", run, since=old - 10, files=output_names("05")) is not None
    output_path(run, "01", "validity").unlink()
    assert R.chapter_headline("01", run, files=output_names("01")) is None
    assert R.chapter_headline("99", run, files={}) is None
    assert R.chapter_headline("05", run) is None  # no file names given: no headline


def test_headline_round_trip_and_html(run, tmp_path):
    h = R.chapter_headline("05", run, files=output_names("05"))
    R.write_headline(h, run)
    assert R.read_headline(run, "05") == h
    assert R.read_headline(tmp_path, "05") is None
    box = R.Headline("01", "<1 mm", "a & b", "s", (("x", "<y>"),), "p", ("data/a.csv",))
    page = R.headline_html(box)
    assert "&lt;1 mm" in page and "a &amp; b" in page and "&lt;y&gt;" in page and "\n\n" not in page


def _chapter_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 05 · Title\n\nThe introduction."),
                nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("## Section")]
    return nb


def test_insert_headline_goes_under_the_title_once():
    nb = _chapter_notebook()
    P.insert_headline(nb, "<div>box</div>")
    P.insert_headline(nb, "<div>box 2</div>")
    sources = [c.source for c in nb.cells]
    assert sources[0] == "# 05 · Title" and sources[1] == "<div>box 2</div>\n" + P.CONTENTS_MARK
    assert sources[2] == "The introduction." and sources[3] == "x = 1" and len(nb.cells) == 5
    assert nb.cells[1].metadata["tags"] == [P.HEADLINE_TAG]
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    P.insert_headline(bare, None)
    assert bare.cells[0].source == P.CONTENTS_MARK


def test_static_outputs_replace_widgets_and_json_trees():
    nb = _chapter_notebook()
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2},
            "text/plain": "VBox(children=(HBox(children=(FloatSlider(value=35.0),)),))"}
    nb.cells[1].outputs = [nbformat.v4.new_output("display_data", data=view),
                           nbformat.v4.new_output("display_data", data={"application/json": {"a": 1, "b": {"c": 0.5}},
                                                                        "text/plain": "<IPython.core.display.JSON object>"}),
                           nbformat.v4.new_output("stream", name="stdout", text="kept\n")]
    assert P.static_outputs(nb) == 2
    first, second, third = nb.cells[1].outputs
    assert P.WIDGET_NOTE in first.data["text/html"] and "VBox" not in json.dumps(first)
    assert "<table" in second.data["text/html"] and "IPython" not in json.dumps(second)
    assert third.text == "kept\n"


def test_contents_and_nav():
    page = ('<main><h1 id="T">T<a class="anchor-link" href="#T">¶</a></h1>' + P.CONTENTS_MARK
            + '<h2 id="A-b">A <code>b</code><a class="anchor-link" href="#A-b">¶</a></h2>'
            + '<h3 id="sub">sub<a class="anchor-link" href="#sub">¶</a></h3>'
            + '<h2 id="C">C &amp; D<a class="anchor-link" href="#C">¶</a></h2></main>')
    assert P.section_headings(page) == [(2, "A b", "#A-b"), (3, "sub", "#sub"), (2, "C & D", "#C")]
    done = P.add_contents(page)
    assert P.CONTENTS_MARK not in done and done.index("thesislib-toc") < done.index('id="A-b"')
    assert '<a href="#A-b">A b</a>' in done and '<a href="#C">C &amp; D</a>' in done
    assert done.count("<ol>") == done.count("</ol>") == 2
    assert P.add_contents("<main>x</main>") == "<main>x</main>"
    nav = P.nav_html(None, ("06_x.html", "06 · x"))
    assert 'href="06_x.html" rel="next"' in nav and 'href="index.html"' in nav and 'rel="prev"' not in nav


def _png(color, size=(20, 30)):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_thumbnails_draw_each_kind_of_trace():
    typed = {"dtype": "f8", "bdata": base64.b64encode(np.array([1.0, 3.0, 2.0, 4.0]).tobytes()).decode(), "shape": "2, 2"}
    np.testing.assert_array_equal(decode_array(typed), [[1, 3], [2, 4]])
    figures = {
        "image": {"data": [{"type": "image", "source": _png("red")}], "layout": {}},
        "heatmap": {"data": [{"type": "heatmap", "z": typed}], "layout": {}},
        "bar": {"data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2], "marker": {"color": "#00ff00"}}], "layout": {}},
        "scatter": {"data": [{"type": "scatter", "x": [1, 10, 100], "y": [3, 1, 2], "mode": "lines"}],
                    "layout": {"xaxis": {"type": "log"}}},
    }
    for kind, fig in figures.items():
        img = np.asarray(figure_thumbnail(fig, (60, 40)))
        assert img.shape == (40, 60, 3) and img.std() > 5, kind
    red = np.asarray(figure_thumbnail(figures["image"], (60, 40)))
    assert (red[20, 30] == [255, 0, 0]).all()
    assert figure_thumbnail({"data": [{"type": "pie", "values": [1]}], "layout": {}}) is None
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json": {
        **fig, "layout": {"title": {"text": t}}}}) for t, fig in (("first", figures["bar"]), ("the main one", figures["image"]))]
    nb.cells = [cell]
    main = np.asarray(notebook_thumbnail(nb, r"main", (60, 40)))
    assert (main[20, 30] == [255, 0, 0]).all()
    assert notebook_thumbnail(nbformat.v4.new_notebook(), "x") is None
