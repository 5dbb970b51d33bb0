"""Tests of the CPU rasterizer on small synthetic meshes (coverage, culling, z-buffer, shading, compositing).

Regenerate the stored reference image with
``THESISLIB_REGEN_REFERENCE=1 pytest tests/imaging/test_rasterizer.py -k reference`` or
``python tests/imaging/test_rasterizer.py --regen``.
"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from thesislib.facemodel import Mesh
from thesislib.imaging.rasterizer import shade_vertices
from thesislib.imaging import render
from thesislib.imaging import IMAGE_SIZE, Scene
from thesislib.imaging.scene import SH_KERNEL, SH_NORM, sh_shading

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "render_reference.png"
C = (IMAGE_SIZE - 1) / 2


def uv_sphere(radius=60.0, n_lat=64, n_lon=128, color=(0.6, 0.4, 0.2)):
    """Closed sphere at the origin, triangles counter-clockwise seen from outside."""
    theta = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    phi = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], -1).reshape(-1, 3)
    v = np.concatenate([[[0, 1, 0]], ring, [[0, -1, 0]]]) * radius
    idx = 1 + np.arange(len(ring)).reshape(n_lat - 1, n_lon)
    nxt = np.roll(idx, -1, axis=1)
    tris = [np.stack([np.zeros(n_lon, int), idx[0], nxt[0]], -1)]
    a, b, c, d = idx[:-1], nxt[:-1], nxt[1:], idx[1:]
    tris += [np.stack([a, d, c], -1).reshape(-1, 3), np.stack([a, c, b], -1).reshape(-1, 3)]
    tris.append(np.stack([np.full(n_lon, len(v) - 1), nxt[-1], idx[-1]], -1))
    t = np.concatenate(tris).astype(np.int32)
    col = np.tile(np.asarray(color, np.float32), (len(v), 1))
    return Mesh(v.astype(np.float32), col, t, None)


def grid(nx, ny, width, height, z=0.0, color=(0.5, 0.5, 0.5), jitter=0.0, seed=0, relief=None):
    """Rectangle in the z = const plane (optionally with a height field), facing +z."""
    x = np.linspace(-width / 2, width / 2, nx)
    y = np.linspace(-height / 2, height / 2, ny)
    X, Y = np.meshgrid(x, y)
    if jitter:
        rng = np.random.default_rng(seed)
        inner = (slice(1, -1), slice(1, -1))
        X[inner] += rng.uniform(-jitter, jitter, X[inner].shape) * (x[1] - x[0])
        Y[inner] += rng.uniform(-jitter, jitter, Y[inner].shape) * (y[1] - y[0])
    Z = np.full_like(X, z) if relief is None else z + relief(X, Y)
    v = np.stack([X, Y, Z], -1).reshape(-1, 3).astype(np.float32)
    idx = np.arange(nx * ny).reshape(ny, nx)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    t = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                        np.stack([a, c, d], -1).reshape(-1, 3)]).astype(np.int32)
    col = np.broadcast_to(np.asarray(color, np.float32), v.shape).copy()
    return Mesh(v, col, t, None)


def reference_mesh():
    """A fixed shaded relief with painted colour bands and 3 landmarks."""
    def relief(X, Y):
        return (70 * np.exp(-(X ** 2 / 3000 + Y ** 2 / 6000))
                + 30 * np.exp(-(X ** 2 / 150 + (Y + 5) ** 2 / 700))
                - 12 * np.exp(-(((np.abs(X) - 32) ** 2) / 150 + (Y - 30) ** 2 / 120)))
    m = grid(120, 160, 150, 200, relief=relief)
    x, y = m.vertices[:, 0], m.vertices[:, 1]
    col = np.stack([0.75 + 0.1 * np.sin(x / 15), 0.55 + 0.1 * np.cos(y / 20),
                    0.45 + 0.05 * np.sin((x + y) / 25)], 1).astype(np.float32)
    lms = np.array([np.argmax(m.vertices[:, 2]), 0, len(x) - 1])
    return Mesh(m.vertices, col, m.triangles, lms)


def reference_scene():
    sh = np.zeros((9, 3), np.float32)
    sh[0] = [0.80, 0.78, 0.75]
    sh[1] = [0.15, 0.15, 0.15]
    sh[3] = [-0.2, -0.18, -0.15]
    sh[2] = [0.2, 0.2, 0.2]
    sh[6] = [0.05, 0.04, 0.03]
    return Scene(yaw=20.0, pitch=-8.0, roll=4.0, sh=sh)


def test_sphere_mask_matches_projection():
    radius, scene = 60.0, Scene()
    r = render(uv_sphere(radius), scene)
    d = scene.distance
    rad_px = scene.focal * radius / np.sqrt(d * d - radius * radius)
    assert abs(r.mask.sum() / (np.pi * rad_px ** 2) - 1) < 0.02
    ys, xs = np.nonzero(r.mask)
    assert abs(xs.mean() - C) < 0.5 and abs(ys.mean() - C) < 0.5
    # nearest point of the sphere is at distance - radius
    assert abs(r.depth[int(C), int(C)] - (d - radius)) < 0.5


def test_no_pinholes_on_fine_plane():
    m = grid(181, 181, 150, 150, jitter=0.3)  # irregular, ~0.5 px triangles
    r = render(m, Scene(yaw=7.0, roll=11.0))
    from scipy.ndimage import binary_erosion, binary_fill_holes
    assert np.array_equal(binary_fill_holes(r.mask), r.mask)
    inner = binary_erosion(r.mask, iterations=2)
    assert inner.sum() > 10000 and r.mask[inner].all()


def test_back_faces_culled():
    m = uv_sphere(40)
    flipped = Mesh(m.vertices, m.colors, m.triangles[:, ::-1].copy(), None)
    front = render(m)
    back = render(flipped)
    # reversed winding: the near half is culled, the inside of the far half is seen
    assert back.mask.sum() > 0.9 * front.mask.sum()
    assert np.all(back.depth[back.mask] > front.depth[back.mask])


def test_constant_sh_gives_uniform_albedo_colour():
    albedo = np.array([0.6, 0.4, 0.2])
    sh = np.zeros((9, 3), np.float32)
    sh[0] = [0.9, 1.0, 1.1]
    r = render(uv_sphere(60, color=albedo), Scene(sh=sh))
    expect = albedo * np.pi * sh[0] * SH_NORM[0] * 255
    pix = r.image[r.mask].astype(float)
    assert np.all(np.abs(pix - expect) <= 1.0)


def test_compiled_shading_matches_reference():
    rng = np.random.default_rng(1)
    n = rng.normal(size=(500, 3))
    n = (n / np.linalg.norm(n, axis=1, keepdims=True)).astype(np.float32)
    albedo = rng.uniform(0, 1, (500, 3)).astype(np.float32)
    sh = rng.normal(0, 0.2, (9, 3)).astype(np.float32)
    sh[0] += 0.7
    out = np.empty((500, 3), np.float32)
    shade_vertices(albedo, n, np.eye(3), sh, out)
    ref = np.clip(albedo * sh_shading(n, sh), 0, 1)
    assert np.allclose(out, ref, atol=1e-5)
    assert np.isclose(SH_KERNEL[0], np.pi) and np.isclose(SH_KERNEL[8], np.pi / 4)


def test_nearer_triangle_hides_farther():
    near = grid(2, 2, 80, 80, z=50, color=(1, 0, 0))
    far = grid(2, 2, 120, 120, z=-50, color=(0, 0, 1))
    for first, second in ((near, far), (far, near)):
        k = len(first.vertices)
        m = Mesh(np.concatenate([first.vertices, second.vertices]),
                 np.concatenate([first.colors, second.colors]),
                 np.concatenate([first.triangles, second.triangles + k]), None)
        sh = np.zeros((9, 3), np.float32)
        sh[0] = 1 / (np.pi * SH_NORM[0])
        r = render(m, Scene(sh=sh))
        centre = r.image[int(C), int(C)]
        assert centre.tolist() == [255, 0, 0]
        assert abs(r.depth[int(C), int(C)] - 950) < 1e-2
        assert r.image[int(C), int(C) + 40].tolist() == [0, 0, 255]


def test_background_compositing():
    bg = np.random.default_rng(0).integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    r = render(uv_sphere(40), Scene(background=bg))
    assert np.array_equal(r.image[~r.mask], bg[~r.mask])
    assert not np.array_equal(r.image[r.mask], bg[r.mask])
    grey = render(uv_sphere(40))
    assert np.all(grey.image[~grey.mask] == 128)


def test_bad_mesh_raises():
    m = grid(3, 3, 10, 10)
    with pytest.raises(ValueError):
        render(Mesh(m.vertices, m.colors, m.triangles + 100, None))


def _reference_image():
    return render(reference_mesh(), reference_scene()).image


def test_reference_image():
    from PIL import Image
    img = _reference_image()
    if os.environ.get("THESISLIB_REGEN_REFERENCE"):
        REFERENCE.parent.mkdir(exist_ok=True)
        Image.fromarray(img).save(REFERENCE)
    stored = np.asarray(Image.open(REFERENCE).convert("RGB"))
    assert np.abs(stored.astype(float) - img).mean() < 1.0


if __name__ == "__main__" and "--regen" in sys.argv:
    from PIL import Image
    REFERENCE.parent.mkdir(exist_ok=True)
    Image.fromarray(_reference_image()).save(REFERENCE)
    print(f"wrote {REFERENCE}")
