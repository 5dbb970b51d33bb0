"""Tests of chapter 06's datasets and sex concept (thesislib.studies.variety)."""
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from thesislib.samplers import registry as S
from thesislib.studies import variety as V


@dataclass
class Fitted:
    params: np.ndarray
    age: np.ndarray
    sex: np.ndarray


def labelled_set(m=400, d=6, seed=0, gap=6.0):
    """Faces whose sex is the sign of a large first coefficient; ages 20-69."""
    rng = np.random.default_rng(seed)
    sex = (np.arange(m) % 2).astype(float)
    X = rng.normal(size=(m, d))
    X[:, 0] += np.where(sex > 0.5, gap / 2, -gap / 2)
    return Fitted(X, 20 + (np.arange(m) % 50).astype(float), sex)


def test_labels_helpers():
    f = labelled_set(10)
    assert V.has_age_sex(f)
    assert not V.has_age_sex(Fitted(f.params, f.age, np.where(np.arange(10) == 3, np.nan, f.sex)))
    assert not V.has_age_sex(Fitted(f.params, None, f.sex))
    assert V.sex_names([0, 1, 0.7, True]).tolist() == ["female", "male", "male", "male"]
    assert V.age_groups([18, 29.9, 30, 44, 45, 59, 60, 95, 10]).tolist() == [
        "18-29", "18-29", "30-44", "30-44", "45-59", "45-59", "60+", "60+", "nan"]


def test_draw_datasets_order_labels_and_gmm_sex():
    fitted = labelled_set(300, 6)
    names = ["naive_normal_1", "fitted_normal"]
    draws = V.draw_datasets(names, fitted, 80, np.random.default_rng(5), gmm_components=2, seed=1)
    assert list(draws.params) == ["fitted_set", *names, "gmm", "copula"] == list(draws.labels)
    assert draws.params["fitted_set"] is not None and np.array_equal(draws.params["fitted_set"], fitted.params)
    assert all(draws.params[k].shape == (80, 6) for k in list(draws.params)[1:])
    assert draws.labels["naive_normal_1"] == S.sampler_label("naive_normal_1")
    assert draws.labels["gmm"] == "GMM 2 (full)" and draws.labels["copula"] == "Gaussian copula"
    # the samplers draw first, from the same generator, as draw_samplers does
    expected = S.draw_samplers(names, 80, np.random.default_rng(5), 6, fitted.params)
    for k in names:
        np.testing.assert_array_equal(draws.params[k], expected[k])
    # the mixture learned sex with the parameters: its male faces sit on the male side
    male = draws.sex["gmm"]
    assert list(draws.sex) == ["gmm"] and male.dtype == bool and 0.2 < male.mean() < 0.8
    assert draws.params["gmm"][male, 0].mean() > 1.5 > -1.5 > draws.params["gmm"][~male, 0].mean()
    again = V.draw_datasets(names, fitted, 80, np.random.default_rng(5), gmm_components=2, seed=1)
    assert all(np.array_equal(again.params[k], draws.params[k]) for k in draws.params)
    unlabelled = V.draw_datasets(names, Fitted(fitted.params, fitted.age * np.nan, fitted.sex), 20,
                                 np.random.default_rng(5), gmm_components=2)
    assert unlabelled.sex == {} and len(unlabelled) == 5


def test_merged_keeps_order_and_notes():
    a = V.VarietyDraws({"x": np.zeros((2, 3))}, {"x": "X"}, {}, ("one",))
    b = V.VarietyDraws({"y": np.ones((2, 3))}, {"y": "Y"}, {"y": np.array([True, False])}, ("two",))
    m = a.merged(b)
    assert list(m.params) == ["x", "y"] and m.labels == {"x": "X", "y": "Y"} and list(m.sex) == ["y"]
    assert m.notes == ("one", "two") and len(m) == 2 and len(a) == 1  # a is unchanged


