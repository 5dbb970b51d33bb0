"""Face detection, the 224 px face crop, face-recognition embeddings and similarity.

Everything runs on dlib (the ``dlib-bin`` wheel): its HOG frontal face detector,
the 68-point shape predictor and the ResNet face-recognition model (128-D
descriptors). The model files come from the ``face-recognition-models``
package; they are located with :mod:`importlib` without importing that package
(its ``__init__`` needs the removed ``pkg_resources``). Models are loaded lazily,
once per process.

Images are (H, W, 3) uint8 RGB; they are made C-contiguous before dlib sees them.
Boxes are ``(x0, y0, x1, y1)`` integer pixel coordinates (x1, y1 exclusive, as
dlib's rectangles).

On synthetic faces dlib's usual 0.6 descriptor-distance threshold has no
meaning; compare similarities with an ROC AUC instead (see
:mod:`thesislib.evaluation.realism`).
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thesislib.common import run_tasks, worker_count

CROP_SIZE = 224
#: Margin around the landmark box when cropping from landmarks (fraction of its side).
LANDMARK_MARGIN = 0.25
#: Files of the ``face-recognition-models`` package.
PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
RECOGNITION_FILE = "dlib_face_recognition_resnet_model_v1.dat"

_INSTALL_HINT = ("install the 'face-recognition-models' package "
                 "(pip install face-recognition-models; not 'face_recognition', which builds dlib)")


# ----------------------------------------------------------------- model files
def import_dlib():
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("thesislib.faces.recognition needs dlib: pip install dlib-bin") from exc
    return dlib


def model_file(name: str) -> Path:
    """Path of one dlib model file shipped by ``face-recognition-models``.

    Raises
    ------
    FileNotFoundError naming the package to install when it or the file is missing.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"dlib model file {name!r} not found: {_INSTALL_HINT}")
    for root in spec.submodule_search_locations:
        path = Path(root) / "models" / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"dlib model file {name!r} missing from face_recognition_models "
                            f"({list(spec.submodule_search_locations)}): {_INSTALL_HINT}")


@functools.lru_cache(maxsize=1)
def _detector():
    return import_dlib().get_frontal_face_detector()


@functools.lru_cache(maxsize=1)
def _predictor():
    return import_dlib().shape_predictor(str(model_file(PREDICTOR_FILE)))


@functools.lru_cache(maxsize=1)
def _recognizer():
    return import_dlib().face_recognition_model_v1(str(model_file(RECOGNITION_FILE)))


def as_image(image) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"need an (H, W, 3) RGB image, got shape {img.shape}")
    img = img[:, :, :3]
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating) and img.size and img.max() <= 1.0:
            img = img * 255.0
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def _rect(box):
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return import_dlib().rectangle(x0, y0, x1, y1)


# ----------------------------------------------------------------- detection
def detect(image, upsample: int = 0) -> list:
    """Faces found by dlib's HOG frontal detector.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB
    upsample : int, times the image is upsampled first (0 is fastest, ~6 ms at 227 px;
        1 finds smaller faces but also more false positives)

    Returns
    -------
    list of (x0, y0, x1, y1) int boxes, best detection first
    """
    img = as_image(image)
    rects, scores, _ = _detector().run(img, int(upsample), 0.0)
    order = np.argsort(-np.asarray(scores, float)) if len(rects) else []
    return [(int(rects[i].left()), int(rects[i].top()), int(rects[i].right()), int(rects[i].bottom()))
            for i in order]


