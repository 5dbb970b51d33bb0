"""Rendering a prediction like its input: the input's head pose and light, on a neutral background.

The thesis renders every prediction frontally, in default light, on grey, and compares that
render with an input that is turned (yaw up to 20-30°), lit and set on a background. Here a
prediction is rendered the way its input looks instead:

* **pose** -- :func:`~thesislib.evaluation.pose_fit.fit_pose`: the renderer's camera, up to the
  crop's scale and shift, fitted by least squares to the 2D landmarks found in the input and the
  corresponding vertices of the *predicted* mesh (:func:`landmark_vertices`). Landmarks come from MediaPipe's
  face mesh (the default stem's 478 points, :func:`thesislib.faces.facemesh_landmarks` with
  ``detector=False``: the network on the crop's fixed region, as the stem reads crops; 408-410
  of them, without the face oval and the irises) or from dlib's 68 iBUG points (51, without the
  jaw contour: in a turned face both follow the silhouette, not fixed vertices). Face-mesh
  points are mapped to model vertices once per mean face, on the landmark crop of a frontal
  render of it, read the same way. The rotation is returned as yaw, pitch and roll in
  :mod:`thesislib.imaging.scene`'s convention, so the render's pose is the input's. Measured
  on 60 real-like renders (|yaw| <= 20°, pitch sd 8°) fitted with their true meshes: face mesh
  -- yaw error median 2.0°, 90th percentile 5.0°, roll 0.6°, pitch 5.9° (biased up; on frontal
  renders of other faces than the mean the face mesh reads pitch 4 ± 4°); dlib -- yaw median
  2.4° but 90th percentile 15°, pitch 6.7°. Those face-mesh numbers used MediaPipe's detector
  graph; on another 60 (2026-12-04, 50 + 50 components) the detector graph gave yaw median 1.76°,
  90th percentile 3.9°, pitch 5.4° (mean +5.5°), roll 0.44°, and the crop network 1.49°, 3.6°,
  4.1° (mean +3.8°), 0.49°: no worse, ~3x cheaper (2 against 6-14 ms) and without the graph's
  log lines. Their landmarks differ by 1.3 px (median over images; 0.8-1.6 px on the two photos
  packages ship).
* **light** -- :func:`estimate_light`: with that camera, the predicted mesh's front-facing
  vertices inside the hull of the input's landmarks are projected into the input; their pixel colours
  are regressed on albedo x (SH basis of the rotated normal) per colour channel, a ridge
  towards the default light, twice trimmed of outliers (eyes, hair, background). A render's
  pixel is exactly albedo x SH shading, so on synthetic inputs with the true albedo this
  recovers the scene's light (30 real-like renders with their true meshes: mean absolute error
  of the shading factor on front-facing vertices 0.035, against 0.136 for the default light);
  with a predicted albedo the light absorbs part of its error.
* **background** -- uniform grey (the renderer's default), so that the judge sees the face only.

Each render is cropped from its projected landmarks (:func:`thesislib.imaging.landmark_crop`),
as the synthetic inputs are. :func:`posed_renders` does all three for many predictions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from thesislib.imaging import DEFAULT_DISTANCE

from .pose_fit import Pose, fit_pose

#: iBUG points used for the pose fit: all but the 17 jaw-contour points (0-16).
INNER = np.arange(17, 68)
#: MediaPipe face-mesh points of the face oval (FACEMESH_FACE_OVAL), left out of the pose fit.
FACE_OVAL = (10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176, 234, 251, 284,
             288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454)
#: Landmark sources of :func:`landmark_vertices` and their point counts.
SOURCES = {"facemesh": 478, "dlib": 68}


def _vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (N, 3) of a mesh (numba: ~0.4 ms against ~6 ms in numpy)."""
    v = np.ascontiguousarray(vertices, np.float64)
    out = np.empty(v.shape)
    _normals_kernel(v, np.ascontiguousarray(triangles, np.int64), out)
    return out


