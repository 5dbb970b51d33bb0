"""Rendering a prediction like its input: landmark vertices and the input's light (thesislib.evaluation.posed)."""
import numpy as np
import pytest

from thesislib import evaluation
from thesislib.evaluation import posed
from thesislib.imaging import Scene, landmark_crop, render

from tests.evaluation.conftest import needs_faces


@needs_faces
def test_pose_from_face_mesh_recovers_yaw_within_5_degrees(small):
    from thesislib import faces
    from thesislib.datasets import realistic_scenes

    rng = np.random.default_rng(5)
    ids, used = evaluation.landmark_vertices(small)
    scenes = realistic_scenes().sample_many(12, np.random.default_rng(6))
    errors = []
    for i, yaw in enumerate(np.linspace(-25, 25, 12)):
        p = rng.normal(0, 1, 20)
        mesh = small.instance(p[:10], p[10:])
        sc = Scene(yaw=yaw, pitch=float(rng.normal(0, 5)), roll=float(rng.normal(0, 3)), sh=scenes[i].sh,
                   background=scenes[i].background)
        r = render(mesh, sc)
        crop = landmark_crop(r.image, r.landmarks, r.landmark_visible).image
        pts = faces.facemesh_landmarks(crop, detector=False)  # as the judge reads its inputs
        assert pts is not None
        errors.append(evaluation.fit_pose(pts[used, :2], mesh.vertices[ids[used]]).yaw - yaw)
    assert np.median(np.abs(errors)) < 5.0


def test_vertex_normals_are_area_weighted_unit_normals(small):
    mesh = small.instance(np.full(10, 0.3), np.zeros(10))
    v, t = np.asarray(mesh.vertices, np.float64), np.asarray(mesh.triangles, np.int64)
    fn = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    ref = np.zeros_like(v)
    for c in range(3):
        np.add.at(ref, t[:, c], fn)
    ref /= np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    np.testing.assert_allclose(posed._vertex_normals(mesh.vertices, mesh.triangles), ref, atol=1e-12)


@needs_faces
def test_landmark_vertices_of_face_mesh_and_dlib(small):
    ids, used = evaluation.landmark_vertices(small, "facemesh")
    assert ids.shape == used.shape == (478,) and 350 < used.sum() < 468 and not used[468:].any()
    ids68, used68 = evaluation.landmark_vertices(small, "dlib")
    assert np.array_equal(ids68, small.ibug68) and used68.sum() == 51
    with pytest.raises(ValueError, match="landmark source"):
        evaluation.landmark_vertices(small, "openpose")


def test_estimate_light_recovers_the_scene_light(small):
    from thesislib.imaging import DEFAULT_SH, sample_builtin_sh
    from thesislib.imaging.scene import sh_shading

    mesh = small.instance(np.full(10, 0.3), np.full(10, -0.2))
    sh = sample_builtin_sh(np.random.default_rng(2))
    r = render(mesh, Scene(yaw=12, pitch=4, sh=sh))
    crop = landmark_crop(r.image, r.landmarks, r.landmark_visible).image
    X = mesh.vertices[small.ibug68[posed.INNER]]
    # the crop's landmarks: the render's, moved into the crop
    from thesislib.imaging import landmark_crop_box

    x0, y0, x1, _ = landmark_crop_box(r.landmarks, r.landmark_visible)
    lm = (r.landmarks - [x0, y0]) * 224.0 / (x1 - x0)
    pose = evaluation.fit_pose(lm[posed.INNER], X)
    est = evaluation.estimate_light(crop, mesh, pose, lm)
    n = posed._vertex_normals(mesh.vertices, mesh.triangles) @ pose.rotation.T
    front = n[:, 2] > 0.3
    err = np.abs(sh_shading(n, est) - sh_shading(n, sh))[front].mean()
    err_default = np.abs(sh_shading(n, DEFAULT_SH) - sh_shading(n, sh))[front].mean()
    assert err < 0.5 * err_default and err < 0.05
