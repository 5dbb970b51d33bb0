"""CPU rasterizer: the compiled pipeline from mesh arrays and a camera to image and depth arrays.

Pipeline (each step a plain compiled function on arrays, single-threaded; run many
renders in parallel with processes; :func:`render_arrays` runs them all in one call, and
:mod:`thesislib.imaging.mesh_render` wraps it for a mesh and a scene):

1. :func:`project` rotates the face about the model origin, shifts it, and projects it
   with a pinhole camera on the +z axis looking down -z. Pixel centres sit on integer
   coordinates: pixel ``(row, col)`` is the point ``(x=col, y=row)``, the image centre
   is ``((S-1)/2, (S-1)/2)``.
2. :func:`vertex_normals` recomputes area-weighted vertex normals of the posed mesh.
3. :func:`shade_vertices` applies Lambertian SH light (see :mod:`thesislib.imaging.scene`).
4. :func:`rasterize` snaps vertices to 1/16 px and tests pixel centres with exact
   integer edge functions and a consistent tie rule (shared edges: no pinholes, no
   double hits), culls back faces, keeps the nearest surface per pixel (z-buffer on
   1/depth) and stores the triangle seen in each pixel.
5. :func:`resolve` recomputes barycentric weights, interpolates the shaded vertex colours perspective-correctly and
   composites over the background.
"""
from __future__ import annotations

import numpy as np
from numba import njit

SHIFT = 4
SUBPIXEL = 1 << SHIFT  # vertices snap to 1/16 px
NEAR = 1.0  # mm; triangles with a vertex closer to the camera plane are dropped
FAST = {"contract", "arcp", "reassoc", "nsz", "afn"}  # fastmath without nnan/ninf


@njit(cache=True)
def project(vertices, rotation, translation, distance, focal, center, screen, inv_depth):
    """Pose and project vertices (writes into ``screen`` and ``inv_depth``).

    vertices (N, 3) float32 mm; rotation (3, 3); translation (3,) mm; distance mm
    (camera at (0, 0, distance)); focal px; center px. Outputs: screen (N, 2) float64
    pixel (x, y); inv_depth (N,) float64 1/mm, 0 for vertices closer than NEAR to the
    camera plane.
    """
    r = rotation
    for i in range(vertices.shape[0]):
        x, y, z = vertices[i, 0], vertices[i, 1], vertices[i, 2]
        px = r[0, 0] * x + r[0, 1] * y + r[0, 2] * z + translation[0]
        py = r[1, 0] * x + r[1, 1] * y + r[1, 2] * z + translation[1]
        pz = r[2, 0] * x + r[2, 1] * y + r[2, 2] * z + translation[2]
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
    """Area-weighted unit vertex normals of (N, 3) vertices into ``out`` (N, 3) float32.

    Computed on the unposed mesh; :func:`shade_vertices` rotates them. Raises
    ValueError for triangle ids outside 0..N-1 (the check every renderer pass relies on).
    """
    out[:] = 0.0
    n = np.uint32(vertices.shape[0])
    for t in range(triangles.shape[0]):
        a, b, c = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        if np.uint32(a) >= n or np.uint32(b) >= n or np.uint32(c) >= n:  # also catches < 0
            raise ValueError("triangle vertex ids out of range")
        ax, ay, az = vertices[a, 0], vertices[a, 1], vertices[a, 2]
        ux, uy, uz = vertices[b, 0] - ax, vertices[b, 1] - ay, vertices[b, 2] - az
        vx, vy, vz = vertices[c, 0] - ax, vertices[c, 1] - ay, vertices[c, 2] - az
        nx = uy * vz - uz * vy
        ny = uz * vx - ux * vz
        nz = ux * vy - uy * vx
        out[a, 0] += nx
        out[a, 1] += ny
        out[a, 2] += nz
        out[b, 0] += nx
        out[b, 1] += ny
        out[b, 2] += nz
        out[c, 0] += nx
        out[c, 1] += ny
        out[c, 2] += nz
    for i in range(out.shape[0]):
        q = out[i, 0] * out[i, 0] + out[i, 1] * out[i, 1] + out[i, 2] * out[i, 2]
        if q > 0:
            r = np.float32(1.0 / np.sqrt(q))
            out[i, 0] *= r
            out[i, 1] *= r
            out[i, 2] *= r


