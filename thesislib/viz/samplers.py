"""Plotly figures of chapter 02 (samplers): per-parameter distributions and moments, and
galleries of each sampler's faces under shared scenes.

``draws`` is a dict sampler name -> (n, d) parameter vectors in sd (e.g. from
:func:`thesislib.samplers.registry.draw_samplers`); ``labels`` names each sampler in legends and
titles: a dict name -> str, a function (e.g. :func:`thesislib.samplers.registry.sampler_label`) or
None for the names themselves.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .figures import histogram_overlay, image_grid, slider_figure


def _label(labels, name) -> str:
    if labels is None:
        return str(name)
    return str(labels(name) if callable(labels) else labels[name])


def parameter_histogram(draws: dict, labels=None, index: int = 0, title: str | None = None) -> go.Figure:
    """Overlaid histograms of parameter ``index`` of every sampler (thesis Fig 5.2)."""
    title = f"distribution of parameter {index}" if title is None else title
    return histogram_overlay({_label(labels, n): np.asarray(X)[:, index] for n, X in draws.items()},
                             title=title, xaxis="σ units")


def moments_figure(draws: dict, labels=None, split: int | None = None,
                   title: str = "mean (solid) and standard deviation (dotted) of every parameter") -> go.Figure:
    """Mean (solid) and standard deviation (dotted) of every parameter, one pair of lines per
    sampler; ``split`` (e.g. ``n_shape``) marks where shape ends and colour begins."""
    fig = go.Figure()
    for n, X in draws.items():
        X = np.asarray(X, np.float64)
        fig.add_trace(go.Scatter(y=X.mean(0), mode="lines", name=f"{_label(labels, n)} mean"))
        fig.add_trace(go.Scatter(y=X.std(0), mode="lines", line_dash="dot", name=f"{_label(labels, n)} std"))
    if split is not None:
        fig.add_vline(x=split - 0.5, line_color="grey", annotation_text="shape | color")
    fig.update_layout(title=title, xaxis_title="parameter", yaxis_title="σ units", height=450)
    return fig


def sampler_galleries(model, draws: dict, scenes: list) -> dict:
    """Renders of the first ``len(scenes)`` faces of every sampler; face ``i`` of each sampler
    under ``scenes[i]``, so only the faces differ between samplers.

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout
    draws : dict name -> (n, >= n_shape + n_color) vectors [shape | color | ...], n >= len(scenes)
    scenes : list of :class:`thesislib.imaging.scene.Scene`

    Returns
    -------
    dict name -> list of len(scenes) (227, 227, 3) uint8 images
    """
    from thesislib.imaging import Workspace, render

    ws, out = Workspace(), {}
    for name, X in draws.items():
        X = np.asarray(X, np.float64)
        if len(X) < len(scenes):
            raise ValueError(f"sampler {name!r} has {len(X)} faces, the gallery needs {len(scenes)}")
        shape, color, _ = model.split(X[:len(scenes)])
        out[name] = [render(model.instance(shape=shape[i], color=color[i]), scene, workspace=ws).image
                     for i, scene in enumerate(scenes)]
    return out


def gallery_rows(galleries: dict, labels=None, title: str = "faces per sampler (one row each)",
                 size: int = 130) -> go.Figure:
    """One row of images per sampler (the label above its first image)."""
    cols = max(len(images) for images in galleries.values())
    images, titles = [], []
    for name, row in galleries.items():
        images += list(row) + [np.full_like(row[0], 255)] * (cols - len(row))
        titles += [_label(labels, name)] + [""] * (cols - 1)
    return image_grid(images, titles, cols=cols, size=size, title=title)


def gallery_slider(galleries: dict, labels=None, title: str = "gallery per sampler",
                   label: str = "face") -> go.Figure:
    """A menu of samplers and a slider through each one's gallery (for exported reports)."""
    groups = {_label(labels, name): {str(i + 1): img for i, img in enumerate(images)}
              for name, images in galleries.items()}
    return slider_figure(None, title=title, label=label, groups=groups)
