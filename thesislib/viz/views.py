"""3D face views on pyvista: lit meshes, error heatmaps on the surface, PCA and GAN extremes.

Every view renders off-screen (VTK through EGL on a headless machine) and returns a
:class:`View`: the picture as an (H, W, 3) uint8 array, optionally written as a PNG, and
optionally an **interactive HTML file that works offline**: pyvista's trame exporter
(``trame-pyvista``/``trame-vtk``, installed with ``pyvista[jupyter]``) writes one self-contained
page of about 2 MB per face (vtk.js and the meshes inlined); the only outside requests it
makes are favicon links to the vtk.js site, which :func:`export_html` removes (checked in
headless Chromium by ``tests/browser/test_views_html.py``). Panel titles are in the PNG only; the
HTML shows the meshes, their colours, colour maps and scalar bars, and turns with the mouse.
Without trame installed, ``html=`` warns and the view keeps its PNG.

Cameras match :func:`thesislib.imaging.mesh_render.render`: the face is posed by
``R = Rz(roll) Ry(yaw) Rx(pitch)`` about the model origin, a pinhole camera sits on +z at
``distance`` mm looking down -z with a focal length of ``focal`` px for a 227 px image
(vertical view angle ``2 atan(113.5 / focal)``). Named cameras (:data:`CAMERAS`) are poses of
the default scene; ``zoom`` shrinks the view angle (``zoom=1`` is the renderer's framing).
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # headless, no X server

#: named cameras: (yaw, pitch, roll) in degrees; positive yaw turns the nose to image right
CAMERAS = {"front": (0.0, 0.0, 0.0), "three-quarter": (35.0, 0.0, 0.0), "profile": (90.0, 0.0, 0.0)}
REFERENCE_SIZE = 227  # px, the image size the renderer's focal length refers to
ERROR_CMAP = "inferno"  # perceptually uniform, lightness increases with the error
DIFFERENCE_CMAP = "RdBu_r"


@dataclass(frozen=True, eq=False)
class View:
    """One rendered view.

    Attributes
    ----------
    image : (H, W, 3) uint8 RGB
    png : Path of the PNG written, or None
    html : Path of the offline interactive HTML written, or None
    """

    image: np.ndarray
    png: Path | None = None
    html: Path | None = None

    def _repr_png_(self):  # shows itself in a notebook
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(self.image).save(buf, format="PNG")
        return buf.getvalue()


def camera_pose(camera="front"):
    """(rotation (3, 3), translation (3,) mm or None, distance mm, focal px at 227 px) of a camera.

    ``camera`` is a name of :data:`CAMERAS`, a (yaw, pitch, roll) tuple in degrees, or a
    :class:`thesislib.imaging.scene.Scene` (its pose, translation, distance and focal are used: the
    renderer's exact view). Translation None (names and tuples) means: turn the face about
    its bounding-box centre and put that centre on the view axis.
    """
    from thesislib.imaging import DEFAULT_DISTANCE, DEFAULT_FOCAL, Scene, rotation_matrix

    if isinstance(camera, Scene):
        return camera.rotation, np.asarray(camera.translation, np.float64), float(camera.distance), float(camera.focal)
    if isinstance(camera, str):
        if camera not in CAMERAS:
            raise ValueError(f"unknown camera {camera!r}: choose one of {', '.join(CAMERAS)} "
                             "or pass (yaw, pitch, roll) or a Scene")
        camera = CAMERAS[camera]
    yaw, pitch, roll = (float(a) for a in camera)
    return rotation_matrix(yaw, pitch, roll), None, DEFAULT_DISTANCE, DEFAULT_FOCAL


def _polydata(mesh, vertices=None):
    from thesislib.facemodel import to_polydata

    poly = to_polydata(mesh)
    if vertices is not None:
        poly.points = np.asarray(vertices, np.float32)
    return poly


def _plotter(rows: int, cols: int, size, background):
    import pyvista as pv

    w, h = (size, size) if np.isscalar(size) else size
    p = pv.Plotter(off_screen=True, shape=(rows, cols), window_size=(cols * int(w), rows * int(h)),
                   border=False, lighting="light_kit")
    p.set_background(background)
    p.enable_anti_aliasing("ssaa")  # the one EGL supports well; about as fast as none on llvmpipe
    return p


def _add(p, mesh, camera, *, vertices=None, scalars=None, clim=None, cmap=ERROR_CMAP,
         bar_title=None, lighting=True, zoom=1.0, title=None, culling=False):
    """Add one posed face to the current subplot and aim its camera like the renderer."""
    rotation, translation, distance, focal = camera_pose(camera)
    v = np.asarray(mesh.vertices if vertices is None else vertices, np.float64)
    if translation is None:
        centre = (v.min(0) + v.max(0)) / 2
        v, translation = v - centre, np.zeros(3)
    poly = _polydata(mesh, v @ rotation.T + translation)
    kw = dict(smooth_shading=True, lighting=lighting, show_scalar_bar=False,
              culling="back" if culling else None)
    if scalars is None:
        p.add_mesh(poly, scalars="RGB", rgb=True, **kw)
    else:
        poly.point_data["value"] = np.asarray(scalars, np.float32)
        kw["show_scalar_bar"] = bar_title is not None
        p.add_mesh(poly, scalars="value", cmap=cmap, clim=clim, interpolate_before_map=True,
                   scalar_bar_args=dict(title=bar_title or "", vertical=True, position_x=0.84,
                                        position_y=0.1, height=0.8, width=0.08, fmt="%.1f",
                                        color="black"),
                   **kw)
    p.camera_position = [(0.0, 0.0, distance), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0)]
    p.camera.view_angle = math.degrees(2 * math.atan(REFERENCE_SIZE / 2 / (focal * zoom)))
    p.camera.clipping_range = (max(distance - 400.0, 1.0), distance + 400.0)
    if title:
        p.add_text(str(title), font_size=9, color="black", position="upper_edge")


def _finish(p, png, html) -> View:
    p.render()  # screenshot() returns a stale frame without it
    image = np.ascontiguousarray(p.screenshot(return_img=True)[..., :3])
    png_path = html_path = None
    if png is not None:
        from PIL import Image

        png_path = Path(png)
        Image.fromarray(image).save(png_path, optimize=True)
    if html is not None:
        html_path = export_html(p, html)
    p.close()
    return View(image, png_path, html_path)


#: vtk.js adds <link rel=icon> tags pointing at its web site; an offline page must not ask for them
_FAVICON = "https://kitware.github.io/vtk-js/icon/favicon-${t}x${t}.png"


def show(view: View, report_dir=None, caption: str = "interactive 3D view") -> None:
    """Display a view in a notebook: its PNG, and a link to its HTML file (relative to
    ``report_dir``, the folder the exported report lands in, so the link works offline)."""
    from IPython.display import Markdown, display

    display(view)
    if view.html is not None:
        href = Path(view.html)
        if report_dir is not None:
            href = Path(os.path.relpath(href, Path(report_dir)))
        display(Markdown(f"[{caption} (opens offline, turn it with the mouse)]({href.as_posix()})"))


@contextlib.contextmanager
def _no_wasm_download():
    """The export starts pyvista's trame server, which loads trame-vtklocal, and that downloads
    VTK's WebAssembly viewer from the internet on first start unless ``VTK_WASM_DIR_OVERRIDE``
    names a folder. The vtk.js page needs no wasm: an empty folder stops the download (and the
    line trame-vtklocal prints about it); a folder the user set is left alone."""
    if os.environ.get("VTK_WASM_DIR_OVERRIDE"):
        yield
        return
    with tempfile.TemporaryDirectory() as empty, contextlib.redirect_stdout(io.StringIO()):
        os.environ["VTK_WASM_DIR_OVERRIDE"] = empty
        try:
            yield
        finally:
            os.environ.pop("VTK_WASM_DIR_OVERRIDE", None)


def export_html(plotter, path) -> Path | None:
    """Write ``plotter``'s scene as a self-contained interactive HTML page (vtk.js, offline).

    Returns the path, or None (with a warning) where trame-pyvista is not installed.
    The page inlines vtk.js and the meshes; its favicon links to the vtk.js site become
    ``data:`` URLs, so it requests nothing outside the file.
    """
    path = Path(path)
    try:
        with _no_wasm_download():
            plotter.trame.export_html(path)
    except (ImportError, ModuleNotFoundError, AttributeError) as exc:  # pyvista says to install trame-pyvista
        warnings.warn(f"no interactive HTML view ({exc}); install pyvista[jupyter] for it. "
                      "The PNG view is kept.", stacklevel=3)
        return None
    text = path.read_text(encoding="utf-8")
    text = text.replace(_FAVICON, "data:,")
    path.write_text(text, encoding="utf-8")
    return path


def face_view(mesh, camera="front", *, size=800, zoom: float = 1.2, lighting: bool = True,
              culling: bool = False, background="white", title=None, png=None, html=None) -> View:
    """One face with its vertex colours, lit (smooth shading, VTK's light kit).

    Parameters
    ----------
    mesh : :class:`thesislib.facemodel.model.Mesh` (vertices (N, 3) mm, colors (N, 3) 0..1)
    camera : name in :data:`CAMERAS` ("front", "three-quarter", "profile"), (yaw, pitch, roll)
        degrees, or a :class:`thesislib.imaging.scene.Scene`
    size : int or (width, height), px
    zoom : 1 frames the face as :func:`thesislib.imaging.mesh_render.render` does (face ~70 % of the height)
    lighting : False shows the plain vertex colours
    culling : hide back faces, as the renderer does (default: show them, so the inside of the
        open mask is seen through its rim)
    png, html : paths to write the PNG / the offline interactive HTML to (None: not written)

    Returns
    -------
    :class:`View` with image (size, size, 3) uint8
    """
    p = _plotter(1, 1, size, background)
    _add(p, mesh, camera, lighting=lighting, zoom=zoom, title=title, culling=culling)
    return _finish(p, png, html)


def faces_view(meshes, titles=None, camera="front", *, cols=None, size=400, zoom: float = 1.05,
               lighting: bool = True, background="white", png=None, html=None) -> View:
    """Several faces side by side (a grid of ``cols`` columns, default one row)."""
    meshes = list(meshes)
    cols = len(meshes) if cols is None else int(cols)
    rows = -(-len(meshes) // cols)
    titles = [None] * len(meshes) if titles is None else list(titles)
    p = _plotter(rows, cols, size, background)
    for i, (m, t) in enumerate(zip(meshes, titles)):
        p.subplot(i // cols, i % cols)
        _add(p, m, camera, lighting=lighting, zoom=zoom, title=t)
    return _finish(p, png, html)


def error_colors(error, clim=None, cmap: str = ERROR_CMAP) -> np.ndarray:
    """The colours :func:`error_view` paints: (N,) error mm -> (N, 3) uint8 RGB of ``cmap``
    over ``clim`` = (low, high) mm (default (0, max error)), clipped at both ends."""
    import matplotlib

    e = np.asarray(error, np.float64)
    lo, hi = (0.0, float(e.max()) if e.size else 1.0) if clim is None else clim
    t = np.clip((e - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    return (matplotlib.colormaps[cmap](t)[:, :3] * 255 + 0.5).astype(np.uint8)


def error_view(prediction, truth, error=None, camera="front", *, clim=None, cmap: str = ERROR_CMAP,
               size=500, zoom: float = 1.05, lighting: bool = True, titles=("truth", "prediction"),
               background="white", png=None, html=None) -> View:
    """A reconstruction beside its truth, the per-vertex error in mm painted on the prediction.

    Parameters
    ----------
    prediction, truth : :class:`thesislib.facemodel.model.Mesh` with the same vertices and triangles
    error : (N,) per-vertex error, mm; None for :func:`thesislib.evaluation.metrics.vertex_error`
        (distance after rigid alignment)
    clim : (low, high) mm of the colour map; None for (0, max error). Pass the same clim to
        compare several views.
    cmap : matplotlib colour map name (default "inferno": dark = small, bright = large)
    titles : the two panel titles; the error panel adds its mean error

    Returns
    -------
    :class:`View`, two panels (truth with its colours | prediction in error colours with a
    scalar bar in mm). The prediction is drawn rigidly aligned onto the truth.
    """
    from thesislib.evaluation import rigid_align, vertex_error

    if np.shape(prediction.vertices) != np.shape(truth.vertices):
        raise ValueError(f"prediction and truth differ in vertices: {np.shape(prediction.vertices)} "
                         f"vs {np.shape(truth.vertices)}")
    aligned = rigid_align(prediction.vertices, truth.vertices)
    error = vertex_error(prediction.vertices, truth.vertices) if error is None else np.asarray(error)
    clim = (0.0, float(np.max(error))) if clim is None else tuple(clim)
    p = _plotter(1, 2, size, background)
    p.subplot(0, 0)
    _add(p, truth, camera, lighting=lighting, zoom=zoom, title=titles[0])
    p.subplot(0, 1)
    _add(p, prediction, camera, vertices=aligned, scalars=error, clim=clim, cmap=cmap,
         bar_title="error (mm)", lighting=lighting, zoom=zoom,
         title=f"{titles[1]}: mean {float(np.mean(error)):.2f} mm")
    p.link_views()
    return _finish(p, png, html)


def difference_view(a, b, camera="front", *, clim=None, cmap: str = DIFFERENCE_CMAP, size=600,
                    zoom: float = 1.1, title=None, background="white", png=None, html=None,
                    measure: str = "shape") -> View:
    """Where ``b`` differs from ``a``, painted on ``a`` (e.g. the 80-year minus the 18-year face).

    measure : "shape": signed displacement along ``a``'s normals, mm (red outside, blue inside);
        "color": brightness change, the mean of the RGB differences in 0..255 units
        (red lighter, blue darker: grey hair, wrinkle lines, spots)
    clim : (low, high); None for a symmetric range of the largest difference.
    """
    if measure == "color":
        d = 255.0 * (np.asarray(b.colors, np.float64) - np.asarray(a.colors, np.float64)).mean(1)
    elif measure == "shape":
        pa = _polydata(a).compute_normals(point_normals=True, cell_normals=False, split_vertices=False,
                                          consistent_normals=False, auto_orient_normals=False)
        d = np.einsum("ij,ij->i", np.asarray(b.vertices, np.float64) - np.asarray(a.vertices, np.float64),
                      np.asarray(pa.point_data["Normals"], np.float64))
    else:
        raise ValueError(f"measure must be 'shape' or 'color', got {measure!r}")
    m = float(np.max(np.abs(d))) or 1.0
    clim = (-m, m) if clim is None else tuple(clim)
    p = _plotter(1, 1, size, background)
    _add(p, a, camera, scalars=d, clim=clim, cmap=cmap, bar_title="mm" if measure == "shape" else "RGB",
         zoom=zoom, title=title)
    return _finish(p, png, html)


def pca_extremes_view(model, part: str = "shape", components=(0, 1, 2), sigma: float = 3.0,
                      camera="front", *, size=360, zoom: float = 1.05, png=None, html=None) -> View:
    """The first PCA components at -sigma | mean | +sigma, one row per component.

    Parameters
    ----------
    model : :class:`thesislib.facemodel.model.MorphableModel`
    part : "shape", "color" or "expression"
    components : 0-based component indices (one row each)
    sigma : float, standard deviations (thesis figures: 3)
    """
    if part not in ("shape", "color", "expression"):
        raise ValueError(f"part must be 'shape', 'color' or 'expression', got {part!r}")
    k = getattr(model, part).n_components
    components = [c for c in components if c < k]
    if not components:
        raise ValueError(f"the model's {part} part has {k} components")
    meshes, titles = [], []
    for c in components:
        for s in (-sigma, 0.0, sigma):
            coef = np.zeros(k)
            coef[c] = s
            meshes.append(model.instance(**{part: coef}))
            titles.append(f"{part} {c + 1}: {s:+g} sd" if s else f"{part} {c + 1}: mean")
    return faces_view(meshes, titles, camera, cols=3, size=size, zoom=zoom, png=png, html=html)


def label_extremes_view(meshes, labels, camera="front", *, cols=None, size=400, zoom: float = 1.05,
                        png=None, html=None) -> View:
    """Faces at label extremes side by side, each titled by its label (e.g. the GAN's
    "female, 18" | "female, 80" | "male, 18" | "male, 80")."""
    meshes = list(meshes)
    if len(meshes) != len(labels):
        raise ValueError(f"got {len(meshes)} meshes but {len(labels)} labels")
    return faces_view(meshes, [str(x) for x in labels], camera, cols=cols, size=size, zoom=zoom,
                      png=png, html=html)


@dataclass(frozen=True, eq=False)
class Case:
    """One reconstruction of a test set: which, how good, and its view."""

    kind: str  # "best" or "worst"
    index: int  # row in the test set
    mean_error: float  # mm, mean per-vertex error after rigid alignment
    view: View


def reconstruction_extremes(model, predicted, truth, n: int = 2, camera="front", *, folder=None,
                            html: bool = False, names=None, size=450) -> list[Case]:
    """The ``n`` best and ``n`` worst reconstructions of a test set as error heatmap views.

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout
    predicted, truth : (m, d) parameter vectors in sd (n_shape shape, then n_color colour)
    n : cases per end
    folder : where to write ``<kind>_<i>.png`` (and ``.html`` with ``html=True``) and each case's
        meshes ``<kind>_<i>_truth.ply`` / ``<kind>_<i>_prediction.ply``; None writes nothing
    names : m case names for the files (default the test-set row)

    Returns
    -------
    list of :class:`Case`, best first then worst (worst last); all views share one colour
    range (0 to the largest error among the cases), so their colours compare.
    """
    from thesislib.facemodel import mesh_from_params, safe_name
    from thesislib.evaluation import vertex_error

    predicted, truth = np.atleast_2d(predicted), np.atleast_2d(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted {predicted.shape} and truth {truth.shape} differ")
    def mesh(p):
        return mesh_from_params(model, p)

    errors = [vertex_error(mesh(p).vertices, mesh(t).vertices) for p, t in zip(predicted, truth)]
    mean = np.array([e.mean() for e in errors])
    order = np.argsort(mean, kind="stable")
    n = min(n, len(order) // 2 if len(order) > 1 else 1)
    picks = [("best", int(i)) for i in order[:n]] + [("worst", int(i)) for i in order[::-1][:n][::-1]]
    clim = (0.0, float(max(errors[i].max() for _, i in picks)))
    folder = None if folder is None else Path(folder)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for kind, i in picks:
        name = f"{kind}_{i if names is None else safe_name(names[i], str(i))}"
        pm, tm = mesh(predicted[i]), mesh(truth[i])
        view = error_view(pm, tm, errors[i], camera, clim=clim, size=size,
                          titles=(f"truth #{i}", f"{kind}"),
                          png=None if folder is None else folder / f"{name}.png",
                          html=folder / f"{name}.html" if folder is not None and html else None)
        if folder is not None:
            tm.save(folder / f"{name}_truth.ply")
            pm.save(folder / f"{name}_prediction.ply")
        cases.append(Case(kind, i, float(mean[i]), view))
    return cases
