"""Render throughput: thesislib's numba rasterizer vs pyvista off-screen, same meshes.

Run ``python benchmarks/render.py [--n 400] [--n-pyvista 60]``. Prints images/s at
227 x 227 per core (process CPU time after a warm-up) for

* thesislib.imaging.mesh_render.render with SH light: normals and shading recomputed per render,
  uint8 image, depth, mask and landmarks returned;
* pyvista/VTK off-screen (EGL, Mesa llvmpipe) in its cheapest setting: unlit vertex
  colours, ``plotter.render()`` before each ``screenshot()`` (else the frame is stale);

and their ratio. Every render gets a distinct face (the default model's instances,
with a little per-render vertex noise) so nothing is cached between renders. Falls
back to a ~28k-vertex relief grid when the default model is not importable.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402

from thesislib.facemodel import Mesh  # noqa: E402
from thesislib.imaging import Workspace, render  # noqa: E402
from thesislib.imaging import IMAGE_SIZE, Scene, default_scene  # noqa: E402


def relief_grid(nx=170, ny=170) -> Mesh:
    """Fallback face-sized mesh: a 150 x 200 mm relief, 28.9k vertices, 57k triangles."""
    x, y = np.linspace(-75, 75, nx), np.linspace(-100, 100, ny)
    X, Y = np.meshgrid(x, y)
    Z = 70 * np.exp(-(X ** 2 / 3000 + Y ** 2 / 6000)) + 30 * np.exp(-(X ** 2 / 150 + Y ** 2 / 700))
    v = np.stack([X, Y, Z], -1).reshape(-1, 3).astype(np.float32)
    idx = np.arange(nx * ny).reshape(ny, nx)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    t = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                        np.stack([a, c, d], -1).reshape(-1, 3)]).astype(np.int32)
    col = np.stack([0.8 + 0 * X, 0.6 + 0.05 * np.sin(X / 10), 0.5 + 0 * Y], -1)
    return Mesh(v, col.reshape(-1, 3).astype(np.float32), t, np.array([0, len(v) // 2]))


def face_meshes(k: int, rng: np.random.Generator):
    """``k`` distinct meshes (default model instances, or jittered relief grids) and a name."""
    try:
        from thesislib.facemodel import default_model
        model = default_model()
        ns, nc = min(model.shape.n_components, 50), min(model.color.n_components, 50)
        verts, cols = model.instances(shape=rng.normal(size=(k, ns)), color=rng.normal(size=(k, nc)))
        meshes = [Mesh(v.astype(np.float32), c.astype(np.float32), model.triangles,
                       model.landmark_ids) for v, c in zip(verts, cols)]
        name = f"default model ({model.n_vertices} vertices, {len(model.triangles)} triangles)"
    except Exception as e:  # noqa: BLE001 - any failure falls back, and says why
        base = relief_grid()
        meshes = [Mesh(base.vertices, base.colors, base.triangles, base.landmarks)] * k
        name = (f"relief grid ({len(base.vertices)} vertices, {len(base.triangles)} triangles; "
                f"default_model unavailable: {type(e).__name__})")
    # a little per-render vertex noise on top: no two renders see the same vertices
    out = [Mesh(m.vertices + rng.normal(0, 0.05, m.vertices.shape).astype(np.float32),
                m.colors, m.triangles, m.landmarks) for m in meshes]
    return out, name


def bench_thesislib(meshes, n: int, scene: Scene, workspace=None) -> float:
    """Images/s per core (process CPU time) over ``n`` renders after a warm-up."""
    for m in meshes[:3]:
        render(m, scene, workspace=workspace)
    t0 = time.process_time()
    for i in range(n):
        r = render(meshes[i % len(meshes)], scene, workspace=workspace)
    dt = time.process_time() - t0
    assert r.image.dtype == np.uint8 and r.image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    return n / dt


def bench_pyvista(meshes, n: int, scene: Scene):
    """Images/s (process CPU time, llvmpipe threads included) for unlit vertex colours,
    and the last screenshot (227, 227, 3) uint8."""
    import pyvista as pv

    m0 = meshes[0]
    faces = np.hstack([np.full((len(m0.triangles), 1), 3), m0.triangles]).astype(np.int64).ravel()
    poly = pv.PolyData(m0.vertices.astype(np.float32).copy(), faces)
    poly.point_data["rgb"] = (m0.colors * 255).astype(np.uint8)
    pl = pv.Plotter(off_screen=True, window_size=(IMAGE_SIZE, IMAGE_SIZE))
    pl.add_mesh(poly, scalars="rgb", rgb=True, lighting=False, show_scalar_bar=False)
    pl.set_background((0.5, 0.5, 0.5))
    cam = pl.camera
    cam.position, cam.focal_point, cam.up = (0, 0, scene.distance), (0, 0, 0), (0, 1, 0)
    cam.view_angle = float(np.degrees(2 * np.arctan(IMAGE_SIZE / 2 / scene.focal)))
    cam.clipping_range = (scene.distance * 0.5, scene.distance * 1.5)

    def one(m):
        poly.points[:] = m.vertices
        poly.point_data["rgb"][:] = (m.colors * 255).astype(np.uint8)
        poly.Modified()
        pl.render()
        return pl.screenshot(return_img=True)

    for m in meshes[:3]:
        one(m)
    t0 = time.process_time()
    for i in range(n):
        img = one(meshes[i % len(meshes)])
    dt = time.process_time() - t0
    assert img.shape[:2] == (IMAGE_SIZE, IMAGE_SIZE)
    pl.close()
    return n / dt, np.asarray(img)[..., :3]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=400, help="thesislib renders to time")
    ap.add_argument("--n-pyvista", type=int, default=60, help="pyvista renders to time")
    ap.add_argument("--distinct", type=int, default=100, help="distinct meshes to cycle through")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    meshes, name = face_meshes(args.distinct, rng)
    scene = default_scene()
    print(f"mesh: {name}; image {IMAGE_SIZE}x{IMAGE_SIZE}; CPU time per core")
    ours = bench_thesislib(meshes, args.n, scene)
    print(f"thesislib render() (numba, SH light, normals per render): {ours:8.1f} images/s "
          f"({1e3 / ours:.2f} ms/image)")
    reuse = bench_thesislib(meshes, args.n, scene, Workspace())
    print(f"  same, reusing a Workspace (as render_batch does):      {reuse:8.1f} images/s "
          f"({1e3 / reuse:.2f} ms/image)")
    try:
        theirs, shot = bench_pyvista(meshes, args.n_pyvista, scene)
    except Exception as e:  # noqa: BLE001 - report, don't hide the main number
        print(f"pyvista off-screen unavailable: {type(e).__name__}: {e}")
        return
    print(f"pyvista off-screen (unlit vertex colours):                 {theirs:8.1f} images/s "
          f"({1e3 / theirs:.2f} ms/image)")
    # same picture? compare silhouettes of the last mesh
    mask = render(meshes[(args.n_pyvista - 1) % len(meshes)], scene).mask
    theirs_mask = np.abs(shot.astype(int) - 128).max(-1) > 2
    iou = (mask & theirs_mask).sum() / max((mask | theirs_mask).sum(), 1)
    print(f"silhouette IoU thesislib vs pyvista: {iou:.3f}")
    print(f"ratio thesislib render() / pyvista: {ours / theirs:.1f}x "
          f"(with Workspace {reuse / theirs:.1f}x; targets: >= 400 images/s, >= 12x)")


if __name__ == "__main__":
    main()
