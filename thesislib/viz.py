"""Plotly figures for the notebooks: faces in 3D, renders, spectra, static sliders.

Every figure here is a plain ``plotly.graph_objects.Figure`` that works in
JupyterLab and in the exported offline HTML (call :func:`setup_notebook`
once per notebook). Live widgets (:mod:`thesislib.widgets`) get a static twin
here: image frames switched by a plotly slider, which need no kernel.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

FACE_CAMERA = dict(eye=dict(x=0.0, y=0.0, z=2.0), up=dict(x=0, y=1, z=0))


def setup_notebook() -> None:
    """Plotly output that shows in JupyterLab and stays interactive in offline HTML."""
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype+notebook"


def png_uri(image: np.ndarray) -> str:
    """A data URI of an (H, W, 3) uint8 image, PNG encoded."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=3)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


_HEX = np.array([f"{i:02x}" for i in range(256)])


def vertex_color_strings(colors) -> list:
    """(N, 3) colours in 0..1 -> N ``#rrggbb`` strings, as plotly's vertexcolor wants."""
    rgb = np.clip(np.asarray(colors) * 255 + 0.5, 0, 255).astype(np.uint8)
    return np.char.add(np.char.add(np.char.add("#", _HEX[rgb[:, 0]]), _HEX[rgb[:, 1]]), _HEX[rgb[:, 2]]).tolist()


def mesh_trace(mesh, name: str = "face") -> go.Mesh3d:
    """A Mesh3d trace with vertex colours (float32 coordinates, int32 faces)."""
    v = np.asarray(mesh.vertices, np.float32)
    t = np.asarray(mesh.triangles, np.int32)
    return go.Mesh3d(x=v[:, 0], y=v[:, 1], z=v[:, 2], i=t[:, 0], j=t[:, 1], k=t[:, 2],
                     vertexcolor=vertex_color_strings(mesh.colors), name=name, flatshading=False, hoverinfo="skip",
                     lighting=dict(ambient=0.55, diffuse=0.6, specular=0.05, roughness=0.9),
                     lightposition=dict(x=0, y=100, z=1000))


def mesh_figure(mesh, title: str = "", height: int = 520) -> go.Figure:
    """A rotatable 3D view of one face, seen from the front."""
    fig = go.Figure(mesh_trace(mesh))
    fig.update_layout(title=title, height=height, margin=dict(l=0, r=0, t=40 if title else 0, b=0),
                      scene=dict(aspectmode="data", camera=FACE_CAMERA, xaxis_visible=False,
                                 yaxis_visible=False, zaxis_visible=False))
    return fig


