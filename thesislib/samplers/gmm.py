"""Gaussian mixture models of face parameters: a sampler, and the AIC/BIC grid it can choose from.

* :class:`GMMSampler` -- the chosen mixture behind the shared sampler contract
  (``fit`` returns self, ``sample(n, rng)`` draws fresh samples from the passed
  ``numpy.random.Generator`` on every call), optionally conditioned on age and
  sex (beyond the thesis);
* :func:`fit_grid` and its :class:`GridResult` (thesis Tables 5.4 and 6.2, Figure 5.6)
  live in :mod:`thesislib.samplers.selection` (the skip rule and the cache are documented there)
  and import from here too.
"""
from __future__ import annotations

import numpy as np
from sklearn.mixture import GaussianMixture

from .selection import cell_seed, fit_grid

__all__ = [
    "GMMSampler",
]


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
                random_state=cell_seed(int(self.seed), int(self.n_components), self.covariance_type),
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