@njit(cache=True, fastmath=FAST)
def shade_vertices(albedo, normals, rotation, sh, out):
    """Lambertian SH shading: ``out[i, c] = clip(albedo[i, c] * sum_j Y_j(R n_i) k_j sh[j, c])``.

    albedo (N, 3) 0..1; normals (N, 3) unit, unposed; rotation (3, 3) face pose R;
    sh (9, 3) in camera coordinates; out (N, 3) float32 in 0..1.
    """
    c0 = 0.28209479177387814 * np.pi  # SH_NORM * SH_KERNEL per band
    c1 = 0.4886025119029199 * 2.0 * np.pi / 3.0
    c2 = 1.0925484305920792 * np.pi / 4.0
    c3 = 0.31539156525252005 * np.pi / 4.0
    c4 = 0.5462742152960396 * np.pi / 4.0
    w = np.empty((3, 9), np.float32)  # per channel; the -1 of 3z^2-1 folded into w[c, 0]
    for c in range(3):
        w[c, 0] = c0 * sh[0, c] - c3 * sh[6, c]
        w[c, 1] = c1 * sh[1, c]
        w[c, 2] = c1 * sh[2, c]
        w[c, 3] = c1 * sh[3, c]
        w[c, 4] = c2 * sh[4, c]
        w[c, 5] = c2 * sh[5, c]
        w[c, 6] = 3.0 * c3 * sh[6, c]
        w[c, 7] = c2 * sh[7, c]
        w[c, 8] = c4 * sh[8, c]
    r = rotation.astype(np.float32)
    for i in range(normals.shape[0]):
        a, b, d = normals[i, 0], normals[i, 1], normals[i, 2]
        x = r[0, 0] * a + r[0, 1] * b + r[0, 2] * d
        y = r[1, 0] * a + r[1, 1] * b + r[1, 2] * d
        z = r[2, 0] * a + r[2, 1] * b + r[2, 2] * d
        xy, yz, zx, zz, xxyy = x * y, y * z, z * x, z * z, x * x - y * y
        for c in range(3):
            v = (w[c, 0] + w[c, 1] * y + w[c, 2] * z + w[c, 3] * x + w[c, 4] * xy
                 + w[c, 5] * yz + w[c, 6] * zz + w[c, 7] * zx + w[c, 8] * xxyy)
            out[i, c] = min(max(albedo[i, c] * v, np.float32(0.0)), np.float32(1.0))


@njit(cache=True)
def _snap(screen, inv_depth, snapped):
    """Vertices (N, 2) px -> (N, 2) int32 in 1/SUBPIXEL px, clamped to a guard band; vertices
    behind the near plane (``inv_depth`` 0) get the returned marker (larger than the band)."""
    lim = float(1 << 20)  # guard band, px * SUBPIXEL
    flat, out = screen.reshape(-1), snapped.reshape(-1)
    for k in range(flat.shape[0]):  # one flat loop: half the time of a loop over vertices
        v = np.floor(flat[k] * SUBPIXEL + 0.5)
        v = v if v > -lim else -lim  # NaN -> -lim, as a clamp after the integer conversion gave
        out[k] = np.int32(v if v < lim else lim)
    invalid = 1 << 28
    for i in range(inv_depth.shape[0]):
        if inv_depth[i] == 0.0:
            snapped[i, 0] = invalid
            snapped[i, 1] = invalid
    return invalid


