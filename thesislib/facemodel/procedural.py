"""The embedded default face model, built procedurally (no download).

The mean face is a relief mask on a regular grid (about 1 mm spacing): a
curved ellipsoidal base with Gaussian relief for forehead, brow ridge, eye
sockets and eyeballs, nose ridge, tip and wings, cheekbones, lips and chin,
painted with skin, sclera, iris, brows, lips, nostrils and a hair line.

The PCA parts are built from ordered families of deformation fields and made
orthonormal with a QR decomposition, so earlier fields keep their meaning:

* shape (199): a sex field and an age field (:mod:`thesislib.facemodel.semantics`: jaw,
  chin, brow ridge, nose, lips; jowls, sagging cheeks, folds, lowered brow, thinner lips)
  mixed into the first six components (so the semantic axes are spread over several
  components, as in the BFM) with little random filler, named identity proportions (face
  length, jaw width, nose size, eye spacing, ...), then smooth, mostly symmetric random
  fields of slowly rising spatial frequency. Named fields are given in mm at one standard
  deviation; each leading component adds a global smooth random field to reach its
  variance, so local proportions stay plausible (docs/realism.md has the dlib numbers).
  Components 9 and 14 also carry a smile / open-mouth deformation: the expression leak
  the thesis found in BFM shape parameters 10 and 15.
* color (199): the sex colouring (skin darker and redder, beard shadow, brows, lips) and
  the age colouring (grey hair and brows, paler, less saturated skin, wrinkle lines, age
  spots) as components 0 and 1 with the largest variances; diagonal shading gradients as
  components 2 and 3 (the illumination leak of BFM texture parameters 3 and 4); skin
  brightness, redness and tone, eye, hair and lip colour; then random smooth skin fields
  that share one skin tint and are kept only where they are independent of the ones before
  (orthonormalising near-repeats of each other turned their differences into green and pink
  components).
* expression (100): smile, mouth open, brow raise, frown, eye closing,
  pucker, then random fields local to the mouth and eyes.

Variances decay geometrically so that 95 % of the variance lies in the first
31 shape and 116 color components (the thesis, Fig 3.6).

Everything is deterministic (a fixed seed); the result is cached on disk
(:func:`cache_dir`: ``$THESISLIB_CACHE``, else the user cache folder of :mod:`platformdirs`,
e.g. ``~/.cache/thesislib`` on Linux) and in memory.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from . import fields as procedural_fields
from . import semantics
from thesislib.common import atomic_write
from .fields import (
    expression_fields, bump, geometric_variances, face_grid, bump_pair, independent_fields,
    half_width, unit_norm, orthonormal, mean_paint, mean_relief, smooth_fields, stack_xyz,
    with_filler)

NAME = "thesislib procedural face"
PARTS = ("shape", "color", "expression")
VERSION = "4"          # bump when the construction changes: invalidates caches
SEED = 20171122
N_SHAPE, N_COLOR, N_EXPRESSION = 199, 199, 100
SHAPE_95, COLOR_95, EXPRESSION_95 = 31, 116, 40
SHAPE_RMS = 3.5        # mm, root of the mean shape variance per coordinate
SHAPE_LEVEL = 0.6      # spatial frequency of the first random shape fields
SHAPE_SYMMETRY = 0.97  # share of mirror-symmetric terms in random shape fields
SHAPE_INPLANE = 0.5    # in-plane (x, y) vs depth (z) share of random shape fields
SHAPE_GROWTH = 0.4     # how fast the random shape fields' frequency rises with the index
COLOR_GROWTH = 0.35    # the same for the random colour fields
COLOR_RMS = 0.045      # root of the mean colour variance per channel (0..1 units)
COLOR_HEAD = (10.0, 10.0)  # extra variance of colour components 0 (sex) and 1 (age), x geometric
SHAPE_HEAD = ()         # extra variance of leading shape components (none: N(0, 1) faces stay plausible)
SEMANTIC_SHARE = 0.9   # norm of the sex / age shape field as a share of its component's sd

# iBUG 68 landmark positions (x, y) on the mean face, mm; x is the viewer's right.
IBUG68_XY = np.array(
    [(-68 + 8.5 * i, 0.0) for i in range(17)]  # jaw, replaced below by the contour
    + [(-52, 34), (-44, 38), (-35, 40), (-26, 39), (-16, 36),
       (16, 36), (26, 39), (35, 40), (44, 38), (52, 34)]
    + [(0, 25), (0, 12), (0, 0), (0, -14)]
    + [(-12, -25), (-6, -27), (0, -28), (6, -27), (12, -25)]
    + [(-45, 22), (-38, 26), (-28, 26), (-21, 22), (-28, 18.5), (-38, 18.5)]
    + [(21, 22), (28, 26), (38, 26), (45, 22), (38, 18.5), (28, 18.5)]
    + [(-24, -49), (-14, -44.5), (-5, -42), (0, -42.5), (5, -42), (14, -44.5),
       (24, -49), (14, -55.5), (5, -58.5), (0, -59), (-5, -58.5), (-14, -55.5)]
    + [(-20, -49), (-7, -47.5), (0, -47.5), (7, -47.5), (20, -49), (7, -50.5),
       (0, -50.5), (-7, -50.5)], dtype=np.float64)


def _scaled(field, norm):
    return np.asarray(field, np.float64) * (norm / np.linalg.norm(field))


def build() -> dict:
    """Build the default model's arrays from scratch (deterministic, a few seconds).

    Returns the keyword arguments of :class:`thesislib.facemodel.model.MorphableModel` with each PCA
    part as a ``(mean, basis, variance)`` tuple; :func:`thesislib.facemodel.model.default_model` wraps
    them (this module does not import :mod:`thesislib.facemodel.model`: the dependency points one way).

    BLAS runs on one thread here: multi-threaded matrix products sum in an order that
    depends on the thread count, and the last bits (so the fingerprint) would too.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _build()


