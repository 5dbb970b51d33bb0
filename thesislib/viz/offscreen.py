"""Off-screen pyvista views: the plotter, cameras like the renderer's, the PNG and the offline HTML.

Every view of :mod:`thesislib.viz.views` renders off-screen (VTK through EGL on a headless
machine) and returns a :class:`View`: the picture as an (H, W, 3) uint8 array, optionally written
as a PNG, and optionally an **interactive HTML file that works offline**: pyvista's trame exporter
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


def _add(p, mesh, camera, *, vertices=None, scalars=None, clim=None, cmap=None,
         bar_title=None, lighting=True, zoom=1.0, title=None, culling=False):
    """Add one posed face to the current subplot and aim its camera like the renderer; ``scalars``
    (N,) are painted with ``cmap`` over ``clim``, else the vertex colours are shown."""
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
