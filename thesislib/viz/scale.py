"""Chapter 07's figures: learning curves to 100k images per test set, and the thesis head's gap
to the ridge head against the training size (:mod:`thesislib.studies.scale`)."""
from __future__ import annotations

import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

_DASH = {"ridge": "dot", "thesis": "dash", "bprn": "solid"}
_HEAD_LABELS = {"ridge": "ridge head", "thesis": "thesis head alone", "bprn": "BPRN (head + linear path)"}


def scale_figure(table: pd.DataFrame, labels: dict | None = None) -> go.Figure:
    """One panel per test set: mean vertex error against training images (log axis) per sampler
    (colour) and head (line style: BPRN solid, thesis head dashed, ridge dotted), 95 % intervals
    over test faces; the model's mean face as a grey line (``table``: :func:`thesislib.studies.scale_table`)."""
    label = (lambda s: (labels or {}).get(s, s))
    sets = list(dict.fromkeys(table["test_set"]))
    nets = table[table["head"] != "baseline"]
    colours = dict(zip(dict.fromkeys(nets["sampler"]), plotly.colors.qualitative.Plotly))
    fig = make_subplots(rows=1, cols=len(sets), shared_yaxes=True, horizontal_spacing=0.03, subplot_titles=sets)
    for i, t in enumerate(sets, start=1):
        for (s, h), g in nets[nets["test_set"] == t].groupby(["sampler", "head"], sort=False):
            g = g.sort_values("n_images")
            fig.add_trace(go.Scatter(x=g["n_images"], y=g["vertex_mm"], mode="lines+markers",
                                     name=f"{label(s)}, {_HEAD_LABELS.get(h, h)}", legendgroup=f"{s}{h}",
                                     showlegend=i == 1, line=dict(color=colours[s], dash=_DASH.get(h, "solid")),
                                     error_y=dict(type="data", symmetric=False, array=g["hi"] - g["vertex_mm"],
                                                  arrayminus=g["vertex_mm"] - g["lo"], thickness=1),
                                     hovertemplate=f"{label(s)} ({h})<br>%{{x:,}} images: %{{y:.3f}} mm<extra></extra>"),
                          row=1, col=i)
        base = table[(table["test_set"] == t) & (table["head"] == "baseline")]
        for _, b in base.iterrows():
            fig.add_hline(y=b["vertex_mm"], line_color="grey", line_dash="dash", row=1, col=i,
                          annotation_text=label(b["sampler"]), annotation_position="top left")
    fig.update_xaxes(type="log", title="training images", tickvals=sorted(nets["n_images"].unique()))
    fig.update_yaxes(title="mean vertex error (mm)", col=1)
    fig.update_layout(title="learning curves to the thesis' scale (95 % intervals over test faces; one draw "
                            "per point)", height=520, legend_orientation="h", legend_y=-0.25)
    return fig


def head_gap_figure(gaps: pd.DataFrame, labels: dict | None = None, epochs: dict | None = None) -> go.Figure:
    """The thesis head's error minus the ridge head's (paired over test faces, 95 % intervals)
    against training images, one panel per test set; below zero the 3 x 200 head wins
    (``gaps``: :func:`thesislib.studies.head_gaps`). ``epochs`` (training images -> the most epochs
    a network trained there) labels each size with its epoch cap."""
    label = (lambda s: (labels or {}).get(s, s))
    sets = list(dict.fromkeys(gaps["test_set"]))
    colours = dict(zip(dict.fromkeys(gaps["sampler"]), plotly.colors.qualitative.Plotly))
    fig = make_subplots(rows=1, cols=len(sets), shared_yaxes=True, horizontal_spacing=0.03, subplot_titles=sets)
    for i, t in enumerate(sets, start=1):
        for s, g in gaps[gaps["test_set"] == t].groupby("sampler", sort=False):
            g = g.sort_values("n_images")
            fig.add_trace(go.Scatter(x=g["n_images"], y=g["gap_mm"], mode="lines+markers", name=label(s),
                                     legendgroup=s, showlegend=i == 1, line_color=colours[s],
                                     error_y=dict(type="data", symmetric=False, array=g["hi"] - g["gap_mm"],
                                                  arrayminus=g["gap_mm"] - g["lo"], thickness=1)), row=1, col=i)
        fig.add_hline(y=0, line_color="grey", row=1, col=i)
    sizes = sorted(gaps["n_images"].unique())
    text = [f"{n:,}" + (f"<br>{int(epochs[n])} epochs" if epochs and n in epochs else "") for n in sizes]
    fig.update_xaxes(type="log", title="training images", tickvals=sizes, ticktext=text)
    fig.update_yaxes(title="thesis head - ridge (mm)", col=1)
    fig.update_layout(title="does the 3 x 200 head beat ridge on the same features? (below 0: yes)", height=420,
                      legend_orientation="h", legend_y=-0.25)
    return fig
