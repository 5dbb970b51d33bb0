"""The ensemble fit: per photo, the best prediction over many models (thesis' "wiki ensemble").

Its table is a fitted set (:func:`thesislib.facemodel.population.load_fitted_set`) for the GMM,
GAN and "from fitted data" samplers.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from thesislib.common import atomic_write_bytes
from thesislib.facemodel import param_columns


def _atomic_parquet(df: pd.DataFrame, path) -> None:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def ensemble_fit(predictions: dict, scores: dict, ids=None, age=None, sex=None, model=None,
                 path=None) -> pd.DataFrame:
    """Per photo, the best prediction over all models by face-recognition score (thesis'
    Wikipedia ensemble).

    Parameters
    ----------
    predictions : dict model name -> (n, n_shape + n_color) parameters in sd (same photo order)
    scores : dict model name -> (n,) scores (NaN: not scored; a photo without any finite
        score is dropped and counted in ``df.attrs["dropped"]``)
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout (None: the
        embedded default's thesis layout, 50 + 50)
    ids, age, sex : (n,) photo ids (default 0..n-1), age in years and sex (1 male, 0 female)
        or None (NaN columns)
    path : parquet file to write atomically, or None

    Returns
    -------
    DataFrame: id, model, score, shape_000.., color_000.. (as
    :func:`thesislib.facemodel.population.param_columns`), age, sex -- loadable with
    :func:`thesislib.facemodel.population.load_fitted_set`
    """
    names = list(predictions)
    if set(names) != set(scores):
        raise ValueError(f"predictions and scores name different models: {sorted(names)} vs {sorted(scores)}")
    P = np.stack([np.asarray(predictions[k], np.float64) for k in names])  # (m, n, d)
    S = np.stack([np.asarray(scores[k], np.float64) for k in names])  # (m, n)
    if model is None:
        from thesislib.facemodel import default_model
        model = default_model().truncated(50, 50, 0)
    n_shape, n_color = model.n_shape, model.n_color
    m, n, d = P.shape
    if d != n_shape + n_color or S.shape != (m, n):
        raise ValueError(f"predictions (m, n, d) = {P.shape} need d = {n_shape + n_color} and scores (m, n)")
    ok = np.isfinite(S).any(0)
    best = np.argmax(np.where(np.isfinite(S), S, -np.inf), axis=0)
    cols = np.arange(n)
    df = pd.DataFrame(P[best, cols], columns=param_columns(model))
    df.insert(0, "score", S[best, cols])
    df.insert(0, "model", [str(names[b]) for b in best])
    df.insert(0, "id", [str(i) for i in (range(n) if ids is None else ids)])
    df["age"] = np.full(n, np.nan) if age is None else np.asarray(age, np.float64)
    df["sex"] = np.full(n, np.nan) if sex is None else np.asarray(sex, np.float64)
    df = df[ok].reset_index(drop=True)
    df.attrs["dropped"] = int((~ok).sum())
    if path is not None:
        _atomic_parquet(df, path)
    return df
