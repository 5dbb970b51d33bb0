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
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def mesh_trace(mesh, name: str = "face") -> go.Mesh3d:
    """A Mesh3d trace with vertex colours (float32 coordinates, int32 faces)."""
    v = np.asarray(mesh.vertices, np.float32)
    t = np.asarray(mesh.triangles, np.int32)
    rgb = np.clip(np.asarray(mesh.colors) * 255, 0, 255).astype(np.uint8)
    colors = [f"rgb({r},{g},{b})" for r, g, b in rgb]
    return go.Mesh3d(x=v[:, 0], y=v[:, 1], z=v[:, 2], i=t[:, 0], j=t[:, 1], k=t[:, 2],
                     vertexcolor=colors, name=name, flatshading=False, hoverinfo="skip",
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
    layout = dict(title=title, sliders=[slider(first)], height=430, width=420,
                  margin=dict(l=10, r=10, t=60, b=10))
    if len(names) > 1:
        layout["updatemenus"] = [dict(
            type="dropdown", x=0.0, y=1.12, xanchor="left", showactive=True,
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