def landmark_box(landmarks, margin: float = LANDMARK_MARGIN, visible=None) -> tuple:
    """Square box (x0, y0, x1, y1) around 2D landmarks (L, 2) px, grown by ``margin`` of its side."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if visible is not None:
        vis = np.asarray(visible, bool)
        if vis.sum() >= 3:
            pts = pts[vis]
    if len(pts) == 0:
        raise ValueError("need at least one landmark")
    lo, hi = pts.min(0), pts.max(0)
    center = 0.5 * (lo + hi)
    side = max(float((hi - lo).max()), 1.0) * (1.0 + 2.0 * margin)
    x0, y0 = np.floor(center - side / 2).astype(int)
    s = int(np.ceil(side))
    return (int(x0), int(y0), int(x0) + s, int(y0) + s)


@dataclass(frozen=True, eq=False)
class Crop:
    """A square face crop.

    Attributes
    ----------
    image : (size, size, 3) uint8 RGB
    box : (x0, y0, x1, y1) int, the square region of the source image (may reach outside
        it; outside pixels are filled by edge replication)
    method : "detector" (dlib found the face), "landmarks" (square around the given 2D
        landmarks) or "center" (centre crop: no face and no landmarks)
    """

    image: np.ndarray
    box: tuple
    method: str


def _square(box):
    x0, y0, x1, y1 = box
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    side = max(x1 - x0, y1 - y0, 1)
    a, b = int(np.floor(cx - side / 2)), int(np.floor(cy - side / 2))
    return (a, b, a + int(side), b + int(side))


def _resample(img, box, size):
    """Crop ``box`` (may exceed the image; edges replicate) and resize to (size, size)."""
    from PIL import Image

    x0, y0, x1, y1 = box
    h, w = img.shape[:2]
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    if pad:
        img = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    patch = img[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
    if patch.shape[:2] == (size, size):
        return np.ascontiguousarray(patch)
    return np.asarray(Image.fromarray(np.ascontiguousarray(patch)).resize((size, size), Image.BILINEAR),
                      dtype=np.uint8)


#: Detector boxes are tight (brows to chin); the crop widens them by this fraction per side.
DETECTOR_MARGIN = 0.15


def crop(image, box=None, landmarks=None, size: int = CROP_SIZE, upsample: int = 0,
         landmark_visible=None) -> Crop:
    """The square face crop the thesis feeds its networks (224 x 224).

    Order of preference: ``box`` when given (method "detector"), else dlib's HOG
    detector (its best face); else a square around ``landmarks`` (projected 2D iBUG
    points from :func:`thesislib.imaging.mesh_render.render`) with a margin; else a centre crop of
    the short side.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB
    box : (x0, y0, x1, y1) of a face, e.g. from :func:`detect`, or None to detect
    landmarks : (L, 2) pixel (x, y) positions, or None
    size : output side in px
    upsample : detector upsampling
    landmark_visible : (L,) bool, landmarks to use (others ignored) or None for all

    Returns
    -------
    :class:`Crop`
    """
    img = as_image(image)
    method = "detector"
    if box is None:
        found = detect(img, upsample)
        box = found[0] if found else None
    if box is not None:
        x0, y0, x1, y1 = box
        m = DETECTOR_MARGIN * max(x1 - x0, y1 - y0)
        sq = _square((x0 - m, y0 - m, x1 + m, y1 + m))
    elif landmarks is not None and len(landmarks):
        method = "landmarks"
        sq = landmark_box(landmarks, visible=landmark_visible)
    else:
        method = "center"
        h, w = img.shape[:2]
        s = min(h, w)
        sq = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
    return Crop(_resample(img, sq, size), tuple(int(v) for v in sq), method)


# ----------------------------------------------------------------- recognition
def face_box(image, box=None, landmarks68=None, upsample: int = 0):
    """The box :func:`embed` uses, and how it was found: (box or None, method).

    ``box`` given -> "given"; detector hit -> "detector"; else from ``landmarks68``
    (tight box around the points, the detector's framing) -> "landmarks"; else
    (None, "none").
    """
    if box is not None:
        return tuple(int(v) for v in box), "given"
    found = detect(image, upsample)
    if found:
        return found[0], "detector"
    if landmarks68 is not None and len(landmarks68):
        return landmark_box(landmarks68, margin=0.0), "landmarks"
    return None, "none"


def embed(image, box=None, landmarks68=None, upsample: int = 0, jitter: int = 0) -> np.ndarray:
    """dlib's 128-D face descriptor of the face in ``image``.

    The 68-point shape predictor runs on ``box``; when no box is given, on the
    detector's best face, else on a box around ``landmarks68`` (projected iBUG 68
    points, e.g. ``render(...).landmarks``); the descriptor is computed from the
    predicted landmarks' aligned 150 px chip.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB
    box : (x0, y0, x1, y1) or None
    landmarks68 : (68, 2) px or None
    upsample : detector upsampling
    jitter : dlib's ``num_jitters`` (0 = one pass; more is slower and smoother)

    Returns
    -------
    (128,) float32 descriptor (unit-ish norm); NaN when no box could be found at all
    """
    img = as_image(image)
    b, _ = face_box(img, box, landmarks68, upsample)
    if b is None:
        return np.full(128, np.nan, np.float32)
    shape = _predictor()(img, _rect(b))
    desc = _recognizer().compute_face_descriptor(img, shape, int(jitter)) if jitter else \
        _recognizer().compute_face_descriptor(img, shape)
    return np.asarray(desc, dtype=np.float32)


def _embed_chunk(part, upsample):
    """Descriptors of ``part = (images, boxes, landmarks)``, a list of (128,) arrays."""
    return [embed(im, b, lm, upsample) for im, b, lm in zip(*part)]


def embed_many(images, boxes=None, landmarks68=None, upsample: int = 0, n_jobs: int = 1) -> np.ndarray:
    """Descriptors of many images, (n, 128) float32 (rows NaN where no face box was found).

    ``boxes`` and ``landmarks68`` are per-image sequences (entries may be None).
    ``n_jobs`` > 1 (or -1) spreads chunks over worker processes
    (:func:`thesislib.common.run_tasks`); each worker loads the dlib models once.
    """
    images = list(images)
    n = len(images)
    boxes = [None] * n if boxes is None else list(boxes)
    landmarks68 = [None] * n if landmarks68 is None else list(landmarks68)
    if len(boxes) != n or len(landmarks68) != n:
        raise ValueError(f"got {n} images, {len(boxes)} boxes and {len(landmarks68)} landmark sets")
    if n == 0:
        return np.zeros((0, 128), np.float32)
    k = 1 if n < 4 else min(n, worker_count(n_jobs))
    parts = [([images[i] for i in p], [boxes[i] for i in p], [landmarks68[i] for i in p])
             for p in np.array_split(np.arange(n), k)]
    out = [d for chunk in run_tasks(_embed_chunk, parts, context=upsample, workers=k) for d in chunk]
    return np.stack(out).astype(np.float32)


def similarity(a, b, pairwise: bool = False) -> np.ndarray:
    """Cosine similarity of descriptors.

    Parameters
    ----------
    a : (128,) or (n, 128)
    b : (128,) or (m, 128)
    pairwise : False -> the (n, m) matrix of all pairs (a scalar for two vectors);
        True -> row by row, a and b of the same shape (n, 128) -> (n,)

    Returns
    -------
    float or ndarray of cosine similarities in [-1, 1] (NaN where a descriptor is NaN or zero)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"descriptor lengths differ: {a.shape} vs {b.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        an = a / np.linalg.norm(a, axis=-1, keepdims=True)
        bn = b / np.linalg.norm(b, axis=-1, keepdims=True)
        if pairwise:
            if an.shape != bn.shape:
                raise ValueError(f"pairwise similarity needs equal shapes, got {a.shape} and {b.shape}")
            return np.sum(an * bn, axis=-1)
        if an.ndim == 1 and bn.ndim == 1:
            return float(an @ bn)
        return an @ bn.T


def detector_crop(image, landmarks=None, landmark_visible=None, size: int = CROP_SIZE):
    """:func:`crop`: dlib detection, else landmarks, else centre."""
    return crop(image, landmarks=landmarks, size=size, landmark_visible=landmark_visible)
