"""Tests of thesislib.samplers.gmm: grid scores vs scikit-learn, BIC selection, caching, sampler."""
import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from thesislib.samplers.selection import COVARIANCE_TYPES, n_free_parameters
from thesislib.samplers import GMMSampler, fit_grid

SEED = 20240611


def three_cluster_data(rng, n_per=200, d=3):
    centres = np.array([[0.0] * d, [12.0] + [0.0] * (d - 1), [0.0, 12.0] + [0.0] * (d - 2)])
    return np.vstack([c + rng.standard_normal((n_per, d)) for c in centres])


def mixture_moments(w, mu, cov):
    """Analytic mean (d,) and covariance (d, d) of a mixture with full covariances (K, d, d)."""
    m = w @ mu
    second = np.einsum("k,kij->ij", w, cov + np.einsum("ki,kj->kij", mu, mu))
    return m, second - np.outer(m, m)


def full_covs(s):
    K, d = s.means_.shape
    c, t = s.covariances_, s.covariance_type_
    if t == "full":
        return c
    if t == "tied":
        return np.broadcast_to(c, (K, d, d))
    if t == "diag":
        return np.stack([np.diag(v) for v in c])
    return np.stack([np.eye(d) * v for v in c])


def assert_moments(x, mean, cov, k=6.0):
    """Sample mean/covariance within k standard errors (estimated from the sample)."""
    n = len(x)
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(x.mean(0) - mean) <= k * se_mean + 1e-12)
    c = x - mean
    prod = np.einsum("ni,nj->nij", c, c)
    se_cov = prod.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(prod.mean(0) - cov) <= k * se_cov + 1e-12)


# ----------------------------------------------------------------- grid
def test_grid_scores_equal_sklearn():
    rng = np.random.default_rng(SEED)
    X = three_cluster_data(rng, n_per=60, d=4)
    res = fit_grid(X, components=(1, 3), covariance_types=COVARIANCE_TYPES, seed=3, progress=False)
    assert len(res.table) == 8 and (res.table["status"] == "ok").all()
    n = len(X)
    for _, row in res.table.iterrows():
        gm = res.models[(row["n_components"], row["covariance_type"])]
        assert row["aic"] == pytest.approx(gm.aic(X), rel=1e-12)
        assert row["bic"] == pytest.approx(gm.bic(X), rel=1e-12)
        assert row["n_params"] == gm._n_parameters()
        # the parameter count implied by sklearn's aic and bic
        p_implied = (gm.bic(X) - gm.aic(X)) / (np.log(n) - 2.0)
        assert row["n_params"] == pytest.approx(p_implied, rel=1e-6)
        assert row["log_likelihood"] == pytest.approx(gm.score(X) * n, rel=1e-12)
        assert row["n_iter"] == gm.n_iter_ and row["converged"] == gm.converged_


@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_free_parameter_formula(cov):
    gm = GaussianMixture(n_components=3, covariance_type=cov, random_state=0).fit(
        np.random.default_rng(0).standard_normal((50, 4)))
    assert n_free_parameters(3, 4, cov) == gm._n_parameters()


def test_bic_picks_three_components():
    X = three_cluster_data(np.random.default_rng(SEED), n_per=150, d=3)
    res = fit_grid(X, components=(1, 2, 3, 4, 5, 8), covariance_types=("full",), seed=1, progress=False)
    assert res.best_row("bic")["n_components"] == 3
    assert res.best("bic").n_components == 3


def test_skip_rule_and_deterministic():
    X = np.random.default_rng(SEED).standard_normal((40, 5))  # 200 values
    res = fit_grid(X, components=(1, 10, 50), covariance_types=("spherical", "full"), seed=7, progress=False)
    t = res.table.set_index(["n_components", "covariance_type"])
    assert t.loc[(1, "full"), "status"] == "ok"  # 20 params
    assert t.loc[(10, "full"), "status"].startswith("skipped: n_params")  # 209 >= 200
    assert t.loc[(50, "spherical"), "status"].startswith("skipped: n_components")
    assert np.isnan(t.loc[(10, "full"), "bic"])
    res2 = fit_grid(X, components=(1, 10, 50), covariance_types=("spherical", "full"), seed=7, progress=False)
    cols = ["aic", "bic", "log_likelihood", "n_iter", "status"]
    assert res.table[cols].equals(res2.table[cols])
    loose = fit_grid(X, components=(10,), covariance_types=("full",), seed=7, progress=False,
                     max_params_ratio=None)
    assert loose.table.loc[0, "status"] == "ok"


def test_grid_cache_resume(tmp_path):
    X = three_cluster_data(np.random.default_rng(SEED), n_per=50, d=3)
    kw = dict(components=(1, 2, 3), covariance_types=("diag", "full"), seed=5, progress=False,
              cache_dir=tmp_path, n_jobs=2)
    first = fit_grid(X, **kw)
    assert not first.table["cached"].any()
    assert len(list(tmp_path.glob("*.npz"))) == 6 and not list(tmp_path.glob("*.tmp"))
    (tmp_path / sorted(p.name for p in tmp_path.glob("*.npz"))[0]).unlink()  # as if killed mid-grid
    second = fit_grid(X, **kw)
    assert second.table["cached"].sum() == 5
    third = fit_grid(X, **kw)
    assert third.table["cached"].all()
    cols = ["aic", "bic", "log_likelihood", "n_iter", "converged", "status"]
    assert first.table[cols].equals(third.table[cols])
    assert np.array_equal(third.best().means_, first.best().means_)
    # another seed is another cache key
    other = fit_grid(X, **dict(kw, seed=6))
    assert not other.table["cached"].any()


