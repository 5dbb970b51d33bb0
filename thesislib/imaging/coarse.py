"""A coarser mesh of a grid-built face model, for cheaper renders of the same faces.

The embedded model (:mod:`thesislib.facemodel.procedural`) is a relief on a regular grid of
0.95 mm: 26k vertices and 52k triangles, about 3.4 triangles per face pixel of a 227 px
render. The rasterizer's cost is per triangle and per vertex (most triangles cover no pixel
centre or one), so a render spends most of its time on detail below the pixel.

:func:`coarse_model` joins the grid's cells in blocks of 2 x 2 (one vertex in four) except
where a block holds detail: at the outline (blocks the face's edge cuts, so the outline stays
the full model's) and in the :data:`DETAIL` fraction of blocks whose inner vertices the corners
predict worst (mean relief and mean colour: eyes, brows, lips, nostrils, the hair line). A
coarse block next to a fine one takes the shared edge's middle vertex into a fan of triangles, so
no crack opens. The result is a :class:`thesislib.facemodel.MorphableModel` with the same
parameters whose instances are the full model's sampled at its vertices (a subset, plus the
landmark vertices, appended without triangles so that they project where the full model's do):
about 10k vertices and 20k triangles of 26k and 52k. Its 224 px landmark crops differ from the full
mesh's by 0.19 of 255 per pixel on average (0.1 % of pixels by more than 8; 100 renders at
|yaw| <= 30°, bank backgrounds), at about half the cost of an image.

Measured on chapter 05's setting (2,000 renders of N(0, 1) faces at |yaw| <= 30°, stem version 2,
ridge head, the 200 full-mesh real-like test faces; benchmarks/features.py --quality has the BPRN):
vertex error 4.3339 mm against 4.3355 with the full mesh; plain 2 x 2 blocks everywhere (13k
triangles) cost +0.040 mm, with the exact outline +0.030, with 5 % or 8 % detail +0.007 / +0.010.
Datasets use it when asked (``generate(..., mesh="coarse")``, recorded in the card).
"""
from __future__ import annotations

import weakref
from dataclasses import replace

import numpy as np

#: Fraction of the 2 x 2 blocks inside the face kept at full resolution for their detail.
DETAIL = 0.15
#: What counts as detail: how far a block's inner vertices lie from their corners' mean, in mm of
#: relief and in colour (0..1, largest channel), each divided by its scale here.
DETAIL_SCALES = (1.0, 0.05)

_MADE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # model -> {detail: coarse model}
# a block's 3 x 3 vertices: the ring counter-clockwise from the lower left (rows go up in y),
# the edge middles (with the neighbouring block across that edge), the inner vertices and the
# corners each is predicted from
_RING = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0))
_ACROSS = {(0, 1): (-1, 0), (1, 2): (0, 1), (2, 1): (1, 0), (1, 0): (0, -1)}
_INNER = (((0, 1), ((0, 0), (0, 2))), ((2, 1), ((2, 0), (2, 2))), ((1, 0), ((0, 0), (2, 0))),
          ((1, 2), ((0, 2), (2, 2))), ((1, 1), ((0, 0), (0, 2), (2, 0), (2, 2))))


def grid_indices(points: np.ndarray, tol: float = 1e-3):
    """Row and column (iy, ix) of each point (N, 2) on a regular square grid, or None when the
    points are not on one (spacing: the smallest gap between distinct x; tol in cells)."""
    p = np.asarray(points, np.float64)
    xs = np.unique(np.round(p[:, 0], 4))
    if len(xs) < 2:
        return None
    spacing = float(np.diff(xs).min())
    q = (p - p.min(0)) / spacing
    idx = np.rint(q)
    if spacing <= 0 or np.abs(q - idx).max() > tol:
        return None
    iy, ix = idx[:, 1].astype(np.int64), idx[:, 0].astype(np.int64)
    if len(np.unique(iy * (ix.max() + 1) + ix)) != len(p):
        return None
    return iy, ix


def coarse_model(model, detail: float = DETAIL):
    """``model`` in 2 x 2 blocks of its grid but at its outline and detail (see the module docstring).

    Parameters
    ----------
    model : :class:`thesislib.facemodel.MorphableModel` whose mean shape's (x, y) lie on a regular
        grid (the embedded model; not a BFM 2017 file)
    detail : fraction of the blocks kept fine for their detail (0: only the outline; 1: all: the
        full mesh's triangles, in another order)

    Returns
    -------
    MorphableModel with the same components, variances, landmark names and directions; its
    ``vertex_ids`` attribute gives the full model's vertex of each of its vertices. Made once per
    model object and ``detail`` in a process.

    Raises
    ------
    ValueError
        the model is not built on a regular grid.
    """
    detail = float(detail)
    if not 0.0 <= detail <= 1.0:
        raise ValueError(f"detail must be a fraction in 0..1, got {detail}")
    made = _MADE.setdefault(model, {})
    if detail not in made:
        made[detail] = _coarse(model, detail)
    return made[detail]