def _build() -> dict:
    """The model's arrays (see :func:`build_cached`). One generator draws, in this order, the
    shape fillers and mixing, the colour spots, the expression fields."""
    rng = np.random.default_rng(SEED)
    x, y, tris = face_grid()
    z = mean_relief(x, y)
    verts = np.stack([x, y, z], 1)
    mean_color = mean_paint(x, y)
    expr = expression_fields(x, y, z)
    shape_basis, shape_var, sex, age = _shape_part(x, y, expr, rng)
    color_basis, color_var, sex_color, age_color = _color_part(x, y, mean_color, rng)
    expr_basis, expr_var = _expression_part(x, y, expr, rng)

    def coeff_dir(field, basis, var):
        # the unit step in coefficient space that moves the face furthest along ``field``:
        # d<instance, field>/dc = sqrt(var) * (basis^T field). (Dividing by sqrt(var) instead
        # would amplify tiny residues in low-variance components.)
        w = np.sqrt(var) * (basis.T.astype(np.float64) @ unit_norm(field))
        return (w / np.linalg.norm(w)).astype(np.float32)

    directions = {
        "sex": {"shape": coeff_dir(sex, shape_basis, shape_var), "color": coeff_dir(sex_color, color_basis, color_var)},
        "age": {"shape": coeff_dir(age, shape_basis, shape_var), "color": coeff_dir(age_color, color_basis, color_var)},
    }
    f32, n = np.float32, x.size
    return {
        "shape": (verts.reshape(-1).astype(f32), shape_basis, shape_var.astype(f32)),
        "color": (mean_color.reshape(-1).astype(f32), color_basis, color_var.astype(f32)),
        "expression": (np.zeros(3 * n, f32), expr_basis, expr_var.astype(f32)),
        "triangles": tris, "landmarks": _landmarks(verts), "name": NAME, "directions": directions}