@njit(cache=True)
def _normals_kernel(v, t, out):  # pragma: no cover - numba
    out[:] = 0.0
    for k in range(t.shape[0]):
        a, b, c = t[k, 0], t[k, 1], t[k, 2]
        ux, uy, uz = v[b, 0] - v[a, 0], v[b, 1] - v[a, 1], v[b, 2] - v[a, 2]
        wx, wy, wz = v[c, 0] - v[a, 0], v[c, 1] - v[a, 1], v[c, 2] - v[a, 2]
        nx, ny, nz = uy * wz - uz * wy, uz * wx - ux * wz, ux * wy - uy * wx
        for i in (a, b, c):
            out[i, 0] += nx
            out[i, 1] += ny
            out[i, 2] += nz
    for i in range(out.shape[0]):
        r = max(np.sqrt(out[i, 0] ** 2 + out[i, 1] ** 2 + out[i, 2] ** 2), 1e-12)
        out[i, 0] /= r
        out[i, 1] /= r
        out[i, 2] /= r


def _inside(points: np.ndarray, hull_points: np.ndarray) -> np.ndarray:
    """(N,) bool, points (N, 2) inside the convex hull of hull_points (M, 2)."""
    from scipy.spatial import ConvexHull, QhullError

    h = hull_points[np.isfinite(hull_points).all(1)]
    try:
        eq = ConvexHull(h).equations  # (F, 3): inside where normal . x + offset <= 0
    except (QhullError, ValueError):
        return np.zeros(len(points), bool)
    return (points @ eq[:, :2].T + eq[:, 2] <= 1e-9).all(1)


#: Ridge strength of :func:`estimate_light` per SH band (0, 1, 2), relative to the mean
#: squared design value: the second band is poorly seen on a face and is held near the prior.
LIGHT_RIDGE = (1e-3, 1e-2, 1e-1)


def estimate_light(image, mesh, pose: Pose, landmarks=None, min_normal_z: float = 0.3, step: int = 5,
                   trims: int = 2, normals=None) -> np.ndarray:
    """The SH light (9, 3) that makes ``mesh`` under ``pose`` look like ``image``.

    Parameters
    ----------
    image : (H, W, 3) uint8, the input
    mesh : :class:`thesislib.facemodel.Mesh` (vertices mm, colours = albedo 0..1, triangles)
    pose : :class:`Pose` of ``mesh`` in ``image`` (:func:`fit_pose`)
    landmarks : (L, 2) px of the input (face mesh or dlib), or None; only vertices projected
        inside their convex hull are used (the face without ears and background)
    min_normal_z : vertices whose rotated normal faces the camera less than this are left out
    step : every ``step``-th vertex is used (about 6k of the embedded model's 28.6k)
    trims : rounds of leaving out residuals beyond 3 robust standard deviations
    normals : (N, 3) unit vertex normals of the unposed mesh (e.g. :func:`thesislib.imaging.mesh_normals`,
        which its render reuses), or None: computed here

    Returns
    -------
    (9, 3) float32 SH coefficients in the Basel convention (:mod:`thesislib.imaging.scene`);
    the default light when fewer than 50 vertices qualify
    """
    from thesislib.imaging import DEFAULT_SH, SH_KERNEL, sh_basis

    img = np.asarray(image, np.float64) / 255.0
    h, w = img.shape[:2]
    idx = np.arange(0, len(mesh.vertices), max(1, int(step)))
    R = pose.rotation
    normals = _vertex_normals(mesh.vertices, mesh.triangles) if normals is None else normals
    n = np.asarray(normals, np.float64)[idx] @ R.T
    xy = pose.project(np.asarray(mesh.vertices, np.float64)[idx])
    keep = (n[:, 2] > min_normal_z) & (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)
    if landmarks is not None:
        keep &= _inside(xy, np.asarray(landmarks, np.float64))
    prior = np.asarray(DEFAULT_SH, np.float64)
    if keep.sum() < 50:
        return prior.astype(np.float32)
    xy, n, albedo = xy[keep], n[keep], np.asarray(mesh.colors, np.float64)[idx][keep]
    x0, y0 = np.floor(xy).astype(int).T
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (xy[:, 0] - x0)[:, None], (xy[:, 1] - y0)[:, None]
    pix = ((1 - fx) * (1 - fy) * img[y0, x0] + fx * (1 - fy) * img[y0, x1] + (1 - fx) * fy * img[y1, x0]
           + fx * fy * img[y1, x1])
    basis = sh_basis(n) * SH_KERNEL  # (M, 9): shading = basis @ sh
    band = np.r_[0, 1, 1, 1, 2, 2, 2, 2, 2]
    out = np.empty((9, 3))
    for c in range(3):
        X, y = albedo[:, c:c + 1] * basis, pix[:, c]
        use = (y > 1 / 255) & (y < 254 / 255)  # clipped pixels say nothing about the light
        lam = np.asarray(LIGHT_RIDGE)[band] * max(float(np.mean(X[use] ** 2)), 1e-12) * max(int(use.sum()), 1)
        for _ in range(int(trims) + 1):
            Xu = X[use]
            out[:, c] = np.linalg.solve(Xu.T @ Xu + np.diag(lam), Xu.T @ y[use] + lam * prior[:, c])
            r = y - X @ out[:, c]
            ru = r[use]
            mad = 1.4826 * np.median(np.abs(ru - np.median(ru)))
            use = use & (np.abs(r) <= 3 * max(mad, 1e-3))
    return out.astype(np.float32)


