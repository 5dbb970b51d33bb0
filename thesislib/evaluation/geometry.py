"""Geometric error of a reconstructed face (NoW-style; beyond the thesis).

* :func:`rigid_align` -- least-squares rotation and translation (optionally scale);
* :func:`vertex_error`, :func:`vertex_error_summary` -- per-vertex error in mm after
  rigid alignment, and its summary statistics; :func:`mean_vertex_errors` -- its mean per mesh
  without the per-vertex array (numba).

Importable from :mod:`thesislib.evaluation.metrics` too.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["mean_vertex_errors", "rigid_align", "vertex_error", "vertex_error_summary"]


# --------------------------------------------------------------------------- geometry

def rigid_align(pred, true, scale: bool = False) -> np.ndarray:
    """Align ``pred`` to ``true`` by the least-squares rotation and translation (Kabsch).

    With ``scale=True`` a uniform scale is fitted as well (Umeyama). Reflections are
    excluded.

    Parameters
    ----------
    pred, true : array_like, shape (N, 3) or (B, N, 3)
        Corresponding vertices, mm.
    scale : bool

    Returns
    -------
    ndarray, same shape as ``pred``
        ``pred`` after the transform, mm.
    """
    P = np.asarray(pred, dtype=np.float64)
    T = np.asarray(true, dtype=np.float64)
    if P.shape != T.shape or P.shape[-1] != 3 or P.ndim not in (2, 3):
        raise ValueError(f"pred and true must both be (N, 3) or (B, N, 3); got {P.shape}, {T.shape}")
    single = P.ndim == 2
    if single:
        P, T = P[None], T[None]
    mp, mt = P.mean(axis=1, keepdims=True), T.mean(axis=1, keepdims=True)
    Pc, Tc = P - mp, T - mt
    U, S, Vt, D = _kabsch(Pc.transpose(0, 2, 1) @ Tc)
    R = (U * D[:, None, :]) @ Vt  # row-vector convention: x @ R
    s = np.ones((P.shape[0], 1, 1))
    if scale:
        var = (Pc ** 2).sum(axis=(1, 2))
        s = ((S * D).sum(axis=1) / np.where(var > 0, var, 1.0))[:, None, None]
    out = s * (Pc @ R) + mt
    return out[0] if single else out


def _kabsch(H):
    """SVD of cross-covariances H (B, 3, 3) and the sign matrix diagonal D (B, 3) that excludes reflections."""
    U, S, Vt = np.linalg.svd(H)
    sign = np.sign(np.linalg.det(U @ Vt))
    D = np.ones((H.shape[0], 3))
    D[:, 2] = np.where(sign == 0, 1.0, sign)
    return U, S, Vt, D


@njit(cache=True, parallel=True)
def _moments(P, T):  # pragma: no cover - numba
    B, N = P.shape[0], P.shape[1]
    mp, mt, H = np.zeros((B, 3)), np.zeros((B, 3)), np.zeros((B, 3, 3))
    for b in prange(B):
        for n in range(N):
            for i in range(3):
                mp[b, i] += P[b, n, i]
                mt[b, i] += T[b, n, i]
        mp[b] /= N
        mt[b] /= N
        for n in range(N):
            for i in range(3):
                pi = P[b, n, i] - mp[b, i]
                for j in range(3):
                    H[b, i, j] += pi * (T[b, n, j] - mt[b, j])
    return mp, mt, H


@njit(cache=True, parallel=True)
def _mean_distances(P, T, mp, mt, R):  # pragma: no cover - numba
    B, N = P.shape[0], P.shape[1]
    out = np.zeros(B)
    for b in prange(B):
        acc = 0.0
        for n in range(N):
            d2 = 0.0
            for j in range(3):
                x = mt[b, j] - T[b, n, j]
                for i in range(3):
                    x += (P[b, n, i] - mp[b, i]) * R[b, i, j]
                d2 += x * x
            acc += np.sqrt(d2)
        out[b] = acc / N
    return out


def _points(a) -> np.ndarray:
    """``a`` C-contiguous, float32 kept as it is (the kernels compute in float64 either way: a
    float32 coordinate is converted exactly where it is read), anything else as float64."""
    a = np.asarray(a)
    return np.ascontiguousarray(a, dtype=a.dtype if a.dtype in (np.float32, np.float64) else np.float64)


def mean_vertex_errors(pred, true) -> np.ndarray:
    """Mean over vertices of :func:`vertex_error` (rigid, no scale) per mesh, without the (B, N)
    array: two passes over the vertices in numba instead of ten numpy passes (~4x faster).
    float32 vertices (a model's) are read as they are, with the numbers of their float64 copy.

    Parameters
    ----------
    pred, true : (B, N, 3) corresponding vertices, mm

    Returns
    -------
    (B,) mean per-vertex distance after rigid alignment, mm
    """
    P, T = _points(pred), _points(true)
    if P.shape != T.shape or P.ndim != 3 or P.shape[-1] != 3:
        raise ValueError(f"pred and true must both be (B, N, 3); got {P.shape}, {T.shape}")
    mp, mt, H = _moments(P, T)
    U, _, Vt, D = _kabsch(H)
    return _mean_distances(P, T, mp, mt, np.ascontiguousarray((U * D[:, None, :]) @ Vt))


def vertex_error(pred, true, scale: bool = False) -> np.ndarray:
    """Per-vertex Euclidean error after rigid alignment of ``pred`` onto ``true``.

    Parameters
    ----------
    pred, true : array_like, shape (N, 3) or (B, N, 3)
        Corresponding vertices of the predicted and true meshes, mm.
    scale : bool
        Also fit a uniform scale (similarity alignment).

    Returns
    -------
    ndarray, shape (N,) or (B, N)
        Distances in mm; zero everywhere when ``pred`` is a rigid motion of ``true``.
    """
    aligned = rigid_align(pred, true, scale=scale)
    return np.linalg.norm(aligned - np.asarray(true, dtype=np.float64), axis=-1)


def vertex_error_summary(errors) -> dict[str, float]:
    """NoW-style summary of per-vertex errors pooled over all vertices (and meshes).

    Parameters
    ----------
    errors : array_like, any shape
        Distances in mm, e.g. the output of :func:`vertex_error`.

    Returns
    -------
    dict
        ``{"median": ..., "mean": ..., "std": ...}`` in mm.
    """
    e = np.asarray(errors, dtype=np.float64).ravel()
    return {"median": float(np.median(e)), "mean": float(e.mean()), "std": float(e.std())}