def _shape_part(x, y, expr, rng):
    """(basis (3N, K), variances (K,), sex field, age field) of the shape model.

    Named deformations are written in millimetres at one standard deviation; each leading
    component is such a field plus a global smooth random "filler" that brings its norm to the
    component's standard deviation. So a local proportion (nose width, eye spacing) never gets
    the whole component's variance: a localised field of unit norm scaled to sqrt(variance)
    would move a few hundred vertices by 10-15 mm and the face would stop looking like one.
    """
    shape_var = geometric_variances(N_SHAPE, SHAPE_95, total=3 * x.size * SHAPE_RMS ** 2, head=SHAPE_HEAD)
    zero = 0 * x
    eyes = bump_pair(x, y, 33, 22, 14, 10)
    # the semantic fields carry most of their components' variance (little filler), so a
    # step along the sex or age direction moves the face by these cues, not by noise
    sex = _scaled(semantics.sex_shape(x, y), SEMANTIC_SHARE * np.sqrt(shape_var[0]))
    age = _scaled(semantics.age_shape(x, y), SEMANTIC_SHARE * np.sqrt(shape_var[1]))
    named = [  # (field in mm at 1 sd)
        stack_xyz(zero, 0.035 * (y + 5), zero),                                   # face length
        stack_xyz(0.045 * x * np.clip(-y / 60, 0, 1), zero, zero),                # jaw width
        stack_xyz(zero, zero, 2.5 * bump(x, y, 0, -10, 9, 20)),                   # nose height
        stack_xyz(1.6 * np.tanh(x / 6) * eyes, zero, zero),                       # eye spacing
        stack_xyz(zero, zero, 2.0 * bump_pair(x, y, 46, 0, 16, 14)),              # cheekbones
        stack_xyz(0.12 * x * bump(x, y, 0, -22, 14, 6), zero, zero),              # nose width
        stack_xyz(zero, zero, 1.5 * (bump(x, y, 0, -44, 17, 4) + bump(x, y, 0, -56, 15, 5))),  # lip fullness
        stack_xyz(zero, -1.5 * bump(x, y, 0, -84, 20, 12), 2.0 * bump(x, y, 0, -84, 18, 10)),  # chin
        stack_xyz(zero, zero, 2.5 * bump(x, y, 0, 60, 60, 25)),                   # forehead slope
        stack_xyz(0.035 * x, zero, zero),                                         # face width
        stack_xyz(0.08 * x * bump(x, y, 0, -50, 28, 9), zero, zero),              # mouth width
        stack_xyz(zero, 1.5 * bump_pair(x, y, 33, 38, 18, 8), zero),              # brow height
    ]
    fillers = smooth_fields(x, y, rng, N_SHAPE, start_level=SHAPE_LEVEL, symmetric=SHAPE_SYMMETRY,
                            inplane=SHAPE_INPLANE, growth=SHAPE_GROWTH)
    lead = np.array([sex, age] + named[:4])
    mix = np.linalg.qr(rng.normal(size=(6, 6)) + 2.0 * np.eye(6))[0]  # spread sex/age over 6 comps
    meaning = list(mix @ lead) + named[4:]
    meaning.insert(9, 2.0 * unit_norm(expr[0]) / np.abs(unit_norm(expr[0])).max())   # smile leak
    meaning.insert(14, 2.0 * unit_norm(expr[1]) / np.abs(unit_norm(expr[1])).max())  # mouth leak
    shape_fields = [with_filler(f, fillers[j], np.sqrt(shape_var[j])) for j, f in enumerate(meaning)]
    shape_fields += list(fillers[len(meaning):])
    return orthonormal(shape_fields, N_SHAPE), shape_var, sex, age


def _rgb(f, c):
    """A per-vertex scalar field times a colour, as a (3N,) RGB field."""
    return (f[:, None] * np.asarray(c)[None, :]).reshape(-1)


def _color_part(x, y, mean_color, rng):
    """(basis (3N, K), variances (K,), sex colouring, age colouring) of the colour model.

    Random skin fields leave brows, eyes, lips and hair alone (their colour has named fields):
    blotches over the features washed them out and cost detections, and skin tints on dark hair
    turned it green or pink. They share one skin tint: with a random tint per field,
    orthonormalising two nearly flat fields left the difference of their tints, a pure chroma
    component with a full component's variance (green and pink faces).
    """
    masks = semantics.feature_masks(x, y)
    lipmask, browm, hair, skin = masks["lips"], masks["brows"], masks["hair"], masks["skin"]
    eye = bump_pair(x, y, 33, 22, 4.5, 4.5)
    shading = np.clip(1.0 - np.sqrt(x ** 2 + y ** 2) / 140, 0, 1)
    sex_color = semantics.sex_color(x, y, mean_color)
    age_color = semantics.age_color(x, y, mean_color)
    color_fields = [
        sex_color,                                                                   # sex
        age_color,                                                                   # age
        _rgb((x + y) / 120 * shading, [1, 1, 1]),                                   # light from top left
        _rgb((y - x) / 120 * shading, [1, 1, 1]),                                   # light from top right
        _rgb(np.ones(x.size), [1.0, 0.85, 0.75]),                                   # skin brightness
        _rgb(skin, [0.25, -0.05, -0.1]),                                            # skin redness
        (skin[:, None] * (mean_color - [0.25, 0.12, 0.0])).reshape(-1),              # skin tone (melanin)
        _rgb(eye, [0.2, 0.6, 1.0]),                                                  # eye colour
        _rgb(browm + hair, [1.0, 0.7, 0.4]),                                         # hair colour
        _rgb(lipmask, [1.0, 0.2, 0.3]),                                              # lip colour
    ]
    tint = np.array([1.0, 0.8, 0.7])
    spots = smooth_fields(x, y, rng, 4 * N_COLOR, start_level=1.0, symmetric=0.8, channels=1,
                          growth=COLOR_GROWTH) * skin
    for f in independent_fields(spots, N_COLOR - len(color_fields)):
        color_fields.append(_rgb(f, tint))
    color_var = geometric_variances(N_COLOR, COLOR_95, total=3 * x.size * COLOR_RMS ** 2, head=COLOR_HEAD)
    return orthonormal(color_fields, N_COLOR), color_var, sex_color, age_color