_VERTICES: dict = {}


def landmark_vertices(model, source: str = "facemesh") -> tuple[np.ndarray, np.ndarray]:
    """The model vertex of each landmark of ``source`` and which landmarks the pose fit uses.

    ``"dlib"``: the model's 68 iBUG vertices (``model.ibug68``), the inner 51 used.
    ``"facemesh"``: MediaPipe's 478 points found on a frontal render of the model's mean face
    (default scene; read on its landmark crop by the crop network, as the inputs are, and mapped
    back to the render's pixels), each back-projected through the depth map to its nearest vertex; used
    are the 468 mesh points off the face oval whose vertex faces the camera (normal z > 0.5).
    Computed once per mean face (a hash of the model's mean shape, mean colour, triangles and
    landmarks: all the mapping depends on; cheaper than the model's fingerprint, which hashes
    every basis) and process.

    Returns
    -------
    (ids (L,) int64 vertex ids, used (L,) bool)
    """
    if source not in SOURCES:
        raise ValueError(f"unknown landmark source {source!r}; choose from {sorted(SOURCES)}")
    base = model.truncated(None, None, 0)
    if source == "dlib":
        ids = base.ibug68
        if ids is None:
            raise ValueError(f"dlib landmarks need the model's 68 iBUG landmarks (named ibug00..ibug67); "
                             f"{base.name!r} has {len(base.landmarks)} others: use landmarks='facemesh'")
        used = np.zeros(68, bool)
        used[INNER] = True
        return ids, used
    key = (_mean_fingerprint(base), source)
    if key not in _VERTICES:
        _VERTICES[key] = _facemesh_vertices(base)
    return _VERTICES[key]


def _mean_fingerprint(model) -> str:
    """Hash of what a model's mean face is made of (mean shape and colour, triangles, landmarks)."""
    import hashlib

    h = hashlib.sha256()
    for a in (model.shape.mean, model.color.mean, model.triangles):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    h.update(repr(sorted(model.landmarks.items())).encode())
    return h.hexdigest()[:16]


