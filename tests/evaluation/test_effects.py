import numpy as np
import pandas as pd
import pytest

from thesislib.evaluation import effects
from thesislib.facemodel import population as pop


def test_face_difference_is_zero_for_one_face_and_symmetric(face_model, rng):
    a, b = rng.normal(size=100), rng.normal(size=100)
    same = effects.face_difference(face_model.truncated(50, 50), a, a)
    assert same == {"mm": 0.0, "color": 0.0, "landmark_px": 0.0}
    ab, ba = (effects.face_difference(face_model.truncated(50, 50), p, q) for p, q in ((a, b), (b, a)))
    for k in ab:
        assert ab[k] == pytest.approx(ba[k]) and ab[k] > 0


def test_face_difference_units(face_model):
    """mm is the mean vertex distance, colour the mean |RGB| difference in 0..255 units, and
    the 68 landmarks of the mean face project inside the 227 px frontal render."""
    m = face_model
    a, b = np.zeros(100), np.zeros(100)
    b[50] = 2.0                                   # colour only
    d = effects.face_difference(m.truncated(50, 50), a, b)
    want = 255 * np.abs(m.colors(b[50:]) - m.colors(a[50:])).mean()
    assert d["mm"] == 0 and d["landmark_px"] == 0 and d["color"] == pytest.approx(want)
    px = effects._landmark_pixels(m, m.vertices(None).reshape(-1, 3))
    assert px.shape == (68, 2) and px.min() > 0 and px.max() < 227


def test_population_effects_table(face_model):
    P = pop.reference_population(face_model, 600, np.random.default_rng(0))
    t = effects.population_effects(face_model, P, np.random.default_rng(1), pairs=20)
    assert list(t.comparison) == ["young vs old", "female vs male", "two identities"]
    assert (t[["mm", "color", "landmark_px"]] > 0).all().all()
    assert np.allclose(t.iloc[-1][["mm_x_identity", "color_x_identity", "landmark_px_x_identity"]].astype(float), 1)


def test_population_age_and_sex_are_visible(face_model):
    """Issue 14's bar: the population's age and sex effects are a sizeable share of the
    difference between two people, in colour and in the frontal landmarks (the visible part),
    not only in depth."""
    P = pop.reference_population(face_model, 2000, np.random.default_rng(0))
    t = effects.population_effects(face_model, P, np.random.default_rng(1), pairs=40).set_index("comparison")
    for row in ("young vs old", "female vs male"):
        assert t.loc[row, "color_x_identity"] >= 0.5, t
        assert t.loc[row, "landmark_px_x_identity"] >= 0.35, t
        assert t.loc[row, "mm_x_identity"] >= 0.35, t


def test_conditional_effects_with_a_known_generator(face_model):
    """A generator that moves along the model's own age and sex directions: old vs young
    at one sex equals the population-style difference of those two vectors."""
    d_sex = pop.semantic_direction(face_model.truncated(50, 50), "sex")
    d_age = pop.semantic_direction(face_model.truncated(50, 50), "age")

    def generate(z, age, sex):
        z = np.asarray(z, float)
        base = np.pad(z, ((0, 0), (0, 100 - z.shape[1])))
        return base + np.outer((np.asarray(age) - 30) / 15, d_age) + np.outer(2 * np.asarray(sex) - 1, 2 * d_sex)

    z, z2 = np.zeros(20), np.random.default_rng(0).normal(size=20)
    t = effects.conditional_effects(generate, face_model.truncated(50, 50), z, z_other=z2)
    assert len(t) == 5 and t.comparison.iloc[-1] == "two identities"
    want = effects.face_difference(face_model.truncated(50, 50), generate(z[None], [18], [0])[0], generate(z[None], [80], [0])[0])
    assert t.iloc[0]["mm"] == pytest.approx(want["mm"])
    assert isinstance(t, pd.DataFrame) and (t.mm > 0).all()
