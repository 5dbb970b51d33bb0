"""Semiparametric Gaussian-copula sampler of face parameters.

The thesis (chapter 3, future work) follows Egger et al.: face parameters are
not jointly normal, so model each parameter's marginal distribution and their
dependence separately. :class:`GaussianCopulaSampler` does this with

* **empirical marginals** -- per column the sorted training values
  ``x_(1) <= ... <= x_(n)`` placed at plotting positions ``p_i = i / (n + 1)``;
  the quantile function ``Q_j(u)`` interpolates linearly between them and is
  constant beyond the end points (samples stay inside the training range);
* a **Gaussian copula** -- the normal scores ``z_ij = Phi^-1(r_ij / (n + 1))``
  of the column ranks ``r_ij`` (ties get their average rank) and their
  correlation matrix ``R`` (the van der Waerden estimator).

Sampling draws ``z ~ N(0, R)`` through the Cholesky factor of ``R``, maps it
to uniforms ``u = Phi(z)`` and returns ``x_j = Q_j(u_j)``. Marginals then follow
the training data and the rank correlation is that of a Gaussian copula with
correlation ``R``: Spearman ``rho_S = (6 / pi) arcsin(R / 2)``, within 0.02 of
``R`` itself.

Optional smoothing adds ``N(0, h_j^2)`` noise with
``h_j = smoothing * std_j * n^(-1/5)`` (a Gaussian kernel around the
empirical marginal, Silverman's rate). It lets samples leave the set of
interpolated training values, at the price of inflating each variance by
``h_j^2`` and weakening correlations slightly; 0 (the default) disables it.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

__all__ = ["GaussianCopulaSampler"]


class GaussianCopulaSampler:
    """Empirical marginals plus a Gaussian copula of their ranks.

    Parameters
    ----------
    smoothing : float
        Kernel smoothing of the marginals in units of ``std_j * n^(-1/5)``;
        0 disables it (see module docstring).
    jitter : float
        Added to the diagonal of the correlation matrix before its Cholesky
        factorisation when it is not positive definite (e.g. a constant or
        duplicated column); the matrix is renormalised to unit diagonal.

    Attributes
    ----------
    sorted_values_ : array (n, d)
        Sorted training values per column (the empirical marginals).
    probabilities_ : array (n,)
        Plotting positions ``i / (n + 1)``, ``i = 1 .. n``.
    correlation_ : array (d, d)
        Correlation of the normal scores of the ranks.
    cholesky_ : array (d, d)
        Lower Cholesky factor of ``correlation_`` (after jitter if needed).
    bandwidth_ : array (d,)
        Smoothing noise standard deviation per column (zeros when disabled).
    n_features_in_, n_samples_fit_ : int
    """

    def __init__(self, smoothing: float = 0.0, jitter: float = 1e-9):
        self.smoothing = smoothing
        self.jitter = jitter

    def fit(self, X: np.ndarray) -> "GaussianCopulaSampler":
        """Fit marginals and copula to ``X`` (n_samples, n_features); returns self."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 2 or not np.isfinite(X).all():
            raise ValueError("X must be a finite 2-D array with at least 2 rows")
        if self.smoothing < 0:
            raise ValueError("smoothing must be >= 0")
        n, d = X.shape
        self.sorted_values_ = np.sort(X, axis=0)
        self.probabilities_ = np.arange(1, n + 1) / (n + 1.0)
        scores = ndtri(rankdata(X, axis=0) / (n + 1.0))  # (n, d) normal scores
        scores -= scores.mean(axis=0)
        norms = np.sqrt((scores**2).sum(axis=0))
        norms[norms == 0] = 1.0  # constant column: uncorrelated with everything
        scores /= norms
        R = scores.T @ scores
        np.fill_diagonal(R, 1.0)
        self.correlation_ = R
        self.cholesky_ = self._cholesky(R)
        self.bandwidth_ = self.smoothing * X.std(axis=0) * n ** (-0.2)
        self.n_features_in_ = d
        self.n_samples_fit_ = n
        return self

    def _cholesky(self, R: np.ndarray) -> np.ndarray:
        eps = 0.0
        for _ in range(12):
            try:
                A = R + eps * np.eye(len(R))
                s = np.sqrt(np.diag(A))
                return np.linalg.cholesky(A / np.outer(s, s))
            except np.linalg.LinAlgError:
                eps = self.jitter if eps == 0.0 else eps * 10.0
        raise np.linalg.LinAlgError("copula correlation matrix is not positive definite even with jitter")

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Empirical quantile functions applied column-wise to ``u`` (m, d) in (0, 1)."""
        if not hasattr(self, "sorted_values_"):
            raise RuntimeError("GaussianCopulaSampler is not fitted; call fit(X) first")
        u = np.asarray(u, dtype=np.float64)
        out = np.empty_like(u)
        for j in range(self.n_features_in_):
            out[:, j] = np.interp(u[:, j], self.probabilities_, self.sorted_values_[:, j])
        return out

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` fresh samples (n, d) using only ``rng``."""
        if not hasattr(self, "cholesky_"):
            raise RuntimeError("GaussianCopulaSampler is not fitted; call fit(X) first")
        n = int(n)
        z = rng.standard_normal((n, self.n_features_in_)) @ self.cholesky_.T
        x = self.quantile(ndtr(z))
        if np.any(self.bandwidth_ > 0):
            x = x + rng.standard_normal(x.shape) * self.bandwidth_
        return x

    def __repr__(self) -> str:
        return f"GaussianCopulaSampler(smoothing={self.smoothing!r}, jitter={self.jitter!r})"