# ----------------------------------------------------------------- sampler
def test_sampler_fitted_attributes():
    """The shared contract is tests/samplers/test_contract.py; this checks the mixture's attributes."""
    X = three_cluster_data(np.random.default_rng(SEED), n_per=100, d=3)
    s = GMMSampler(n_components=3, covariance_type="full").fit(X)
    assert s.n_features_in_ == 3 and s.weights_.shape == (3,)


def test_sampler_matches_grid_cell():
    X = three_cluster_data(np.random.default_rng(SEED), n_per=60, d=3)
    s = GMMSampler(n_components=3, covariance_type="tied", seed=11).fit(X)
    gm = fit_grid(X, components=(3,), covariance_types=("tied",), seed=11, progress=False).best()
    assert np.array_equal(s.means_, gm.means_)


def test_sampler_with_criterion():
    X = three_cluster_data(np.random.default_rng(SEED), n_per=100, d=3)
    s = GMMSampler(criterion="bic", components=(1, 3, 6), covariance_types=("diag", "full")).fit(X)
    assert s.n_components_ == 3 and s.grid_ is not None and len(s.grid_.table) == 6


@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_sample_moments_match_mixture(cov):
    rng = np.random.default_rng(SEED)
    X = np.vstack([rng.normal(0, 1, (150, 3)) @ np.array([[1, .5, 0], [0, 1, .3], [0, 0, 1]]),
                   rng.normal(4, 0.7, (150, 3))])
    s = GMMSampler(n_components=2, covariance_type=cov).fit(X)
    mean, covm = mixture_moments(s.weights_, s.means_, full_covs(s))
    x = s.sample(200_000, np.random.default_rng(SEED + 1))
    assert_moments(x, mean, covm)


def test_sample_per_component_covariance():
    """Each component's draws have that component's covariance (checks the Cholesky path)."""
    rng = np.random.default_rng(SEED)
    X = np.vstack([rng.normal(0, 1, (200, 2)) @ np.array([[2.0, 0], [1.5, 0.5]]), rng.normal(30, 1, (200, 2))])
    s = GMMSampler(n_components=2, covariance_type="full").fit(X)
    x = s.sample(100_000, np.random.default_rng(3))
    k = int(np.argmin(np.linalg.norm(s.means_, axis=1)))
    near = x[np.linalg.norm(x - s.means_[k], axis=1) < 15]
    assert_moments(near, s.means_[k], s.covariances_[k])


# ----------------------------------------------------------------- conditioning
def labelled_data(rng, n=400):
    young = rng.random(n) < 0.5
    age = np.where(young, rng.normal(25, 3, n), rng.normal(65, 5, n))
    p0 = np.where(young, -2.0, 2.0) + 0.5 * rng.standard_normal(n)
    X = np.column_stack([p0, rng.standard_normal(n)])
    sex = rng.integers(0, 2, n)
    return X, age, sex


def test_conditional_sampling_shifts_mean():
    X, age, sex = labelled_data(np.random.default_rng(SEED))
    s = GMMSampler(n_components=2, covariance_type="full").fit(X, age=age, sex=sex)
    assert s.labels_ == ("age", "sex") and s.means_.shape == (2, 4)
    rng = np.random.default_rng(2)
    low = s.sample(4000, rng, age=25)
    high = s.sample(4000, rng, age=65, sex=1)
    assert low.shape == (4000, 2)
    assert low[:, 0].mean() < -1.5 and high[:, 0].mean() > 1.5
    both = s.sample(2, rng, age=np.array([25.0, 65.0]), sex=["f", "m"])
    assert both.shape == (2, 2)
    params, labels = s.sample_labels(5000, rng)
    assert params.shape == (5000, 2) and set(labels) == {"age", "sex"}
    assert abs(labels["age"].mean() - age.mean()) < 2.0
    with pytest.raises(ValueError):
        GMMSampler(n_components=1).fit(X).sample(3, rng, age=30)


def test_conditional_gaussian_formula():
    """One full Gaussian: conditional moments equal the textbook formula."""
    rng = np.random.default_rng(SEED)
    n = 2000
    age = rng.normal(45, 12, n)
    X = np.column_stack([0.05 * (age - 45) + 0.3 * rng.standard_normal(n), rng.standard_normal(n)])
    s = GMMSampler(n_components=1).fit(X, age=age)
    mu, S = s.means_[0], s.covariances_[0]
    c = (60.0 - s.label_mean_[0]) / s.label_scale_[0]
    m = mu[:2] + S[:2, 2] / S[2, 2] * (c - mu[2])
    C = S[:2, :2] - np.outer(S[:2, 2], S[:2, 2]) / S[2, 2]
    x = s.sample(100_000, np.random.default_rng(4), age=60.0)
    assert_moments(x, m, C)


@pytest.mark.parametrize("cov", COVARIANCE_TYPES)
def test_conditional_all_covariance_types(cov):
    X, age, sex = labelled_data(np.random.default_rng(SEED))
    s = GMMSampler(n_components=2, covariance_type=cov).fit(X, age=age)
    rng = np.random.default_rng(5)
    assert s.sample(3000, rng, age=25)[:, 0].mean() < s.sample(3000, rng, age=65)[:, 0].mean() - 2
