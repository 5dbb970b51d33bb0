"""Tests for thesislib.evaluation.metrics: scipy equivalence, hand-computed cases, analytic values."""
import numpy as np
import pytest
from scipy import stats

from thesislib.evaluation import metrics as M
from thesislib.evaluation import geometry
from thesislib.evaluation import scores as SC


def seed():
    """Fresh seed per run: the checks below must hold for any seed."""
    return int(np.random.SeedSequence().entropy % 2**32)


# --------------------------------------------------------------------------- KS

def test_ks_equals_scipy_per_column():
    rng = np.random.default_rng(seed())
    a = rng.normal(size=(300, 6))
    b = np.round(rng.normal(0.1, 1.2, size=(170, 6)), 1)  # ties and a different size
    stat, p = M.ks_table(a, b)
    assert stat.shape == p.shape == (6,)
    for j in range(6):
        ref = stats.ks_2samp(a[:, j], b[:, j])
        assert stat[j] == pytest.approx(ref.statistic, abs=1e-15)
        assert p[j] == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-300)
    total, mean_p = M.ks_summary(a, b)
    assert total == pytest.approx(stat.sum()) and mean_p == pytest.approx(p.mean())
    with pytest.raises(ValueError):
        M.ks_table(a, b[:, :3])


# --------------------------------------------------------------------------- scores, ranks, CI

def test_corrected_score_hand_values():
    assert SC.corrected_score(0.5, 0.8) == 0.8
    assert SC.corrected_score(1.0, 0.8) == pytest.approx(0.8)
    assert SC.corrected_score(2.0, 0.8) == pytest.approx(0.8 / 2 ** (1 / 30))
    assert SC.corrected_score(2.0, 0.8) == pytest.approx(0.781728, abs=1e-6)
    assert SC.corrected_score(1.5, 0.9, n=10) == pytest.approx(0.9 / 1.5**0.1)
    out = SC.corrected_score(np.array([[0.3, 1.69], [4.0, 0.99]]), 0.79)
    np.testing.assert_allclose(out, [[0.79, 0.79 / 1.69 ** (1 / 30)], [0.79 / 4 ** (1 / 30), 0.79]])
    assert out.shape == (2, 2)


def test_ranks_hand_case():
    scores = [0.8, 0.7, 0.9, 0.7, 0.6, 0.85]
    np.testing.assert_array_equal(SC.ranks(scores), [3, 4.5, 1, 4.5, 6, 2])
    np.testing.assert_array_equal(SC.ranks(scores, higher_is_better=False), [4, 2.5, 6, 2.5, 1, 5])


def test_mean_rank_ci_hand_case():
    scores = [0.8, 0.7, 0.9, 0.7, 0.6, 0.85]
    groups = ["a", "a", "a", "b", "b", "b"]  # ranks a: 3, 4.5, 1   b: 4.5, 6, 2
    ci = SC.mean_rank_ci(scores, groups)
    t = 4.302652729749464  # t_{0.975, 2}
    np.testing.assert_array_equal(ci.groups, ["a", "b"])
    np.testing.assert_array_equal(ci.count, [3, 3])
    np.testing.assert_allclose(ci.mean, [17 / 6, 25 / 6])
    sem = np.sqrt([6.1666666667 / 2, 8.1666666667 / 2]) / np.sqrt(3)
    np.testing.assert_allclose(ci.low, ci.mean - t * sem, rtol=1e-9)
    np.testing.assert_allclose(ci.high, ci.mean + t * sem, rtol=1e-9)
    np.testing.assert_allclose(ci.low, [-1.52865, -0.85309], atol=1e-4)


def test_group_ci_single_member_is_nan_and_matches_scipy():
    rng = np.random.default_rng(seed())
    v = rng.normal(size=9)
    ci = SC.group_mean_ci(v, ["x"] * 8 + ["y"])
    lo, hi = stats.t.interval(0.95, 7, loc=v[:8].mean(), scale=stats.sem(v[:8]))
    assert ci.low[0] == pytest.approx(lo) and ci.high[0] == pytest.approx(hi)
    assert np.isnan(ci.low[1]) and ci.mean[1] == v[8]


# --------------------------------------------------------------------------- vertex error

