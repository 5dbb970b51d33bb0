"""Tests of thesislib.samplers.copula.GaussianCopulaSampler."""
import numpy as np
import pytest
from scipy import stats

from thesislib.samplers import GaussianCopulaSampler

SEED = 1234


def skewed_data(rng, n=3000):
    """Exponential, bimodal and normal marginals tied by a Gaussian copula."""
    R = np.array([[1.0, 0.7, -0.4], [0.7, 1.0, 0.2], [-0.4, 0.2, 1.0]])
    u = stats.norm.cdf(rng.standard_normal((n, 3)) @ np.linalg.cholesky(R).T)
    expo = stats.expon.ppf(u[:, 0], scale=2.0)
    bimodal = np.where(u[:, 1] < 0.5, -3.0, 3.0) + stats.norm.ppf(np.where(u[:, 1] < 0.5, 2 * u[:, 1], 2 * u[:, 1] - 1)) * 0.6
    normal = stats.norm.ppf(u[:, 2], loc=1.0, scale=0.5)
    return np.column_stack([expo, bimodal, normal])


def test_fit_stores_a_correlation_matrix():
    """The shared contract is tests/samplers/test_contract.py; this checks the copula's own part."""
    X = skewed_data(np.random.default_rng(SEED), n=300)
    s = GaussianCopulaSampler().fit(X)
    assert s.correlation_.shape == (3, 3) and np.allclose(np.diag(s.correlation_), 1)


def test_marginals_preserved():
    X = skewed_data(np.random.default_rng(SEED))
    x = GaussianCopulaSampler().fit(X).sample(20_000, np.random.default_rng(SEED + 1))
    for j in range(X.shape[1]):
        assert stats.ks_2samp(x[:, j], X[:, j]).pvalue > 1e-3
    assert x.min() >= X.min() and x.max() <= X.max()  # no smoothing: inside the training range
    assert (x[:, 0] >= 0).all()  # exponential stays positive
    # bimodal stays bimodal: few samples between the modes, as in the data
    gap = lambda v: np.mean(np.abs(v) < 0.5)
    assert gap(x[:, 1]) < 2 * gap(X[:, 1]) + 0.01


def test_rank_correlation_preserved():
    X = skewed_data(np.random.default_rng(SEED))
    s = GaussianCopulaSampler().fit(X)
    x = s.sample(20_000, np.random.default_rng(SEED + 2))
    rho_train = stats.spearmanr(X).statistic
    rho_sample = stats.spearmanr(x).statistic
    assert np.max(np.abs(rho_sample - rho_train)) < 0.06
    # and the sample matches the Gaussian-copula Spearman of the fitted R (6 sigma, n = 20000)
    expected = 6 / np.pi * np.arcsin(s.correlation_ / 2)
    assert np.max(np.abs(rho_sample - expected)) < 6 / np.sqrt(len(x))


def test_copula_correlation_is_normal_score_correlation():
    X = skewed_data(np.random.default_rng(SEED), n=500)
    z = stats.norm.ppf(stats.rankdata(X, axis=0) / (len(X) + 1))
    assert np.allclose(GaussianCopulaSampler().fit(X).correlation_, np.corrcoef(z.T))


def test_smoothing_and_degenerate_columns():
    rng = np.random.default_rng(SEED)
    X = np.column_stack([rng.standard_normal(400), np.full(400, 2.0), rng.integers(0, 3, 400)])
    X = np.column_stack([X, X[:, 0]])  # duplicated column: singular correlation
    s = GaussianCopulaSampler(smoothing=1.0).fit(X)
    x = s.sample(1000, np.random.default_rng(1))
    assert x.shape == (1000, 4) and np.isfinite(x).all()
    assert np.allclose(x[:, 1], 2.0)  # constant column has zero bandwidth
    assert x[:, 0].max() > X[:, 0].max() or x[:, 0].min() < X[:, 0].min() or s.bandwidth_[0] > 0
