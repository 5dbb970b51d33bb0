"""Plotly figures of sampler comparisons (chapter 05): the pairwise difference matrix and
per-sampler means with their intervals and rank intervals.

Each figure draws a table that :func:`thesislib.evaluation.pairwise_comparisons` or
:func:`thesislib.evaluation.sampler_intervals` computed; none computes a result.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .variety import PALETTE


def comparison_matrix(table: pd.DataFrame, test_set: str, metric: str = "vertex_mm", alpha: float = 0.05,
                      title: str = "") -> go.Figure:
    """Heatmap of the pairwise mean differences of one test set and metric.

    Cell (row, column) is ``row - column`` (negative, blue: the row sampler has the lower error);
    the matrix is antisymmetric and its diagonal blank. A cell whose Holm-adjusted p-value is
    below ``alpha`` is bold and starred; the hover shows the interval and both p-values.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thesislib.evaluation.pairwise_comparisons` (columns ``test_set, metric, sampler_a,
        sampler_b, mean, low, high, p_value, p_adjusted``), e.g. ``data/05_comparisons.csv``.
    test_set, metric : str
        The rows to draw.
    alpha : float
        Significance threshold on ``p_adjusted``.
    title : str
        Figure title; the default says what a cell means.
    """
    rows = table[(table["test_set"] == test_set) & (table["metric"] == metric)]
    if rows.empty:
        raise ValueError(f"no comparison for test set {test_set!r} and metric {metric!r}; the table has "
                         f"{sorted(set(zip(table['test_set'], table['metric'])))}")
    names = list(dict.fromkeys(np.ravel(rows[["sampler_a", "sampler_b"]].to_numpy())))
    index = {n: i for i, n in enumerate(names)}
    k = len(names)
    z = np.full((k, k), np.nan)
    text = np.full((k, k), "", dtype=object)
    custom = np.full((k, k, 4), np.nan)
    for r in rows.itertuples(index=False):
        i, j = index[r.sampler_a], index[r.sampler_b]
        for (u, v), sign in (((i, j), 1.0), ((j, i), -1.0)):
            mean, low, high = sign * r.mean, *sorted((sign * r.low, sign * r.high))
            z[u, v] = mean
            custom[u, v] = (low, high, r.p_value, r.p_adjusted)
            text[u, v] = f"<b>{mean:+.2f}*</b>" if r.p_adjusted < alpha else f"{mean:+.2f}"
    bound = np.nanmax(np.abs(z)) if np.isfinite(z).any() else 1.0
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, text=text, texttemplate="%{text}", customdata=custom, colorscale="RdBu_r",
        zmid=0, zmin=-bound, zmax=bound, hoverongaps=False, colorbar=dict(title=f"Δ {metric}"),
        hovertemplate=("%{y} − %{x}: %{z:+.3f}<br>interval [%{customdata[0]:+.3f}, %{customdata[1]:+.3f}]"
                       "<br>p %{customdata[2]:.3g}, Holm-adjusted %{customdata[3]:.3g}<extra></extra>")))
    fig.update_layout(
        title=title or (f"{test_set}: row − column, {metric} (negative: the row has the lower error); "
                        f"* Holm-adjusted p < {alpha:g}"),
        xaxis_title="column sampler", yaxis_title="row sampler", yaxis_autorange="reversed",
        height=220 + 42 * k, width=max(520, 260 + 80 * k), margin=dict(l=140, b=120))
    fig.update_xaxes(tickangle=-35)
    return fig


def sampler_intervals_figure(table: pd.DataFrame, metric: str | None = None, title: str = "") -> go.Figure:
    """Each sampler's mean error with its interval, one panel per test set.

    A baseline with a single fixed prediction (``n_draws == 1``) is drawn as a diamond; the
    hover shows the rank and its interval.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`thesislib.evaluation.sampler_intervals` (columns ``test_set, metric, sampler, mean,
        low, high, n_draws, n_faces, rank, rank_low, rank_high``).
    metric : str or None
        The metric to draw; None if the table has only one.
    title : str
    """
    from plotly.subplots import make_subplots

    metrics = list(dict.fromkeys(table["metric"]))
    if metric is None:
        if len(metrics) != 1:
            raise ValueError(f"the table has metrics {metrics}: say which to draw")
        metric = metrics[0]
    rows = table[table["metric"] == metric]
    if rows.empty:
        raise ValueError(f"no row for metric {metric!r}; the table has {metrics}")
    sets = list(dict.fromkeys(rows["test_set"]))
    names = list(dict.fromkeys(rows["sampler"]))
    fig = make_subplots(rows=1, cols=len(sets), subplot_titles=sets, shared_yaxes=True, horizontal_spacing=0.04)
    for col, test_set in enumerate(sets, start=1):
        g = rows[rows["test_set"] == test_set]
        rank = [f"{r:g}" if lo == hi else f"{r:g} ({lo:g}–{hi:g})"
                for r, lo, hi in zip(g["rank"], g["rank_low"], g["rank_high"])]
        fig.add_trace(go.Scatter(
            x=g["mean"], y=g["sampler"], mode="markers", name=test_set, showlegend=False,
            marker=dict(size=9, color=PALETTE[(col - 1) % len(PALETTE)],
                        symbol=np.where(g["n_draws"] == 1, "diamond", "circle")),
            error_x=dict(type="data", symmetric=False, array=g["high"] - g["mean"], arrayminus=g["mean"] - g["low"]),
            customdata=np.column_stack([g["low"], g["high"], g["n_draws"], g["n_faces"]]).astype(float),
            text=rank,
            hovertemplate=("%{y}: %{x:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]<br>"
                           "%{customdata[2]} draws x %{customdata[3]} faces, rank %{text}<extra></extra>")),
            row=1, col=col)
        fig.update_xaxes(title_text=metric, row=1, col=col)
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=names)
    fig.update_layout(height=180 + 32 * len(names), margin=dict(l=160),
                      title=title or (f"mean {metric} per sampler with its interval (draws and faces counted; "
                                      "◆ a fixed baseline)"))
    return fig
