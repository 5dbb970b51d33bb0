"""Plotly figures for the notebooks: faces in 3D, renders, spectra, static sliders.

Every figure here is a plain ``plotly.graph_objects.Figure`` that works in
JupyterLab and in the exported offline HTML (call :func:`setup_notebook`
once per notebook). Live widgets (:mod:`thesislib.viz.widgets`) get a static twin
here: image frames switched by a plotly slider, which need no kernel.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from .variety import PALETTE

FACE_CAMERA = dict(eye=dict(x=0.0, y=0.0, z=2.0), up=dict(x=0, y=1, z=0))


def setup_notebook() -> None:
    """Plotly output that shows in JupyterLab and stays interactive in offline HTML.

    The notebook keeps each figure once, as plotly's JSON (JupyterLab draws it with the
    ``jupyterlab-plotly`` extension that the plotly package installs); the report turns it
    into HTML with plotly.js inline (:func:`thesislib.report.static_outputs`). The former
    ``plotly_mimetype+notebook`` stored every figure twice and plotly.js (4.8 MB) in each
    notebook."""
    import plotly.io as pio

    pio.renderers.default = "plotly_mimetype"


#: JPEG quality of the face renders in figures: q90 keeps a 227 px render at about 10 kB
#: against 50-60 kB as PNG (chapter 02's figures: 8.7 MB of images), with no visible change.
JPEG_QUALITY = 90


def image_uri(image: np.ndarray, quality: int = JPEG_QUALITY) -> str:
    """A data URI of an (H, W, 3) uint8 image, JPEG encoded (face renders, photos)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).convert("RGB").save(buf, format="JPEG", quality=int(quality))
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


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
    """A grid of (H, W, 3) uint8 images with optional titles; a cell is ``size`` px wide and as
    tall as the images' shape asks (a wide mosaic gets a low row, not a square of white)."""
    from plotly.subplots import make_subplots

    images = list(images)
    cols = max(1, min(cols, len(images)))
    rows = int(np.ceil(len(images) / cols))
    aspect = max(np.shape(img)[0] / max(1, np.shape(img)[1]) for img in images)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.01,
                        vertical_spacing=0.06 if titles else 0.01)
    for i, img in enumerate(images):
        fig.add_trace(go.Image(source=image_uri(img), hoverinfo="skip"), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=int(rows * size * aspect) + (60 if title else 20), width=cols * size + 40,
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
    uris = {g: [(lab, image_uri(img)) for lab, img in groups[g].items()] for g in names}

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


# --------------------------------------------------------------------------- chapters 03 (GMM) and 04 (GAN)
def face_images(model, params, scene=None) -> list:
    """Renders (227, 227, 3) uint8 of parameter vectors (n, n_shape + n_color) [shape | color]
    (``model``: truncated MorphableModel; its n_shape/n_color decide the parameter layout)."""
    from thesislib.imaging import Workspace, render

    ws = Workspace()
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    n_shape, n_color = model.n_shape, model.n_color
    return [render(model.instance(shape=p[:n_shape], color=p[n_shape:n_shape + n_color]), scene,
                   workspace=ws).image for p in params]


def criterion_heatmap(table, criterion: str = "bic", title: str = "") -> go.Figure:
    """Heatmap of an AIC/BIC grid table: covariance type (rows) x component count (columns).

    ``table`` has columns ``n_components, covariance_type, <criterion>, status`` (as
    :attr:`thesislib.samplers.gmm.GridResult.table`); skipped or failed cells stay blank. The
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
            fig.add_trace(go.Image(source=image_uri(img), hoverinfo="skip"), row=i + 1, col=j + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=rows * size + 80, width=cols * size + 80,
                      margin=dict(l=10, r=60, t=80 if title else 40, b=10))
    return fig


def score_ci_figure(table) -> go.Figure:
    """Mean rank with 95 % interval per sampler, raw and corrected (thesis Fig 6.13).

    ``table`` is :func:`thesislib.evaluation.predictions.score_table` (indexed by sampler).
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


def effect_bars(table) -> go.Figure:
    """Age and sex effects as shares of the between-identity distance, one panel per measure.

    ``table`` is :func:`thesislib.evaluation.effects.effects_frame` output (columns ``source``,
    ``comparison`` and ``*_x_identity``); the identity rows (1 by definition) are left out.
    """
    from plotly.subplots import make_subplots

    measures = [("mm_x_identity", "3D shape (mm)"), ("color_x_identity", "colour (RGB)"),
                ("landmark_px_x_identity", "frontal landmarks (px)")]
    t = table[table.comparison != "two identities"]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[m[1] for m in measures], shared_yaxes=True)
    for k, source in enumerate(t.source.unique()):
        part = t[t.source == source]
        for j, (col, _) in enumerate(measures):
            fig.add_trace(go.Bar(x=part[col], y=part.comparison, orientation="h", name=str(source),
                                 marker_color=PALETTE[k % len(PALETTE)], showlegend=j == 0,
                                 legendgroup=str(source)), row=1, col=j + 1)
    for j in range(3):
        fig.add_vline(x=1.0, line_dash="dot", line_color="grey", row=1, col=j + 1)
    fig.update_xaxes(title_text="x distance between two identities")
    fig.update_layout(barmode="group", height=180 + 45 * t.comparison.nunique() * max(1, t.source.nunique()) // 2,
                      title="How far age and sex move a face, against the distance between two people",
                      margin=dict(l=10, r=10, t=80, b=40))
    return fig
