"""Chapter 05's study figures: errors per test set with intervals that count draws and faces,
and the decomposition of each sampler's gain over N(0, 1) (:mod:`thesislib.studies.replicates`)."""
from __future__ import annotations

import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

_HEADS = {"bprn": ("BPRN", "#1f77b4"), "ridge": ("ridge head", "#aec7e8")}


def study_geometry_figure(summary: pd.DataFrame, metric: str = "vertex") -> go.Figure:
    """One panel per test set: each sampler's mean error (BPRN and ridge head) with its 95 %
    interval over draws and faces; the baselines (one fixed prediction each) in grey below.

    Parameters
    ----------
    summary : :func:`thesislib.studies.geometry_summary`
    metric : "vertex" (mm) or "albedo"
    """
    col, lo, hi = ("vertex_mm", "vertex_low", "vertex_high") if metric == "vertex" else \
        ("albedo", "albedo_low", "albedo_high")
    sets = list(dict.fromkeys(summary["test_set"]))
    nets, base = summary[summary["head"] == "bprn"], summary[summary["head"] == "baseline"]
    order = list(dict.fromkeys(base["sampler"])) + \
        list(nets.groupby("sampler", sort=False)[col].mean().sort_values(ascending=False).index)
    fig = make_subplots(rows=1, cols=len(sets), shared_yaxes=True, horizontal_spacing=0.02,
                        subplot_titles=[f"{t} ({int(summary[summary.test_set == t].faces.max())} faces)" for t in sets])
    heads = {**_HEADS, "baseline": ("baseline", "grey")}
    for i, t in enumerate(sets, start=1):
        part = summary[summary["test_set"] == t]
        for head, (label, colour) in heads.items():
            h = part[part["head"] == head].set_index("sampler").reindex(order).dropna(subset=[col])
            offset = {"bprn": 0.15, "ridge": -0.15}.get(head, 0.0)
            fig.add_trace(go.Scatter(y=[order.index(s) + offset for s in h.index], x=h[col], mode="markers",
                                     name=label, legendgroup=head, showlegend=i == 1,
                                     marker=dict(color=colour, size=9, symbol="diamond" if head == "ridge" else "circle"),
                                     error_x=dict(type="data", symmetric=False, array=h[hi] - h[col],
                                                  arrayminus=h[col] - h[lo], color=colour),
                                     text=list(h.index),
                                     hovertemplate="%{text}: %{x:.3f}<extra>" + label + "</extra>"), row=1, col=i)
        fig.add_hline(y=len(base["sampler"].unique()) - 0.5, line_color="lightgrey", row=1, col=i)
    fig.update_yaxes(tickvals=list(range(len(order))), ticktext=order)
    draws = int(nets["draws"].max()) if len(nets) else 0
    what = "mean per-vertex error (mm)" if metric == "vertex" else "albedo error (RGB 0-255)"
    fig.update_layout(title=f"{what} by test set; 95 % intervals over {draws} draws and the faces",
                      height=140 + 30 * max(len(order), 3), legend_orientation="h", legend_y=-0.12)
    return fig


def decomposition_figure(dec: pd.DataFrame) -> go.Figure:
    """What each step from N(0, 1) towards a learned sampler gains, per test set: bars with
    95 % intervals (``dec``: :func:`thesislib.studies.decomposition`; positive helps)."""
    fig = go.Figure()
    palette = plotly.colors.qualitative.Set2
    for k, (t, part) in enumerate(dec.groupby("test_set", sort=False)):
        fig.add_trace(go.Bar(x=[f"{s}<br><sub>{a} → {b}</sub>" for s, a, b in
                                zip(part.step, part.from_sampler, part.to_sampler)],
                             y=part.gain, name=t, marker_color=palette[k % len(palette)],
                             error_y=dict(type="data", symmetric=False, array=part.high - part.gain,
                                          arrayminus=part.gain - part.low),
                             customdata=part.p_value,
                             hovertemplate="%{x}: %{y:.3f} mm, p %{customdata:.2g}<extra>" + t + "</extra>"))
    fig.add_hline(y=0, line_color="black", line_width=1)
    span = float(dec["gain"].abs().max()) if len(dec) else 1.0
    wide = ((dec["high"] - dec["low"]) > 8 * max(span, 1e-9)).any()  # a 2-draw interval can be huge
    fig.update_layout(title="why a sampler wins: the vertex error each step removes (mm; positive helps)"
                            + ("<br><sub>some intervals run off the axis (few draws)</sub>" if wide else ""),
                      yaxis=dict(title="gain in vertex error (mm)", range=[-4 * span, 4 * span] if wide else None),
                      barmode="group", height=460)
    return fig
