"""The AIC/BIC grid of Gaussian mixture models of face parameters (thesis 5.5.3).

Thesis section 5.5.3 (Tables 5.4 and 6.2, Figure 5.6) fits scikit-learn
``GaussianMixture`` models with 1 ... 4000 components to the fitted parameter
vectors of real faces. :func:`fit_grid` fits one mixture per (component count,
covariance type) cell, in parallel processes, with AIC, BIC, log-likelihood,
free-parameter count, fit time and convergence per cell, an explicit rule for cells
that are skipped, and an optional on-disk cache (``.npz``, written atomically) so an
interrupted grid resumes where it stopped. The sampler over the chosen mixture is
:class:`thesislib.samplers.gmm.GMMSampler`; these names import from :mod:`thesislib.samplers.gmm` too.

Skip rule
---------
A cell is fitted only if

1. ``n_components <= n_samples`` (scikit-learn cannot initialise more
   components than samples), and
2. ``n_params < max_params_ratio * n_samples * n_features``, i.e. the model has
   fewer free parameters than there are scalar data values (default ratio 1).

Cells breaking a rule get ``status = "skipped: <reason>"`` and NaN scores. The
thesis itself fitted over-parameterised full-covariance cells (400, 1000 and
4000 components on 11000 x 100 values); to reproduce those pass
``max_params_ratio=None``, which keeps only rule 1. A cell whose fit raises
(e.g. an ill-defined covariance) gets ``status = "failed: <error>"``.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

from thesislib.common import atomic_write, run_tasks

__all__ = ["COVARIANCE_TYPES", "GridResult", "fit_grid", "n_free_parameters"]

COVARIANCE_TYPES = ("spherical", "diag", "tied", "full")
TABLE_COLUMNS = [
    "n_components", "covariance_type", "n_params", "log_likelihood", "aic", "bic",
    "fit_seconds", "converged", "n_iter", "status", "cached",
]
_CACHE_VERSION = 1


def n_free_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Number of free parameters of a Gaussian mixture.

    Means (``k * d``), covariances (full ``k * d(d+1)/2``, diag ``k * d``,
    tied ``d(d+1)/2``, spherical ``k``) and ``k - 1`` mixture weights; the same
    count scikit-learn uses for ``aic``/``bic``.
    """
    k, d = int(n_components), int(n_features)
    cov = {
        "full": k * d * (d + 1) // 2,
        "diag": k * d,
        "tied": d * (d + 1) // 2,
        "spherical": k,
    }
    if covariance_type not in cov:
        raise ValueError(f"unknown covariance_type {covariance_type!r}; use one of {COVARIANCE_TYPES}")
    return k * d + cov[covariance_type] + k - 1


def _skip_reason(k: int, cov: str, n: int, d: int, max_params_ratio: float | None) -> str | None:
    if k > n:
        return f"skipped: n_components ({k}) > n_samples ({n})"
    p = n_free_parameters(k, d, cov)
    if max_params_ratio is not None and p >= max_params_ratio * n * d:
        return f"skipped: n_params ({p}) >= {max_params_ratio:g} * n_samples * n_features ({n * d})"
    return None


def _base_seed(seed: int | np.random.Generator) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    raise TypeError("seed must be an int or a numpy.random.Generator")


def cell_seed(base: int, k: int, cov: str) -> int:
    """Seed of one cell; depends only on the base seed and the cell itself."""
    ss = np.random.SeedSequence([base, k, COVARIANCE_TYPES.index(cov)])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


# --------------------------------------------------------------------------- cache
_STATE_KEYS = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_")


