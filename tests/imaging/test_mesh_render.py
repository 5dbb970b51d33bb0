"""Rendering a mesh in a scene: the result's arrays, landmarks and their visibility, batches."""
import numpy as np
import pytest

from tests.imaging.test_rasterizer import C, grid, reference_mesh, reference_scene, uv_sphere
from thesislib.facemodel import Mesh
from thesislib.imaging import IMAGE_SIZE, Scene, render
from thesislib.imaging.mesh_render import RenderResult, render_batch


def test_output_types():
    m = grid(20, 20, 100, 100)
    r = render(m)
    assert isinstance(r, RenderResult)
    assert r.image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and r.image.dtype == np.uint8
    assert r.depth.shape == (IMAGE_SIZE, IMAGE_SIZE) and r.depth.dtype == np.float32
    assert r.mask.dtype == bool and r.mask.any()
    assert np.all(np.isinf(r.depth[~r.mask])) and np.all(np.isfinite(r.depth[r.mask]))
    assert r.landmarks.shape == (0, 2) and r.landmark_visible.shape == (0,)


def test_yaw_moves_landmarks():
    nose = np.array([[0, 0, 100]], np.float32)
    m = grid(10, 10, 100, 100)
    mesh = Mesh(np.concatenate([m.vertices, nose]), np.concatenate([m.colors, [[1, 1, 1]]]),
                m.triangles, np.array([len(m.vertices)]))
    for yaw in (0.0, 30.0, -30.0):
        s = Scene(yaw=yaw)
        r = render(mesh, s)
        a = np.radians(yaw)
        x, z = 100 * np.sin(a), 100 * np.cos(a)
        expect = C + s.focal * x / (s.distance - z)
        assert abs(r.landmarks[0, 0] - expect) < 1e-3 and abs(r.landmarks[0, 1] - C) < 1e-3
        assert r.landmark_visible[0]
    assert render(mesh, Scene(yaw=30)).landmarks[0, 0] > C + 40


def test_landmark_hidden_behind_surface():
    m = uv_sphere(50)
    back_pole = int(np.argmin(m.vertices[:, 2]))
    front_pole = int(np.argmax(m.vertices[:, 2]))
    r = render(Mesh(m.vertices, m.colors, m.triangles, np.array([front_pole, back_pole])))
    assert r.landmark_visible.tolist() == [True, False]


def test_determinism_and_batch():
    m, s = reference_mesh(), reference_scene()
    a, b = render(m, s), render(m, s)
    assert a.image.tobytes() == b.image.tobytes() and a.depth.tobytes() == b.depth.tobytes()
    batch = render_batch([m.vertices, m.vertices + 1], s, template=m)
    assert batch[0].image.tobytes() == a.image.tobytes()
    assert len(batch) == 2 and not np.array_equal(batch[1].image, a.image)
    with pytest.raises(ValueError):
        render_batch([m], [s, s])
