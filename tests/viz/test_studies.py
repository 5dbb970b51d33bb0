"""Tests of thesislib.viz.studies: chapter 03-05 figures draw what they are given."""
import numpy as np
import pandas as pd

from thesislib import viz


def test_chapter_figures_draw_one_trace_per_row_group():
    fig = viz.ks_coefficient_figure({"a": np.full(6, 0.1), "b": np.full(6, 0.2)}, split=3)
    assert len(fig.data) == 2 and fig.layout.shapes[0].x0 == 2.5
    geometry = pd.DataFrame({"sampler": ["x", "x", "mean face"], "head": ["bprn", "ridge", "baseline"],
                             "vertex_mean_mm": [1.0, 1.5, 2.0], "vertex_low": [0.8, 1.2, 1.8],
                             "vertex_high": [1.2, 1.8, 2.2]}).set_index(["sampler", "head"])
    fig = viz.geometry_bars(geometry)
    assert [t.name for t in fig.data] == ["baseline", "bprn", "ridge"]
    lc = pd.DataFrame({"dataset": ["x", "x", "x", "y"], "n_images": [4, 8, 4, 4],
                       "head": ["bprn", "bprn", "mean face", "ridge"], "vertex_mean_mm": [2.0, 1.5, 3.0, 2.5],
                       "vertex_sem_mm": [0.1] * 4})
    fig = viz.learning_curve_figure(lc, ["y", "x"])
    assert [t.name for t in fig.data] == ["x (bprn)", "y (ridge)"]
    assert fig.data[1].line.color == "#636EFA"  # the first colour goes to the first dataset given
    curves = pd.DataFrame({"stem": ["s", "s"], "epoch": [1, 2], "val_loss": [2.0, 1.0], "train_loss": [1.0, 0.5]})
    assert len(viz.stem_curves_figure(curves, "t").data) == 2
    hist = {"x s0": pd.DataFrame({"epoch": [0, 1], "val_loss": [1.0, 0.5]})}
    assert viz.validation_curves(hist).data[0].name == "x s0"
    means = pd.DataFrame(np.zeros((2, 3)), index=["x s0", "truth"])
    assert list(viz.parameter_means_figure(means).data[0].y) == ["x s0", "truth"]