def image_grid(images, titles=None, cols: int = 6, title: str = "", size: int = 170) -> go.Figure:
    """A grid of (H, W, 3) uint8 images with optional titles."""
    from plotly.subplots import make_subplots

    images = list(images)
    cols = max(1, min(cols, len(images)))
    rows = int(np.ceil(len(images) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.01,
                        vertical_spacing=0.06 if titles else 0.01)
    for i, img in enumerate(images):
        fig.add_trace(go.Image(source=png_uri(img), hoverinfo="skip"), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=rows * size + (60 if title else 20), width=cols * size + 40,
                      margin=dict(l=10, r=10, t=50 if title else 10, b=10))
    return fig


def spectrum_figure(model, threshold: float = 0.95) -> go.Figure:
    """Cumulative explained variance per part, with the component count reaching ``threshold``."""
    fig = go.Figure()
    for part, colour in (("shape", "#1f77b4"), ("color", "#d62728"), ("expression", "#2ca02c")):
        var = np.asarray(getattr(model, part).variance, float)
        if var.size == 0:
            continue
        cum = np.cumsum(var) / var.sum()
        k = int(np.searchsorted(cum, threshold - 1e-12) + 1)
        fig.add_trace(go.Scatter(x=np.arange(1, var.size + 1), y=cum, name=f"{part} ({k} for {threshold:.0%})",
                                 line=dict(color=colour)))
        fig.add_trace(go.Scatter(x=[k], y=[cum[k - 1]], mode="markers+text", text=[str(k)],
                                 textposition="bottom right", marker=dict(color=colour, size=9),
                                 showlegend=False))
    fig.add_hline(y=threshold, line_dash="dot", line_color="grey")
    fig.update_layout(title="Cumulative explained variance of the model's PCA parts",
                      xaxis_title="number of components", yaxis_title="explained variance",
                      yaxis_range=[0, 1.02], height=420)
    return fig


def slider_figure(frames: dict, title: str = "", label: str = "value", groups: dict | None = None) -> go.Figure:
    """Static twin of a live slider: images switched by a plotly slider, no kernel needed.

    Parameters
    ----------
    frames : {step label: (H, W, 3) uint8 image}, in slider order
    groups : optional {group name: {step label: image}}; adds a dropdown that swaps the
        slider's steps to that group's images (e.g. one group per PCA component)
    """
    if groups is None:
        groups = {"": frames}
    names = list(groups)
    uris = {g: [(lab, png_uri(img)) for lab, img in groups[g].items()] for g in names}

    def slider(g):
        steps = [dict(method="restyle", label=str(lab), args=[{"source": [uri]}]) for lab, uri in uris[g]]
        return dict(active=len(steps) // 2, steps=steps, currentvalue=dict(prefix=f"{g} {label}: ".lstrip()),
                    pad=dict(t=30))

    first = names[0]
    fig = go.Figure(go.Image(source=uris[first][len(uris[first]) // 2][1], hoverinfo="skip"))
    menu = len(names) > 1
    # title at the top of the figure, the group menu between it and the image (clear of
    # plotly's toolbar at the top right)
    layout = dict(title=dict(text=title, y=0.98, yref="container", yanchor="top"),
                  sliders=[slider(first)], height=470 if menu else 430, width=420,
                  margin=dict(l=10, r=10, t=100 if menu else 60, b=10))
    if menu:
        layout["updatemenus"] = [dict(
            type="dropdown", x=0.0, y=1.02, xanchor="left", yanchor="bottom", showactive=True,
            buttons=[dict(label=g, method="update",
                          args=[{"source": [uris[g][len(uris[g]) // 2][1]]}, {"sliders": [slider(g)]}])
                     for g in names])]
    fig.update_layout(**layout)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def histogram_overlay(series: dict, title: str = "", xaxis: str = "", nbins: int = 60) -> go.Figure:
    """Overlaid, normalised histograms of several 1-D samples."""
    fig = go.Figure()
    for name, values in series.items():
        fig.add_trace(go.Histogram(x=np.asarray(values), name=name, nbinsx=nbins, opacity=0.6,
                                   histnorm="probability density"))
    fig.update_layout(barmode="overlay", title=title, xaxis_title=xaxis, yaxis_title="density", height=380)
    return fig


# --------------------------------------------------------------------------- chapter 06: data variety

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


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
        fig.add_trace(go.Scatter(x=q2, y=names, mode="markers", marker=dict(size=8, color=_PALETTE[col - 1]),
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
        colour = _PALETTE[ci % len(_PALETTE)]
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
                                       showlegend=p == 0, marker=dict(size=3, color=_PALETTE[ci % len(_PALETTE)]),
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
                                 marker=dict(size=8, color=_PALETTE[0]), showlegend=False,
                                 hovertemplate="%{text}<br>%{x:.3f}, %{y:.3f}<extra></extra>"),
                      row=k // cols + 1, col=k % cols + 1)
    fig.update_yaxes(title_text=str(score.name), col=1)
    fig.update_annotations(font_size=11)
    fig.update_layout(title=f"dataset metrics against {score.name}", height=260 * rows + 80)
    return fig


# --------------------------------------------------------------------------- chapters 03 (GMM) and 04 (GAN)
def face_images(model, params, n_shape: int, n_color: int, scene=None) -> list:
    """Renders (227, 227, 3) uint8 of parameter vectors (n, n_shape + n_color) [shape | color]."""
    from .render import Workspace, render

    ws = Workspace()
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    return [render(model.instance(shape=p[:n_shape], color=p[n_shape:n_shape + n_color]), scene,
                   workspace=ws).image for p in params]


def criterion_heatmap(table, criterion: str = "bic", title: str = "") -> go.Figure:
    """Heatmap of an AIC/BIC grid table: covariance type (rows) x component count (columns).

    ``table`` has columns ``n_components, covariance_type, <criterion>, status`` (as
    :attr:`thesislib.gmm.GridResult.table`); skipped or failed cells stay blank. The
    lowest cell is marked with a star.
    """
    pivot = table.pivot(index="covariance_type", columns="n_components", values=criterion)
    pivot = pivot.reindex(list(dict.fromkeys(table["covariance_type"])))  # grid order, not alphabetical
    z = pivot.to_numpy(dtype=float)
    finite = np.isfinite(z)
    text = np.array([[f"{v:.4g}" if ok else "skipped" for v, ok in zip(zr, fr)] for zr, fr in zip(z, finite)],
                    dtype=object)
    if finite.any():
        i, j = np.unravel_index(np.nanargmin(np.where(finite, z, np.nan)), z.shape)
        text[i, j] = "★ " + text[i, j]
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in pivot.columns], y=list(pivot.index), text=text,
                               texttemplate="%{text}", colorscale="Viridis_r",
                               colorbar=dict(title=criterion.upper()), hoverongaps=False))
    fig.update_layout(title=title or f"{criterion.upper()} per cell (lower is better)",
                      xaxis_title="components", yaxis_title="covariance type", yaxis_autorange="reversed",
                      height=360)
    return fig


def pca_scatter(data, samples: dict, title: str = "", max_points: int = 1500, cols: int = 4) -> go.Figure:
    """Samples in the first two principal components of ``data`` (thesis Fig 5.6 style).

    Parameters
    ----------
    data : (n, d) reference data; its PCA defines the axes and it is drawn grey in every panel
    samples : {panel title: (m, d) samples}, one panel each
    max_points : at most this many points per cloud (first rows)
    """
    from plotly.subplots import make_subplots

    data = np.asarray(data, dtype=np.float64)
    mean = data.mean(axis=0)
    _, _, vt = np.linalg.svd(data - mean, full_matrices=False)
    axes = vt[:2].T
    ref = (data[:max_points] - mean) @ axes
    names = list(samples)
    cols = max(1, min(cols, len(names)))
    rows = int(np.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, shared_xaxes=True, shared_yaxes=True,
                        horizontal_spacing=0.03, vertical_spacing=0.08)
    for i, name in enumerate(names):
        r, c = i // cols + 1, i % cols + 1
        pts = (np.asarray(samples[name], dtype=np.float64)[:max_points] - mean) @ axes
        fig.add_trace(go.Scattergl(x=ref[:, 0], y=ref[:, 1], mode="markers", name="data",
                                   marker=dict(size=3, color="rgba(120,120,120,0.35)"),
                                   legendgroup="data", showlegend=i == 0), row=r, col=c)
        fig.add_trace(go.Scattergl(x=pts[:, 0], y=pts[:, 1], mode="markers", name="samples",
                                   marker=dict(size=3, color="rgba(214,39,40,0.5)"),
                                   legendgroup="samples", showlegend=i == 0), row=r, col=c)
    fig.update_layout(title=title, height=320 * rows + 60)
    fig.update_xaxes(title_text="PC 1", row=rows)
    fig.update_yaxes(title_text="PC 2", col=1)
    return fig


def loss_curves(histories: dict, title: str = "GAN training") -> go.Figure:
    """Per-epoch losses and discriminator outputs of GANs.

    ``histories`` maps a name to a ``ConditionalGAN.history_`` dict (``epoch``, ``d_loss``,
    ``g_loss``, ``d_real``, ``d_fake``). Left: losses; right: mean D(x) and D(G(z)).
    """
    from plotly.subplots import make_subplots

    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["losses", "discriminator output"])
    for n, (name, h) in enumerate(histories.items()):
        colour = palette[n % len(palette)]
        for key, dash, col in (("d_loss", "solid", 1), ("g_loss", "dot", 1), ("d_real", "solid", 2),
                               ("d_fake", "dot", 2)):
            fig.add_trace(go.Scatter(x=h["epoch"], y=h[key], name=f"{name} {key}", mode="lines",
                                     line=dict(color=colour, dash=dash)), row=1, col=col)
    fig.add_hline(y=2 * np.log(2), line_dash="dash", line_color="grey", row=1, col=1,
                  annotation_text="L_D at equilibrium (2 ln 2)")
    fig.add_hline(y=0.5, line_dash="dash", line_color="grey", row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(title=title, height=400)
    return fig


def labelled_grid(images, row_labels, col_labels, title: str = "", size: int = 130) -> go.Figure:
    """A rows x cols grid of (H, W, 3) images with labelled columns (top) and rows (left).

    ``images`` is a list of rows, each a list of images.
    """
    from plotly.subplots import make_subplots

    rows, cols = len(images), len(images[0])
    fig = make_subplots(rows=rows, cols=cols, column_titles=[str(c) for c in col_labels],
                        row_titles=[str(r) for r in row_labels], horizontal_spacing=0.005,
                        vertical_spacing=0.01)
    for i, row in enumerate(images):
        for j, img in enumerate(row):
            fig.add_trace(go.Image(source=png_uri(img), hoverinfo="skip"), row=i + 1, col=j + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=rows * size + 80, width=cols * size + 80,
                      margin=dict(l=10, r=60, t=80 if title else 40, b=10))
    return fig


def score_ci_figure(table) -> go.Figure:
    """Mean rank with 95 % interval per sampler, raw and corrected (thesis Fig 6.13).

    ``table`` is :func:`thesislib.evaluation.score_table` (indexed by sampler).
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("mean rank (1 = best)", "mean score"), shared_yaxes=True,
                        horizontal_spacing=0.04)
    for kind, colour in (("corrected_", "#d62728"), ("", "#1f77b4")):
        label = "corrected" if kind else "raw"
        rank = table[f"{kind}rank"]
        fig.add_trace(go.Scatter(
            x=rank, y=table.index, mode="markers", name=f"{label} rank", marker_color=colour,
            error_x=dict(type="data", symmetric=False, array=table[f"{kind}rank_high"] - rank,
                         arrayminus=rank - table[f"{kind}rank_low"])), row=1, col=1)
        fig.add_trace(go.Scatter(x=table[f"{kind}score"], y=table.index, mode="markers", name=f"{label} score",
                                 marker=dict(color=colour, symbol="diamond")), row=1, col=2)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=160 + 30 * len(table), title="samplers by the score of their BPRNs",
                      margin=dict(l=160))
    return fig


def sigma_score_figure(scores) -> go.Figure:
    """Per-instance σ of the prediction vs its corrected score, per sampler (thesis Fig 6.15)."""
    fig = go.Figure()
    for name, g in scores.groupby("sampler"):
        fig.add_trace(go.Scatter(x=g["sigma"], y=g["corrected_score"], mode="markers", name=name,
                                 marker=dict(size=5, opacity=0.6)))
        fig.add_trace(go.Scatter(x=[g["sigma"].mean()], y=[g["corrected_score"].mean()], mode="markers",
                                 marker=dict(symbol="x", size=12, color="black"), showlegend=False,
                                 hovertext=f"{name} centroid"))
    fig.update_layout(title="σ of each prediction vs its corrected score (× marks each sampler's centroid)",
                      xaxis_title="σ of the predicted parameter vector", yaxis_title="corrected score", height=450)
    return fig