def _facemesh_vertices(base) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    from thesislib.faces import facemesh_landmarks
    from thesislib.imaging import DEFAULT_FOCAL, landmark_crop, render

    mean = base.instance()
    r = render(mean)
    crop = landmark_crop(r.image, r.landmarks, r.landmark_visible)  # framed as the inputs are
    pts = facemesh_landmarks(crop.image, detector=False)
    if pts is None:
        raise ValueError(f"MediaPipe's face mesh finds no face on {base.name!r}'s mean face: use landmarks='dlib'")
    x0, y0, x1, _ = crop.box  # crop px -> render px (the crop's bilinear resampling: pixel centres)
    k = (x1 - x0) / crop.image.shape[1]
    pts = np.c_[x0 + (pts[:, 0] + 0.5) * k - 0.5, y0 + (pts[:, 1] + 0.5) * k - 0.5]
    c = (r.image.shape[0] - 1) / 2.0
    col = np.clip(np.rint(pts[:, 0]).astype(int), 0, r.image.shape[1] - 1)
    row = np.clip(np.rint(pts[:, 1]).astype(int), 0, r.image.shape[0] - 1)
    d = r.depth[row, col].astype(np.float64)
    ok = np.isfinite(d)
    xyz = np.c_[(pts[:, 0] - c) * d / DEFAULT_FOCAL, -(pts[:, 1] - c) * d / DEFAULT_FOCAL, DEFAULT_DISTANCE - d]
    ids = np.zeros(len(pts), np.int64)
    ids[ok] = cKDTree(mean.vertices).query(xyz[ok])[1]
    normal_z = _vertex_normals(mean.vertices, mean.triangles)[ids, 2]
    used = ok & (normal_z > 0.5) & (np.arange(len(pts)) < 468)
    used[list(FACE_OVAL)] = False
    return ids, used


@dataclass(frozen=True, eq=False)
class PosedRenders:
    """Predictions rendered like their inputs (:func:`posed_renders`).

    Attributes
    ----------
    images : (n, 224, 224, 3) uint8 crops
    poses : list of n :class:`Pose` (NaN angles where the input had no landmarks: rendered frontal)
    sh : (n, 9, 3) float32, the light each was rendered in
    """

    images: np.ndarray
    poses: list
    sh: np.ndarray


def posed_renders(P, model, landmarks, images=None, light: bool = True) -> PosedRenders:
    """Render each prediction in the pose (and light) of its input, on grey.

    Parameters
    ----------
    P : (n, n_shape + n_color) predicted parameters, sd
    model : truncated MorphableModel (its n_shape/n_color decide the layout)
    landmarks : (n, L, >= 2) px (x, y) landmarks of the inputs in the input crops' pixels:
        L = 478 MediaPipe face-mesh points or 68 dlib points (:func:`landmark_vertices`);
        an all-NaN row (no face found) renders that prediction frontally
    images : (n, H, W, 3) uint8 input crops; needed when ``light`` is True
    light : estimate each input's light (:func:`estimate_light`); False: the default light

    Returns
    -------
    :class:`PosedRenders`
    """
    from thesislib.imaging import DEFAULT_SH, Scene, Workspace, mesh_normals, render_crop

    base = model.truncated(None, None, 0)
    n_shape = base.n_shape
    P = np.asarray(P, np.float64)
    L = np.asarray(landmarks, np.float64)
    sources = {v: k for k, v in SOURCES.items()}
    if L.ndim != 3 or len(L) != len(P) or L.shape[1] not in sources or L.shape[2] < 2:
        raise ValueError(f"need (n, 478 or 68, 2) landmarks for {len(P)} predictions, got {L.shape}")
    ids, used = landmark_vertices(base, sources[L.shape[1]])
    if light and (images is None or len(images) != len(P)):
        raise ValueError("estimating the light needs the input images, one per prediction")
    out, ws = np.empty((len(P), 224, 224, 3), np.uint8), Workspace()
    poses, shs = [], np.empty((len(P), 9, 3), np.float32)
    for i, p in enumerate(P):
        mesh = base.instance(p[:n_shape], p[n_shape:])
        normals = mesh_normals(mesh)  # once for the light and the render
        pose = fit_pose(L[i, used, :2], mesh.vertices[ids[used]])
        sh = np.asarray(DEFAULT_SH, np.float32)
        if light and np.isfinite(pose.yaw):
            sh = estimate_light(images[i], mesh, pose, L[i, :, :2], normals=normals)
        angles = (pose.yaw, pose.pitch, pose.roll) if np.isfinite(pose.yaw) else (0.0, 0.0, 0.0)
        # render_crop: landmark_crop(render(...)) bit for bit, with less work
        out[i] = render_crop(mesh, Scene(*angles, sh=sh), normals=normals, workspace=ws).image
        poses.append(pose)
        shs[i] = sh
    return PosedRenders(out, poses, shs)
