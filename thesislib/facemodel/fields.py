"""The pieces the embedded face model is built from (see :mod:`thesislib.facemodel.procedural`).

The mean face template on a regular grid (relief and paint), smooth random deformation
fields, the named expression fields, and the linear algebra that turns ordered fields
into an orthonormal basis with geometrically decaying variances. Pure numpy on arrays;
every function is deterministic given its inputs (randomness only through a passed
``numpy.random.Generator``).
"""
from __future__ import annotations

import numpy as np

SPACING = 0.95         # grid spacing, mm
BROW_HEIGHT = 4.3      # mm, half-height of the painted brows


def bump(x, y, cx, cy, sx, sy):
    """Gaussian bump of unit height."""
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def bump_pair(x, y, cx, cy, sx, sy):
    """A pair of bumps mirrored in x."""
    return bump(x, y, cx, cy, sx, sy) + bump(x, y, -cx, cy, sx, sy)


def soft_step(d, width=0.8):
    """Soft step: 1 inside (d < 0), 0 outside, over ``width`` mm."""
    return 1.0 / (1.0 + np.exp(np.clip(d / width, -40, 40)))


def _ellipse(x, y, cx, cy, rx, ry):
    """Signed-ish distance (mm) to an axis-aligned ellipse, negative inside."""
    r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    return (r - 1.0) * min(rx, ry)


def half_width(y):
    """Face half-width (mm) at height y: narrower towards the chin."""
    w = 74.0 - 30.0 * np.clip((-y - 20.0) / 85.0, 0, 1) ** 1.6
    return w - 6.0 * np.clip((y - 55.0) / 45.0, 0, 1) ** 2


def face_grid():
    """Vertices (x, y) inside the face outline and the triangles between them."""
    xs = np.arange(-76.0, 76.0 + 1e-9, SPACING)
    ys = np.arange(-106.0, 100.0 + 1e-9, SPACING)
    gx, gy = np.meshgrid(xs, ys)
    hw = half_width(gy)
    inside = (np.abs(gx) <= hw) & (gy <= 96)
    inside &= (gy > -15) | ((gx / hw) ** 2 + ((gy + 15) / 91) ** 2 <= 1.0)  # round chin
    inside &= (gy < 30) | ((gx / hw) ** 2 + ((gy - 30) / 68) ** 2 <= 1.0)   # round top
    idx = -np.ones(gx.shape, dtype=np.int64)
    idx[inside] = np.arange(inside.sum())
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    # two CCW triangles per grid cell (rows go up in y, columns right in x)
    t1 = np.stack([a, b, d], -1).reshape(-1, 3)
    t2 = np.stack([a, d, c], -1).reshape(-1, 3)
    tris = np.concatenate([t1, t2])
    tris = tris[(tris >= 0).all(1)]
    used = np.zeros(inside.sum(), bool)
    used[tris.ravel()] = True
    remap = -np.ones(inside.sum(), np.int64)
    remap[used] = np.arange(used.sum())
    return gx[inside][used], gy[inside][used], remap[tris].astype(np.int32)


def mean_relief(x, y):
    """Mean depth z (mm) of the face surface at (x, y)."""
    base = 95.0 * np.sqrt(np.clip(1 - (x / 84.0) ** 2 - (y / 150.0) ** 2, 0.02, None))
    t = np.clip((28.0 - y) / 46.0, 0, 1)  # 0 at the nose root, 1 at the tip
    nose_w = 5.0 + 6.0 * t
    nose = 21.0 * t ** 1.3 * np.exp(-0.5 * (x / nose_w) ** 2) * soft_step(-(y + 20.0), 3.0) * (y < 30)
    nose = nose + 22.0 * bump(x, y, 0, -19, 8, 7) * 0.35 + 7.0 * bump_pair(x, y, 12, -22, 6, 5)
    z = (base + nose
         - 11.0 * bump_pair(x, y, 33, 23, 15, 10) + 5.5 * bump_pair(x, y, 33, 22, 9, 5.5)  # sockets, eyeballs
         + 5.0 * bump_pair(x, y, 33, 38, 19, 5.5) + 3.0 * bump(x, y, 0, 34, 10, 6)     # brow ridge
         + 6.0 * bump_pair(x, y, 46, 0, 15, 13)                                     # cheekbones
         + 5.5 * bump(x, y, 0, -44, 17, 4) + 5.0 * bump(x, y, 0, -56, 15, 5)        # lips
         - 3.0 * bump(x, y, 0, -49.5, 23, 1.4) * soft_step(np.abs(x) - 24, 2.0)      # mouth line
         - 2.0 * bump(x, y, 0, -34, 5, 4)                                         # philtrum
         - 3.5 * bump(x, y, 0, -66, 16, 4)                                        # below the lip
         + 8.0 * bump(x, y, 0, -84, 17, 10)                                       # chin
         - 4.0 * bump_pair(x, y, 30, -30, 7, 18))                                   # nasolabial area
    return z


