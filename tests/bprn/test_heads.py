"""The ridge reference: the long-data path against sklearn's RidgeCV."""
import numpy as np
import pytest
from sklearn.linear_model import RidgeCV

from thesislib.bprn import heads


@pytest.mark.parametrize("noise", [0.05, 1.0, 30.0])
def test_long_ridge_matches_sklearn(noise):
    """More rows than features: the same alpha (chosen by leave-one-out error), coefficients
    and intercept as RidgeCV, whatever alpha the noise level makes GCV choose."""
    rng = np.random.default_rng(3)
    n, f, p = 700, 40, 6
    Z = rng.normal(size=(n, f)) * rng.uniform(0.2, 3, f) + rng.normal(size=f)
    Z[:, 5] = Z[:, 4] + 1e-3 * rng.normal(size=n)          # near-collinear columns
    Y = Z @ rng.normal(size=(f, p)) * 0.3 + 2.0 + noise * rng.normal(size=(n, p))
    alphas = tuple(np.logspace(-1, 4, 11))
    coef, icpt, alpha = heads.ridge_solution(Z, Y, alphas)
    ref = RidgeCV(alphas=alphas).fit(Z, Y)
    assert alpha == ref.alpha_
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(icpt, ref.intercept_, rtol=1e-7, atol=1e-9)


def test_long_ridge_alphas_differ_with_noise():
    """The test above is not one alpha three times: GCV moves with the noise."""
    rng = np.random.default_rng(3)
    Z = rng.normal(size=(700, 40))
    W = rng.normal(size=(40, 6)) * 0.3
    chosen = {heads.ridge_solution(Z, Z @ W + s * rng.normal(size=(700, 6)), tuple(np.logspace(-1, 4, 11)))[2]
              for s in (0.01, 30.0)}
    assert len(chosen) == 2


def test_long_ridge_blocks_do_not_change_the_answer():
    rng = np.random.default_rng(4)
    Z, Y = rng.normal(size=(500, 30)), rng.normal(size=(500, 3))
    a = heads._ridge_gcv_long(Z, Y, (0.1, 1.0, 10.0), block=8192)
    b = heads._ridge_gcv_long(Z, Y, (0.1, 1.0, 10.0), block=64)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    assert a[2] == b[2]


def test_ridge_head_file_predicts_as_the_fitted_head(tmp_path):
    """A saved ridge head (float32 coefficients) predicts as the fitted one within 1e-6 sd, NaN
    features included, and its alpha and alphas come back."""
    from thesislib.bprn import RidgeHead

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 40))
    Y = X[:, :5] @ rng.normal(size=(5, 8)) + rng.normal(0, 0.1, (300, 8))
    head = RidgeHead(alphas=(0.1, 1.0, 10.0)).fit(X, Y)
    path = head.save(tmp_path / "ridge" / "head.npz")
    back = RidgeHead.load(path)
    Z = rng.normal(size=(20, 40))
    Z[3, 7] = np.nan
    np.testing.assert_allclose(back.predict(Z), head.predict(Z), atol=1e-6)
    assert back.alpha_ == head.alpha_ and back.alphas == head.alphas
    assert not list(path.parent.glob("*.tmp"))  # written atomically: no temporary file left
