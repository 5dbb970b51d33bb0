"""Plotly figures of chapters 03 and 05: KS per coefficient, BPRN validation curves, vertex
errors with intervals, learning curves, stem curves and mean predictions per parameter.

Each figure draws a table or arrays that :mod:`thesislib.studies` or
:mod:`thesislib.evaluation` computed; none computes a result.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go


def ks_coefficient_figure(stats: dict, split: int | None = None) -> go.Figure:
    """KS statistic per coefficient, one line per sampler (``stats``: name -> (d,) array);
    a dotted line between shape and colour coefficients at ``split``."""
    fig = go.Figure([go.Scatter(x=np.arange(len(v)), y=v, mode="lines", name=k) for k, v in stats.items()])
    if split is not None:
        fig.add_vline(x=split - 0.5, line_dash="dot", line_color="grey", annotation_text="shape | color")
    fig.update_layout(title="KS statistic per coefficient", xaxis_title="coefficient", yaxis_title="KS statistic",
                      height=360)
    return fig


def validation_curves(histories: dict) -> go.Figure:
    """Validation loss per epoch of each trained BPRN (``histories``: label -> history table
    with ``epoch`` and ``val_loss``), log scale."""
    fig = go.Figure([go.Scatter(x=h["epoch"], y=h["val_loss"], mode="lines", name=name)
                     for name, h in histories.items()])
    fig.update_layout(title="validation loss (MSE on tanh-scaled parameters)", xaxis_title="epoch",
                      yaxis_title="loss", yaxis_type="log", height=420)
    return fig


def geometry_bars(geometry: pd.DataFrame) -> go.Figure:
    """Mean per-vertex error with its 95 % interval per sampler, one bar group per head, and
    the mean face as a dashed line (``geometry``: :func:`thesislib.evaluation.geometry_table`)."""
    heads = geometry.reset_index()
    fig = go.Figure()
    for head, part in heads.groupby("head"):
        fig.add_trace(go.Bar(x=part["sampler"], y=part["vertex_mean_mm"], name=head,
                             error_y=dict(type="data", symmetric=False,
                                          array=part["vertex_high"] - part["vertex_mean_mm"],
                                          arrayminus=part["vertex_mean_mm"] - part["vertex_low"])))
    fig.add_hline(y=geometry.loc[("mean face", "baseline")].vertex_mean_mm, line_dash="dash",
                  annotation_text="mean face")
    fig.update_layout(title="mean per-vertex error after rigid alignment (mm, lower is better; 95 % CI)",
                      yaxis_title="mm", barmode="group", height=420)
    return fig


def learning_curve_figure(lc: pd.DataFrame, datasets=None) -> go.Figure:
    """Vertex error against training images per dataset (colour) and head (lines: heads trained at
    every size; single points: diamond BPRN, x thesis head alone), the mean face dashed (``lc``: :func:`thesislib.studies.learning_curve`);
    ``datasets`` gives the order of the colours (default: as they appear in ``lc``)."""
    fig = go.Figure()
    palette = dict(zip(datasets or dict.fromkeys(lc["dataset"]), plotly.colors.qualitative.Plotly))
    for (name, head), part in lc[lc["head"] != "mean face"].groupby(["dataset", "head"]):
        curve = part.n_images.nunique() > 1
        fig.add_trace(go.Scatter(x=part.n_images, y=part.vertex_mean_mm, error_y=dict(array=part.vertex_sem_mm),
                                 name=f"{name} ({head})", legendgroup=name,
                                 mode="lines+markers" if curve else "markers",
                                 marker_symbol={"thesis": "x", "bprn": "diamond"}.get(head, "circle"),
                                 line=dict(color=palette[name], dash="solid" if head in ("ridge", "bprn") else "dot")))
    fig.add_hline(y=float(lc.loc[lc["head"] == "mean face", "vertex_mean_mm"].iloc[0]), line_dash="dash",
                  annotation_text="mean face")
    fig.update_layout(title="learning curves: vertex error vs training images (lines: a head at every size; "
                            "diamond: BPRN, x: thesis head alone)",
                      xaxis=dict(type="log", tickvals=sorted(lc.n_images.unique()), title="training images"),
                      yaxis_title="mean vertex error (mm)", height=460)
    return fig


def stem_curves_figure(curves: pd.DataFrame, title: str) -> go.Figure:
    """Validation (solid) and training (dotted) loss per epoch of each stem
    (``curves``: :func:`thesislib.studies.stem_experiment`)."""
    fig = go.Figure()
    for stem, g in curves.groupby("stem"):
        fig.add_trace(go.Scatter(x=g.epoch, y=g.val_loss, name=f"{stem} (validation)"))
        fig.add_trace(go.Scatter(x=g.epoch, y=g.train_loss, name=f"{stem} (training)", line_dash="dot"))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="MSE", yaxis_type="log", height=400)
    return fig


def parameter_means_figure(means: pd.DataFrame) -> go.Figure:
    """Heatmap of the mean predicted value per parameter (columns) per model (rows), thesis Fig 6.14."""
    labels = [" s".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in means.index]
    fig = go.Figure(go.Heatmap(z=means.values, y=labels, colorscale="RdBu", zmid=0))
    fig.update_layout(title="mean predicted value per parameter (sd units)", xaxis_title="parameter", height=420)
    return fig


def prediction_gallery(test, evaluations, truth=None, n: int = 4) -> go.Figure:
    """The first ``n`` test images beside each model's prediction (and its score) and, when
    ``truth`` renders are given, the render of the true parameters.

    Parameters
    ----------
    test : the test set (``images``)
    evaluations : (model name, Evaluation on ``test``) pairs, best first, worst last
    truth : renders of the true parameters of the first ``n`` faces, or None
    """
    from .figures import image_grid

    rows, titles = [], []
    for name, e in evaluations:
        for i in range(n):
            rows += [test.images[i], e.renders[i]] + ([truth[i]] if truth is not None else [])
            titles += [f"{name}: input", f"prediction {e.per_image.score.iloc[i]:.2f}"] + \
                (["truth"] if truth is not None else [])
    names = [name for name, _ in evaluations]
    return image_grid(rows, titles, cols=6 if truth is not None else 4, size=130,
                      title=f"best ({names[0]}) and worst ({names[-1]}) model by score: input | prediction | truth")


def photo_gallery(photos, evaluation, similarity: pd.DataFrame, model_name: str) -> go.Figure:
    """Each photo beside the render of one model's prediction, titled with its score and the
    mean face's (``similarity``: photos x models, with a ``"mean face"`` column)."""
    from .figures import image_grid

    rows, titles = [], []
    for i, pid in enumerate(photos.ids):
        rows += [photos.images[i], evaluation.renders[i]]
        titles += [str(pid), f"{similarity.loc[pid, model_name]:.2f} (mean face {similarity.loc[pid, 'mean face']:.2f})"]
    return image_grid(rows, titles, cols=4, size=230,
                      title=f"input | render of the prediction of {model_name}, the best model on these photos")


def age_sex_grid(gan, model, z, ages, sexes, title: str = "") -> go.Figure:
    """Renders of one latent vector ``z`` of a conditional GAN, ages across and sexes down
    (``model``: truncated MorphableModel; its n_shape/n_color decide the parameter layout)."""
    from .figures import face_images, labelled_grid

    grid = [face_images(model, gan.generate(np.tile(z, (len(ages), 1)), ages, np.full(len(ages), s)))
            for s in sexes]
    return labelled_grid(grid, [f"sex {s:.2f}" for s in sexes], [f"{a:.0f} y" for a in ages], title=title)


def update_times(explorer, ages, sexes) -> dict:
    """Time an age/sex explorer's updates: a sweep of the age slider, then of the sex slider,
    then a new face. Returns ``median`` and ``max`` in ms and ``n`` updates."""
    times = [explorer.set(age=a) for a in ages] + [explorer.set(sex=s) for s in sexes]
    explorer.new_face()
    times.append(explorer.last_update_seconds)
    return dict(median=1000 * float(np.median(times)), max=1000 * float(np.max(times)), n=len(times))
