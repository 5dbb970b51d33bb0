"""How face-like the embedded model is, measured with dlib (thesis 5.3; issue 4 item 3).

Two measurements, both deterministic for a seed:

* :func:`detection_rate` - the share of renders in which dlib's HOG frontal detector
  (upsample 0) finds exactly one face. Faces are drawn from N(0, 1) in the first
  ``n_shape`` shape and ``n_color`` color coefficients (the thesis: 50 + 50), or
  passed in; the scene is frontal and evenly lit (``Scene(yaw=...)``, default light).
* :func:`identity_auc` - whether dlib's face-recognition network tells the model's
  identities apart: each identity is rendered twice, once frontal in the default
  light and once under another pose (|yaw| <= ``max_yaw``, small pitch) and a light
  from the built-in prior; the cosine similarity of the two 128-D descriptors of
  the same face ("same") is compared with that of different faces ("different")
  by the ROC AUC. Where the detector misses, the box comes from the projected
  landmarks.

:func:`extreme_coefficients` builds the counter-examples: faces whose first shape
components (named proportions: face length, jaw, nose, eye spacing, ...) are pushed
to +-``value`` standard deviations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thesislib import faces
from thesislib.imaging import render
from thesislib.imaging import Scene, sample_builtin_sh


def _model(model):
    """The model, or the embedded default truncated to the thesis' 50 shape + 50 colour components."""
    if model is None:
        from thesislib.facemodel import default_model
        return default_model().truncated(50, 50, 0)
    return model


def normal_coefficients(n: int, rng: np.random.Generator, model, scale: float = 1.0):
    """``n`` faces from N(0, scale^2): (shape (n, n_shape), color (n, n_color)); ``model``: the
    truncated MorphableModel whose n_shape/n_color decide the parameter layout."""
    return scale * rng.normal(size=(n, model.n_shape)), scale * rng.normal(size=(n, model.n_color))


def extreme_coefficients(n: int, rng: np.random.Generator, model, n_first: int = 6, value: float = 4.5):
    """Faces with the first ``n_first`` shape coefficients at +-``value`` (random signs), the
    other shape and all color coefficients from N(0, 1); ``model``: the truncated MorphableModel
    whose n_shape/n_color decide the parameter layout."""
    shape, color = normal_coefficients(n, rng, model)
    shape[:, :n_first] = value * rng.choice([-1.0, 1.0], size=(n, n_first))
    return shape, color


@dataclass(frozen=True)
class DetectionReport:
    """Result of :func:`detection_rate`.

    rate : share of renders with exactly one detected face
    n : number of renders
    counts : (n,) int, faces found per render
    yaw : degrees
    """

    rate: float
    n: int
    counts: np.ndarray
    yaw: float


def detection_rate(model=None, n: int = 200, seed: int = 0, yaw: float = 0.0, coefficients=None,
                   upsample: int = 0) -> DetectionReport:
    """Share of renders in which dlib's HOG detector finds exactly one face.

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout (coefficients drawn per part), or None (the embedded default, 50 + 50)
    n : number of faces (ignored when ``coefficients`` is given)
    seed : seed of the N(0, 1) draw
    yaw : degrees; pitch and roll are 0, light and camera the defaults
    coefficients : optional (shape (n, ks), color (n, kc)) to use instead of the draw
    upsample : detector upsampling (the measurement uses 0)
    """
    m = _model(model)
    if coefficients is None:
        coefficients = normal_coefficients(n, np.random.default_rng(seed), m)
    shape, color = coefficients
    scene = Scene(yaw=float(yaw))
    counts = np.array([len(faces.detect(render(m.instance(shape=s, color=c), scene).image, upsample))
                       for s, c in zip(shape, color)], dtype=np.int64)
    return DetectionReport(float(np.mean(counts == 1)), int(len(counts)), counts, float(yaw))


@dataclass(frozen=True)
class IdentityReport:
    """Result of :func:`identity_auc`.

    auc : ROC AUC of same-identity vs different-identity cosine similarities
    n_identities : number of faces
    same : (n,) similarities of each face's two views
    different : (n * (n - 1),) similarities between views of different faces
    detected : share of the 2n renders where the detector found the face (others used
        the landmark box)
    """

    auc: float
    n_identities: int
    same: np.ndarray
    different: np.ndarray
    detected: float


def identity_views(model, shape, color, rng: np.random.Generator, max_yaw: float = 20.0,
                   max_pitch: float = 10.0):
    """Two renders per face: frontal in the default light, and another pose and light.

    Returns lists (images, landmarks) of length 2n: the first n are the frontal
    views, the next n the other views (same order).
    """
    m = _model(model)
    first, second = [], []
    for s, c in zip(shape, color):
        mesh = m.instance(shape=s, color=c)
        first.append(render(mesh, Scene()))
        other = Scene(yaw=float(rng.uniform(-max_yaw, max_yaw)),
                      pitch=float(np.clip(rng.normal(0, max_pitch / 2), -max_pitch, max_pitch)),
                      sh=sample_builtin_sh(rng))
        second.append(render(mesh, other))
    views = first + second
    return [r.image for r in views], [r.landmarks for r in views]


def identity_auc(model=None, n_identities: int = 100, seed: int = 0, coefficients=None, max_yaw: float = 20.0,
                 n_jobs: int = 1) -> IdentityReport:
    """ROC AUC of dlib face-recognition similarity: same face vs different faces.

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout (coefficients drawn per part), or None (the embedded default, 50 + 50)
    n_identities : faces drawn from N(0, 1) (ignored when ``coefficients`` is given)
    seed : seeds the faces, poses and lights
    coefficients : optional (shape (n, ks), color (n, kc))
    max_yaw : degrees, the second view's yaw is U(-max_yaw, max_yaw)
    n_jobs : worker processes for the embeddings (:func:`thesislib.common.run_tasks`)
    """
    from sklearn.metrics import roc_auc_score

    m = _model(model)
    rng = np.random.default_rng(seed)
    if coefficients is None:
        coefficients = normal_coefficients(n_identities, rng, m)
    shape, color = coefficients
    n = len(shape)
    if n < 2:
        raise ValueError("need at least 2 identities")
    images, landmarks = identity_views(m, shape, color, rng, max_yaw)
    boxes, detected = [], 0
    for im, lm in zip(images, landmarks):
        box, how = faces.face_box(im, None, lm)
        boxes.append(box)
        detected += how == "detector"
    emb = faces.embed_many(images, boxes=boxes, n_jobs=n_jobs)
    sim = faces.similarity(emb[:n], emb[n:])
    same = np.diag(sim).copy()
    different = sim[~np.eye(n, dtype=bool)]
    y = np.r_[np.ones(n), np.zeros(different.size)]
    auc = float(roc_auc_score(y, np.r_[same, different]))
    return IdentityReport(auc, n, same, different, detected / (2 * n))
