"""The 224 px face crop of a synthetic render: from its projected landmarks, or others.

A render knows where its face is: :func:`thesislib.imaging.mesh_render.render` projects the
model's 68 iBUG landmarks. :func:`landmark_crop` (the default of
:func:`thesislib.datasets.generation.generate`, and the crop of every synthetic render in
:mod:`thesislib.evaluation.predictions`) frames the face from them, with no detector: ~0.15 ms
instead of ~6 ms for dlib's HOG detector, which on top misses ~40 % of renders at
|yaw| <= 30° (those then fell back to landmarks with another framing).

Photos still go through the detector (:func:`thesislib.faces.recognition.crop`), so a landmark
crop is framed like a detector crop on average: :data:`LANDMARK_CROP_MARGIN` and
:data:`LANDMARK_CROP_SHIFT` are fitted to that (see their comment).

Every crop function here has the signature ``f(image (H, W, 3) uint8, landmarks (L, 2)
px or None, landmark_visible (L,) bool or None, size=224)`` and returns an object
with ``image`` (size, size, 3) uint8, ``box`` (x0, y0, x1, y1) int (may reach outside
the image; outside pixels replicate the edge) and ``method`` str. They are re-exported
by :mod:`thesislib.datasets.generation`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

CROP_SIZE = 224
_BITS = 22  # Pillow's PRECISION_BITS for 8-bit images
#: Framing of :func:`landmark_crop`, fitted so that it matches the detector crop of
#: :func:`thesislib.faces.recognition.crop` (dlib HOG box widened by DETECTOR_MARGIN = 0.15 per side)
#: on average. Measured on 600 renders of N(0, 1) faces (default model, 50 + 50
#: coefficients) under ``SceneSampler(max_yaw=30, background="procedural")`` (seeds 123 and 5;
#: the detector found 377 of the 600): detector side / side of the tight landmark box
#: = 1.334 on average (median 1.318, sd 0.10), so the margin per side is
#: (1.334 - 1) / 2 = 0.167 -> 0.165; the detector box centre sits 0.11 of its side
#: above the landmark box centre (sd 0.04; horizontally 0.000, sd 0.03), hence the
#: shift. With these, on the same renders, landmark crops are 1.004x / 1.009x the detector
#: crop's side (sd 0.07) and centred on it within 0.005 of the side, on average
#: (tests/test_crops.py checks it on 40 other renders). The old LANDMARK_MARGIN = 0.25 of
#: thesislib.faces.recognition, still the framing of faces.crop's fallback, gives 1.13x and 0.11 lower.
LANDMARK_CROP_MARGIN = 0.165
#: Vertical shift of the landmark crop's centre, fraction of the crop side (negative: up).
LANDMARK_CROP_SHIFT = -0.11


@dataclass(frozen=True, eq=False)
class SimpleCrop:
    """A crop result (same attributes as :class:`thesislib.faces.recognition.Crop`)."""

    image: np.ndarray
    box: tuple
    method: str


@njit(cache=True)
def _coefficients(n_in, n_out):
    """Pillow's bilinear resampling coefficients (precompute_coeffs, then normalize_coeffs_8bpc)
    for ``n_in`` -> ``n_out`` samples: first source index, count and fixed-point weights."""
    scale = n_in / n_out
    fscale = max(scale, 1.0)  # downsampling widens the triangle filter (antialiasing)
    ksize = int(np.ceil(fscale)) * 2 + 1
    first = np.empty(n_out, np.int64)
    count = np.empty(n_out, np.int64)
    weights = np.zeros((n_out, ksize), np.int64)
    w = np.empty(ksize)
    for o in range(n_out):
        center = (o + 0.5) * scale
        lo = max(int(center - fscale + 0.5), 0)
        n = min(int(center + fscale + 0.5), n_in) - lo
        total = 0.0
        for k in range(n):
            t = abs((k + lo - center + 0.5) / fscale)
            w[k] = 1.0 - t if t < 1.0 else 0.0
            total += w[k]
        for k in range(n):
            v = w[k] / total if total != 0.0 else w[k]
            weights[o, k] = int(v * (1 << _BITS) + (0.5 if v >= 0 else -0.5))
        first[o] = lo
        count[o] = n
    return first, count, weights


@njit(cache=True)
def _resample_box(image, x0, y0, side, size, flip, out):
    """``out`` (size, size, 3) = the square (x0, y0, x0 + side, y0 + side) of ``image``
    (edges replicated outside it) resized as Pillow's BILINEAR does it: a horizontal pass
    into uint8 over the rows the vertical pass reads, then the vertical pass; mirrored
    when ``flip``. Both passes run on transposed or whole rows so that they vectorise
    (~2x faster than per-pixel taps: 0.15 instead of 0.30 ms for 227 px)."""
    h, w = image.shape[0], image.shape[1]
    if side == size:
        for o in range(size):
            y = min(max(y0 + o, 0), h - 1)
            for q in range(size):
                x = min(max(x0 + (size - 1 - q if flip else q), 0), w - 1)
                for c in range(3):
                    out[o, q, c] = image[y, x, c]
        return
    half = np.int32(1 << (_BITS - 1))
    first, count, weight = _coefficients(side, size)
    weight32 = weight.astype(np.int32)  # Pillow's INT32 sums: 255 * 2**22 + 2**21 < 2**31
    r0 = first[0]  # the same coefficients serve rows and columns (a square box)
    rows = first[size - 1] + count[size - 1] - r0
    n3 = rows * 3
    # the source rows and columns the passes read, transposed (column i -> (rows * 3,)),
    # edges replicated: the horizontal pass then adds whole columns (vectorises)
    src_t = np.empty((rows, n3), np.uint8)
    for r in range(rows):
        y = min(max(y0 + r0 + r, 0), h - 1)
        for i in range(rows):
            x = min(max(x0 + r0 + i, 0), w - 1)
            src_t[i, 3 * r] = image[y, x, 0]
            src_t[i, 3 * r + 1] = image[y, x, 1]
            src_t[i, 3 * r + 2] = image[y, x, 2]
    n_out = size * 3
    acc = np.empty(max(n3, n_out), np.int32)
    tmp_t = np.empty((size, n3), np.uint8)  # horizontal pass, transposed: output column -> rows
    for q in range(size):
        acc[:n3] = half
        for k in range(count[q]):
            wk = weight32[q, k]
            col = src_t[first[q] - r0 + k]
            for j in range(n3):
                acc[j] += np.int32(col[j]) * wk
        dst = size - 1 - q if flip else q
        for j in range(n3):
            tmp_t[dst, j] = min(max(acc[j] >> _BITS, 0), 255)
    tmp = np.empty((rows, n_out), np.uint8)
    for q in range(size):
        for r in range(rows):
            tmp[r, 3 * q] = tmp_t[q, 3 * r]
            tmp[r, 3 * q + 1] = tmp_t[q, 3 * r + 1]
            tmp[r, 3 * q + 2] = tmp_t[q, 3 * r + 2]
    out_flat = out.reshape(size, n_out)  # vertical pass on whole rows: vectorises
    for o in range(size):
        acc[:n_out] = half
        for k in range(count[o]):
            r = first[o] - r0 + k
            wk = weight32[o, k]
            for j in range(n_out):
                acc[j] += np.int32(tmp[r, j]) * wk
        for j in range(n_out):
            out_flat[o, j] = min(max(acc[j] >> _BITS, 0), 255)


def resample(image, box, size: int = CROP_SIZE, flip: bool = False) -> np.ndarray:
    """The square ``box`` (x0, y0, x1, y1) int of ``image`` (H, W, 3) uint8 resized to
    (size, size, 3) uint8 with Pillow's bilinear filter (a triangle, widened when
    shrinking), mirrored left-right when ``flip``.

    The box may reach outside the image: outside pixels replicate the nearest edge. Same
    bytes as ``np.pad(mode="edge")``, cropping and ``PIL.Image.resize(BILINEAR)``
    (Pillow's fixed-point arithmetic, reproduced in numba; tests/test_crops.py compares),
    at about a fifth of the time (no padding, no copies).
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] < 3 or img.dtype != np.uint8:
        raise ValueError(f"need an (H, W, 3) uint8 image, got {img.shape} {img.dtype}")
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 - x0 != y1 - y0 or x1 <= x0 or size < 1:
        raise ValueError(f"need a non-empty square box and size >= 1, got {box} and {size}")
    out = np.empty((int(size), int(size), 3), np.uint8)
    _resample_box(img, x0, y0, x1 - x0, int(size), bool(flip), out)
    return out


