"""The control samplers of the fitted set: mean only, and the full-covariance Gaussian."""
import numpy as np


def test_fitted_gaussian_and_mean_normal_controls():
    from thesislib.samplers import FittedGaussian, FittedMeanNormal

    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 4))
    X = rng.normal(size=(4000, 4)) @ A.T + np.array([1.0, -2.0, 0.5, 0.0])
    g = FittedGaussian().fit(X)
    np.testing.assert_allclose(g.cov_, np.cov(X, rowvar=False, ddof=0))
    draws = g.sample(40000, rng)
    np.testing.assert_allclose(np.cov(draws, rowvar=False), g.cov_, atol=0.08 * np.abs(g.cov_).max())
    np.testing.assert_allclose(draws.mean(0), X.mean(0), atol=0.05)
    m = FittedMeanNormal().fit(X).sample(40000, rng)
    np.testing.assert_allclose(m.mean(0), X.mean(0), atol=0.03)
    np.testing.assert_allclose(np.cov(m, rowvar=False), np.eye(4), atol=0.03)
    singular = np.c_[X[:, :2], X[:, :2].sum(1)]  # rank 2 of 3: still samples
    assert np.isfinite(FittedGaussian().fit(singular).sample(5, rng)).all()


def test_fitted_gaussian_fit_does_not_depend_on_the_memory_layout():
    """A fitted set read from parquet is column-major, one made in memory row-major; the fit's
    fingerprint is part of a dataset's card, so both must give the same bits (a rerun of chapter 07
    refused its own N(mu, Sigma) dataset when they did not)."""
    from thesislib.datasets.card import fit_fingerprint
    from thesislib.samplers import FittedGaussian

    X = np.random.default_rng(5).normal(size=(3000, 100)) @ np.random.default_rng(6).normal(size=(100, 100))
    c, f = FittedGaussian().fit(np.ascontiguousarray(X)), FittedGaussian().fit(np.asfortranarray(X))
    assert fit_fingerprint(c) == fit_fingerprint(f)
    rng = lambda: np.random.default_rng(0)  # noqa: E731
    assert np.array_equal(c.sample(5, rng()), f.sample(5, rng()))
