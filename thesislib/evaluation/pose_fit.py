"""A head's pose from 2D-3D point correspondences: the renderer's camera fitted by least squares.

:func:`fit_pose` takes points found in an image and the same points on a mesh (model
coordinates) and returns the rotation (yaw, pitch, roll in :mod:`thesislib.imaging.scene`'s
convention), scale and image shift under which the mesh shows them there, as a :class:`Pose`.
It knows nothing of faces or landmark detectors: which landmark is which vertex, and how well
the fit reads real inputs, is :mod:`thesislib.evaluation.posed`'s part.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thesislib.imaging import DEFAULT_DISTANCE


@dataclass(frozen=True)
class Pose:
    """A scaled-orthographic camera fitted to landmarks (:func:`fit_pose`).

    Attributes
    ----------
    yaw, pitch, roll : float, degrees, :mod:`thesislib.imaging.scene`'s convention
        (``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)``)
    scale : float, image px per model mm at the model origin
    center : (2,) float, image (x, y) px of the model origin
    rms : float, root mean square landmark residual, px
    """

    yaw: float
    pitch: float
    roll: float
    scale: float
    center: tuple
    rms: float

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) float64 rotation of the face (model -> camera coordinates)."""
        from thesislib.imaging import rotation_matrix

        return rotation_matrix(self.yaw, self.pitch, self.roll)

    def project(self, points) -> np.ndarray:
        """Image (x, y) px of model points (N, 3) mm under this camera's scaled-orthographic part
        (perspective left out: within ~10 % for a face at the renderer's 1000 mm), (N, 2)."""
        q = np.asarray(points, np.float64) @ self.rotation[:2].T * self.scale
        return np.c_[self.center[0] + q[:, 0], self.center[1] - q[:, 1]]


def _angles(R: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)``."""
    yaw = np.degrees(np.arcsin(np.clip(-R[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(R[2, 1], R[2, 2]))
    roll = np.degrees(np.arctan2(R[1, 0], R[0, 0]))
    return float(yaw), float(pitch), float(roll)


def fit_pose(image_points, model_points, distance: float | None = DEFAULT_DISTANCE, refine: bool = True) -> Pose:
    """Pose of model points seen at image points, up to the image's scale and shift.

    Minimises ``sum |x_i - (c + s * P(R X_i))|^2`` over rotation R, scale s and 2D centre c.
    P is the renderer's pinhole projection with the camera ``distance`` mm away (x / (distance
    - z), y flipped to the image's downward y), so that a face rendered in the fitted pose and
    cropped shows its landmarks where the input has them; with ``distance=None``, P is
    orthographic (a scaled-orthographic camera). Scaled-orthographic fits of renders at the
    default 1000 mm overstate the yaw by about a fifth (nose and cheeks differ by ~10 % in
    magnification). Start: the least-squares affine camera, projected onto the nearest scaled
    rotation (SVD); then Levenberg-Marquardt (scipy's ``least_squares``) on a rotation vector,
    log-scale and centre.

    Parameters
    ----------
    image_points : (L, 2) px (x, y); rows with NaN are left out
    model_points : (L, 3) mm, the same points on the mesh (model coordinates: y up, z to the viewer)
    distance : camera distance in mm of the perspective model (default: the renderer's), or None
    refine : run the refinement (else the orthographic SVD start is returned)

    Returns
    -------
    :class:`Pose`; NaN angles when fewer than 4 points are finite
    """
    from scipy.optimize import least_squares
    from scipy.spatial.transform import Rotation

    x = np.asarray(image_points, np.float64).reshape(-1, 2)
    X = np.asarray(model_points, np.float64).reshape(-1, 3)
    ok = np.isfinite(x).all(1) & np.isfinite(X).all(1)
    if ok.sum() < 4:
        return Pose(np.nan, np.nan, np.nan, np.nan, (np.nan, np.nan), np.nan)
    u = np.c_[x[ok, 0], -x[ok, 1]]  # y up, as the camera's
    X = X[ok]
    um, Xm = u.mean(0), X.mean(0)
    A = np.linalg.lstsq(X - Xm, u - um, rcond=None)[0].T  # (2, 3) affine camera
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    r12 = U @ Vt
    R = np.vstack([r12, np.cross(r12[0], r12[1])])
    s = float(S.mean())
    theta = np.r_[Rotation.from_matrix(R).as_rotvec(), np.log(s), um - s * (R[:2] @ Xm)]

    if distance is not None:  # the start in the perspective camera's units: x / distance
        theta[3:] = np.r_[np.log(s * distance), theta[4:6]]

    def residual(t):
        Y = X @ _rotvec_matrix(t[:3]).T
        q = Y[:, :2] if distance is None else Y[:, :2] / (distance - Y[:, 2:3])
        return (np.exp(t[3]) * q + t[4:6] - u).ravel()

    def jacobian(t):  # analytic, instead of scipy's finite differences: 2.9 instead of 4.1 ms a fit
        w = t[:3]
        R = _rotvec_matrix(w)
        Y = X @ R.T
        th2 = float(w @ w)
        # d(R v)/dw = -R [v]x M, M = (w w^T + (R^T - I) [w]x) / |w|^2 (Gallego & Yezzi 2015); M = I at w = 0
        M = np.eye(3) if th2 < 1e-20 else (np.outer(w, w) + (R.T - np.eye(3)) @ _skew(w)) / th2
        dY = -np.einsum("ac,ikc->iak", R, np.cross(X[:, None, :], M.T[None]))  # (L, 3 coords, 3 params)
        if distance is None:
            q, dq = Y[:, :2], dY[:, :2]
        else:
            z = distance - Y[:, 2:3]
            q = Y[:, :2] / z
            dq = dY[:, :2] / z[:, :, None] + (Y[:, :2] / z ** 2)[:, :, None] * dY[:, 2:3]
        scale = np.exp(t[3])
        J = np.zeros((len(X), 2, 6))
        J[:, :, :3] = scale * dq
        J[:, :, 3] = scale * q
        J[:, 0, 4] = J[:, 1, 5] = 1.0
        return J.reshape(-1, 6)

    if refine:
        theta = least_squares(residual, theta, jac=jacobian, method="lm").x
    R = _rotvec_matrix(theta[:3])
    rms = float(np.sqrt(np.mean(residual(theta) ** 2) * 2))
    yaw, pitch, roll = _angles(R)
    scale = float(np.exp(theta[3])) / (1.0 if distance is None else distance)
    return Pose(yaw, pitch, roll, scale, (float(theta[4]), float(-theta[5])), rms)


def _skew(w) -> np.ndarray:
    """The cross-product matrix [w]x of a 3-vector."""
    return np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])


def _rotvec_matrix(w) -> np.ndarray:
    """Rotation matrix of a rotation vector (Rodrigues; scipy's ``Rotation.from_rotvec``, without its overhead)."""
    th = float(np.sqrt(w @ w))
    if th < 1e-12:
        return np.eye(3) + _skew(w)
    K = _skew(np.asarray(w) / th)
    return np.eye(3) + np.sin(th) * K + (1.0 - np.cos(th)) * (K @ K)
