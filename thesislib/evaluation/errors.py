"""Where the truth is known: per-vertex shape and albedo errors of predicted parameter vectors.

The shape error is the per-vertex distance in mm after rigid alignment
(:func:`thesislib.evaluation.geometry.vertex_error`), the albedo error the RGB distance in 0-255
between vertex colours. :func:`mean_errors` gives the mean of both per face for many prediction
sets against one truth, the truth's vertices made once per batch, as chapter 05 scores them.
"""
from __future__ import annotations

import numpy as np

from . import geometry


def thesis_model(model):
    """``model``, or the embedded default truncated to the thesis' 50 shape + 50 colour components."""
    from thesislib.facemodel import default_model

    return default_model().truncated(50, 50, 0) if model is None else model


def shape_errors(P, T, model=None, batch: int = 32) -> np.ndarray:
    """Per-vertex shape error (n, N) in mm between predicted and true parameter vectors after
    rigid alignment (:func:`thesislib.evaluation.geometry.vertex_error`); only shape coefficients matter.
    ``model``: truncated MorphableModel; its n_shape/n_color decide the parameter layout (None: the embedded default, 50 + 50)."""
    base = thesis_model(model).truncated(None, None, 0)
    n_shape = base.n_shape
    P, T = np.asarray(P, np.float64), np.asarray(T, np.float64)
    out = np.empty((len(P), base.n_vertices))
    for i in range(0, len(P), batch):
        out[i:i + batch] = geometry.vertex_error(base.vertices(P[i:i + batch, :n_shape]),
                                                base.vertices(T[i:i + batch, :n_shape]))
    return out


def mean_shape_errors(P, T, model=None, batch: int = 32) -> np.ndarray:
    """``shape_errors(P, T, model).mean(1)``, the mean per-vertex error per face (n,) in mm, without
    the (n, N) array (:func:`thesislib.evaluation.geometry.mean_vertex_errors`; ~4x faster)."""
    return _mean_errors([P], T, model, batch, albedo=False)[0][0]


def mean_errors(predictions, T, model=None, batch: int = 32) -> list:
    """Mean vertex and albedo error per face of several prediction sets against one truth.

    ``[(mean_shape_errors(P, T, model), albedo_errors(P, T, model).mean(1)) for P in predictions]``,
    the same numbers, with the truth's vertices and colours made once per batch of faces instead
    of once per prediction set.

    Parameters
    ----------
    predictions : sequence of (n, n_params) parameter vectors in sd
    T : (n, n_params) true parameters
    model : truncated MorphableModel (None: the embedded default, 50 + 50)

    Returns
    -------
    list of ((n,) mean vertex error in mm, (n,) mean albedo error in RGB 0-255), one per prediction set
    """
    return _mean_errors(predictions, T, model, batch)


def _albedo_distances(C, D) -> np.ndarray:
    """``255 * norm(C - D, axis=-1)`` for vertex colours (b, N, 3) float32, the same numbers in two
    passes instead of numpy's strided reduction (~6x faster)."""
    d = C - D
    d *= d
    s = d[..., 0] + d[..., 1]
    s += d[..., 2]
    return 255.0 * np.sqrt(s, out=s)


def _mean_errors(predictions, T, model=None, batch: int = 32, albedo: bool = True) -> list:
    """:func:`mean_errors` (albedo None when not ``albedo``). Vertices and colours go to buffers
    made once per call: a fresh 10 MB array per batch pays its page faults again. BLAS runs on one
    thread: its threads, spinning after each product, took the cores from the numba kernels'
    threads (2 cores: 3.0 s -> 1.6 s for 9 x 200 faces; a product of this size gains nothing
    from a second thread, and its numbers do not depend on the threads)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return _mean_errors_here(predictions, T, model, batch, albedo)


def _mean_errors_here(predictions, T, model, batch: int, albedo: bool) -> list:
    base = thesis_model(model).truncated(None, None, 0)
    ns, nc = base.n_shape, base.n_color
    T = np.asarray(T, np.float64)
    Ps = [np.asarray(P, np.float64) for P in predictions]
    for P in Ps:
        if len(P) != len(T):
            raise ValueError(f"predictions of {len(P)} faces for {len(T)} true faces")
    out = [(np.empty(len(T)), np.empty(len(T)) if albedo else None) for _ in Ps]
    k, size = min(int(batch), len(T)), 3 * base.n_vertices
    bufs = [np.empty((k, size), np.float32) for _ in range(4 if albedo else 2)]
    for i in range(0, len(T), batch):
        rows = slice(i, i + batch)
        m = len(T[rows])
        Vt = base.vertices(T[rows, :ns], out=bufs[0][:m])
        Ct = base.colors(T[rows, ns:ns + nc], out=bufs[2][:m]) if albedo else None
        for P, (v, a) in zip(Ps, out):
            v[rows] = geometry.mean_vertex_errors(base.vertices(P[rows, :ns], out=bufs[1][:m]), Vt)
            if albedo:
                Cp = base.colors(P[rows, ns:ns + nc], out=bufs[3][:m])
                a[rows] = np.asarray(_albedo_distances(Cp, Ct), np.float64).mean(1)
    return out


def albedo_errors(P, T, model=None, batch: int = 32) -> np.ndarray:
    """Per-vertex albedo error (n, N): Euclidean RGB distance in 0-255 between the vertex
    colours of predicted and true parameters; only colour coefficients matter. ``model``:
    truncated MorphableModel; its n_shape/n_color decide the parameter layout (None: the embedded default, 50 + 50)."""
    base = thesis_model(model).truncated(None, None, 0)
    n_shape, n_color = base.n_shape, base.n_color
    c = slice(n_shape, n_shape + n_color)
    P, T = np.asarray(P, np.float64)[:, c], np.asarray(T, np.float64)[:, c]
    out = np.empty((len(P), base.n_vertices))
    for i in range(0, len(P), batch):
        out[i:i + batch] = _albedo_distances(base.colors(P[i:i + batch]), base.colors(T[i:i + batch]))
    return out
