"""The fitted set estimated from images: made once, cached with its card, never the truth."""
import json

import numpy as np

from thesislib import studies
from thesislib.studies.fitted import CARD


def test_fitted_set_is_estimated_cached_and_carded(tmp_path, face_model):
    model = face_model.truncated(8, 8, 0)
    recipe = studies.FitRecipe(n=60, seed=0, faces=30, images_per_face=1, stem="facemesh", epochs=3)
    pop, card = studies.estimated_fitted_set(model, recipe, tmp_path, progress=False)
    truth = studies.fitted._fit_split(model, recipe)
    assert pop.params.shape == (60, 16) and not np.allclose(pop.params, truth.params)
    assert np.array_equal(pop.age, truth.age) and np.array_equal(pop.sex, truth.sex)
    assert pop.source.startswith("estimated from 60 real-like renders by a BPRN trained on naive_normal_1")
    q = card["quality"]
    assert q["vertex_mm"] > 0 and q["mean_face_vertex_mm"] > 0 and q["variance_ratio"] < 1  # shrunk, as predictions are
    assert json.loads((tmp_path / CARD).read_text())["key"]["model"] == model.fingerprint
    assert (tmp_path / "models" / "naive_normal_1.pt").is_file()
    assert not (tmp_path / "models" / "checkpoints" / "naive_normal_1").exists()  # gone once the model is saved
    assert not (tmp_path / "datasets").exists()  # and its training data with them
    again, _ = studies.estimated_fitted_set(model, recipe, tmp_path, progress=False)  # cached: no training
    assert np.array_equal(again.params, pop.params) and again.source == pop.source
    other = studies.FitRecipe(n=60, seed=1, faces=30, images_per_face=1, epochs=3)
    assert studies.load_estimated(tmp_path, model, other) is None  # another recipe is not reused
    assert studies.load_estimated(tmp_path, face_model.truncated(6, 6, 0)) is None  # nor another model
    # without its table, the set is estimated again from the saved network: the same numbers
    (tmp_path / CARD).unlink()
    redo, _ = studies.estimated_fitted_set(model, recipe, tmp_path, progress=False)
    assert np.array_equal(redo.params, pop.params) and not (tmp_path / "datasets" / "naive_normal_1").exists()


def test_fit_quality_by_hand(face_model):
    model = face_model.truncated(4, 4, 0)
    rng = np.random.default_rng(0)
    T = rng.normal(size=(200, 8))
    q = studies.fit_quality(T, T, model)
    assert q["vertex_mm"] == 0 and q["param_rmse"] == 0 and q["correlation"] == 1 and q["variance_ratio"] == 1
    half = studies.fit_quality(0.5 * T, T, model)
    assert half["variance_ratio"] == 0.25 and half["correlation"] == 1 and 0 < half["vertex_mm"] < q["mean_face_vertex_mm"]
