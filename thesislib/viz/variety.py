"""Plotly figures of chapter 06 (data variety): distortion, distance quartiles, concept
scatter matrices, PCA panels, metrics against scores.

Importable from :mod:`thesislib.viz.figures` too.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


# --------------------------------------------------------------------------- chapter 06: data variety

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def distortion_figure(table, clusters, labels=None, highlight=()) -> "go.Figure":
    """k-means distortion against the number of clusters, one line per dataset (thesis Fig 6.6).

    Parameters
    ----------
    table : DataFrame with ``distortion_<k>`` columns, indexed by dataset
    clusters : the cluster counts (x axis)
    labels : optional {index: display name}
    highlight : datasets drawn thick; the others are thin
    """
    fig = go.Figure()
    for name, row in table.iterrows():
        thick = name in highlight
        fig.add_trace(go.Scatter(x=list(clusters), y=[row[f"distortion_{k}"] for k in clusters],
                                 mode="lines+markers", name=(labels or {}).get(name, str(name)),
                                 line=dict(width=3.5 if thick else 1.3), marker=dict(size=7 if thick else 4),
                                 opacity=1.0 if thick or not highlight else 0.55))
    fig.update_layout(title="k-means distortion by number of clusters (unit-variance-scaled parameters)",
                      xaxis_title="clusters", yaxis_title="mean distance to centroid", xaxis_type="log",
                      height=480, legend=dict(font=dict(size=10)))
    return fig


def quartile_figure(table, labels=None) -> "go.Figure":
    """Median and interquartile range of cosine and L2 pair distances per dataset (Table 6.5)."""
    from plotly.subplots import make_subplots

    names = [(labels or {}).get(i, str(i)) for i in table.index]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=("cosine distance", "L2 distance"))
    for col, short in ((1, "cos"), (2, "l2")):
        q1, q2, q3 = (table[f"{short}_q{i}"].to_numpy(float) for i in (1, 2, 3))
        fig.add_trace(go.Scatter(x=q2, y=names, mode="markers", marker=dict(size=8, color=PALETTE[col - 1]),
                                 error_x=dict(type="data", symmetric=False, array=q3 - q2, arrayminus=q2 - q1),
                                 showlegend=False, hovertemplate="%{y}: median %{x:.3f}<extra></extra>"),
                      row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title="distances between random pairs: median, first and third quartile",
                      height=max(320, 24 * len(names) + 120))
    return fig


def concept_matrix(Z, labels, n_components: int = 5, n_points: int = 1000, rng=None, title: str = "",
                   order=None) -> "go.Figure":
    """Scatter matrix of leading PCA components coloured by a label (thesis Figs 6.8-6.9).

    Above the diagonal: up to ``n_points`` random points; below it: the mean of each
    class; on the diagonal: one histogram per class.

    Parameters
    ----------
    Z : (n, >= n_components) PCA scores
    labels : (n,) class of each row (e.g. "female"/"male", age group)
    rng : numpy Generator choosing the points shown above the diagonal
    order : optional class order (legend and colours)
    """
    from plotly.subplots import make_subplots

    Z = np.asarray(Z, float)[:, :n_components]
    labels = np.asarray(labels).astype(str)
    k = Z.shape[1]
    classes = list(order) if order is not None else sorted(set(labels))
    rng = rng if rng is not None else np.random.default_rng(0)
    shown = rng.choice(len(Z), size=min(n_points, len(Z)), replace=False)
    fig = make_subplots(rows=k, cols=k, horizontal_spacing=0.02, vertical_spacing=0.02)
    for ci, cls in enumerate(classes):
        colour = PALETTE[ci % len(PALETTE)]
        rows = labels == cls
        sub = shown[rows[shown]]
        mean = Z[rows].mean(axis=0)
        for i in range(k):
            for j in range(k):
                common = dict(legendgroup=cls, name=cls, showlegend=(i == 0 and j == 1), marker_color=colour)
                if i < j:
                    trace = go.Scattergl(x=Z[sub, j], y=Z[sub, i], mode="markers", marker_size=3,
                                         opacity=0.5, hoverinfo="skip", **common)
                elif i > j:
                    trace = go.Scatter(x=[mean[j]], y=[mean[i]], mode="markers", marker_size=11,
                                       hovertemplate=f"{cls}: (%{{x:.2f}}, %{{y:.2f}})<extra></extra>", **common)
                else:
                    trace = go.Histogram(x=Z[rows, i], nbinsx=30, opacity=0.55, histnorm="probability density",
                                         hoverinfo="skip", **common)
                fig.add_trace(trace, row=i + 1, col=j + 1)
    for i in range(k):
        fig.update_xaxes(title_text=f"PC{i + 1}", row=k, col=i + 1)
        fig.update_yaxes(title_text=f"PC{i + 1}", row=i + 1, col=1)
    fig.update_layout(title=title, barmode="overlay", height=170 * k + 90, width=170 * k + 160,
                      margin=dict(l=50, r=10, t=60, b=40))
    return fig


def pca_panels(panels: dict, title: str = "", axis_titles=("PC1", "PC2"), order=None) -> "go.Figure":
    """Side-by-side scatters of the first two PCA scores, coloured by label (thesis Fig 6.10).

    Parameters
    ----------
    panels : {panel title: (Z (n, >= 2), labels (n,))}, all in the same PCA space
    """
    from plotly.subplots import make_subplots

    names = list(panels)
    fig = make_subplots(rows=1, cols=len(names), shared_xaxes="all", shared_yaxes="all",
                        subplot_titles=names, horizontal_spacing=0.03)
    classes = list(order) if order is not None else sorted({str(v) for _, lab in panels.values() for v in lab})
    for p, name in enumerate(names):
        Z, labels = panels[name]
        Z, labels = np.asarray(Z, float), np.asarray(labels).astype(str)
        for ci, cls in enumerate(classes):
            rows = labels == cls
            fig.add_trace(go.Scattergl(x=Z[rows, 0], y=Z[rows, 1], mode="markers", name=cls, legendgroup=cls,
                                       showlegend=p == 0, marker=dict(size=3, color=PALETTE[ci % len(PALETTE)]),
                                       opacity=0.45, hoverinfo="skip"), row=1, col=p + 1)
        fig.update_xaxes(title_text=axis_titles[0], row=1, col=p + 1)
    fig.update_yaxes(title_text=axis_titles[1], row=1, col=1)
    fig.update_layout(title=title, height=440, width=max(480, 400 * len(names)))
    return fig


def metric_score_figure(table, score, correlations, metrics, labels=None, cols: int = 4) -> "go.Figure":
    """One scatter per metric against a score, with Pearson r in each panel title.

    Parameters
    ----------
    table : metrics per dataset, indexed by sampler name
    score : pandas Series of scores per sampler (its name labels the y axis)
    correlations : DataFrame indexed by metric with columns ``r``, ``p``
    metrics : columns of ``table`` to plot
    """
    from plotly.subplots import make_subplots

    joined = table.join(score.rename("__score__"), how="inner")
    rows = int(np.ceil(len(metrics) / cols))
    titles = [f"{m}: r = {correlations.loc[m, 'r']:.2f} (p = {correlations.loc[m, 'p']:.2g})" for m in metrics]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.06,
                        vertical_spacing=0.12 if rows > 1 else 0.2)
    names = [(labels or {}).get(i, str(i)) for i in joined.index]
    for k, m in enumerate(metrics):
        fig.add_trace(go.Scatter(x=joined[m], y=joined["__score__"], mode="markers", text=names,
                                 marker=dict(size=8, color=PALETTE[0]), showlegend=False,
                                 hovertemplate="%{text}<br>%{x:.3f}, %{y:.3f}<extra></extra>"),
                      row=k // cols + 1, col=k % cols + 1)
    fig.update_yaxes(title_text=str(score.name), col=1)
    fig.update_annotations(font_size=11)
    fig.update_layout(title=f"dataset metrics against {score.name}", height=260 * rows + 80)
    return fig
