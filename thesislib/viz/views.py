"""3D face views on pyvista: lit faces, error heatmaps on the surface, shape and colour differences,
PCA and label (GAN age/sex) extremes, and a test set's best and worst reconstructions.

Each view draws its panels with :mod:`thesislib.viz.offscreen` (off-screen pyvista, cameras like
the renderer's) and returns a :class:`~thesislib.viz.offscreen.View`: the picture, and the PNG and
offline interactive HTML files asked for with ``png=`` and ``html=``. ``camera`` is a name of
:data:`~thesislib.viz.offscreen.CAMERAS`, a (yaw, pitch, roll) tuple in degrees or a
:class:`thesislib.imaging.scene.Scene`; ``zoom`` shrinks the view angle (``zoom=1`` is the
renderer's framing).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .offscreen import View, _add, _finish, _plotter, _polydata

ERROR_CMAP = "inferno"  # perceptually uniform, lightness increases with the error
DIFFERENCE_CMAP = "RdBu_r"


def face_view(mesh, camera="front", *, size=800, zoom: float = 1.2, lighting: bool = True,
              culling: bool = False, background="white", title=None, png=None, html=None) -> View:
    """One face with its vertex colours, lit (smooth shading, VTK's light kit).

    Parameters
    ----------
    mesh : :class:`thesislib.facemodel.model.Mesh` (vertices (N, 3) mm, colors (N, 3) 0..1)
    camera : name in :data:`~thesislib.viz.offscreen.CAMERAS` ("front", "three-quarter", "profile"),
        (yaw, pitch, roll) degrees, or a :class:`thesislib.imaging.scene.Scene`
    size : int or (width, height), px
    zoom : 1 frames the face as :func:`thesislib.imaging.mesh_render.render` does (face ~70 % of the height)
    lighting : False shows the plain vertex colours
    culling : hide back faces, as the renderer does (default: show them, so the inside of the
        open mask is seen through its rim)
    png, html : paths to write the PNG / the offline interactive HTML to (None: not written)

    Returns
    -------
    :class:`~thesislib.viz.offscreen.View` with image (size, size, 3) uint8
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
    :class:`~thesislib.viz.offscreen.View`, two panels (truth with its colours | prediction in error colours with a
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
