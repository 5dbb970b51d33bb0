"""Plotly figures of the calibrated face-recognition judge (chapter 05): calibrated scores per
sampler with intervals, the judge's validation table, and a photo gallery input | best model |
mean face.

Each figure draws what :mod:`thesislib.evaluation.judges` and its tables computed; none
computes a result.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .variety import PALETTE

#: Marker of each rendering (frontal: the thesis' render; posed: like the input).
_SYMBOLS = {"frontal": "circle", "posed": "square"}


def calibrated_figure(summary: pd.DataFrame, value: str = "calibrated", title: str = "") -> go.Figure:
    """Each model's calibrated score with its interval, one panel per test set, one colour per rendering.

    0 is the mean face (dotted line), 1 the truth rendered the same way (dashed line). A fixed
    baseline (one prediction, no draws) is a diamond. Models are ordered by their score in the
    first rendering of the first test set.

    Parameters
    ----------
    summary : :func:`thesislib.evaluation.judge_summary` (columns ``test_set, rendering, sampler,
        fixed, draws, faces, <value>, <value>_low, <value>_high``; one judge)
    value : "calibrated" (default), "gain" (score minus the mean face's) or "score"
    title : figure title; the default says what 0 and 1 mean
    """
    from plotly.subplots import make_subplots

    if summary.empty:
        raise ValueError("the summary is empty")
    sets = list(dict.fromkeys(summary["test_set"]))
    renderings = list(dict.fromkeys(summary["rendering"]))
    first = summary[(summary["test_set"] == sets[0]) & (summary["rendering"] == renderings[0])]
    names = list(first.sort_values(value, ascending=False)["sampler"])
    names += [n for n in dict.fromkeys(summary["sampler"]) if n not in names]
    fig = make_subplots(rows=1, cols=len(sets), subplot_titles=sets, shared_yaxes=True, horizontal_spacing=0.04)
    for col, test_set in enumerate(sets, start=1):
        for k, rendering in enumerate(renderings):
            g = summary[(summary["test_set"] == test_set) & (summary["rendering"] == rendering)]
            if g.empty:
                continue
            low = g[f"{value}_low"] if f"{value}_low" in g else g[value] * np.nan
            high = g[f"{value}_high"] if f"{value}_high" in g else g[value] * np.nan
            fig.add_trace(go.Scatter(
                x=g[value], y=g["sampler"], mode="markers", name=rendering, legendgroup=rendering,
                showlegend=col == 1, offsetgroup=rendering,
                marker=dict(size=9, color=PALETTE[k % len(PALETTE)],
                            symbol=np.where(g["fixed"], "diamond", _SYMBOLS.get(rendering, "circle"))),
                error_x=dict(type="data", symmetric=False, array=(high - g[value]).fillna(0),
                             arrayminus=(g[value] - low).fillna(0)),
                customdata=np.column_stack([low, high, g["draws"], g["faces"]]).astype(float),
                hovertemplate=(f"%{{y}} ({rendering}): %{{x:.3f}} [%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}]"
                               "<br>%{customdata[2]} draws x %{customdata[3]} faces<extra></extra>")),
                row=1, col=col)
        if value == "calibrated":
            fig.add_vline(x=0, line_dash="dot", line_color="grey", row=1, col=col)
            fig.add_vline(x=1, line_dash="dash", line_color="grey", row=1, col=col)
        fig.update_xaxes(title_text=value, row=1, col=col)
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=names)
    fig.update_layout(
        height=200 + 30 * len(names), margin=dict(l=170), legend_title_text="rendering",
        title=title or ("face-recognition score, calibrated: 0 = the mean face, 1 = the true face rendered the same "
                        "way (interval: draws and faces; ◆ a fixed baseline)" if value == "calibrated" else
                        f"face-recognition {value} per model (interval: draws and faces; ◆ a fixed baseline)"))
    return fig


def judge_table_figure(validation: pd.DataFrame, title: str = "") -> go.Figure:
    """The judge's validation table (:func:`thesislib.evaluation.judge_validation`, ``data/05_judges.csv``)
    as a plotly table: one row per test set, judge and rendering; the agreement columns shaded
    from red (disagrees with geometry) to green (agrees)."""
    if validation.empty:
        raise ValueError("the validation table is empty")
    v = validation.reset_index(drop=True)

    def shade(x):
        x = float(np.clip(np.nan_to_num(x), -1, 1))
        return f"rgba({int(200 * max(-x, 0) + 255 * (1 - abs(x)))}, {int(180 * max(x, 0) + 255 * (1 - abs(x)))}, " \
               f"{int(255 * (1 - abs(x)))}, 0.55)"

    tau = [f"{t:.2f} [{lo:.2f}, {hi:.2f}]" for t, lo, hi in zip(v["kendall_tau"], v["tau_low"], v["tau_high"])]
    cells = [v["test_set"], v["judge"], v["rendering"], v["spearman_per_image"].map("{:.2f}".format), tau,
             v["oracle"].map("{:.4f}".format), v["mean_face"].map("{:.4f}".format),
             (v["oracle"] - v["mean_face"]).map("{:+.4f}".format)]
    white = ["white"] * len(v)
    colours = [white, white, white, [shade(x) for x in v["spearman_per_image"]], [shade(x) for x in v["kendall_tau"]],
               white, white, white]
    header = ["test set", "judge", "rendering", "Spearman per image", "Kendall τ [interval]", "oracle", "mean face",
              "oracle − mean face"]
    fig = go.Figure(go.Table(header=dict(values=[f"<b>{h}</b>" for h in header], align="left"),
                             cells=dict(values=cells, fill_color=colours, align="left")))
    fig.update_layout(
        height=120 + 30 * len(v), margin=dict(l=10, r=10, t=60, b=10),
        title=title or "does the judge agree with geometry? (+1: orders predictions as the vertex error does)")
    return fig


def judge_gallery_figure(gallery, title: str = "") -> go.Figure:
    """Photos beside the render of the best model's prediction and the mean face's, rendered as the
    judge saw them (:func:`thesislib.evaluation.judge_gallery`): input | best model | mean face,
    titled with each render's score."""
    from .figures import image_grid

    images, titles = [], []
    for i, name in enumerate(gallery.ids):
        images += [gallery.inputs[i], gallery.best[i], gallery.mean_face[i]]
        titles += [str(name), f"{gallery.model}: {gallery.best_scores[i]:.3f}", f"mean face: {gallery.mean_scores[i]:.3f}"]
    return image_grid(images, titles, cols=3, size=230, title=title or (
        f"input | {gallery.model} (best on these photos) | mean face, {gallery.rendering} renders, "
        "titled with the face-recognition score"))