@njit(cache=True)
def rasterize(screen, inv_depth, triangles, size, zbuf, tri_id):
    """Z-buffered coverage of front-facing triangles.

    screen (N, 2) pixel (x, y); inv_depth (N,) 1/mm (0 = behind the near plane);
    triangles (T, 3) counter-clockwise seen from the front. Outputs (size, size):
    zbuf float32 1/depth of the nearest surface (0 = empty), tri_id int32 (-1 = empty).
    """
    snapped = np.empty((screen.shape[0], 2), np.int32)
    invalid = _snap(screen, inv_depth, snapped)
    zbuf[:] = 0.0
    tri_id[:] = -1
    hi = size - 1
    for t in range(triangles.shape[0]):
        i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        x0, y0 = np.int64(snapped[i0, 0]), np.int64(snapped[i0, 1])
        x1, y1 = np.int64(snapped[i1, 0]), np.int64(snapped[i1, 1])
        x2, y2 = np.int64(snapped[i2, 0]), np.int64(snapped[i2, 1])
        xhi = max(x0, x1, x2)
        if xhi >= invalid:
            continue
        # bounding box in pixel centres first: most face triangles cover none or one
        # (arithmetic shifts = floor division by SUBPIXEL = 2**SHIFT)
        xmin = max((min(x0, x1, x2) + SUBPIXEL - 1) >> SHIFT, 0)
        xmax = min(xhi >> SHIFT, hi)
        ymin = max((min(y0, y1, y2) + SUBPIXEL - 1) >> SHIFT, 0)
        ymax = min(max(y0, y1, y2) >> SHIFT, hi)
        if xmin > xmax or ymin > ymax:
            continue
        # counter-clockwise (y up) is negative area in image coordinates (y down)
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if area >= 0:
            continue  # back face or degenerate
        # swap vertices 1 and 2 to positive orientation (inv_depth indices follow)
        x1, y1, x2, y2 = x2, y2, x1, y1
        area = -area
        # tie rule: a pixel centre exactly on an edge belongs to the edge only if the
        # edge direction (dx, dy) has dy > 0 or (dy == 0 and dx > 0); a shared edge
        # runs in opposite directions in its two triangles, so exactly one takes it.
        # (branch-free: bias 0 when the edge owns its pixels, else -1)
        b0 = (np.int64(y2 > y1) | (np.int64(y2 == y1) & np.int64(x2 > x1))) - 1
        b1 = (np.int64(y0 > y2) | (np.int64(y0 == y2) & np.int64(x0 > x2))) - 1
        b2 = (np.int64(y1 > y0) | (np.int64(y1 == y0) & np.int64(x1 > x0))) - 1
        if xmin == xmax and ymin == ymax:
            # one candidate pixel (most triangles of a face mesh): test without branches
            qx, qy = xmin * SUBPIXEL, ymin * SUBPIXEL
            w0 = (x2 - x1) * (qy - y1) - (y2 - y1) * (qx - x1)
            w1 = (x0 - x2) * (qy - y2) - (y0 - y2) * (qx - x2)
            w2 = (x1 - x0) * (qy - y0) - (y1 - y0) * (qx - x0)
            if ((w0 + b0) | (w1 + b1) | (w2 + b2)) >= 0:  # all non-negative
                z = (w0 * inv_depth[i0] + w1 * inv_depth[i2] + w2 * inv_depth[i1]) / area
                if z > zbuf[ymin, xmin]:
                    zbuf[ymin, xmin] = z
                    tri_id[ymin, xmin] = t
            continue
        for py in range(ymin, ymax + 1):
            qy = py * SUBPIXEL
            for px in range(xmin, xmax + 1):
                qx = px * SUBPIXEL
                w0 = (x2 - x1) * (qy - y1) - (y2 - y1) * (qx - x1)
                w1 = (x0 - x2) * (qy - y2) - (y0 - y2) * (qx - x2)
                w2 = (x1 - x0) * (qy - y0) - (y1 - y0) * (qx - x0)
                if ((w0 + b0) | (w1 + b1) | (w2 + b2)) >= 0:
                    z = (w0 * inv_depth[i0] + w1 * inv_depth[i2] + w2 * inv_depth[i1]) / area
                    if z > zbuf[py, px]:
                        zbuf[py, px] = z
                        tri_id[py, px] = t


@njit(cache=True, fastmath=FAST)
def resolve(zbuf, tri_id, screen, triangles, inv_depth, colors, background, image):
    """Perspective-correct colour interpolation and compositing.

    Barycentric weights are recomputed per pixel from the triangle found by
    :func:`rasterize`. colors (N, 3) float32 0..1 shaded vertex colours; background
    (S, S, 3) uint8; writes image (S, S, 3) uint8 and turns ``zbuf`` into depth in mm
    (inf where empty).
    """
    resolve_window(zbuf, tri_id, screen, triangles, inv_depth, colors, background, image,
                   0, zbuf.shape[0], 0, zbuf.shape[1], True)