def landmark_crop_box(landmarks, landmark_visible=None, margin: float = LANDMARK_CROP_MARGIN,
                      shift: float = LANDMARK_CROP_SHIFT) -> tuple:
    """Square box (x0, y0, x1, y1) int around landmarks (L, 2) px: the tight box of the
    visible ones (all when fewer than 3 are visible) grown by ``margin`` of its side per
    side, its centre moved down by ``shift`` of the crop side (negative: up)."""
    # thesislib.faces.recognition.landmark_box's arithmetic on Python floats (a fifth of its numpy calls)
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if landmark_visible is not None:
        vis = np.asarray(landmark_visible, bool)
        if np.count_nonzero(vis) >= 3:
            pts = pts[vis]
    if len(pts) == 0:
        raise ValueError("need at least one landmark")
    (lx, ly), (hx, hy) = pts.min(0).tolist(), pts.max(0).tolist()
    side = max(max(hx - lx, hy - ly), 1.0) * (1.0 + 2.0 * margin)
    x0, y0, s = math.floor(0.5 * (lx + hx) - side / 2), math.floor(0.5 * (ly + hy) - side / 2), math.ceil(side)
    dy = int(round(shift * s))
    return (x0, y0 + dy, x0 + s, y0 + s + dy)


def landmark_crop(image, landmarks, landmark_visible=None, size: int = CROP_SIZE) -> SimpleCrop:
    """Square crop framed by the projected landmarks (no detector; method "landmarks").

    image (H, W, 3) uint8; landmarks (L, 2) px (x, y); the box is
    :func:`landmark_crop_box`. Falls back to :func:`center_crop` when there are no
    landmarks.
    """
    if landmarks is None or len(landmarks) == 0:
        return center_crop(image, landmarks, landmark_visible, size)
    box = landmark_crop_box(landmarks, landmark_visible)
    return SimpleCrop(resample(np.asarray(image, np.uint8), box, size), box, "landmarks")


def center_crop(image, landmarks=None, landmark_visible=None, size: int = CROP_SIZE) -> SimpleCrop:
    """The central ``size`` x ``size`` pixels (method "center"); image (H, W, 3) uint8."""
    h, w = image.shape[:2]
    s = min(h, w)
    x0, y0 = (w - s) // 2, (h - s) // 2
    box = (x0, y0, x0 + s, y0 + s)
    if s > size:
        box = ((w - size) // 2, (h - size) // 2, (w - size) // 2 + size, (h - size) // 2 + size)
    return SimpleCrop(resample(np.asarray(image, np.uint8), box, size), box, "center")
