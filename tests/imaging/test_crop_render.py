"""render_crop: the landmark crop of a render, bit for bit, with less work; mesh_normals."""
import numpy as np
import pytest

from thesislib.facemodel import Mesh
from thesislib.imaging import (
    SceneSampler, Workspace, center_crop, landmark_crop, mesh_normals, render, render_crop)
from thesislib.imaging.rasterizer import _snap


@pytest.fixture(scope="module")
def faces(face_model):
    """Faces and scenes that reach the image's edges: large yaw, shifts, near cameras, grey and bank backgrounds."""
    model = face_model.truncated(50, 50, 0)
    X = np.random.default_rng(31).normal(size=(24, 100)) * 1.5
    samplers = [SceneSampler(max_yaw=30), SceneSampler(max_yaw=90, translation_std=80.0, background="grey"),
                SceneSampler(max_yaw=45, distance=450.0)]
    return [(model.instance(x[:50], x[50:]), samplers[i % 3].sample(np.random.default_rng([32, i])))
            for i, x in enumerate(X)]


def test_render_crop_is_the_landmark_crop_of_the_render(faces):
    ws, ws2 = Workspace(), Workspace()
    for k, (mesh, scene) in enumerate(faces):
        r = render(mesh, scene, workspace=ws)
        want = landmark_crop(r.image, r.landmarks, r.landmark_visible)
        got = render_crop(mesh, scene, workspace=ws2, normals=mesh_normals(mesh) if k % 2 else None)
        assert got.box == want.box and got.method == want.method == "landmarks"
        np.testing.assert_array_equal(got.image, want.image)
    small = render_crop(*faces[0], size=64)  # another crop size, a fresh workspace
    r = render(*faces[0])
    np.testing.assert_array_equal(small.image, landmark_crop(r.image, r.landmarks, r.landmark_visible, 64).image)


def test_mesh_normals_are_unit_and_checked(faces):
    mesh = faces[0][0]
    n = mesh_normals(mesh)
    assert n.shape == mesh.vertices.shape and n.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
    out = np.empty_like(n)
    assert mesh_normals(mesh, out) is out and np.array_equal(out, n)
    with pytest.raises(ValueError, match="out must be"):
        mesh_normals(mesh, np.empty((3, 3), np.float32))
    with pytest.raises(ValueError, match="normals must have shape"):
        render_crop(mesh, faces[0][1], normals=n[:-1])
    bad = Mesh(mesh.vertices, mesh.colors, mesh.triangles + len(mesh.vertices), mesh.landmarks)
    with pytest.raises(ValueError, match="out of range"):
        render_crop(bad, faces[0][1], normals=n)  # given normals: the ids are still checked


def test_mesh_without_landmarks_gets_the_centre_crop(faces):
    mesh, scene = faces[0]
    bare = Mesh(mesh.vertices, mesh.colors, mesh.triangles, None)
    got = render_crop(bare, scene)
    want = center_crop(render(bare, scene).image)
    assert got.method == "center" and got.box == want.box
    np.testing.assert_array_equal(got.image, want.image)


def test_snapping_rounds_clamps_and_marks_vertices_behind_the_camera():
    screen = np.array([[np.nan, 5.0], [1e30, -1e30], [3.49, -0.03], [2.0, 2.0]])
    inv = np.array([0.1, 0.1, 0.1, 0.0])
    out = np.empty((4, 2), np.int32)
    marker = _snap(screen, inv, out)
    lim = 1 << 20
    assert out.tolist() == [[-lim, 80], [lim, -lim], [56, 0], [marker, marker]] and marker > lim
