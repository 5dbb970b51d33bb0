"""Geometric error of a reconstructed face (NoW-style; beyond the thesis).

* :func:`rigid_align` -- least-squares rotation and translation (optionally scale);
* :func:`vertex_error`, :func:`vertex_error_summary` -- per-vertex error in mm after
  rigid alignment, and its summary statistics.

Importable from :mod:`thesislib.evaluation.metrics` too.
"""
from __future__ import annotations

import numpy as np

__all__ = ["rigid_align", "vertex_error", "vertex_error_summary"]


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
    H = np.einsum("bni,bnj->bij", Pc, Tc)  # (B, 3, 3)
    U, S, Vt = np.linalg.svd(H)
    sign = np.sign(np.linalg.det(np.einsum("bij,bjk->bik", U, Vt)))
    sign = np.where(sign == 0, 1.0, sign)
    D = np.ones((P.shape[0], 3))
    D[:, 2] = sign
    R = np.einsum("bij,bj,bjk->bik", U, D, Vt)  # row-vector convention: x @ R
    s = np.ones((P.shape[0], 1, 1))
    if scale:
        var = (Pc ** 2).sum(axis=(1, 2))
        s = ((S * D).sum(axis=1) / np.where(var > 0, var, 1.0))[:, None, None]
    out = s * np.einsum("bni,bij->bnj", Pc, R) + mt
    return out[0] if single else out


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