def _save_cell(path: Path, gm: GaussianMixture, fit_seconds: float) -> None:
    """Write the fitted arrays to ``path`` atomically (temp file + os.replace)."""
    arrays = {key: np.asarray(getattr(gm, key)) for key in _STATE_KEYS}
    arrays.update(
        converged=np.asarray(bool(gm.converged_)),
        n_iter=np.asarray(int(gm.n_iter_)),
        lower_bound=np.asarray(float(gm.lower_bound_)),
        fit_seconds=np.asarray(float(fit_seconds)),
        version=np.asarray(_CACHE_VERSION),
    )
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def _load_cell(path: Path, gm: GaussianMixture, n_features: int) -> float | None:
    """Restore a cached cell into the unfitted ``gm``; return its fit seconds or None."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != _CACHE_VERSION:
                return None
            for key in _STATE_KEYS:
                setattr(gm, key, z[key].copy())
            gm.converged_ = bool(z["converged"])
            gm.n_iter_ = int(z["n_iter"])
            gm.lower_bound_ = float(z["lower_bound"])
            gm.n_features_in_ = n_features
            return float(z["fit_seconds"])
    except (OSError, KeyError, ValueError):
        return None  # unreadable or truncated: refit


def _data_key(X: np.ndarray, settings: Mapping[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(str(X.shape).encode())
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    h.update(json.dumps(dict(settings), sort_keys=True).encode())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- grid
def _fit_cell(cell, data):
    """Fit (or restore from the cache) one cell ``(k, cov, seed, cache_path)`` on ``data = (X, settings)``."""
    (k, cov, seed, cache_path), (X, settings) = cell, data
    n, d = X.shape
    gm = GaussianMixture(n_components=k, covariance_type=cov, random_state=seed, **settings)
    cached = False
    seconds = _load_cell(cache_path, gm, d) if cache_path is not None and cache_path.exists() else None
    if seconds is not None:
        cached = True
    else:
        t0 = time.perf_counter()
        try:
            gm.fit(X)
        except Exception as exc:  # noqa: BLE001 -- recorded in the table, never hidden
            failed = dict(status=f"failed: {type(exc).__name__}: {exc}", fit_seconds=time.perf_counter() - t0,
                          cached=False)
            return k, cov, failed, None
        seconds = time.perf_counter() - t0
        if cache_path is not None:
            _save_cell(cache_path, gm, seconds)
    p = n_free_parameters(k, d, cov)
    loglik = float(gm.score(X)) * n
    row = dict(
        n_params=p, log_likelihood=loglik, aic=-2.0 * loglik + 2.0 * p,
        bic=-2.0 * loglik + p * np.log(n), fit_seconds=seconds,
        converged=bool(gm.converged_), n_iter=int(gm.n_iter_), status="ok", cached=cached,
    )
    return k, cov, row, gm


@dataclass(frozen=True)
class GridResult:
    """Result of :func:`fit_grid`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cell: ``n_components, covariance_type, n_params,
        log_likelihood`` (total over samples), ``aic, bic, fit_seconds,
        converged, n_iter, status`` ("ok", "skipped: ...", "failed: ..."),
        ``cached`` (restored from ``cache_dir``).
    models : dict
        ``(n_components, covariance_type) -> GaussianMixture`` for "ok" cells.
    n_samples, n_features : int
        Shape of the fitted data.
    seconds : float
        Wall time of the whole grid.
    """

    table: pd.DataFrame
    models: dict = field(repr=False)
    n_samples: int
    n_features: int
    seconds: float

    def best_row(self, criterion: str = "bic") -> pd.Series:
        """Table row of the "ok" cell with the lowest ``criterion`` ("bic" or "aic")."""
        if criterion not in ("aic", "bic"):
            raise ValueError("criterion must be 'aic' or 'bic'")
        ok = self.table[self.table["status"] == "ok"]
        if ok.empty:
            raise ValueError("no cell of the grid was fitted; see GridResult.table['status']")
        return ok.loc[ok[criterion].idxmin()]

    def best(self, criterion: str = "bic") -> GaussianMixture:
        """Fitted ``GaussianMixture`` with the lowest ``criterion`` ("bic" or "aic")."""
        row = self.best_row(criterion)
        return self.models[(int(row["n_components"]), row["covariance_type"])]


def fit_grid(
    X: np.ndarray,
    components: Iterable[int] = (1, 5, 25, 100),
    covariance_types: Iterable[str] = COVARIANCE_TYPES,
    seed: int | np.random.Generator = 0,
    n_jobs: int = 1,
    max_iter: int = 100,
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    n_init: int = 1,
    max_params_ratio: float | None = 1.0,
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> GridResult:
    """Fit a Gaussian mixture per (component count, covariance type) cell.

    Parameters
    ----------
    X : array (n_samples, n_features)
        Data, e.g. face parameters in standard deviations.
    components : iterable of int
        Component counts (thesis: 1, 5, 25, 100, 400, 1000, 4000).
    covariance_types : iterable of str
        Any of "spherical", "diag", "tied", "full".
    seed : int or numpy.random.Generator
        Base seed; each cell's ``random_state`` is derived from it and the cell
        alone, so results are deterministic and do not depend on the grid.
    n_jobs : int
        Worker processes (cells are fitted in parallel, :func:`thesislib.common.run_tasks`).
    max_iter, tol, reg_covar, n_init : passed to ``GaussianMixture``.
    max_params_ratio : float or None
        Skip cells with ``n_params >= max_params_ratio * n_samples * n_features``;
        None disables this rule (see module docstring).
    progress : bool
        Show a tqdm progress bar.
    cache_dir : path or None
        If given, every fitted cell is stored there as ``.npz`` (atomic write)
        keyed by data and settings; cells found there are restored, not refitted.

    Returns
    -------
    GridResult
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or not np.isfinite(X).all():
        raise ValueError("X must be a finite 2-D array (n_samples, n_features)")
    n, d = X.shape
    components = [int(k) for k in components]
    covariance_types = list(covariance_types)
    for cov in covariance_types:
        n_free_parameters(1, 1, cov)  # validates the name
    base = _base_seed(seed)
    settings = dict(max_iter=int(max_iter), tol=float(tol), reg_covar=float(reg_covar), n_init=int(n_init))
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        key = _data_key(X, dict(settings, seed=base))

    cells, rows = [], {}
    for k in components:
        for cov in covariance_types:
            reason = _skip_reason(k, cov, n, d, max_params_ratio)
            rows[(k, cov)] = dict(n_components=k, covariance_type=cov, n_params=n_free_parameters(k, d, cov))
            if reason is not None:
                rows[(k, cov)].update(status=reason, cached=False)
            else:
                path = None if cache is None else cache / f"gmm_{cov}_{k}_{key}.npz"
                cells.append((k, cov, cell_seed(base, k, cov), path))

    t0 = time.perf_counter()
    models = {}
    out = run_tasks(_fit_cell, cells, context=(X, settings), workers=n_jobs, progress=progress and bool(cells),
                    desc="GMM grid", unit="cell")
    for k, cov, row, gm in out:
        rows[(k, cov)].update(row)
        if gm is not None:
            models[(k, cov)] = gm
    seconds = time.perf_counter() - t0

    table = pd.DataFrame([rows[(k, cov)] for k in components for cov in covariance_types])
    table = table.reindex(columns=TABLE_COLUMNS)
    return GridResult(table=table, models=models, n_samples=n, n_features=d, seconds=seconds)
