"""The samplers of thesis Table 5.1 that need no learned model: naive, composite, meta-normal
and replacement variants, and those fitted to the moments or rows of a fitted set.

The readings of the garbled table and the registry of names are documented in
:mod:`thesislib.samplers.registry`; every class here imports from there too.
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np

__all__ = [
    "Sampler", "NaiveUniform", "NaiveNormal", "CompositeNormalUniform", "MetaNormal",
    "MetaUniformStd", "ReplacementComposite", "FittedUniform", "FittedNormal", "FittedRows",
    "FittedMeanNormal", "FittedGaussian",
]


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (use numpy.random.default_rng(seed))")
    return rng


class Sampler:
    """Base class: settings introspection, ``repr`` and the ``sample`` contract.

    Subclasses store every ``__init__`` argument unchanged under the same name.
    """

    needs_fit = False

    def get_params(self) -> dict[str, Any]:
        """Settings as given to ``__init__`` (name -> value)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {p: getattr(self, p) for p in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` parameter vectors.

        Parameters
        ----------
        n : int
            Number of instances.
        rng : numpy.random.Generator
            Source of randomness; the same generator state gives the same output.

        Returns
        -------
        ndarray, shape (n, d), float64
            Parameter vectors in units of model standard deviations.
        """
        n = _check_n(n)
        rng = _check_rng(rng)
        return np.asarray(self._sample(n, rng), dtype=np.float64)

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class NaiveUniform(Sampler):
    """Naive uniform ``U(-half_width, half_width)`` per parameter (thesis: 3.5, 4, 5)."""

    def __init__(self, half_width: float = 4.0, n_params: int = 100):
        self.half_width = half_width
        self.n_params = n_params

    def _sample(self, n, rng):
        return rng.uniform(-self.half_width, self.half_width, size=(n, self.n_params))


class NaiveNormal(Sampler):
    """Naive normal ``N(0, sigma)`` per parameter (thesis: sigma 1, 1.5, 1.8, 2)."""

    def __init__(self, sigma: float = 1.0, n_params: int = 100):
        self.sigma = sigma
        self.n_params = n_params

    def _sample(self, n, rng):
        return rng.normal(0.0, self.sigma, size=(n, self.n_params))


class CompositeNormalUniform(Sampler):
    """Composite: each entry ``N(0, sigma)`` w.p. ``1 - uniform_fraction``, else ``U(-a, a)``.

    Thesis "normal .8 sigma 1 uniform .2 6" (and its sigma 2 variant). Every column's
    marginal is the mixture ``0.8 N(0, sigma) + 0.2 U(-6, 6)``, as after shuffling
    80 % normal and 20 % uniform values within each column.
    """

    def __init__(self, sigma: float = 1.0, uniform_fraction: float = 0.2,
                 uniform_half_width: float = 6.0, n_params: int = 100):
        self.sigma = sigma
        self.uniform_fraction = uniform_fraction
        self.uniform_half_width = uniform_half_width
        self.n_params = n_params

    def _sample(self, n, rng):
        shape = (n, self.n_params)
        normal = rng.normal(0.0, self.sigma, size=shape)
        uniform = rng.uniform(-self.uniform_half_width, self.uniform_half_width, size=shape)
        return np.where(rng.random(shape) < self.uniform_fraction, uniform, normal)


class MetaNormal(Sampler):
    """Meta normal: per instance ``s ~ U(low, high)``, entries ``N(0, s)`` (thesis [0.5, 2])."""

    def __init__(self, low: float = 0.5, high: float = 2.0, n_params: int = 100):
        self.low = low
        self.high = high
        self.n_params = n_params

    def _sample(self, n, rng):
        s = rng.uniform(self.low, self.high, size=(n, 1))
        return rng.standard_normal((n, self.n_params)) * s


class MetaUniformStd(Sampler):
    """Meta uniform std: per instance std ``s ~ U(low, high)``, entries ``U(-sqrt(3) s, sqrt(3) s)``.

    Each row is uniform with standard deviation ``s``; the uniform counterpart of
    :class:`MetaNormal`. This reading reproduces the thesis' Table 6.4/6.5 rows.
    """

    def __init__(self, low: float = 0.5, high: float = 2.0, n_params: int = 100):
        self.low = low
        self.high = high
        self.n_params = n_params

    def _sample(self, n, rng):
        s = rng.uniform(self.low, self.high, size=(n, 1))
        return rng.uniform(-1.0, 1.0, size=(n, self.n_params)) * (np.sqrt(3.0) * s)


class ReplacementComposite(Sampler):
    """Normal base with a random number of entries per instance replaced by uniform values.

    Entries start as ``N(0, sigma)``. Per instance a count ``k`` is drawn and ``k``
    positions are drawn uniformly *with replacement* (so fewer than ``k`` distinct
    entries may change); they receive ``U(-uniform_half_width, uniform_half_width)``.

    ``count`` chooses how ``k`` is drawn:

    * ``"integers"``: ``k ~ U{0, ..., max_count - 1}`` (thesis "meta normal sigma .7
      0-25 uniform 6" with ``max_count=25``);
    * ``"beta"``: ``k = round(d * p)``, ``p ~ Beta(beta_a, beta_b)`` (thesis "normal
      sigma .7 x beta(3, 15) x uniform 6"; see the module docstring on this reading).
    """

    def __init__(self, sigma: float = 0.7, uniform_half_width: float = 6.0,
                 count: str = "integers", max_count: int = 25, beta_a: float = 3.0,
                 beta_b: float = 15.0, n_params: int = 100):
        self.sigma = sigma
        self.uniform_half_width = uniform_half_width
        self.count = count
        self.max_count = max_count
        self.beta_a = beta_a
        self.beta_b = beta_b
        self.n_params = n_params

    def draw_counts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Replacement counts ``k`` per instance, shape (n,), int."""
        if self.count == "integers":
            return rng.integers(0, self.max_count, size=n)
        if self.count == "beta":
            return np.rint(self.n_params * rng.beta(self.beta_a, self.beta_b, size=n)).astype(int)
        raise ValueError(f"count must be 'integers' or 'beta', got {self.count!r}")

    def _sample(self, n, rng):
        d = self.n_params
        x = rng.normal(0.0, self.sigma, size=(n, d))
        k = self.draw_counts(n, rng)
        kmax = int(k.max(initial=0))
        if kmax:
            pos = rng.integers(0, d, size=(n, kmax))
            vals = rng.uniform(-self.uniform_half_width, self.uniform_half_width, size=(n, kmax))
            rows, slot = np.nonzero(np.arange(kmax)[None, :] < k[:, None])
            x[rows, pos[rows, slot]] = vals[rows, slot]
        return x


class _FittedMoments(Sampler):
    needs_fit = True

    def fit(self, X, y=None):
        """Measure per-parameter mean ``mean_`` and std ``std_`` (ddof=0) of a fitted set.

        Parameters
        ----------
        X : array_like, shape (m, d)
            Fitted parameter vectors (e.g. the p-fit or ensemble set), m >= 1.
        y : ignored

        Returns
        -------
        self
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 1:
            raise ValueError(f"X must have shape (m, d) with m >= 1, got {X.shape}")
        if self.n_params is not None and X.shape[1] != self.n_params:
            raise ValueError(f"X has {X.shape[1]} columns, n_params is {self.n_params}")
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0)
        self.n_params_ = X.shape[1]
        return self

    def _check_fitted(self):
        if not hasattr(self, "mean_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(X) first")


class FittedUniform(_FittedMoments):
    """Uniform around the fitted mean: ``U(mean_ - h std_, mean_ + h std_)``, ``h = half_width``.

    Thesis "uniform mu, sigma fitted" is ``half_width=3`` (variance ``3 std_**2``),
    "uniform x 2" is ``half_width=6``; ``half_width=sqrt(3)`` matches ``std_``.
    """

    def __init__(self, half_width: float = 3.0, n_params: int | None = None):
        self.half_width = half_width
        self.n_params = n_params

    def _sample(self, n, rng):
        self._check_fitted()
        h = self.half_width * self.std_
        return rng.uniform(-1.0, 1.0, size=(n, self.n_params_)) * h + self.mean_


class FittedNormal(_FittedMoments):
    """Normal with the fitted moments: ``N(mean_, std_)`` per parameter, independent."""

    def __init__(self, n_params: int | None = None):
        self.n_params = n_params

    def _sample(self, n, rng):
        self._check_fitted()
        return rng.standard_normal((n, self.n_params_)) * self.std_ + self.mean_


class FittedMeanNormal(_FittedMoments):
    """``N(mean_, I)``: the fitted mean with unit variance (a control: only the mean is learned)."""

    def __init__(self, n_params: int | None = None):
        self.n_params = n_params

    def _sample(self, n, rng):
        self._check_fitted()
        return rng.standard_normal((n, self.n_params_)) + self.mean_


class FittedGaussian(_FittedMoments):
    """``N(mean_, cov_)`` with the fitted set's full covariance (ddof=0).

    The control between the diagonal :class:`FittedNormal` and a mixture: it learns the
    correlations between parameters but no structure beyond the first two moments.
    """

    def __init__(self, n_params: int | None = None):
        self.n_params = n_params

    def fit(self, X, y=None):
        """Mean ``mean_``, std ``std_`` and covariance ``cov_`` (ddof=0) of ``X`` (m, d); returns self."""
        X = np.ascontiguousarray(X, dtype=np.float64)  # the same bits for a C- or F-ordered X
        super().fit(X, y)
        self.cov_ = np.atleast_2d(np.cov(X, rowvar=False, ddof=0))
        w, V = np.linalg.eigh(self.cov_)  # a square root that survives a singular covariance
        self.root_ = V * np.sqrt(np.clip(w, 0.0, None))
        return self

    def _sample(self, n, rng):
        self._check_fitted()
        return rng.standard_normal((n, self.n_params_)) @ self.root_.T + self.mean_


class FittedRows(Sampler):
    """The fitted set itself: rows drawn uniformly with replacement ("original data")."""

    needs_fit = True

    def __init__(self, n_params: int | None = None):
        self.n_params = n_params

    def fit(self, X, y=None):
        """Store a copy of the fitted set as ``data_``, shape (m, d); returns self."""
        X = np.array(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 1:
            raise ValueError(f"X must have shape (m, d) with m >= 1, got {X.shape}")
        if self.n_params is not None and X.shape[1] != self.n_params:
            raise ValueError(f"X has {X.shape[1]} columns, n_params is {self.n_params}")
        self.data_ = X
        self.n_params_ = X.shape[1]
        return self

    def _sample(self, n, rng):
        if not hasattr(self, "data_"):
            raise RuntimeError("FittedRows is not fitted: call fit(X) first")
        return self.data_[rng.integers(0, self.data_.shape[0], size=n)]
