"""Tests of thesislib.studies.gmm: the chosen mixture, the grid's tables, mixture draws and the KS comparison."""
import numpy as np
import pandas as pd
import pytest

from thesislib.samplers import fit_grid
from thesislib.studies import (
    chosen_mixture, criterion_table, grid_counts, ks_per_coefficient, mixture_draws, mixture_name,
    sampler_comparison)
from thesislib.studies.gmm import DEFAULT_MIXTURE


@pytest.fixture(scope="module")
def grid():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-2, 1, (60, 4)), rng.normal(2, 1, (60, 4))])
    return X, fit_grid(X, [1, 2], ["diag", "full"], seed=0, n_jobs=1, max_iter=50)


def test_chosen_mixture_is_the_lowest_fitted_cell_from_a_table_a_file_or_nothing(tmp_path):
    table = pd.DataFrame({"n_components": [1, 3, 2, 4], "covariance_type": ["diag", "spherical", "full", "tied"],
                          "bic": [10.0, 5.0, np.nan, 1.0], "aic": [1.0, 9.0, 8.0, 0.5],
                          "status": ["ok", "ok", "skipped: too many parameters", "failed: x"]})
    assert chosen_mixture(table, "bic") == {"n_components": 3, "covariance_type": "spherical"}
    assert chosen_mixture(table, "aic") == {"n_components": 1, "covariance_type": "diag"}
    table.drop(columns="status").to_csv(tmp_path / "grid.csv", index=False)
    assert chosen_mixture(tmp_path / "grid.csv", "bic") == {"n_components": 4, "covariance_type": "tied"}
    assert chosen_mixture(tmp_path / "absent.csv") == DEFAULT_MIXTURE == chosen_mixture(None)
    with pytest.raises(ValueError):
        chosen_mixture(table, "loglik")


def test_the_chosen_mixture_is_the_grids_best_row(grid):
    X, g = grid
    row = g.best_row("bic")
    chosen = chosen_mixture(g.table, "bic")
    assert chosen == {"n_components": int(row.n_components), "covariance_type": row.covariance_type}
    assert mixture_name(chosen) == f"GMM {int(row.n_components)} ({row.covariance_type})"


def test_criterion_table_and_counts(grid):
    _, g = grid
    wide = criterion_table(g.table, ["full", "diag"])
    assert list(wide.columns) == ["AIC full", "AIC diag", "BIC full", "BIC diag"]
    assert list(wide.index) == [1, 2]
    assert wide.loc[2, "BIC diag"] == g.table.set_index(["n_components", "covariance_type"]).loc[(2, "diag"), "bic"]
    counts = grid_counts(g.table)
    assert counts["cells"] == 4 and counts["fitted"] + counts["skipped"] + counts["failed"] == 4


def test_mixture_draws_and_comparison_are_reproducible_and_complete(grid):
    X, g = grid
    X_test = np.random.default_rng(5).normal(0, 2, (50, 4))
    a = mixture_draws(X, g.table, "bic", 30, np.random.default_rng(1), seed=0, max_iter=50)
    b = mixture_draws(X, g.table, "bic", 30, np.random.default_rng(1), seed=0, max_iter=50)
    assert [k.split(" ")[1] for k in a] == ["1", "2"]  # the best mixture of each component count
    assert all(np.array_equal(a[k], b[k]) and a[k].shape == (30, 4) for k in a)
    best = mixture_name(chosen_mixture(g.table, "bic"))
    ks, draws = sampler_comparison(X, X_test, a, ["naive_normal_1", "fitted_normal"], 30, np.random.default_rng(2),
                                   chosen=best)
    assert list(draws) == [*a, "Gaussian copula", "naive normal σ 1", "normal μ, σ fitted"]
    assert set(ks.sampler) == set(draws) and list(ks.columns[:3]) == ["sampler", "kind", "chosen"]
    assert ks.loc[ks.chosen, "sampler"].tolist() == [best]
    assert dict(zip(ks.sampler, ks.kind))["Gaussian copula"] == "copula"
    curves = ks_per_coefficient(draws, X_test, [best, "Gaussian copula", "not there"])
    assert list(curves) == [k for k in draws if k in (best, "Gaussian copula")]
    assert all(v.shape == (4,) and np.all((v >= 0) & (v <= 1)) for v in curves.values())
