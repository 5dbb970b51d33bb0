"""Face meshes and their files: the :class:`Mesh` value; PLY (vertex colours), OBJ and VTP,
written and read through pyvista/VTK.

:class:`Mesh` lives here, beside its files, and :mod:`thesislib.facemodel.model` (whose instances are
Meshes) imports it from here: the dependency points one way, model -> meshio, and
``thesislib.facemodel.model.Mesh`` stays the public name.

Every format keeps the vertices (float32, mm) and the triangles exactly. Colours:

- ``.ply``: 8-bit ``red green blue`` per vertex (what MeshLab, Blender and CloudCompare
  read); a round trip gives ``round(colors * 255) / 255``.
- ``.obj``: ``v x y z r g b`` lines (the vertex-colour extension MeshLab, Blender and VTK
  read), also 8-bit; pyvista's OBJ writer drops colours, so these lines are written here
  and read back by pyvista's reader.
- ``.vtp``: the float32 colours exactly (array ``colors``) beside an 8-bit ``RGB`` array for
  ParaView, and the landmark ids (field data ``landmarks``); the only lossless format.

``Mesh.save(path)`` calls :func:`save_mesh`; :func:`load_mesh` reads any of the three back.
:func:`save_parameter_meshes` writes a batch of parameter vectors as PLY files into a folder
(the suite's ``outputs/<profile>/meshes/``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUFFIXES = (".ply", ".obj", ".vtp")


@dataclass(frozen=True, eq=False)
class Mesh:
    """One face.

    Attributes
    ----------
    vertices : (N, 3) float32, millimetres (x right, y up, z towards the viewer)
    colors : (N, 3) float32, RGB in 0..1
    triangles : (T, 3) int32 vertex indices, counter-clockwise seen from the front
    landmarks : (L,) int vertex ids of landmarks (the model's iBUG 68 where it has
        them), or None. The renderer projects these.
    """

    vertices: np.ndarray
    colors: np.ndarray
    triangles: np.ndarray
    landmarks: np.ndarray | None = None

    def save(self, path) -> Path:
        """Write PLY (vertex colours), OBJ or VTP by suffix (:func:`save_mesh`); returns the path."""
        return save_mesh(self, path)


def _check_path(path, *, writing: bool) -> Path:
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"unknown mesh file suffix {path.suffix!r} in {str(path)!r}: "
                         f"supported suffixes are {', '.join(SUFFIXES)}")
    if writing and not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not "
                                f"exist (create it first; supported suffixes: {', '.join(SUFFIXES)})")
    if not writing and not path.is_file():
        raise FileNotFoundError(f"no mesh file at {str(path)!r}")
    return path


def _rgb8(colors: np.ndarray) -> np.ndarray:
    """(N, 3) colours 0..1 -> (N, 3) uint8, rounded."""
    return np.rint(np.clip(np.asarray(colors, np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def to_polydata(mesh):
    """A :class:`thesislib.facemodel.model.Mesh` as ``pyvista.PolyData``.

    Points are the (N, 3) float32 vertices in mm, cells the (T, 3) triangles; point data
    ``RGB`` (N, 3) uint8 and ``colors`` (N, 3) float32 0..1.
    """
    import pyvista as pv

    vertices = np.ascontiguousarray(mesh.vertices, np.float32)
    tri = np.asarray(mesh.triangles, np.int64)
    poly = pv.PolyData.from_regular_faces(vertices, tri)
    poly.point_data["RGB"] = _rgb8(mesh.colors)
    poly.point_data["colors"] = np.ascontiguousarray(mesh.colors, np.float32)
    return poly


def save_mesh(mesh, path) -> Path:
    """Write ``mesh`` to ``path``; the suffix (.ply, .obj, .vtp) picks the format.

    Parameters
    ----------
    mesh : :class:`thesislib.facemodel.model.Mesh` (vertices (N, 3) mm, colors (N, 3) 0..1, triangles (T, 3))
    path : str or Path; its folder must exist

    Returns
    -------
    Path written. Raises ValueError for an unknown suffix (the message lists the supported
    ones) and FileNotFoundError for a missing folder.
    """
    path = _check_path(path, writing=True)
    suffix = path.suffix.lower()
    if suffix == ".obj":
        _write_obj(mesh, path)
        return path
    poly = to_polydata(mesh)
    if suffix == ".ply":
        del poly.point_data["colors"]
        poly.save(path, binary=True, texture="RGB", recompute_normals=False)
    else:
        if mesh.landmarks is not None:
            poly.field_data["landmarks"] = np.asarray(mesh.landmarks, np.int64)
        poly.save(path, binary=True)
    return path


def _write_obj(mesh, path: Path) -> None:
    v = np.asarray(mesh.vertices, np.float32).astype(np.float64)
    # VTK's OBJ reader truncates colour * 255: write the middle of each 8-bit step
    c = np.minimum((_rgb8(mesh.colors) + 0.5) / 255.0, 1.0)
    tri = np.asarray(mesh.triangles, np.int64) + 1
    with open(path, "w", encoding="ascii") as f:
        f.write("# thesislib face mesh: vertices in mm, per-vertex RGB colours\n")
        np.savetxt(f, np.hstack([v, c]), fmt="v %.9g %.9g %.9g %.6f %.6f %.6f")
        np.savetxt(f, tri, fmt="f %d %d %d")


def load_mesh(path):
    """Read a mesh written by :func:`save_mesh` (or any triangle PLY/OBJ/VTP).

    Parameters
    ----------
    path : str or Path, suffix .ply, .obj or .vtp

    Returns
    -------
    :class:`thesislib.facemodel.model.Mesh` with vertices (N, 3) float32 mm, colors (N, 3) float32 0..1
    (mid-grey where the file has none), triangles (T, 3) int32, landmarks from a VTP (else None).
    Raises ValueError for an unknown suffix or non-triangle faces, FileNotFoundError for a
    missing file.
    """
    import pyvista as pv

    path = _check_path(path, writing=False)
    poly = pv.read(path)
    if not isinstance(poly, pv.PolyData):
        poly = poly.extract_surface(algorithm=None)
    if poly.n_cells and not poly.is_all_triangles:
        raise ValueError(f"{str(path)!r} holds faces that are not triangles")
    vertices = np.ascontiguousarray(poly.points, np.float32)
    triangles = np.ascontiguousarray(poly.regular_faces if poly.n_cells else np.zeros((0, 3)), np.int32)
    data = poly.point_data
    if "colors" in data and data["colors"].dtype.kind == "f":
        colors = np.ascontiguousarray(data["colors"], np.float32)
    else:
        key = next((k for k in ("RGB", "RGBA") if k in data), None)
        if key is None:
            colors = np.full(vertices.shape, 0.5, np.float32)
        else:
            colors = (np.asarray(data[key])[:, :3].astype(np.float32) / np.float32(255.0))
    landmarks = (np.asarray(poly.field_data["landmarks"], np.int64)
                 if "landmarks" in poly.field_data else None)
    return Mesh(vertices, colors, triangles, landmarks)


def save_parameter_meshes(model, params, folder, names=None, suffix: str = ".ply") -> list[Path]:
    """Write the mesh of each parameter vector into ``folder`` (created if missing).

    Parameters
    ----------
    model : truncated :class:`thesislib.facemodel.model.MorphableModel`; its n_shape/n_color
        decide the parameter layout
    params : (n, d) array of parameter vectors in sd (``n_shape`` shape then ``n_color``
        colour coefficients, then expression where the model has it)
    folder : str or Path, e.g. ``outputs/<profile>/meshes/<group>``
    names : n file stems (characters other than letters, digits, ``.``, ``_``, ``-`` become
        ``_``), or None for ``face_000``, ``face_001``, ...
    suffix : ".ply" (default), ".obj" or ".vtp"

    Returns
    -------
    list of n Paths written.
    """
    params = np.atleast_2d(np.asarray(params, np.float64))
    names = ([f"face_{i:03d}" for i in range(len(params))] if names is None
             else [safe_name(n, f"face_{i:03d}") for i, n in enumerate(names)])
    if len(names) != len(params):
        raise ValueError(f"got {len(params)} parameter vectors but {len(names)} names")
    if suffix.lower() not in SUFFIXES:
        raise ValueError(f"unknown mesh file suffix {suffix!r}: supported suffixes are {', '.join(SUFFIXES)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [save_mesh(mesh_from_params(model, p), folder / f"{name}{suffix}")
            for name, p in zip(names, params)]


def safe_name(name, default: str = "face") -> str:
    """``name`` as a file stem: runs of characters other than letters, digits, ``.``, ``_``, ``-``
    become ``_`` (``default`` when nothing is left)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or default


def mesh_from_params(model, p):
    """The model instance of one parameter vector in sd: ``model.n_shape`` shape, ``model.n_color``
    colour coefficients, the rest expression (``model``: truncated MorphableModel; its
    n_shape/n_color decide the parameter layout)."""
    p = np.asarray(p, np.float64).ravel()
    ns, nc = model.n_shape, model.n_color
    if p.size < ns + nc:
        raise ValueError(f"a parameter vector needs at least {ns + nc} values (shape + colour), got {p.size}")
    expression = p[ns + nc:] if p.size > ns + nc else None
    return model.instance(shape=p[:ns], color=p[ns:ns + nc], expression=expression)