def test_gan_draws_load_skip_and_key(tmp_path):
    pytest.importorskip("torch")
    from thesislib.samplers.gan.estimator import CVGAN2

    assert "run chapter 04 first" in V.gan_draws(tmp_path / "absent", 6, 10, np.random.default_rng(0)).notes[0]
    models = tmp_path / "models"
    models.mkdir()
    f = labelled_set(40, 6)
    CVGAN2(epochs=0, progress=False).fit(f.params, f.age, f.sex).save(models / "04_cvgan2.pt")
    g = labelled_set(40, 4)
    CVGAN2(epochs=0, progress=False).fit(g.params, g.age, g.sex).save(models / "small.pt")
    (models / "05_bprn.pt").write_bytes(b"not a checkpoint")
    out = V.gan_draws(models, 6, 30, np.random.default_rng(1))
    assert list(out.params) == ["cvgan2"] and out.params["cvgan2"].shape == (30, 6)
    assert out.sex["cvgan2"].dtype == bool and out.labels["cvgan2"].endswith("(04_cvgan2.pt)")
    notes = " ".join(out.notes)
    assert "`04_cvgan2.pt`: cvgan2, 0 epochs" in notes and "`05_bprn.pt`: not a GAN" in notes
    assert "`small.pt`: trained on 4 parameters, this run has 6; skipped" in notes
    assert "No GAN checkpoint" not in notes
    taken = V.gan_draws(models, 6, 30, np.random.default_rng(1), taken={"cvgan2": None})
    assert list(taken.params) == ["04_cvgan2"]
    np.testing.assert_array_equal(taken.params["04_cvgan2"], out.params["cvgan2"])  # same draw


def test_sex_accuracy_table_and_leading_dims():
    fitted = labelled_set(400, 6, gap=8.0)
    good = labelled_set(200, 6, seed=1, gap=8.0)
    draws = V.VarietyDraws({"good": good.params, "flipped": good.params, "plain": good.params},
                           {"good": "Good", "flipped": "Flipped", "plain": "Plain"},
                           {"good": good.sex > 0.5, "flipped": good.sex < 0.5})
    t = V.sex_accuracy_table(fitted.params, fitted.sex, draws)
    assert list(t.columns) == ["1 dims", "2 dims", "5 dims", "all 6"] and t.index.name == "dataset"
    assert list(t.index) == ["fitted set (own centroids)", "Good (fitted-set centroids)",
                             "Flipped (fitted-set centroids)"]
    assert (t.iloc[0] > 0.97).all() and (t.loc["Good (fitted-set centroids)"] > 0.97).all()
    assert (t.loc["Flipped (fitted-set centroids)"] < 0.03).all()
    names = V.sex_accuracy_table(fitted.params, V.sex_names(fitted.sex), draws, dims=(2, 10))
    assert list(names.columns) == ["2 dims", "all 6"]
    np.testing.assert_allclose(names["2 dims"], t["2 dims"])
    acc2, acc_all, leading = V.sex_in_leading_dims(t)
    assert acc2 == t.iloc[0]["2 dims"] and acc_all == t.iloc[0]["all 6"] and leading
    spread = pd.DataFrame({"2 dims": [0.60], "all 100": [0.90]}, index=["fitted set"])
    assert V.sex_in_leading_dims(spread) == (0.60, 0.90, False)  # 0.10 of a 0.40 gain
    assert V.sex_in_leading_dims(spread, share=0.2)[2]
    thesis = pd.DataFrame({"2 dims": [0.828], "all 100": [0.876]})
    assert V.sex_in_leading_dims(thesis)[2]


def test_sex_pca_panels():
    from sklearn.decomposition import PCA

    fitted = labelled_set(100, 6)
    pca = PCA(n_components=3).fit(fitted.params)
    draws = V.VarietyDraws({"g": fitted.params[:10] + 1}, {"g": "G"}, {"g": np.arange(10) < 4})
    panels = V.sex_pca_panels(pca, fitted.params, fitted.sex, draws)
    assert list(panels) == ["fitted set", "G"]
    np.testing.assert_allclose(panels["fitted set"][0], pca.transform(fitted.params))
    assert panels["fitted set"][1].tolist() == V.sex_names(fitted.sex).tolist()
    np.testing.assert_allclose(panels["G"][0], pca.transform(fitted.params[:10] + 1))
    assert panels["G"][1].tolist() == ["male"] * 4 + ["female"] * 6
