"""Chapter 05's study design: test sets, baselines, replicated draws of every sampler."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from thesislib import studies
from thesislib.facemodel import Population, reference_population


@pytest.fixture
def small_model(face_model):
    return face_model.truncated(6, 6, 0)


def _fitted(model, n=150):
    truth = reference_population(model, n, np.random.default_rng(3))
    noisy = truth.params * 0.5 + np.random.default_rng(4).normal(0, 0.3, truth.params.shape)
    return Population(noisy, truth.age, truth.sex, model.n_shape, model.n_color, "estimated (test)")


def test_test_sets_are_separate_populations_and_scenes(small_model):
    tests = studies.study_test_sets(small_model, 5, seed=0)
    assert list(tests) == ["held-out", "shifted", "new backgrounds"]
    held, shifted, backgrounds = tests.values()
    assert all(len(t) == 5 and t.params.shape == (5, 12) for t in tests.values())
    assert not np.allclose(held.params, shifted.params) and not np.allclose(held.params, backgrounds.params)
    assert "shifted population" in shifted.source
    # the same seed gives the same sets
    again = studies.study_test_sets(small_model, 5, seed=0, sets=("shifted",))["shifted"]
    assert np.array_equal(again.images, shifted.images)
    with pytest.raises(ValueError, match="unknown test set"):
        studies.study_test_sets(small_model, 2, 0, sets=("nope",))


def test_baselines_know_what_they_should(small_model):
    fitted = _fitted(small_model)
    tests = {"held-out": SimpleNamespace(params=np.zeros((4, 12))), "shifted": SimpleNamespace(params=np.zeros((4, 12)))}
    tests = {k: type("T", (), {"__len__": lambda self: 4})() for k in tests}
    b = studies.baseline_predictions(small_model, fitted, tests)
    assert set(b["held-out"]) == {"model mean face", "fitted-set mean face", "population mean face (oracle)"}
    assert np.all(b["held-out"]["model mean face"] == 0)
    np.testing.assert_allclose(b["held-out"]["fitted-set mean face"][2], fitted.params.mean(0))
    big = reference_population(small_model, 20000, np.random.default_rng(11)).params.mean(0)
    np.testing.assert_allclose(b["held-out"]["population mean face (oracle)"][0], big, atol=0.05)
    assert np.linalg.norm(b["shifted"]["population mean face (oracle)"][0] - big) > 0.5  # another population


def test_draw_sampler_refits_per_draw_and_loads_saved_gans(tmp_path, small_model, one_torch_thread):
    from thesislib.samplers import CVGAN2, GMMSampler, NaiveNormal, make_sampler

    fitted = _fitted(small_model)
    n0 = studies.draw_sampler("naive_normal_1", 0, fitted, seed=0)
    assert isinstance(n0, NaiveNormal) and n0.n_params == 12
    g0, g1 = (studies.draw_sampler("gmm", d, fitted, seed=0, settings={"gmm": {"n_components": 3}}) for d in (0, 1))
    assert isinstance(g0, GMMSampler) and g0.n_components == 3 and g0.seed != g1.seed  # a new fit per draw
    assert studies.draw_sampler("cvgan2", 0, fitted, 0, saved={"cvgan2": tmp_path / "none.pt"}) is None
    gan_file = tmp_path / "gan.pt"
    # as chapter 04 trains it: checkpointed and resumable
    make_sampler("cvgan2", epochs=1, batch_size=60, progress=False, checkpoint_dir=tmp_path / "ck",
                 resume=True).fit(fitted.params, fitted.age, fitted.sex).save(gan_file)
    first = studies.draw_sampler("cvgan2", 0, fitted, 0, saved={"cvgan2": gan_file})
    second = studies.draw_sampler("cvgan2", 1, fitted, 0, saved={"cvgan2": gan_file}, gan_folder=tmp_path)
    assert isinstance(first, CVGAN2) and isinstance(second, CVGAN2) and second.seed != first.seed
    assert (tmp_path / "05_cvgan2_d1.pt").is_file()  # a rerun loads it
    again = studies.draw_sampler("cvgan2", 1, fitted, 0, saved={"cvgan2": gan_file}, gan_folder=tmp_path)
    z = np.random.default_rng(0)
    assert np.allclose(again.sample(3, np.random.default_rng(0)), second.sample(3, z))
    from thesislib.datasets.card import fit_fingerprint

    assert fit_fingerprint(second) == fit_fingerprint(again)  # a dataset card resumes after a rerun


def test_train_draws_makes_a_dataset_and_a_bprn_per_draw(tmp_path, small_model, fake_dlib):
    from thesislib.bprn import BPRN, RidgeHead

    fitted = _fitted(small_model)
    names = ["naive_normal_1", "fitted_normal"]

    def draws(keep, linear_skip=True, models="models"):
        return studies.train_draws(names, 2, fitted, lambda s, d: tmp_path / f"{s}_{d}", tmp_path / models,
                                   n_faces=6, seed=0, bprn_settings=dict(stem="dlib", n_params=12, epochs=2,
                                                                         early_stopping=None, linear_skip=linear_skip),
                                   generation=dict(images_per_face=1, model=small_model), progress=False,
                                   keep_datasets=keep)

    sweep = draws(None)
    assert list(zip(sweep.sampler, sweep.draw)) == [("fitted_normal", 0), ("naive_normal_1", 0),
                                                    ("fitted_normal", 1), ("naive_normal_1", 1)]
    assert sweep.path.map(lambda p: (tmp_path / "models").joinpath(p).is_file()).all()
    labels = {d: pd.read_parquet(tmp_path / f"naive_normal_1_{d}" / "labels.parquet") for d in (0, 1)}
    assert not np.allclose(labels[0].filter(like="shape_").to_numpy(), labels[1].filter(like="shape_").to_numpy())
    # each draw's ridge head is its BPRN's linear path: it predicts as the head fitted on its dataset
    assert sweep.ridge.isna().all() and not (tmp_path / "models" / "ridge").exists()
    ref = studies.ridge_reference(tmp_path / "fitted_normal_1", "dlib")
    X = np.random.default_rng(0).normal(size=(5, 128))
    bprn = BPRN.load((tmp_path / "models").joinpath(sweep.path.iloc[2]))
    np.testing.assert_allclose(RidgeHead.from_network(bprn.network_).predict(X), ref.predict(X), atol=1e-5)
    # the thesis head alone has no linear path: its draws save the ridge head beside the BPRN
    thesis = draws(None, linear_skip=False, models="thesis")
    assert list(thesis.ridge) == [str(studies.ridge_path(tmp_path / "thesis", s, d))
                                  for s, d in zip(thesis.sampler, thesis.draw)]
    np.testing.assert_allclose(RidgeHead.load(thesis.ridge.iloc[2]).predict(X), ref.predict(X), atol=1e-5)
    saved = {p: Path(p).read_bytes() for p in sweep.path}
    # by default the datasets of draws after the first go once their BPRN is saved
    rerun = draws(1)
    assert (rerun.status == "skipped").all()
    assert all((tmp_path / f"{s}_0").is_dir() and not (tmp_path / f"{s}_1").exists() for s in names)
    # a rerun skips the finished draws without rendering them again, and keeps the networks
    again = draws(1)
    assert (again.status == "skipped").all() and not any((tmp_path / f"{s}_1").exists() for s in names)
    assert {p: Path(p).read_bytes() for p in again.path} == saved