def random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_vertex_error_zero_for_truth_and_rigid_motion():
    rng = np.random.default_rng(seed())
    true = rng.normal(0, 50, size=(500, 3))
    assert np.allclose(geometry.vertex_error(true, true), 0, atol=1e-9)
    moved = true @ random_rotation(rng).T + rng.normal(0, 100, 3)
    err = geometry.vertex_error(moved, true)
    assert err.shape == (500,) and np.allclose(err, 0, atol=1e-8)
    # a mirrored face is not a rigid motion
    assert geometry.vertex_error(true * [-1, 1, 1], true).mean() > 1


def test_vertex_error_invariant_to_rigid_transform_of_prediction():
    rng = np.random.default_rng(seed())
    true = rng.normal(0, 50, size=(400, 3))
    pred = true + rng.normal(0, 2, size=true.shape)
    e0 = geometry.vertex_error(pred, true)
    e1 = geometry.vertex_error(pred @ random_rotation(rng).T + rng.normal(0, 30, 3), true)
    np.testing.assert_allclose(e0, e1, atol=1e-8)
    assert 0 < np.median(e0) < 2 * 2 * np.sqrt(3)


def test_vertex_error_scale_and_batch():
    rng = np.random.default_rng(seed())
    true = rng.normal(0, 50, size=(3, 200, 3))
    pred = 1.1 * true @ random_rotation(rng).T + 5.0
    e = geometry.vertex_error(pred, true, scale=True)
    assert e.shape == (3, 200) and np.allclose(e, 0, atol=1e-8)
    assert geometry.vertex_error(pred, true).mean() > 1
    summary = geometry.vertex_error_summary(geometry.vertex_error(pred, true))
    assert set(summary) == {"median", "mean", "std"} and summary["mean"] > 0


# --------------------------------------------------------------------------- variety

def test_kmeans_distortion_thesis_values_and_decrease():
    """Table 6.4: random 100-dim data falls from about 9.95 (2 clusters) to 9.37 (200)."""
    rng = np.random.default_rng(seed())
    X = rng.normal(size=(10_000, 100))
    ks = [2, 10, 25, 100, 200]
    dist = [M.kmeans_distortion(X, k, rng) for k in ks]
    assert all(a > b for a, b in zip(dist, dist[1:])), dist
    assert dist[0] == pytest.approx(9.95, abs=0.03)  # measured 9.937 (uniform data: 9.952)
    assert dist[-1] == pytest.approx(9.37, abs=0.03)  # measured 9.358 (uniform data: 9.365)


def test_kmeans_distortion_is_scale_free_and_finds_clusters():
    rng = np.random.default_rng(seed())
    X = rng.normal(size=(600, 5)) * [1, 10, 100, 0.1, 1]
    a = M.kmeans_distortion(X, 3, np.random.default_rng(1))
    b = M.kmeans_distortion(X / [1, 10, 100, 0.1, 1], 3, np.random.default_rng(1))
    assert a == pytest.approx(b, rel=1e-6)
    blobs = np.repeat(rng.normal(0, 10, size=(4, 5)), 150, axis=0) + rng.normal(size=(600, 5))
    assert M.kmeans_distortion(blobs, 4, rng, n_init=4) < 0.5 * M.kmeans_distortion(blobs, 1, rng)


@pytest.mark.parametrize("kind,scale,median", [
    ("normal", 1.0, 14.10), ("normal", 1.5, 21.14),
    ("uniform", 3.5, 28.55), ("uniform", 4.0, 32.61), ("uniform", 5.0, 40.72)])
def test_l2_median_of_random_pairs(kind, scale, median):
    rng = np.random.default_rng(seed())
    if kind == "normal":
        X = rng.normal(0, scale, size=(5000, 100))
    else:
        X = rng.uniform(-scale, scale, size=(5000, 100))
    q1, q2, q3 = M.distance_quartiles(X, "l2", rng)
    assert q1 < q2 < q3
    assert q2 == pytest.approx(median, rel=0.01)


def test_cosine_quartiles_of_random_data():
    rng = np.random.default_rng(seed())
    q = M.distance_quartiles(rng.normal(size=(5000, 100)), "cosine", rng)
    np.testing.assert_allclose(q, [0.93, 1.00, 1.07], atol=0.01)  # thesis Table 6.5
    with pytest.raises(ValueError):
        M.distance_quartiles(np.ones((3, 2)), "manhattan", rng)