def _expression_part(x, y, expr, rng):
    """(basis, variances) of the expression model: the named expressions, then random fields
    local to the mouth and the eyes."""
    local = np.repeat(np.maximum(bump(x, y, 0, -50, 30, 20), bump_pair(x, y, 33, 30, 18, 14)), 3)
    expr_fields = expr + [f * local for f in smooth_fields(x, y, rng, N_EXPRESSION, start_level=2.0)]
    expr_var = geometric_variances(N_EXPRESSION, EXPRESSION_95, total=3 * x.size * 2.0 ** 2)
    return orthonormal(expr_fields, N_EXPRESSION), expr_var


def _landmarks(verts) -> dict:
    """iBUG-68 landmark vertices: the jaw contour on the outline, the rest nearest in (x, y)."""
    xy = IBUG68_XY.copy()
    for i in range(17):
        yy = 22 - 123 * np.sin(np.pi * i / 16)  # from the viewer's left around the chin
        xx = np.cos(np.pi * (1 - i / 16)) * half_width(max(yy, -40)) * 0.94
        xy[i] = (xx, max(yy, -101.0))
    d = ((verts[None, :, :2] - xy[:, None, :]) ** 2).sum(-1)
    return {f"ibug{i:02d}": int(v) for i, v in enumerate(d.argmin(1))}


# ---------------------------------------------------------------- caching
def cache_dir() -> Path:
    """Where the built model is cached: ``$THESISLIB_CACHE`` when set, else the platform's user
    cache folder (``platformdirs.user_cache_dir("thesislib")``: ``~/.cache/thesislib`` or
    ``$XDG_CACHE_HOME/thesislib`` on Linux, ``~/Library/Caches/thesislib`` on macOS,
    ``%LOCALAPPDATA%\\thesislib\\Cache`` on Windows)."""
    if os.environ.get("THESISLIB_CACHE"):
        return Path(os.environ["THESISLIB_CACHE"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("thesislib", appauthor=False))


def _save(arrays: dict, path: Path) -> None:
    flat = {"triangles": arrays["triangles"],
            "landmark_names": np.array(list(arrays["landmarks"])),
            "landmark_ids": np.array(list(arrays["landmarks"].values()))}
    for p in PARTS:
        mean, basis, variance = arrays[p]
        flat.update({f"{p}_mean": mean, f"{p}_basis": basis, f"{p}_variance": variance})
    for name, d in arrays["directions"].items():
        for p, v in d.items():
            flat[f"dir_{name}_{p}"] = v
    atomic_write(path, lambda fh: np.savez(fh, **flat), fsync=False)


def _load(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as f:
        arrays = {p: (f[f"{p}_mean"], f[f"{p}_basis"], f[f"{p}_variance"]) for p in PARTS}
        directions = {}
        for key in f.files:
            if key.startswith("dir_"):
                _, name, p = key.split("_", 2)
                directions.setdefault(name, {})[p] = f[key]
        landmarks = {str(k): int(v) for k, v in zip(f["landmark_names"], f["landmark_ids"])}
        return {**arrays, "triangles": f["triangles"], "landmarks": landmarks, "name": NAME,
                "directions": directions}


def _source_digest() -> str:
    """Short hash of the construction's source (this module and its fields): any edit of it
    invalidates the cache."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(procedural_fields.__file__).read_bytes())
    h.update(Path(semantics.__file__).read_bytes())
    return h.hexdigest()[:10]


@functools.lru_cache(maxsize=1)
def build_cached() -> dict:
    """The default model's arrays (see :func:`build`), from the disk cache when present
    (rebuilt if unreadable)."""
    path = cache_dir() / f"default_model_v{VERSION}_{_source_digest()}.npz"
    if path.exists():
        try:
            return _load(path)
        except Exception:  # a damaged cache is rebuilt, never trusted
            pass
    arrays = build()
    try:
        _save(arrays, path)
        for old in path.parent.glob("default_model_v*.npz"):  # superseded constructions
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # read-only home: keep the in-memory copy
    return arrays
