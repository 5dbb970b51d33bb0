"""Rendering a mesh in a scene: image, depth, mask and the 2D landmarks with their visibility.

:func:`render` takes a :class:`thesislib.facemodel.Mesh` and a :class:`~thesislib.imaging.scene.Scene`,
runs the compiled pipeline of :mod:`thesislib.imaging.rasterizer` on the mesh's arrays in reusable
scratch buffers (:class:`Workspace`), and returns a :class:`RenderResult`: the image, the depth
and coverage, and where each landmark vertex lands and whether the z-buffer shows it.
:func:`render_batch` renders many meshes (or vertex arrays of one template) in one workspace.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .rasterizer import render_arrays
from .scene import IMAGE_SIZE, Scene, default_scene

GREY = 128  # the background where a scene has none


@dataclass(frozen=True, eq=False)
class RenderResult:
    """One render.

    Attributes
    ----------
    image : (S, S, 3) uint8 RGB, S = 227
    depth : (S, S) float32, distance from the camera plane along the view axis, mm;
        inf where no surface is seen
    mask : (S, S) bool, pixels covered by the face
    landmarks : (L, 2) float32 pixel (x, y) positions of ``mesh.landmarks`` ((0, 2) if None)
    landmark_visible : (L,) bool, inside the image and not hidden by nearer surface
    """

    image: np.ndarray
    depth: np.ndarray
    mask: np.ndarray
    landmarks: np.ndarray
    landmark_visible: np.ndarray


class Workspace:
    """Scratch buffers reused across :func:`render` calls (explicit, never global).

    Reusing them avoids allocating ~1.5 MB per image, whose page faults cost about a
    fifth of the render time. Not thread-safe: one workspace per thread or process.
    """

    def __init__(self):
        self._vertex = None
        self._pixel = None
        self._frame = None
        self.grey = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), GREY, np.uint8)

    def vertex_buffers(self, n: int):
        """(screen (n, 2) float64, inv_depth (n,) float64, normals, shaded (n, 3) float32)."""
        if self._vertex is None or self._vertex[1].shape[0] != n:
            self._vertex = (np.empty((n, 2)), np.empty(n), np.empty((n, 3), np.float32),
                            np.empty((n, 3), np.float32))
        return self._vertex

    def pixel_buffer(self, size: int):
        """tri_id (size, size) int32."""
        if self._pixel is None or self._pixel.shape[0] != size:
            self._pixel = np.empty((size, size), np.int32)
        return self._pixel

    def frame_buffers(self, size: int):
        """(zbuf (size, size) float32, image (size, size, 3) uint8): scratch for renders whose
        full image and depth are not returned (:func:`thesislib.imaging.crop_render.render_crop`)."""
        if self._frame is None or self._frame[0].shape[0] != size:
            self._frame = (np.empty((size, size), np.float32), np.empty((size, size, 3), np.uint8))
        return self._frame


def render(mesh, scene: Scene | None = None, *, landmark_tolerance: float = 5.0,
           workspace: Workspace | None = None) -> RenderResult:
    """Render a face.

    Parameters
    ----------
    mesh : :class:`thesislib.facemodel.model.Mesh` (vertices (N, 3) mm, colors (N, 3) 0..1,
        triangles (T, 3) counter-clockwise from the front, landmarks (L,) or None)
    scene : :class:`thesislib.imaging.scene.Scene`; None for :func:`thesislib.imaging.scene.default_scene`
    landmark_tolerance : float, mm; a landmark is visible when no surface in its pixel
        is nearer than its own depth minus this
    workspace : :class:`Workspace` to reuse between calls (faster); None for fresh buffers

    Returns
    -------
    RenderResult with image (227, 227, 3) uint8, depth, mask, landmarks, landmark_visible
    """
    scene = default_scene() if scene is None else scene
    ws = Workspace() if workspace is None else workspace
    vertices, colors, triangles = mesh_arrays(mesh)
    background = ws.grey if scene.background is None else scene.background
    screen, inv_depth, normals, shaded = ws.vertex_buffers(len(vertices))
    tri_id = ws.pixel_buffer(IMAGE_SIZE)
    image, depth = render_arrays(
        vertices, colors, triangles, scene.rotation, scene.translation.astype(np.float64),
        float(scene.distance), float(scene.focal), scene.sh, background,
        screen, inv_depth, normals, shaded, tri_id)
    landmarks, visible = _landmarks(mesh.landmarks, screen, inv_depth, depth, landmark_tolerance)
    return RenderResult(image, depth, tri_id >= 0, landmarks, visible)


def mesh_arrays(mesh) -> tuple:
    """(vertices (N, 3) float32, colors (N, 3) float32, triangles (T, 3) int32) of a mesh,
    C-contiguous (no copies when they are already); ValueError for other shapes."""
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float32)
    colors = np.ascontiguousarray(mesh.colors, dtype=np.float32)
    triangles = np.ascontiguousarray(mesh.triangles, dtype=np.int32)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or colors.shape != vertices.shape:
        raise ValueError(f"need vertices and colors of shape (N, 3), got {vertices.shape} "
                         f"and {colors.shape}")
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise ValueError(f"triangles must have shape (T, 3), got {triangles.shape}")
    return vertices, colors, triangles


def _landmarks(ids, screen, inv_depth, depth, tolerance, tri_id=None):
    """Pixel positions (L, 2) float32 and z-buffer visibility (L,) of landmark vertices; ``depth``
    is a z-buffer of 1/depth (not yet turned into depth by :func:`~thesislib.imaging.rasterizer.resolve`)
    when ``tri_id`` is given."""
    if ids is None:
        return np.zeros((0, 2), np.float32), np.zeros(0, bool)
    ids = np.asarray(ids, dtype=np.int64)
    xy, visible = np.empty((len(ids), 2), np.float32), np.empty(len(ids), np.bool_)
    inverse = tri_id is not None
    _landmark_kernel(ids, screen, inv_depth, depth, tri_id if inverse else np.empty((1, 1), np.int32),
                     inverse, float(tolerance), xy, visible)
    return xy, visible


@njit(cache=True)
def _landmark_kernel(ids, screen, inv_depth, depth, tri_id, inverse, tolerance, xy, visible):
    """Positions rounded to float32 (pixel: the nearest, halves to even) and visibility: inside
    the image, in front of the near plane, no surface in its pixel nearer than its depth - tolerance.
    ``inverse``: ``depth`` holds 1/depth where ``tri_id`` >= 0 (turned as
    :func:`~thesislib.imaging.rasterizer.resolve` does)."""
    size = depth.shape[0]
    for k in range(ids.shape[0]):
        i = ids[k]
        x, y = np.float32(screen[i, 0]), np.float32(screen[i, 1])
        xy[k, 0], xy[k, 1] = x, y
        col, row = np.int64(np.rint(x)), np.int64(np.rint(y))
        inv = inv_depth[i]
        inside = col >= 0 and col < size and row >= 0 and row < size and inv > 0
        own = 1.0 / (inv if inv > 0 else 1.0)
        r, c = min(max(row, 0), size - 1), min(max(col, 0), size - 1)
        seen = depth[r, c]
        if inverse:
            seen = np.float32(1.0 / seen) if tri_id[r, c] >= 0 else np.float32(np.inf)
        visible[k] = inside and seen >= own - tolerance


def render_batch(items, scenes, template=None) -> list:
    """Render many faces.

    Parameters
    ----------
    items : sequence of Mesh, or of (N, 3) vertex arrays (then ``template`` gives
        colours, triangles and landmarks), or a (B, N, 3) array
    scenes : one Scene for all, or a sequence of B scenes (None = default scene)
    template : Mesh, needed when ``items`` are vertex arrays

    Returns
    -------
    list of B :class:`RenderResult`
    """
    from thesislib.facemodel import Mesh

    items = list(items)
    if scenes is None or isinstance(scenes, Scene):
        scenes = [scenes] * len(items)
    scenes = list(scenes)
    if len(scenes) != len(items):
        raise ValueError(f"got {len(items)} meshes but {len(scenes)} scenes")
    out, ws = [], Workspace()
    for item, scene in zip(items, scenes):
        if not isinstance(item, Mesh):
            if template is None:
                raise ValueError("vertex arrays need a template Mesh for colours and triangles")
            item = Mesh(np.asarray(item, np.float32), template.colors, template.triangles,
                        template.landmarks)
        out.append(render(item, scene, workspace=ws))
    return out
