import numpy as np
import pytest

from thesislib.facemodel import semantics as S
from thesislib.facemodel.fields import (
    expression_fields, face_grid, independent_fields, mean_paint, mean_relief)


@pytest.fixture(scope="module")
def grid():
    x, y, _ = face_grid()
    return x, y


def test_age_sags_the_lower_face_and_greys_the_hair(grid):
    x, y = grid
    d = S.age_shape(x, y).reshape(-1, 3)
    jowl = (np.abs(x - 50) < 5) & (np.abs(y + 72) < 5)
    brow = (np.abs(x - 33) < 5) & (np.abs(y - 39) < 3)
    assert d[jowl, 1].mean() < -0.5 and d[jowl, 0].mean() > 0.3      # down and out
    assert d[brow, 1].mean() < -0.3                                   # lowered brow
    mc = mean_paint(x, y)
    c = S.age_color(x, y, mc).reshape(-1, 3)
    hair = y > 85
    assert (c[hair].mean(0) > 0.2).all()                              # towards grey, all channels
    cheek = (np.abs(x - 45) < 8) & (np.abs(y + 5) < 8)
    sat = lambda col: col.max(1) - col.min(1)
    assert sat(mc[cheek] + c[cheek]).mean() < sat(mc[cheek]).mean()  # less saturated skin


def test_sex_darkens_beard_and_brows_keeping_the_hue(grid):
    x, y = grid
    mc = mean_paint(x, y)
    c = S.sex_color(x, y, mc).reshape(-1, 3)
    chin = (np.abs(x) < 15) & (np.abs(y + 75) < 8)
    assert (c[chin] < 0).all(1).mean() > 0.9                          # darker beard region
    old, new = mc[chin], mc[chin] - 0.1 * c[chin]                    # a step to the female side
    ratio = lambda col: col[:, 1] / col[:, 0]
    assert abs(ratio(new).mean() - ratio(old).mean()) < 0.03          # lighter, not greener
    d = S.sex_shape(x, y).reshape(-1, 3)
    jaw = (np.abs(x) > 50) & (y < -40) & (y > -70)
    assert (np.sign(x[jaw]) * d[jaw, 0]).mean() > 1.0                 # wider jaw


def test_wrinkles_and_spots_are_masks(grid):
    x, y = grid
    for f in (S.wrinkles(x, y), S.age_spots(x, y)):
        assert f.min() >= 0 and f.max() <= 1 and 0.001 < f.mean() < 0.2
    np.testing.assert_array_equal(S.age_spots(x, y), S.age_spots(x, y))  # a fixed pattern


def test_open_mouth_has_no_groove_beside_the_mouth(grid):
    """The jaw-drop field used to step 1 mm over 1.5 mm across the whole lower face."""
    x, y = grid
    open_ = expression_fields(x, y, mean_relief(x, y))[1].reshape(-1, 3)
    side = (np.abs(x) > 40) & (np.abs(y + 49.5) < 6)
    across = []
    for xv in np.unique(x[side]):
        col = side & (x == xv)
        order = np.argsort(y[col])
        across.append(np.abs(np.diff(open_[col, 1][order])).max(initial=0))
    assert max(across) < 0.15, max(across)   # mm per 0.95 mm grid step, beside the mouth
    centre = (np.abs(x) < 5) & (np.abs(y + 49.5) < 3)
    assert np.ptp(open_[centre, 1]) > 0.4                             # the lips still part


def test_independent_skips_repeated_fields():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 50))
    fields = np.array([a, 2 * a, b, a + 1e-3 * b, a + b])
    kept = independent_fields(fields, 2)
    np.testing.assert_array_equal(kept, [a, b])
    with pytest.raises(ValueError, match="independent"):
        independent_fields(fields, 3)