def test_nearest_centroid_accuracy():
    rng = np.random.default_rng(seed())
    n = 2000
    labels = np.where(rng.random(n) < 0.5, "male", "female")
    X = rng.normal(size=(n, 20))
    X[:, 0] *= 5  # largest-variance direction carries the concept
    X[:, 0] += np.where(labels == "male", 6.0, -6.0)
    acc2 = M.nearest_centroid_accuracy(X, labels, 2)
    accall = M.nearest_centroid_accuracy(X, labels)
    # along the concept axis the classes are N(+-6, 5): accuracy Phi(6/5) = 0.885
    assert acc2 == pytest.approx(stats.norm.cdf(6 / 5), abs=6 * np.sqrt(0.885 * 0.115 / n) + 0.02)
    assert 0.8 < accall <= 1
    noise = M.nearest_centroid_accuracy(rng.normal(size=(n, 20)), labels, 2)
    assert noise < 0.6


# --------------------------------------------------------------------------- chapter 06 tables

def test_variety_table_matches_single_metrics():
    import pandas as pd
    from thesislib.facemodel import Validity

    rng = np.random.default_rng(seed())
    ref = rng.normal(size=(400, 6))
    data = {"normal": rng.normal(size=(300, 6)), "wide": rng.uniform(-4, 4, size=(250, 6))}
    validity = Validity().fit(ref)
    s = int(rng.integers(1 << 30))
    table = M.variety_table(data, ref, np.random.default_rng(s), clusters=(2, 5), n_pairs=500,
                            validity=validity)
    assert isinstance(table, pd.DataFrame) and list(table.index) == ["normal", "wide"]
    assert list(table.columns) == ["n", "ks_sum", "ks_p", "distortion_2", "distortion_5", "distortion_drop",
                                   "cos_q1", "cos_q2", "cos_q3", "l2_q1", "l2_q2", "l2_q3", "valid_fraction"]
    assert (table.distortion_drop == table.distortion_2 - table.distortion_5).all()
    # the same generator consumed in the same order reproduces each single call
    r = np.random.default_rng(s)
    for name, X in data.items():
        assert table.loc[name, "n"] == len(X)
        assert table.loc[name, "ks_sum"] == pytest.approx(M.ks_summary(X, ref)[0])
        assert table.loc[name, "distortion_2"] == pytest.approx(M.kmeans_distortion(X, 2, r))
        assert table.loc[name, "distortion_5"] == pytest.approx(M.kmeans_distortion(X, 5, r))
        assert table.loc[name, ["cos_q1", "cos_q2", "cos_q3"]].tolist() == pytest.approx(
            M.distance_quartiles(X, "cosine", r, n_pairs=500))
        assert table.loc[name, ["l2_q1", "l2_q2", "l2_q3"]].tolist() == pytest.approx(
            M.distance_quartiles(X, "l2", r, n_pairs=500))
        assert table.loc[name, "valid_fraction"] == pytest.approx(validity.valid_fraction(X))
    assert table.loc["wide", "ks_sum"] > table.loc["normal", "ks_sum"]
    assert table.loc["wide", "valid_fraction"] < table.loc["normal", "valid_fraction"]
    small = M.variety_table({"tiny": rng.normal(size=(4, 6))}, ref, rng, clusters=(2, 10), n_pairs=20)
    assert np.isnan(small.loc["tiny", "distortion_10"]) and "valid_fraction" not in small
    with pytest.raises(ValueError, match="columns"):
        M.variety_table({"bad": rng.normal(size=(10, 3))}, ref, rng)


def test_transfer_centroid_accuracy():
    rng = np.random.default_rng(seed())
    n = 2000
    sex = np.where(rng.random(n) < 0.5, "male", "female")
    shift = np.where(sex == "male", 4.0, -4.0)
    R = rng.normal(size=(n, 10))
    R[:, 0] = 3 * R[:, 0] + shift
    # on the reference itself it equals the in-sample classifier
    assert M.transfer_centroid_accuracy(R, sex, R, sex, 2) == pytest.approx(
        M.nearest_centroid_accuracy(R, sex, 2))
    X = rng.normal(size=(n, 10))
    X[:, 0] = 3 * X[:, 0] + shift
    good = M.transfer_centroid_accuracy(R, sex, X, sex, 2)
    assert good == pytest.approx(stats.norm.cdf(4 / 3), abs=0.04)
    flipped = np.where(sex == "male", "female", "male")
    assert M.transfer_centroid_accuracy(R, sex, X, flipped, 2) == pytest.approx(1 - good)
    with pytest.raises(ValueError):
        M.transfer_centroid_accuracy(R, sex, X, sex[:5])


