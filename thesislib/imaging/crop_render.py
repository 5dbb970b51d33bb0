"""Render straight to the landmark crop: the 224 px face crop of a render, without the rest.

A dataset image is ``landmark_crop(render(mesh, scene))``: a 227 px render, then the square box
framed by the visible projected landmarks resized to 224 px. :func:`render_crop` gives the same
bytes with less work:

* colours and background are composited only in the pixels the crop's resampling reads (the box
  and its filter's reach, clamped to the image; about half of the frame), and the z-buffer is never
  turned into a depth image (the landmarks' visibility reads 1/depth where it needs it);
* the vertex normals, which depend on the unposed face only, may be passed in (:func:`mesh_normals`),
  so that several renders of one face compute them once.

The coverage pass (projection, shading, rasterization) is the one of
:func:`thesislib.imaging.mesh_render.render` (the landmarks' visibility needs the whole z-buffer,
and the box needs the landmarks). tests/imaging/test_crop_render.py checks the bytes against
``landmark_crop(render(...))``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .crops import CROP_SIZE, SimpleCrop, _coefficients, landmark_crop, landmark_crop_box, resample
from .mesh_render import Workspace, _landmarks, mesh_arrays, render
from .rasterizer import draw, resolve_window, vertex_normals
from .scene import IMAGE_SIZE, Scene, default_scene


def mesh_normals(mesh, out: np.ndarray | None = None) -> np.ndarray:
    """Unit area-weighted vertex normals of the unposed mesh, (N, 3) float32 (into ``out`` when
    given), as every render computes them; pass them to :func:`render_crop` for more renders of
    the same vertices."""
    vertices, _, triangles = mesh_arrays(mesh)
    out = np.empty(vertices.shape, np.float32) if out is None else out
    if out.shape != vertices.shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {vertices.shape}")
    vertex_normals(vertices, triangles, out)
    return out


@njit(cache=True)
def _reach(lo: int, side: int, size: int, n: int):
    """First and last source index (clamped to 0..n-1) that resampling ``side`` px from ``lo`` to
    ``size`` px reads (:func:`thesislib.imaging.crops.resample`, edges replicated)."""
    if side == size:
        a, b = lo, lo + size - 1
    else:
        first, count, _ = _coefficients(side, size)
        a, b = lo + first[0], lo + first[size - 1] + count[size - 1] - 1
    return min(max(a, 0), n - 1), min(max(b, 0), n - 1)


def render_crop(mesh, scene: Scene | None = None, *, size: int = CROP_SIZE, normals: np.ndarray | None = None,
                landmark_tolerance: float = 5.0, workspace: Workspace | None = None) -> SimpleCrop:
    """The landmark crop of a render, ``landmark_crop(render(mesh, scene).image, ...)``, bit for bit.

    Parameters
    ----------
    mesh, scene, landmark_tolerance, workspace : as :func:`thesislib.imaging.mesh_render.render`
    size : int, side of the crop, px
    normals : (N, 3) float32 unit normals of ``mesh``'s vertices (:func:`mesh_normals`), or None
        to compute them

    Returns
    -------
    :class:`thesislib.imaging.crops.SimpleCrop`: image (size, size, 3) uint8, box (x0, y0, x1, y1),
    method "landmarks" (a mesh without landmarks: :func:`thesislib.imaging.crops.center_crop`'s)
    """
    if mesh.landmarks is None or len(mesh.landmarks) == 0:  # landmark_crop falls back to the centre
        r = render(mesh, scene, landmark_tolerance=landmark_tolerance, workspace=workspace)
        return landmark_crop(r.image, r.landmarks, r.landmark_visible, size)
    scene = default_scene() if scene is None else scene
    ws = Workspace() if workspace is None else workspace
    vertices, colors, triangles = mesh_arrays(mesh)
    screen, inv_depth, own_normals, shaded = ws.vertex_buffers(len(vertices))
    if normals is not None:
        normals = np.ascontiguousarray(normals, np.float32)
        if normals.shape != vertices.shape:
            raise ValueError(f"normals must have shape {vertices.shape}, got {normals.shape}")
    tri_id = ws.pixel_buffer(IMAGE_SIZE)
    zbuf, image = ws.frame_buffers(IMAGE_SIZE)
    draw(vertices, colors, triangles, scene.rotation, scene.translation.astype(np.float64),
         float(scene.distance), float(scene.focal), scene.sh, IMAGE_SIZE, screen, inv_depth,
         own_normals if normals is None else normals, shaded, tri_id, zbuf, normals is not None)
    xy, visible = _landmarks(mesh.landmarks, screen, inv_depth, zbuf, landmark_tolerance, tri_id)
    box = landmark_crop_box(xy, visible)
    x0, y0, x1, _ = box
    c0, c1 = _reach(x0, x1 - x0, int(size), IMAGE_SIZE)
    r0, r1 = _reach(y0, x1 - x0, int(size), IMAGE_SIZE)
    background = ws.grey if scene.background is None else scene.background
    resolve_window(zbuf, tri_id, screen, triangles, inv_depth, shaded, background, image,
                   r0, r1 + 1, c0, c1 + 1, False)
    return SimpleCrop(resample(image, box, size), box, "landmarks")
