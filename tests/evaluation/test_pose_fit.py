"""A head's pose fitted to 2D-3D point correspondences (thesislib.evaluation.pose_fit)."""
import numpy as np
import pytest

from thesislib import evaluation
from thesislib.evaluation import pose_fit, posed
from thesislib.imaging import rotation_matrix


@pytest.fixture(scope="module")
def small(face_model):
    return face_model.truncated(10, 10, 0)


def _project(points, yaw, pitch, roll, distance=1000.0, focal=800.0, center=113.0):
    q = np.asarray(points, np.float64) @ rotation_matrix(yaw, pitch, roll).T
    d = distance - q[:, 2]
    return np.c_[center + focal * q[:, 0] / d, center - focal * q[:, 1] / d]


def test_fit_pose_recovers_exact_projections(small):
    mesh = small.instance(np.full(10, 0.5), np.zeros(10))
    X = mesh.vertices[small.ibug68[posed.INNER]]
    for yaw, pitch, roll in [(0, 0, 0), (25, -8, 4), (-18, 12, -6)]:
        p = evaluation.fit_pose(_project(X, yaw, pitch, roll), X)
        assert abs(p.yaw - yaw) < 0.05 and abs(p.pitch - pitch) < 0.05 and abs(p.roll - roll) < 0.05
        assert p.rms < 0.01
    ortho = evaluation.fit_pose(_project(X, 15, 0, 0), X, distance=None)
    assert ortho.yaw > 15.5  # perspective read as more yaw by a scaled-orthographic camera
    nan = evaluation.fit_pose(np.full((3, 2), np.nan), X[:3])
    assert np.isnan(nan.yaw)


def test_fit_pose_analytic_jacobian_and_rotation(small):
    from scipy.spatial.transform import Rotation

    w = np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(pose_fit._rotvec_matrix(w), Rotation.from_rotvec(w).as_matrix(), atol=1e-14)
    np.testing.assert_allclose(pose_fit._rotvec_matrix(np.zeros(3)), np.eye(3))
    mesh = small.instance(np.full(10, -0.4), np.zeros(10))
    X = mesh.vertices[small.ibug68[posed.INNER]]
    noisy = _project(X, 14, 6, -3) + np.random.default_rng(3).normal(0, 1.0, (len(X), 2))
    p = evaluation.fit_pose(noisy, X)
    assert abs(p.yaw - 14) < 2 and abs(p.roll + 3) < 1
    # the least-squares optimum: no small turn of the fitted rotation lowers the residual
    for d in np.eye(3) * 0.05:
        R = rotation_matrix(p.yaw + d[0], p.pitch + d[1], p.roll + d[2])
        q = np.asarray(X, np.float64) @ R.T
        z = 1000.0 - q[:, 2]
        moved = np.c_[p.center[0] + p.scale * 1000.0 * q[:, 0] / z, p.center[1] - p.scale * 1000.0 * q[:, 1] / z]
        assert np.sqrt(np.mean(np.sum((moved - noisy) ** 2, 1))) >= p.rms - 1e-9