def mean_paint(x, y):
    """Mean colour (N, 3) in 0..1."""
    skin = np.array([0.78, 0.60, 0.50])
    col = np.tile(skin, (x.size, 1))
    col *= (1.0 + 0.06 * bump_pair(x, y, 45, -5, 14, 12)[:, None] * np.array([0.6, -0.3, -0.3]))

    def put(mask, rgb):
        col[:] = col * (1 - mask[:, None]) + np.asarray(rgb) * mask[:, None]

    hair_line = 76.0 - 10.0 * (x / 70.0) ** 2
    put(soft_step(hair_line - y, 2.0), [0.22, 0.16, 0.11])
    for s in (-1, 1):
        put(0.95 * soft_step(_ellipse(x, y, 33 * s, 38.5 - 0.004 * (x - 33 * s) ** 2, 17, BROW_HEIGHT), 0.9),
            [0.18, 0.13, 0.09])                                                      # brow
        put(soft_step(_ellipse(x, y, 33 * s, 22, 12, 4.6), 0.5), [0.93, 0.90, 0.87])   # sclera
        put(soft_step(_ellipse(x, y, 33 * s, 22, 4.6, 4.6), 0.4), [0.30, 0.20, 0.13])  # iris
        put(soft_step(_ellipse(x, y, 33 * s, 22, 1.9, 1.9), 0.3), [0.04, 0.03, 0.03])  # pupil
        put(0.8 * soft_step(np.abs(y - 22 - 4.8 * np.sqrt(np.clip(1 - ((x - 33 * s) / 12.5) ** 2, 0, 1))) - 0.9, 0.4)
            * (np.abs(x - 33 * s) < 13), [0.10, 0.07, 0.06])                        # upper lash line
        put(0.85 * soft_step(_ellipse(x, y, 7 * s, -26, 3.6, 2.0), 0.6), [0.25, 0.14, 0.12])  # nostril
    lips = np.maximum(soft_step(_ellipse(x, y, 0, -44.5, 22, 3.6), 0.8),
                      soft_step(_ellipse(x, y, 0, -54, 19, 5.2), 0.8))
    put(0.85 * lips, [0.66, 0.32, 0.32])
    put(0.9 * soft_step(np.abs(y + 49.5 + 0.012 * x ** 2) - 0.7, 0.35) * (np.abs(x) < 23), [0.30, 0.12, 0.12])
    return np.clip(col, 0, 1)


def unit_norm(F):
    F = np.asarray(F, dtype=np.float64)
    return F / np.linalg.norm(F)


def stack_xyz(dx, dy, dz):
    return np.stack([dx, dy, dz], axis=1).reshape(-1)


def smooth_fields(x, y, rng, count, start_level, symmetric=0.9, inplane=0.25, channels=3, growth=1.2):
    """``count`` random smooth fields of rising frequency, (count, channels * N).

    Each channel is a sum of six separable cosine products whose frequencies
    grow with the field index; most are mirror symmetric (x displacement odd
    in x, y/z displacement and colour even). The trigonometry is evaluated on
    the grid's unique x and y values only.
    """
    ux, ix = np.unique(x / 76.0, return_inverse=True)
    vy, iy = np.unique((y + 5.0) / 101.0, return_inverse=True)
    out = []
    for j in range(count):
        level = start_level + growth * np.sqrt(j)
        comps = []
        for ch in range(channels):
            f = np.zeros_like(x)
            for _ in range(6):
                a, b = np.abs(rng.normal(0, level / 1.7, size=2))
                phase = rng.uniform(0, 2 * np.pi)
                if rng.random() < symmetric:
                    fu = np.sin((a + 0.5) * np.pi * ux / 2) if (ch == 0 and channels == 3) else np.cos(a * np.pi * ux / 2)
                else:
                    fu = np.sin(a * np.pi * ux / 2 + phase)
                fv = np.cos(b * np.pi * (vy + 1) / 2 + phase)
                f += rng.normal() * fu[ix] * fv[iy]
            comps.append(f)
        if channels == 3:
            dx, dy, dz = comps
            out.append(stack_xyz(inplane * dx, inplane * dy, dz))
        else:
            out.append(comps[0])
    return np.array(out)


