"""CPU rasterizer: mesh + scene -> image, depth, mask and 2D landmarks.

Pipeline (each step a plain compiled function on arrays, single-threaded; run many
renders in parallel with processes):

1. :func:`project` rotates the face about the model origin, shifts it, and projects it
   with a pinhole camera on the +z axis looking down -z. Pixel centres sit on integer
   coordinates: pixel ``(row, col)`` is the point ``(x=col, y=row)``, the image centre
   is ``((S-1)/2, (S-1)/2)``.
2. :func:`vertex_normals` recomputes area-weighted vertex normals of the posed mesh.
3. :func:`shade_vertices` applies Lambertian SH light (see :mod:`thesislib.scene`).
4. :func:`rasterize` snaps vertices to 1/16 px and tests pixel centres with exact
   integer edge functions and a consistent tie rule (shared edges: no pinholes, no
   double hits), culls back faces, keeps the nearest surface per pixel (z-buffer on
   1/depth) and stores the triangle and its barycentric weights.
5. :func:`resolve` interpolates the shaded vertex colours perspective-correctly and
   composites over the background.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from thesislib.scene import IMAGE_SIZE, Scene, default_scene

SUBPIXEL = 16  # vertices snap to 1/16 px
NEAR = 1.0  # mm; triangles with a vertex closer to the camera plane are dropped
GREY = 128


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


@njit(cache=True)
def project(vertices, rotation, translation, distance, focal, center, cam, screen, inv_depth):
    """Pose and project vertices (writes into ``cam``, ``screen``, ``inv_depth``).

    vertices (N, 3) float32 mm; rotation (3, 3); translation (3,) mm; distance mm;
    focal px; center px. Outputs: cam (N, 3) float32 posed vertices (camera at
    (0, 0, distance)); screen (N, 2) float64 pixel (x, y); inv_depth (N,) float64 1/mm,
    0 for vertices closer than NEAR to the camera plane.
    """
    r = rotation
    for i in range(vertices.shape[0]):
        x, y, z = vertices[i, 0], vertices[i, 1], vertices[i, 2]
        px = r[0, 0] * x + r[0, 1] * y + r[0, 2] * z + translation[0]
        py = r[1, 0] * x + r[1, 1] * y + r[1, 2] * z + translation[1]
        pz = r[2, 0] * x + r[2, 1] * y + r[2, 2] * z + translation[2]
        cam[i, 0], cam[i, 1], cam[i, 2] = px, py, pz
        d = distance - pz
        if d < NEAR:
            inv_depth[i] = 0.0
            screen[i, 0], screen[i, 1] = center, center
        else:
            inv = 1.0 / d
            inv_depth[i] = inv
            screen[i, 0] = center + focal * px * inv
            screen[i, 1] = center - focal * py * inv


@njit(cache=True)
def vertex_normals(vertices, triangles, out):
    """Area-weighted unit vertex normals of (N, 3) vertices into ``out`` (N, 3) float32."""
    out[:] = 0.0
    for t in range(triangles.shape[0]):
        a, b, c = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        ux = vertices[b, 0] - vertices[a, 0]
        uy = vertices[b, 1] - vertices[a, 1]
        uz = vertices[b, 2] - vertices[a, 2]
        vx = vertices[c, 0] - vertices[a, 0]
        vy = vertices[c, 1] - vertices[a, 1]
        vz = vertices[c, 2] - vertices[a, 2]
        nx = uy * vz - uz * vy
        ny = uz * vx - ux * vz
        nz = ux * vy - uy * vx
        for k in (a, b, c):
            out[k, 0] += nx
            out[k, 1] += ny
            out[k, 2] += nz
    for i in range(out.shape[0]):
        n = np.sqrt(out[i, 0] ** 2 + out[i, 1] ** 2 + out[i, 2] ** 2)
        if n > 0:
            out[i, 0] /= n
            out[i, 1] /= n
            out[i, 2] /= n


@njit(cache=True)
def shade_vertices(albedo, normals, sh, out):
    """Lambertian SH shading: ``out[i, c] = clip(albedo[i, c] * sum_j Y_j(n_i) k_j sh[j, c])``.

    albedo (N, 3) 0..1; normals (N, 3) unit; sh (9, 3); out (N, 3) float32 in 0..1.
    """
    c0 = 0.28209479177387814 * np.pi
    c1 = 0.4886025119029199 * 2.0 * np.pi / 3.0
    c2 = 1.0925484305920792 * np.pi / 4.0
    c3 = 0.31539156525252005 * np.pi / 4.0
    c4 = 0.5462742152960396 * np.pi / 4.0
    w = np.empty((9, 3))
    for c in range(3):
        w[0, c] = c0 * sh[0, c]
        w[1, c] = c1 * sh[1, c]
        w[2, c] = c1 * sh[2, c]
        w[3, c] = c1 * sh[3, c]
        w[4, c] = c2 * sh[4, c]
        w[5, c] = c2 * sh[5, c]
        w[6, c] = c3 * sh[6, c]
        w[7, c] = c2 * sh[7, c]
        w[8, c] = c4 * sh[8, c]
    for i in range(normals.shape[0]):
        x, y, z = normals[i, 0], normals[i, 1], normals[i, 2]
        xy, yz, zx, zz, xxyy = x * y, y * z, z * x, 3.0 * z * z - 1.0, x * x - y * y
        for c in range(3):
            s = (w[0, c] + w[1, c] * y + w[2, c] * z + w[3, c] * x + w[4, c] * xy
                 + w[5, c] * yz + w[6, c] * zz + w[7, c] * zx + w[8, c] * xxyy)
            v = albedo[i, c] * s
            out[i, c] = min(max(v, 0.0), 1.0)


@njit(cache=True)
def rasterize(screen, inv_depth, triangles, size, zbuf, tri_id, bary):
    """Z-buffered coverage of front-facing triangles.

    screen (N, 2) pixel (x, y); inv_depth (N,) 1/mm (0 = behind the near plane);
    triangles (T, 3) counter-clockwise seen from the front. Outputs (size, size):
    zbuf float32 1/depth of the nearest surface (0 = empty), tri_id int32 (-1 = empty),
    bary (size, size, 3) float32 screen-space barycentric weights of the triangle's
    vertices in their stored order.
    """
    n = screen.shape[0]
    sx = np.empty(n, np.int64)
    sy = np.empty(n, np.int64)
    lim = 1 << 20  # guard band, px * SUBPIXEL
    for i in range(n):
        sx[i] = min(max(np.int64(np.round(screen[i, 0] * SUBPIXEL)), -lim), lim)
        sy[i] = min(max(np.int64(np.round(screen[i, 1] * SUBPIXEL)), -lim), lim)
    zbuf[:] = 0.0
    tri_id[:] = -1
    hi = size - 1
    for t in range(triangles.shape[0]):
        i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        if inv_depth[i0] == 0.0 or inv_depth[i1] == 0.0 or inv_depth[i2] == 0.0:
            continue
        x0, y0, x1, y1, x2, y2 = sx[i0], sy[i0], sx[i1], sy[i1], sx[i2], sy[i2]
        # bounding box in pixel centres first: most face triangles cover none
        xmin = (min(x0, x1, x2) + SUBPIXEL - 1) // SUBPIXEL
        xmax = max(x0, x1, x2) // SUBPIXEL
        ymin = (min(y0, y1, y2) + SUBPIXEL - 1) // SUBPIXEL
        ymax = max(y0, y1, y2) // SUBPIXEL
        xmin, ymin = max(xmin, 0), max(ymin, 0)
        xmax, ymax = min(xmax, hi), min(ymax, hi)
        if xmin > xmax or ymin > ymax:
            continue
        # counter-clockwise (y up) is negative area in image coordinates (y down)
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if area >= 0:
            continue  # back face or degenerate
        # swap to positive orientation; remember where weights go
        x1, y1, x2, y2 = x2, y2, x1, y1
        area = -area
        inv_area = 1.0 / area
        z0, z1, z2 = inv_depth[i0], inv_depth[i2], inv_depth[i1]
        # tie rule: a pixel centre exactly on an edge belongs to the edge only if the
        # edge direction (dx, dy) has dy > 0 or (dy == 0 and dx > 0); a shared edge
        # runs in opposite directions in its two triangles, so exactly one takes it
        b0 = 0 if (y2 - y1 > 0 or (y2 == y1 and x2 - x1 > 0)) else -1
        b1 = 0 if (y0 - y2 > 0 or (y0 == y2 and x0 - x2 > 0)) else -1
        b2 = 0 if (y1 - y0 > 0 or (y1 == y0 and x1 - x0 > 0)) else -1
        for py in range(ymin, ymax + 1):
            qy = py * SUBPIXEL
            for px in range(xmin, xmax + 1):
                qx = px * SUBPIXEL
                w0 = (x2 - x1) * (qy - y1) - (y2 - y1) * (qx - x1)
                if w0 + b0 < 0:
                    continue
                w1 = (x0 - x2) * (qy - y2) - (y0 - y2) * (qx - x2)
                if w1 + b1 < 0:
                    continue
                w2 = (x1 - x0) * (qy - y0) - (y1 - y0) * (qx - x0)
                if w2 + b2 < 0:
                    continue
                l0 = w0 * inv_area
                l1 = w1 * inv_area
                l2 = w2 * inv_area
                z = l0 * z0 + l1 * z1 + l2 * z2
                if z > zbuf[py, px]:
                    zbuf[py, px] = z
                    tri_id[py, px] = t
                    bary[py, px, 0] = l0
                    bary[py, px, 1] = l2  # swapped back: weight of triangles[t, 1]
                    bary[py, px, 2] = l1


@njit(cache=True)
def resolve(zbuf, tri_id, bary, triangles, inv_depth, colors, background, image, depth):
    """Perspective-correct colour interpolation and compositing.

    colors (N, 3) float32 0..1 shaded vertex colours; background (S, S, 3) uint8;
    writes image (S, S, 3) uint8 and depth (S, S) float32 (inf where empty).
    """
    for py in range(zbuf.shape[0]):
        for px in range(zbuf.shape[1]):
            t = tri_id[py, px]
            if t < 0:
                depth[py, px] = np.inf
                for c in range(3):
                    image[py, px, c] = background[py, px, c]
                continue
            z = zbuf[py, px]
            depth[py, px] = 1.0 / z
            i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
            l0 = bary[py, px, 0] * inv_depth[i0] / z
            l1 = bary[py, px, 1] * inv_depth[i1] / z
            l2 = bary[py, px, 2] * inv_depth[i2] / z
            for c in range(3):
                v = l0 * colors[i0, c] + l1 * colors[i1, c] + l2 * colors[i2, c]
                image[py, px, c] = np.uint8(min(max(v * 255.0 + 0.5, 0.0), 255.0))


def render(mesh, scene: Scene | None = None, *, landmark_tolerance: float = 5.0) -> RenderResult:
    """Render a face.

    Parameters
    ----------
    mesh : :class:`thesislib.model.Mesh` (vertices (N, 3) mm, colors (N, 3) 0..1,
        triangles (T, 3) counter-clockwise from the front, landmarks (L,) or None)
    scene : :class:`thesislib.scene.Scene`; None for :func:`thesislib.scene.default_scene`
    landmark_tolerance : float, mm; a landmark is visible when no surface in its pixel
        is nearer than its own depth minus this

    Returns
    -------
    RenderResult with image (227, 227, 3) uint8, depth, mask, landmarks, landmark_visible
    """
    scene = default_scene() if scene is None else scene
    size = IMAGE_SIZE
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float32)
    colors = np.ascontiguousarray(mesh.colors, dtype=np.float32)
    triangles = np.ascontiguousarray(mesh.triangles, dtype=np.int32)
    n = vertices.shape[0]
    if vertices.ndim != 2 or vertices.shape[1] != 3 or colors.shape != vertices.shape:
        raise ValueError(f"need vertices and colors of shape (N, 3), got {vertices.shape} "
                         f"and {colors.shape}")
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise ValueError(f"triangles must have shape (T, 3), got {triangles.shape}")
    if triangles.size and (triangles.min() < 0 or triangles.max() >= n):
        raise ValueError("triangle vertex ids out of range")
    center = (size - 1) / 2.0
    cam = np.empty((n, 3), np.float32)
    screen = np.empty((n, 2), np.float64)
    inv_depth = np.empty(n, np.float64)
    project(vertices, scene.rotation, scene.translation.astype(np.float64),
            float(scene.distance), float(scene.focal), center, cam, screen, inv_depth)
    normals = np.empty((n, 3), np.float32)
    vertex_normals(cam, triangles, normals)
    shaded = np.empty((n, 3), np.float32)
    shade_vertices(colors, normals, scene.sh, shaded)
    zbuf = np.empty((size, size), np.float32)
    tri_id = np.empty((size, size), np.int32)
    bary = np.empty((size, size, 3), np.float32)
    rasterize(screen, inv_depth, triangles, size, zbuf, tri_id, bary)
    background = scene.background
    if background is None:
        background = np.full((size, size, 3), GREY, np.uint8)
    image = np.empty((size, size, 3), np.uint8)
    depth = np.empty((size, size), np.float32)
    resolve(zbuf, tri_id, bary, triangles, inv_depth, shaded, background, image, depth)
    landmarks, visible = _landmarks(mesh.landmarks, screen, inv_depth, depth, landmark_tolerance)
    return RenderResult(image, depth, tri_id >= 0, landmarks, visible)


def _landmarks(ids, screen, inv_depth, depth, tolerance):
    """Pixel positions (L, 2) float32 and z-buffer visibility (L,) of landmark vertices."""
    if ids is None:
        return np.zeros((0, 2), np.float32), np.zeros(0, bool)
    ids = np.asarray(ids, dtype=np.int64)
    xy = screen[ids].astype(np.float32)
    size = depth.shape[0]
    col = np.rint(xy[:, 0]).astype(np.int64)
    row = np.rint(xy[:, 1]).astype(np.int64)
    inside = (col >= 0) & (col < size) & (row >= 0) & (row < size) & (inv_depth[ids] > 0)
    own = 1.0 / np.where(inv_depth[ids] > 0, inv_depth[ids], 1.0)
    seen = depth[np.clip(row, 0, size - 1), np.clip(col, 0, size - 1)]
    return xy, inside & (seen >= own - tolerance)


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
    from thesislib.model import Mesh

    items = list(items)
    if scenes is None or isinstance(scenes, Scene):
        scenes = [scenes] * len(items)
    scenes = list(scenes)
    if len(scenes) != len(items):
        raise ValueError(f"got {len(items)} meshes but {len(scenes)} scenes")
    out = []
    for item, scene in zip(items, scenes):
        if not isinstance(item, Mesh):
            if template is None:
                raise ValueError("vertex arrays need a template Mesh for colours and triangles")
            item = Mesh(np.asarray(item, np.float32), template.colors, template.triangles,
                        template.landmarks)
        out.append(render(item, scene))
    return out