def test_metric_correlations():
    import pandas as pd

    s = pd.Series({"a": 0.6, "b": 0.4, "c": 0.3, "d": 0.2}, name="vertex error (mm), held-out")
    table = pd.DataFrame({"n": [1, 1, 1, 1, 1], "x": [3.0, 2.0, 1.5, 0.5, 9.0], "flat": [1.0] * 5},
                         index=["a", "b", "c", "d", "not_scored"])
    corr = SC.metric_correlations(table, s)
    assert list(corr.index) == ["x", "flat"] and corr.loc["x", "n"] == 4
    ref = stats.pearsonr([3.0, 2.0, 1.5, 0.5], [0.6, 0.4, 0.3, 0.2])
    assert corr.loc["x", "r"] == pytest.approx(ref.statistic) and corr.loc["x", "p"] == pytest.approx(ref.pvalue)
    assert np.isnan(corr.loc["flat", "r"])
    assert np.isnan(SC.metric_correlations(table.iloc[:2], s).loc["x", "r"])


def test_ks_quality_table_by_hand():
    from thesislib.evaluation import ks_quality_table, ks_summary

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(300, 4))
    draws = {"same": rng.normal(size=(200, 4)), "wide": rng.normal(0, 3, size=(200, 4))}
    axis = np.array([1.0, 0, 0, 0])

    class Inside:  # valid when every coefficient is within 2 sd
        def valid_fraction(self, X):
            return float(np.mean(np.all(np.abs(X) < 2, axis=1)))

    t = ks_quality_table(draws, ref, sex_axis=axis, validity=Inside(), kinds={"same": "a", "wide": "b"})
    assert list(t.columns) == ["sampler", "kind", "ks_sum", "mean_p", "ks_sex_axis", "valid_fraction"]
    assert list(t.sampler) == ["same", "wide"] and list(t.kind) == ["a", "b"]
    for i, X in enumerate(draws.values()):
        assert t.ks_sum[i] == pytest.approx(ks_summary(X, ref)[0])
        assert t.ks_sex_axis[i] == pytest.approx(ks_summary(X[:, :1], ref[:, :1])[0])
        assert t.valid_fraction[i] == Inside().valid_fraction(X)
    assert t.ks_sum[1] > t.ks_sum[0]
    assert list(ks_quality_table(draws, ref).columns) == ["sampler", "ks_sum", "mean_p"]


def test_draw_summary_values_labels_and_validity():
    rng = np.random.default_rng(seed())
    draws = {"a": rng.normal(size=(300, 5)), "b": rng.uniform(-4, 4, size=(200, 5))}

    class Inside:  # valid when every coefficient is within 2 sd
        def valid_fraction(self, X):
            return float(np.mean(np.all(np.abs(X) < 2, axis=1)))

    t = M.draw_summary(draws, validity=Inside(), labels={"a": "normal", "b": "uniform"})
    assert list(t.columns) == ["sampler", "label", "median_norm", "mean_abs", "std", "per_face_std", "max_abs",
                               "valid_fraction"]
    assert list(t.sampler) == ["a", "b"] and list(t.label) == ["normal", "uniform"]
    for i, X in enumerate(draws.values()):
        assert t.median_norm[i] == pytest.approx(np.median(np.sqrt((X ** 2).sum(1))))
        assert t.mean_abs[i] == pytest.approx(np.abs(X).mean()) and t["std"][i] == pytest.approx(X.std())
        assert t.per_face_std[i] == pytest.approx(np.mean([row.std() for row in X]))
        assert t.max_abs[i] == np.abs(X).max() and t.valid_fraction[i] == Inside().valid_fraction(X)
    assert t["std"][1] > t["std"][0] and t.valid_fraction[1] < t.valid_fraction[0]  # U(-4, 4): sd 2.3
    assert list(M.draw_summary(draws, labels=str.upper).label) == ["A", "B"]
    assert list(M.draw_summary(draws).columns) == ["sampler", "median_norm", "mean_abs", "std", "per_face_std",
                                                   "max_abs"]