def _blocks(model):
    """The vertex grid, padded to whole blocks: (rows, cols) array of vertex ids, -1 where none."""
    mean = model.shape.mean.reshape(-1, 3)
    cells = grid_indices(mean[:, :2])
    if cells is None:
        raise ValueError("a coarse mesh needs a model built on a regular grid (the embedded model); "
                         f"{model.name!r} is not: use mesh='full'")
    iy, ix = cells
    h, w = iy.max() + 1, ix.max() + 1
    grid = -np.ones((h + 2 - h % 2, w + 2 - w % 2), np.int64)  # odd sides: blocks cover every cell
    grid[iy, ix] = np.arange(len(mean))
    return grid


def _fine_blocks(model, grid, detail: float) -> np.ndarray:
    """(rows, cols) bool: blocks kept at full resolution (cut by the outline, or among the
    ``detail`` fraction whose inner vertices their corners predict worst)."""
    nr, nc = (grid.shape[0] - 1) // 2, (grid.shape[1] - 1) // 2
    block = np.stack([grid[r:r + 2 * nr:2, c:c + 2 * nc:2] for r in range(3) for c in range(3)], -1)
    block = block.reshape(nr, nc, 3, 3)
    present = block >= 0
    whole = present.all((2, 3))
    fine = present.any((2, 3)) & ~whole
    if detail > 0 and whole.any():
        z = model.shape.mean.reshape(-1, 3)[:, 2].astype(np.float64)
        color = model.color.mean.reshape(-1, 3).astype(np.float64)
        err = np.zeros((nr, nc))
        b = np.where(present, block, 0)
        for (r, c), corners in _INNER:
            v = b[:, :, r, c]
            cz = np.mean([z[b[:, :, i, j]] for i, j in corners], axis=0)
            cc = np.mean([color[b[:, :, i, j]] for i, j in corners], axis=0)
            e = np.maximum(np.abs(z[v] - cz) / DETAIL_SCALES[0], np.abs(color[v] - cc).max(-1) / DETAIL_SCALES[1])
            err = np.maximum(err, e)
        err[~whole] = -1.0
        n_fine = int(round(detail * whole.sum()))
        if n_fine:
            order = np.argsort(-err, axis=None, kind="stable")[:n_fine]
            fine.flat[order] = True
    return fine, block


def _coarse(model, detail: float):
    grid = _blocks(model)
    fine, block = _fine_blocks(model, grid, detail)
    nr, nc = fine.shape
    tris = []
    for R in range(nr):
        for C in range(nc):
            b = block[R, C]
            if fine[R, C]:  # the full grid's two triangles per cell, where a cell has its corners
                for r in range(2):
                    for c in range(2):
                        p, q, s, t = b[r, c], b[r, c + 1], b[r + 1, c], b[r + 1, c + 1]
                        tris += [tri for tri in ((p, q, t), (p, t, s)) if min(tri) >= 0]
            elif b[0, 0] >= 0:  # a whole coarse block: a fan over its corners and the middles it shares
                ring = [b[v] for v in _RING if v not in _ACROSS or _fine_at(fine, R + _ACROSS[v][0], C + _ACROSS[v][1])]
                tris += [(ring[0], ring[k], ring[k + 1]) for k in range(1, len(ring) - 1)]
    tris = np.array(tris, np.int64).reshape(-1, 3)
    kept = np.unique(tris)
    names = list(model.landmarks)
    ids = np.concatenate([kept, np.array([model.landmarks[n] for n in names], np.int64)])
    local = np.full(grid.max() + 1, -1, np.int64)
    local[kept] = np.arange(len(kept))
    rows = (3 * ids[:, None] + np.arange(3)).ravel()
    parts = {p: replace(getattr(model, p), mean=np.ascontiguousarray(getattr(model, p).mean[rows]),
                        basis=np.asfortranarray(getattr(model, p).basis[rows]))
             for p in ("shape", "color", "expression")}
    out = replace(model, **parts, triangles=local[tris].astype(np.int32),
                  landmarks={n: len(kept) + k for k, n in enumerate(names)},
                  name=f"{model.name}, coarse (detail {detail:g})")
    object.__setattr__(out, "vertex_ids", ids)
    return out


def _fine_at(fine: np.ndarray, r: int, c: int) -> bool:
    return 0 <= r < fine.shape[0] and 0 <= c < fine.shape[1] and bool(fine[r, c])