@njit(cache=True, fastmath=FAST)
def resolve_window(zbuf, tri_id, screen, triangles, inv_depth, colors, background, image, y0, y1, x0, x1,
                   depth):
    """:func:`resolve` on rows ``y0 .. y1 - 1`` and columns ``x0 .. x1 - 1`` only (the same bytes
    there; other pixels untouched); ``depth``: also turn ``zbuf`` there into depth."""
    for py in range(y0, y1):
        for px in range(x0, x1):
            t = tri_id[py, px]
            if t < 0:
                if depth:
                    zbuf[py, px] = np.inf
                for c in range(3):
                    image[py, px, c] = background[py, px, c]
                continue
            if depth:
                zbuf[py, px] = 1.0 / zbuf[py, px]
            i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
            ax, ay = screen[i0, 0] - px, screen[i0, 1] - py
            bx, by = screen[i1, 0] - px, screen[i1, 1] - py
            cx, cy = screen[i2, 0] - px, screen[i2, 1] - py
            l0 = (bx * cy - by * cx) * inv_depth[i0]  # screen-space weight x 1/depth
            l1 = (cx * ay - cy * ax) * inv_depth[i1]
            l2 = (ax * by - ay * bx) * inv_depth[i2]
            total = l0 + l1 + l2
            if total == 0.0:
                l0, l1, l2, total = 1.0, 1.0, 1.0, 3.0
            inv_total = 1.0 / total
            l0, l1, l2 = l0 * inv_total, l1 * inv_total, l2 * inv_total
            for c in range(3):
                v = l0 * colors[i0, c] + l1 * colors[i1, c] + l2 * colors[i2, c]
                image[py, px, c] = np.uint8(min(max(v * 255.0 + 0.5, 0.0), 255.0))


@njit(cache=True)
def _check_ids(triangles, n):
    """Raise ValueError for triangle ids outside 0..n-1 (what :func:`vertex_normals` checks)."""
    flat, bad, un = triangles.reshape(-1), False, np.uint32(n)
    for k in range(flat.shape[0]):
        bad |= np.uint32(flat[k]) >= un
    if bad:
        raise ValueError("triangle vertex ids out of range")


@njit(cache=True)
def draw(vertices, colors, triangles, rotation, translation, distance, focal, sh, size, screen, inv_depth,
         normals, shaded, tri_id, zbuf, have_normals):
    """Project, shade (computing ``normals`` first unless ``have_normals``: then they are the unit
    normals of ``vertices``) and rasterize into ``tri_id`` and ``zbuf`` (size, size): everything of
    :func:`render_arrays` but :func:`resolve`."""
    project(vertices, rotation, translation, distance, focal, (size - 1) / 2.0, screen, inv_depth)
    if have_normals:
        _check_ids(triangles, vertices.shape[0])
    else:
        vertex_normals(vertices, triangles, normals)
    shade_vertices(colors, normals, rotation, sh, shaded)
    rasterize(screen, inv_depth, triangles, size, zbuf, tri_id)


@njit(cache=True)
def render_arrays(vertices, colors, triangles, rotation, translation, distance, focal, sh,
                  background, screen, inv_depth, normals, shaded, tri_id):
    """The whole pipeline on arrays (one compiled call).

    vertices (N, 3) float32 mm; colors (N, 3) float32 0..1; triangles (T, 3) int32;
    rotation (3, 3); translation (3,) mm; distance mm; focal px; sh (9, 3);
    background (S, S, 3) uint8. Scratch arrays it fills: screen (N, 2) float64 px,
    inv_depth (N,) float64 1/mm, normals and shaded (N, 3) float32, tri_id (S, S) int32
    (-1 = empty). Returns image (S, S, 3) uint8 and depth (S, S) float32 (inf = empty).
    Raises ValueError for triangle ids outside 0..N-1.
    """
    size = background.shape[0]
    zbuf = np.empty((size, size), np.float32)
    draw(vertices, colors, triangles, rotation, translation, distance, focal, sh, size, screen, inv_depth,
         normals, shaded, tri_id, zbuf, False)
    image = np.empty((size, size, 3), np.uint8)
    resolve(zbuf, tri_id, screen, triangles, inv_depth, shaded, background, image)
    return image, zbuf
