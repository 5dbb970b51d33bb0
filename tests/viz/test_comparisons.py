"""Tests of thesislib.viz.comparisons: the pairwise matrix and per-sampler intervals draw their tables."""
import numpy as np
import pandas as pd
import pytest

from thesislib import viz
from thesislib.evaluation import pairwise_comparisons, sampler_intervals


def _errors(rng, faces=40):
    out = {}
    for test_set in ("held-out", "shifted"):
        face = rng.normal(0, 1, faces)
        out[test_set] = {name: 5 + mu + face + rng.normal(0, 0.05, (3, 1)) + rng.normal(0, 0.1, (3, faces))
                         for name, mu in (("gmm", 0.0), ("normal", 0.02), ("uniform", 1.0))}
        out[test_set]["mean face"] = (7 + face)[None]
    return out


def test_comparison_matrix_is_antisymmetric_and_marks_significance():
    errors = _errors(np.random.default_rng(0))
    table = pairwise_comparisons(errors, fixed=["mean face"])
    fig = viz.comparison_matrix(table, "shifted", "vertex_mm")
    heat = fig.data[0]
    assert list(heat.x) == list(heat.y) == ["gmm", "normal", "uniform", "mean face"]
    z = np.array(heat.z, dtype=float)
    assert np.isnan(np.diag(z)).all()
    np.testing.assert_allclose(z, -z.T)
    row = table[(table["test_set"] == "shifted") & (table["sampler_a"] == "gmm")
                & (table["sampler_b"] == "uniform")]
    assert z[0, 2] == pytest.approx(row["mean"].iloc[0])
    text = np.array(heat.text)
    assert text[0, 2].endswith("*</b>") and text[2, 0].startswith("<b>+")  # gmm clearly beats uniform
    assert "*" not in text[0, 1]  # gmm and normal are not separable
    assert heat.zmid == 0 and "Holm" in fig.layout.title.text
    custom = np.array(heat.customdata, dtype=float)
    assert custom[2, 0, 0] == pytest.approx(-row["high"].iloc[0])  # the flipped cell flips its interval
    with pytest.raises(ValueError, match="no comparison"):
        viz.comparison_matrix(table, "photos", "vertex_mm")


def test_sampler_intervals_figure_has_one_panel_per_test_set():
    errors = _errors(np.random.default_rng(1))
    table = sampler_intervals(errors, fixed=["mean face"])
    fig = viz.sampler_intervals_figure(table)
    assert [t.name for t in fig.data] == ["held-out", "shifted"]
    first = fig.data[0]
    assert list(first.y) == ["gmm", "normal", "uniform", "mean face"]
    assert list(first.marker.symbol) == ["circle", "circle", "circle", "diamond"]
    np.testing.assert_allclose(np.array(first.x) + np.array(first.error_x.array),
                               table[table["test_set"] == "held-out"]["high"])
    with pytest.raises(ValueError, match="say which"):
        viz.sampler_intervals_figure(pd.concat([table, table.assign(metric="albedo")]))
