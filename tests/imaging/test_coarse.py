"""coarse_model: a grid-built model in 2 x 2 blocks but at its outline and detail, the same faces."""
from dataclasses import replace

import numpy as np
import pytest

from thesislib.imaging import Scene, coarse_model, render
from thesislib.imaging.coarse import grid_indices


@pytest.fixture(scope="module")
def models(face_model):
    full = face_model.truncated(20, 10, 4)
    return full, coarse_model(full)


def test_grid_indices_find_a_grid_and_refuse_other_points():
    x, y = np.meshgrid(np.arange(5) * 0.95 - 3.0, np.arange(4) * 0.95 + 1.0)
    pts = np.stack([x.ravel(), y.ravel()], 1)
    iy, ix = grid_indices(pts)
    assert ix.tolist() == [0, 1, 2, 3, 4] * 4 and iy.tolist() == sorted([0, 1, 2, 3] * 5)
    assert grid_indices(pts + np.random.default_rng(0).normal(0, 0.1, pts.shape)) is None
    assert grid_indices(np.concatenate([pts, pts[:1]])) is None  # a point twice


def test_coarse_model_is_the_same_faces_at_a_quarter_of_the_vertices(models):
    full, coarse = models
    assert (coarse.n_shape, coarse.n_color, coarse.expression.n_components) == (20, 10, 4)
    assert 0.3 < coarse.n_vertices / full.n_vertices < 0.45 and 0.3 < len(coarse.triangles) / len(full.triangles) < 0.45
    assert coarse.triangles.dtype == np.int32 and coarse.triangles.min() >= 0
    assert coarse.triangles.max() < coarse.n_vertices - 68  # the landmark vertices carry no triangles
    assert coarse_model(full) is coarse and len(coarse_model(full, 0.0).triangles) < len(coarse.triangles)
    with pytest.raises(ValueError, match="fraction"):
        coarse_model(full, 1.5)
    rng = np.random.default_rng(3)
    s, c, e = rng.normal(size=20), rng.normal(size=10), rng.normal(size=4)
    a, b = full.instance(s, c, e), coarse.instance(s, c, e)
    ids = coarse.vertex_ids
    np.testing.assert_allclose(b.vertices, a.vertices[ids], atol=1e-3)
    np.testing.assert_allclose(b.colors, a.colors[ids], atol=1e-5)
    np.testing.assert_allclose(b.vertices[b.landmarks], a.vertices[a.landmarks], atol=1e-3)


def test_coarse_renders_have_the_full_outline_no_holes_and_little_difference(models):
    from scipy.ndimage import binary_fill_holes

    full, coarse = models
    scene = Scene(yaw=20.0, pitch=-5.0)
    a, b = render(full.instance(), scene), render(coarse.instance(), scene)
    assert (a.mask != b.mask).sum() < 0.002 * a.mask.sum()  # the outline; a turned cheek's contour may move
    assert np.array_equal(binary_fill_holes(b.mask), b.mask)
    np.testing.assert_allclose(b.landmarks, a.landmarks, atol=1e-3)
    assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() < 0.2
    every = coarse_model(full, 1.0)  # every block fine: the full mesh's triangles, the same image
    assert len(every.triangles) == len(full.triangles)
    np.testing.assert_array_equal(render(every.instance(), scene).image, a.image)


def test_a_model_off_a_grid_has_no_coarse_mesh(models):
    full, _ = models
    jitter = np.random.default_rng(1).normal(0, 0.2, full.shape.mean.shape).astype(np.float32)
    off = replace(full, shape=replace(full.shape, mean=full.shape.mean + jitter))
    with pytest.raises(ValueError, match="regular grid"):
        coarse_model(off)
