"""Tests of thesislib.evaluation.comparisons: families of sampler comparisons (Holm, every pair,
ranks)."""
import numpy as np
import pandas as pd
import pytest

from thesislib.evaluation import (
    COMPARISON_COLUMNS, draw_interval, holm, paired_difference, pairwise_comparisons, sampler_intervals)


def test_holm_matches_a_hand_computed_example():
    # sorted: 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005, 3 x 0.01, 2 x 0.03, 1 x 0.04 = .02, .03, .06, .04;
    # running maximum: .02, .03, .06, .06
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.01, np.nan, 0.04, 0.03, 0.005]), [0.03, np.nan, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    assert holm([]).shape == (0,)
    try:
        from statsmodels.stats.multitest import multipletests
    except ImportError:
        return
    q = np.random.default_rng(0).uniform(0, 0.2, 12)
    np.testing.assert_allclose(holm(q), multipletests(q, method="holm")[1])


def _study(rng, faces=60):
    """One small study: three samplers with 3 draws, a fixed mean-face baseline, two test sets."""
    out = {}
    for test_set, shift in (("held-out", 0.0), ("shifted", 0.5)):
        face = rng.normal(0, 1, faces)
        samplers = {name: 5 + mu + shift + face + rng.normal(0, 0.05, (3, 1)) + rng.normal(0, 0.1, (3, faces))
                    for name, mu in (("gmm", 0.0), ("normal", 0.05), ("uniform", 1.0))}
        samplers["mean face"] = (7 + face)[None]
        out[test_set] = samplers
    return out


def test_pairwise_table_has_every_pair_and_holm_within_each_test_set():
    errors = _study(np.random.default_rng(8))
    table = pairwise_comparisons(errors, "vertex_mm", fixed=["mean face"])
    assert list(table.columns) == COMPARISON_COLUMNS == [
        "test_set", "metric", "sampler_a", "sampler_b", "mean", "low", "high", "p_value", "p_adjusted"]
    assert len(table) == 2 * 6 and set(table["metric"]) == {"vertex_mm"}
    for test_set, g in table.groupby("test_set"):
        assert {frozenset(p) for p in zip(g["sampler_a"], g["sampler_b"])} == {
            frozenset(p) for p in [("gmm", "normal"), ("gmm", "uniform"), ("gmm", "mean face"),
                                   ("normal", "uniform"), ("normal", "mean face"), ("uniform", "mean face")]}
        np.testing.assert_allclose(g["p_adjusted"], holm(g["p_value"].to_numpy()))
    row = table[(table["test_set"] == "held-out") & (table["sampler_a"] == "gmm")
                & (table["sampler_b"] == "uniform")].iloc[0]
    ref = paired_difference(errors["held-out"]["gmm"], errors["held-out"]["uniform"])
    assert (row["mean"], row["low"], row["high"], row["p_value"]) == pytest.approx(
        (ref.mean, ref.low, ref.high, ref.p_value))
    assert row["mean"] < 0 and row["p_adjusted"] < 0.05
    assert (table["p_adjusted"] >= table["p_value"]).all()
    with pytest.raises(ValueError, match="mean face.*single draw"):
        pairwise_comparisons(errors)  # the baseline has one row and was not declared fixed
    with pytest.raises(ValueError, match="fixed names"):
        pairwise_comparisons(errors, fixed=["ridge"])


def test_sampler_intervals_rank_without_pseudo_replication():
    errors = _study(np.random.default_rng(9))
    table = sampler_intervals(errors, fixed=["mean face"])
    assert list(table.columns) == ["test_set", "metric", "sampler", "mean", "low", "high", "se", "n_draws",
                                   "n_faces", "rank", "rank_low", "rank_high"]
    held = table[table["test_set"] == "held-out"].set_index("sampler")
    assert list(held["rank"]) == [1.0, 2.0, 3.0, 4.0]
    # gmm and normal differ by 0.05 mm with draws sd 0.05: not separable, so both span ranks 1-2;
    # uniform and the mean face are clearly worse
    assert tuple(held.loc["gmm", ["rank_low", "rank_high"]]) == (1, 2)
    assert tuple(held.loc["normal", ["rank_low", "rank_high"]]) == (1, 2)
    assert tuple(held.loc["mean face", ["rank_low", "rank_high"]]) == (4, 4)
    assert held.loc["mean face", "n_draws"] == 1 and held.loc["gmm", "n_draws"] == 3
    assert (table["low"] < table["mean"]).all() and (table["mean"] < table["high"]).all()
    assert (table["rank_low"] <= table["rank"]).all() and (table["rank"] <= table["rank_high"]).all()
    ref = draw_interval(errors["shifted"]["uniform"])
    row = table[(table["test_set"] == "shifted") & (table["sampler"] == "uniform")].iloc[0]
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((ref.mean, ref.low, ref.high))
    assert isinstance(table, pd.DataFrame)
