"""Gaussian mixture models of face parameters: an AIC/BIC grid and a sampler.

Thesis section 5.5.3 (Tables 5.4 and 6.2, Figure 5.6) fits scikit-learn
``GaussianMixture`` models with 1 ... 4000 components to the fitted parameter
vectors of real faces and samples training faces from them. This module
provides

* :func:`fit_grid` -- one mixture per (component count, covariance type) cell,
  fitted in parallel with joblib, with AIC, BIC, log-likelihood, free-parameter
  count, fit time and convergence per cell, an explicit rule for cells that are
  skipped, and an optional on-disk cache (``.npz``, written atomically) so an
  interrupted grid resumes where it stopped;
* :class:`GMMSampler` -- the chosen mixture behind the shared sampler contract
  (``fit`` returns self, ``sample(n, rng)`` draws fresh samples from the passed
  ``numpy.random.Generator`` on every call), optionally conditioned on age and
  sex (beyond the thesis).

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
from joblib import Parallel, delayed
from sklearn.mixture import GaussianMixture

from .atomic import atomic_write

__all__ = ["COVARIANCE_TYPES", "GridResult", "fit_grid", "n_free_parameters", "GMMSampler"]

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


def _cell_seed(base: int, k: int, cov: str) -> int:
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
def _fit_cell(X, k, cov, seed, settings, cache_path):
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
        joblib workers (cells are fitted in parallel).
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
                cells.append((k, cov, _cell_seed(base, k, cov), path))

    t0 = time.perf_counter()
    models = {}
    jobs = (delayed(_fit_cell)(X, k, cov, s, settings, path) for k, cov, s, path in cells)
    if n_jobs == 1:
        out = (_fit_cell(X, k, cov, s, settings, path) for k, cov, s, path in cells)
    else:
        try:  # results as they finish (joblib >= 1.4) so the progress bar moves
            out = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)
        except ValueError:
            out = Parallel(n_jobs=n_jobs)(jobs)
    if progress and cells:
        from tqdm.auto import tqdm

        out = tqdm(out, total=len(cells), desc="GMM grid")
    for k, cov, row, gm in out:
        rows[(k, cov)].update(row)
        if gm is not None:
            models[(k, cov)] = gm
    seconds = time.perf_counter() - t0

    table = pd.DataFrame([rows[(k, cov)] for k in components for cov in covariance_types])
    table = table.reindex(columns=TABLE_COLUMNS)
    return GridResult(table=table, models=models, n_samples=n, n_features=d, seconds=seconds)


# --------------------------------------------------------------------------- sampler
def _full_covariances(covariances: np.ndarray, covariance_type: str, k: int, d: int) -> np.ndarray:
    """Covariances of any type as an array (k, d, d)."""
    if covariance_type == "full":
        return np.asarray(covariances)
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (k, d, d)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([np.eye(d) * c for c in covariances])  # spherical


def _draw_components(n: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return rng.choice(w.shape[-1], size=n, p=w / w.sum())


def _encode_sex(sex) -> np.ndarray:
    """Sex labels as floats: numbers pass through; "m"/"male" -> 1, "f"/"female" -> 0."""
    a = np.asarray(sex)
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    table = {"m": 1.0, "male": 1.0, "f": 0.0, "female": 0.0}
    try:
        return np.array([table[str(v).strip().lower()] for v in a.ravel()]).reshape(a.shape)
    except KeyError as exc:
        raise ValueError(f"unknown sex label {exc.args[0]!r}; use numbers or 'm'/'f'") from None


class GMMSampler:
    """Gaussian mixture sampler of face parameters (thesis 5.5.3).

    Parameters
    ----------
    n_components : int
        Components when ``criterion`` is None.
    covariance_type : str
        "spherical", "diag", "tied" or "full" (thesis: full).
    criterion : {None, "bic", "aic"}
        If set, ``fit`` runs :func:`fit_grid` over ``components`` x
        ``covariance_types`` and keeps the cell with the lowest criterion.
    components, covariance_types : tuple or None
        Grid for ``criterion``; default ``(1, 5, 25, 100)`` and
        ``(covariance_type,)``.
    seed : int
        Seed of the EM fit (scikit-learn ``random_state``); sampling uses only
        the Generator passed to :meth:`sample`.
    max_iter, tol, reg_covar, n_init, max_params_ratio, n_jobs, cache_dir, progress
        Passed to ``GaussianMixture`` / :func:`fit_grid`.

    Attributes
    ----------
    gmm_ : GaussianMixture
        The fitted mixture (over ``[params, labels]`` when labels were given).
    weights_ (K,), means_ (K, D), covariances_ : fitted mixture arrays.
    n_features_in_ : int
        Number of face parameters ``d`` (without label columns).
    labels_ : tuple of str
        Label columns fitted jointly, a subset of ("age", "sex").
    label_mean_, label_scale_ : arrays (len(labels_),)
        Labels are standardised with these before fitting.
    grid_ : GridResult or None
        The grid when ``criterion`` was set.

    Notes
    -----
    scikit-learn's ``GaussianMixture.sample`` draws from its own
    ``random_state`` and so repeats itself; :meth:`sample` instead picks
    components with ``rng.choice`` and draws each Gaussian as
    ``mean + L z`` with ``L`` its Cholesky factor and ``z ~ N(0, I)`` from
    ``rng``. With labels (beyond the thesis) the mixture is fitted over
    ``[params, age, sex]`` (labels standardised; sex as 0/1, treated as a
    continuous relaxation). ``sample(n, rng, age=..., sex=...)`` then draws
    component ``k`` with probability proportional to
    ``w_k N(c | mu_k,L, S_k,LL)`` and the parameters from the conditional Gaussian
    ``N(mu_k,P + S_k,PL S_k,LL^-1 (c - mu_k,L), S_k,PP - S_k,PL S_k,LL^-1 S_k,LP)``.
    For spherical and diagonal covariances the labels act only through the
    component weights.
    """

    def __init__(self, n_components: int = 1, covariance_type: str = "full", criterion: str | None = None,
                 components: tuple | None = None, covariance_types: tuple | None = None, seed: int = 0,
                 max_iter: int = 100, tol: float = 1e-3, reg_covar: float = 1e-6, n_init: int = 1,
                 max_params_ratio: float | None = 1.0, n_jobs: int = 1, cache_dir: str | None = None,
                 progress: bool = False):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.criterion = criterion
        self.components = components
        self.covariance_types = covariance_types
        self.seed = seed
        self.max_iter = max_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.max_params_ratio = max_params_ratio
        self.n_jobs = n_jobs
        self.cache_dir = cache_dir
        self.progress = progress

    # ------------------------------------------------------------------ fit
    def fit(self, X: np.ndarray, age=None, sex=None) -> "GMMSampler":
        """Fit the mixture.

        Parameters
        ----------
        X : array (n, d)
            Face parameters.
        age : array (n,) or None
            Age in years; fitted jointly when given.
        sex : array (n,) or None
            0 = female, 1 = male (or "f"/"m"); fitted jointly when given.

        Returns
        -------
        self
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError("X must be 2-D (n_samples, n_features)")
        n, d = X.shape
        names, cols = [], []
        for name, values in (("age", age), ("sex", sex)):
            if values is None:
                continue
            v = _encode_sex(values) if name == "sex" else np.asarray(values, dtype=np.float64)
            if v.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {v.shape}")
            names.append(name)
            cols.append(v)
        if cols:
            L = np.column_stack(cols)
            mean, scale = L.mean(axis=0), L.std(axis=0)
            scale[scale == 0] = 1.0
            data = np.hstack([X, (L - mean) / scale])
        else:
            mean, scale = np.zeros(0), np.ones(0)
            data = X
        if not np.isfinite(data).all():
            raise ValueError("X, age and sex must be finite")

        if self.criterion is None:
            self.grid_ = None
            gm = GaussianMixture(
                n_components=self.n_components, covariance_type=self.covariance_type, max_iter=self.max_iter,
                tol=self.tol, reg_covar=self.reg_covar, n_init=self.n_init,
                random_state=_cell_seed(int(self.seed), int(self.n_components), self.covariance_type),
            ).fit(data)
        else:
            self.grid_ = fit_grid(
                data, components=self.components or (1, 5, 25, 100),
                covariance_types=self.covariance_types or (self.covariance_type,), seed=int(self.seed),
                n_jobs=self.n_jobs, max_iter=self.max_iter, tol=self.tol, reg_covar=self.reg_covar,
                n_init=self.n_init, max_params_ratio=self.max_params_ratio, progress=self.progress,
                cache_dir=self.cache_dir,
            )
            gm = self.grid_.best(self.criterion)

        self.gmm_ = gm
        self.covariance_type_ = gm.covariance_type
        self.n_components_ = int(gm.n_components)
        self.weights_ = np.asarray(gm.weights_, dtype=np.float64)
        self.means_ = np.asarray(gm.means_, dtype=np.float64)
        self.covariances_ = np.asarray(gm.covariances_, dtype=np.float64)
        self.n_features_in_ = d
        self.labels_ = tuple(names)
        self.label_mean_, self.label_scale_ = mean, scale
        cov = self.covariances_
        if self.covariance_type_ in ("full", "tied"):
            self.cholesky_ = np.linalg.cholesky(cov)
        else:
            self.cholesky_ = np.sqrt(cov)
        return self

    # ------------------------------------------------------------------ sampling
    def _check_fitted(self):
        if not hasattr(self, "gmm_"):
            raise RuntimeError("GMMSampler is not fitted; call fit(X) first")

    def _sample_joint(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw (n, D) from the full mixture (params and standardised labels)."""
        K, D = self.means_.shape
        comp = _draw_components(n, self.weights_, rng)
        z = rng.standard_normal((n, D))
        ct, L = self.covariance_type_, self.cholesky_
        if ct == "tied":
            return self.means_[comp] + z @ L.T
        if ct == "diag":
            return self.means_[comp] + z * L[comp]
        if ct == "spherical":
            return self.means_[comp] + z * L[comp][:, None]
        out = np.empty((n, D))
        for k in np.unique(comp):
            idx = np.flatnonzero(comp == k)
            out[idx] = self.means_[k] + z[idx] @ L[k].T
        return out

    def sample_labels(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """Draw parameters and their labels jointly.

        Returns
        -------
        params : array (n, d)
        labels : dict
            ``{"age": (n,), "sex": (n,)}`` for the fitted labels, in original
            units (sex is continuous; threshold at 0.5 for a class).
        """
        self._check_fitted()
        joint = self._sample_joint(int(n), rng)
        d = self.n_features_in_
        lab = joint[:, d:] * self.label_scale_ + self.label_mean_
        return joint[:, :d], {name: lab[:, j] for j, name in enumerate(self.labels_)}

    def sample(self, n: int, rng: np.random.Generator, age=None, sex=None) -> np.ndarray:
        """Draw ``n`` fresh parameter vectors.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator
            The only source of randomness.
        age, sex : scalar, array (n,) or None
            Condition on these labels (model must have been fitted with them);
            labels not given are marginalised out.

        Returns
        -------
        array (n, d)
        """
        self._check_fitted()
        n = int(n)
        if age is None and sex is None:
            return self._sample_joint(n, rng)[:, : self.n_features_in_]
        cond_idx, cond_vals = [], []
        for name, values in (("age", age), ("sex", sex)):
            if values is None:
                continue
            if name not in self.labels_:
                raise ValueError(f"cannot condition on {name}: the sampler was fitted without it")
            j = self.labels_.index(name)
            v = _encode_sex(values) if name == "sex" else np.asarray(values, dtype=np.float64)
            v = np.broadcast_to(v, (n,))
            cond_idx.append(j)
            cond_vals.append((v - self.label_mean_[j]) / self.label_scale_[j])
        return self._sample_conditional(n, rng, np.array(cond_idx), np.column_stack(cond_vals))

    def _sample_conditional(self, n, rng, cond_idx, c):
        d = self.n_features_in_
        K, D = self.means_.shape
        P, Lx = np.arange(d), d + cond_idx
        S = _full_covariances(self.covariances_, self.covariance_type_, K, D)
        mu_P, mu_L = self.means_[:, P], self.means_[:, Lx]
        S_PP = S[:, P][:, :, P]
        S_PL = S[:, P][:, :, Lx]
        S_LL = S[:, Lx][:, :, Lx]
        # per-sample log responsibilities: log w_k + log N(c_i | mu_kL, S_kLL)
        chol_LL = np.linalg.cholesky(S_LL)
        logp = np.empty((n, K))
        for k in range(K):
            r = np.linalg.solve(chol_LL[k], (c - mu_L[k]).T)  # (l, n)
            logdet = 2.0 * np.log(np.diag(chol_LL[k])).sum()
            logp[:, k] = np.log(self.weights_[k]) - 0.5 * (np.sum(r * r, axis=0) + logdet + len(Lx) * np.log(2 * np.pi))
        logp -= logp.max(axis=1, keepdims=True)
        resp = np.exp(logp)
        resp /= resp.sum(axis=1, keepdims=True)
        # inverse-CDF choice per sample, one uniform each
        u = rng.random(n)
        comp = np.minimum((np.cumsum(resp, axis=1) < u[:, None]).sum(axis=1), K - 1)
        z = rng.standard_normal((n, d))
        out = np.empty((n, d))
        for k in np.unique(comp):
            idx = np.flatnonzero(comp == k)
            A = np.linalg.solve(S_LL[k], S_PL[k].T).T  # (d, l) = S_PL S_LL^-1
            cov = S_PP[k] - A @ S_PL[k].T
            Lc = np.linalg.cholesky(0.5 * (cov + cov.T))
            out[idx] = mu_P[k] + (c[idx] - mu_L[k]) @ A.T + z[idx] @ Lc.T
        return out

    def __repr__(self) -> str:
        keys = ("n_components", "covariance_type", "criterion", "seed")
        return "GMMSampler(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in keys) + ")"