def with_filler(field, filler, norm):
    """``field`` (mm) plus ``filler`` made orthogonal to it, scaled so the sum has ``norm``."""
    field = np.asarray(field, np.float64)
    nf = np.linalg.norm(field)
    if nf >= norm:
        return field
    u = field / nf
    f = filler - (filler @ u) * u
    return field + np.sqrt(norm ** 2 - nf ** 2) * f / np.linalg.norm(f)


def independent_fields(fields, k, min_residual=0.12):
    """The first ``k`` of ``fields`` (in order) that are not nearly spanned by the ones kept.

    A field is kept when the part of it orthogonal to the kept ones has at least
    ``min_residual`` of its norm. Random smooth fields of low frequency repeat each other:
    199 of them span fewer than 100 independent directions, and orthonormalising them
    anyway turns their tiny differences into full components of noise.
    """
    kept, basis = [], np.empty((k, fields.shape[1]))
    for f in fields:
        q = basis[:len(kept)]
        u = f / np.linalg.norm(f)
        r = u - q.T @ (q @ u)
        r -= q.T @ (q @ r)                  # twice is enough (Kahan-Parlett)
        nr = np.linalg.norm(r)
        if nr >= min_residual:
            basis[len(kept)] = r / nr
            kept.append(f)
            if len(kept) == k:
                return np.array(kept)
    raise ValueError(f"only {len(kept)} of {len(fields)} fields are independent, need {k}")


def geometric_variances(k, k95, total, head=()):
    """Variances decaying as r**i with 95 % of the sum reached at ``k95``.

    ``head`` gives extra variance to the leading components: component i gets
    ``(1 + head[i]) * r**i`` (non-increasing ``head`` keeps the decay monotone).
    """
    boost = np.ones(k)
    boost[:len(head)] += np.asarray(head, float)

    def weights(r):
        return boost * r ** np.arange(k)

    lo, hi = 0.5, 0.99999
    for _ in range(100):
        r = 0.5 * (lo + hi)
        w = weights(r)
        frac = np.cumsum(w)[k95 - 1] / w.sum()
        lo, hi = (lo, r) if frac < 0.95 + 1e-6 else (r, hi)  # margin: still >= 0.95 in float32
    w = weights(lo)  # lo always reaches 95 % by k95
    return total * w / w.sum()


def orthonormal(fields, k):
    """Orthonormalise the first ``k`` ordered fields (Gram-Schmidt order), (3N, k).

    CholeskyQR2: two passes of Q = F R^-1 with R from the Cholesky factor of
    F^T F; the same Q as a QR decomposition, an order of magnitude faster here.
    """
    if len(fields) < k:
        raise ValueError(f"need {k} fields, got {len(fields)}")
    F = np.empty((len(fields[0]), k))
    for j, f in enumerate(fields[:k]):
        F[:, j] = unit_norm(f)
    for _ in range(2):
        R = np.linalg.cholesky(F.T @ F).T
        F = F @ np.linalg.inv(R)
    return F.astype(np.float32)


def expression_fields(x, y, z):
    mouth = bump(x, y, 0, -50, 26, 12)
    smile = stack_xyz(0.35 * np.tanh(x / 6) * bump_pair(x, y, 24, -49, 8, 7), 1.0 * bump_pair(x, y, 24, -49, 9, 8),
                       0.3 * bump_pair(x, y, 30, -40, 12, 10))
    # the jaw drops below the lips' line; beside the mouth the cheek stretches over a wide
    # band instead of tearing along it (a sharp step there drew a groove across the face)
    band = 1.5 + 14.0 * np.clip((np.abs(x) - 18.0) / 16.0, 0, 1)
    jaw = bump(x, y, 0, -70, 30, 22)
    open_ = stack_xyz(0 * x, -1.0 * jaw * soft_step(y + 49.5, band), -0.3 * jaw)
    brow = stack_xyz(0 * x, 1.0 * bump_pair(x, y, 33, 40, 20, 10), 0.2 * bump_pair(x, y, 33, 40, 20, 10))
    frown = stack_xyz(-0.5 * np.tanh(x / 6) * bump_pair(x, y, 18, 36, 10, 8), -0.6 * bump_pair(x, y, 18, 36, 10, 8),
                       -0.3 * bump(x, y, 0, 34, 8, 6))
    blink = stack_xyz(0 * x, -0.8 * bump_pair(x, y, 33, 25, 12, 4), 0.4 * bump_pair(x, y, 33, 25, 12, 4))
    pucker = stack_xyz(-0.6 * np.tanh(x / 6) * mouth, 0 * x, 1.2 * mouth)
    return [smile, open_, brow, frown, blink, pucker]
