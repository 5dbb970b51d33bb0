import numpy as np
import pytest
from scipy import stats

from thesislib.facemodel import population as P


def _dip(values, bins=40):
    """Number of local maxima of a smoothed histogram (1 = unimodal)."""
    h, _ = np.histogram(values, bins=bins)
    h = np.convolve(h, np.ones(5) / 5, mode="same")
    peaks = [i for i in range(1, len(h) - 1) if h[i] > h[i - 1] and h[i] >= h[i + 1] and h[i] > 0.3 * h.max()]
    return len(peaks)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_population_sex_bimodal_random_unimodal(face_model, seed):
    rng = np.random.default_rng(seed)
    pop = P.reference_population(face_model.truncated(50, 50), 6000, rng)
    d = P.semantic_direction(face_model.truncated(50, 50), "sex")
    assert _dip(pop.params @ d) == 2
    assert _dip(rng.normal(size=(6000, 100)) @ d) == 1
    males = pop.params[pop.sex == 1] @ d
    females = pop.params[pop.sex == 0] @ d
    assert males.mean() - females.mean() > 1.5
    assert pop.age.min() >= 18 and pop.age.max() <= 80
    age_dir = P.semantic_direction(face_model.truncated(50, 50), "age")
    assert stats.pearsonr(pop.age, pop.params @ age_dir)[0] > 0.3


def test_population_frame_and_split(face_model, rng, tmp_path):
    pop = P.reference_population(face_model.truncated(10, 5), 200, rng)
    df = pop.to_frame()
    assert list(df.columns[:2]) == ["shape_000", "shape_001"] and df.shape == (200, 17)
    a, b = pop.split(0.25, rng)
    assert len(a) == 50 and len(b) == 150
    df.to_parquet(tmp_path / "fit.parquet")
    back = P.load_fitted_set(tmp_path / "fit.parquet", face_model.truncated(10, 5))
    np.testing.assert_allclose(back.params, pop.params)
    assert back.params.flags["C_CONTIGUOUS"]  # as a set made in memory: fits see the same bits
    with pytest.raises(ValueError, match="missing columns"):
        P.load_fitted_set(tmp_path / "fit.parquet", face_model.truncated(12, 5))
    with pytest.raises(FileNotFoundError, match="fitted set not found"):
        P.load_fitted_set(tmp_path / "none.parquet", face_model.truncated(10, 5))


def test_validity_falls_with_distance(face_model):
    rng = np.random.default_rng(3)
    pop = P.reference_population(face_model.truncated(50, 50), 5000, rng)
    v = P.Validity().fit(pop.params)
    fresh = P.reference_population(face_model.truncated(50, 50), 4000, rng).params
    assert v.valid_fraction(fresh) > 0.99
    fractions = [v.valid_fraction(rng.normal(0, s, size=(2000, 100))) for s in (0.7, 1.0, 1.5)]
    assert fractions[0] > fractions[1] > fractions[2]
    assert v.valid_fraction(rng.uniform(-4, 4, size=(2000, 100))) < 0.01
    # the score is the chi-square survival function of the Mahalanobis distance
    x = fresh[:5]
    np.testing.assert_allclose(v.score(x), stats.chi2.sf(v.mahalanobis2(x), 100))


def test_models_without_directions_get_a_fixed_one(tmp_path):
    from tests.bfm_fixture import write_bfm
    from thesislib.facemodel import load_bfm2017

    m = load_bfm2017(write_bfm(tmp_path / "b.h5", n_vertices=30, k=(12, 12, 2)))
    d1 = P.semantic_direction(m, "sex")
    assert np.allclose(d1, P.semantic_direction(m, "sex")) and abs(np.linalg.norm(d1) - 1) < 1e-9
    pop = P.reference_population(m, 100, np.random.default_rng(0))
    assert pop.params.shape == (100, 24)


def test_validity_by_distance(face_model):
    rng = np.random.default_rng(5)
    pop = P.reference_population(face_model.truncated(50, 50), 3000, rng)
    v = P.Validity().fit(pop.params)
    samples = {"N(0, 1)": rng.normal(size=(1000, 100)), "U(-4, 4)": rng.uniform(-4, 4, size=(1000, 100))}
    table, curve = P.validity_by_distance(v, samples, bins=10)
    assert list(table.sampler) == ["N(0, 1)", "U(-4, 4)"]
    assert table.valid_fraction.iloc[0] == v.valid_fraction(samples["N(0, 1)"])
    assert curve.faces.sum() >= 0.98 * 2000 and np.all(np.diff(curve.distance) > 0)
    assert curve.valid_fraction.iloc[0] > curve.valid_fraction.iloc[-1]


def test_shifted_population_differs_from_the_reference(face_model):
    from thesislib.facemodel import reference_population, shifted_population

    ref = reference_population(face_model, 4000, np.random.default_rng(0))
    shift = shifted_population(face_model, 4000, np.random.default_rng(0))
    assert shift.source == "synthetic shifted population" and shift.params.shape == ref.params.shape
    # another mean (far beyond sampling noise), another sex mix, older
    gap = np.linalg.norm(ref.params.mean(0) - shift.params.mean(0))
    noise = np.sqrt(np.trace(np.cov(ref.params.T)) / 4000)
    assert gap > 20 * noise
    assert abs(shift.sex.mean() - 0.3) < 0.03 and shift.age.mean() > ref.age.mean() + 5
    # the reference population is unchanged by the new settings' defaults
    again = reference_population(face_model, 50, np.random.default_rng(1))
    assert np.array_equal(again.params, reference_population(face_model, 50, np.random.default_rng(1)).params)
