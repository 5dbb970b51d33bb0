"""Morphable face models: PCA parts, instances, the BFM 2017 loader.

A face is described by coefficient vectors in units of standard deviations,
one per part (``shape``, ``color``, ``expression``). Each part is a PCA model

    instance = mean + basis @ (sqrt(variance) * coefficients)

with ``mean`` of length 3N (interleaved x, y, z per vertex), ``basis`` of
shape (3N, K) with orthonormal columns and ``variance`` of length K.
Coordinates are in millimetres; colours are RGB in 0..1.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .meshio import Mesh  # instances are Meshes; public here as thesislib.model.Mesh
from .procedural import build_cached

PARTS = ("shape", "color", "expression")


@dataclass(frozen=True, eq=False)
class PcaPart:
    """One PCA part of a morphable model.

    Attributes
    ----------
    mean : (3N,) float32
    basis : (3N, K) float32, orthonormal columns
    variance : (K,) float32, variance of each component (units squared)
    noise_variance : float, isotropic residual variance (Statismo's noiseVariance)
    """

    mean: np.ndarray
    basis: np.ndarray
    variance: np.ndarray
    noise_variance: float = 0.0

    @property
    def n_components(self) -> int:
        return int(self.variance.shape[0])

    def truncated(self, k: int | None) -> "PcaPart":
        """The first ``k`` components (all when ``k`` is None)."""
        if k is None or k >= self.n_components:
            return self
        if k < 0:
            raise ValueError(f"number of components must be >= 0, got {k}")
        # a column-major copy: its transpose, the right operand of the products in offsets(),
        # is C-contiguous (a column slice of the full basis is ~3x slower, a C-order copy ~1.6x)
        return PcaPart(self.mean, np.asfortranarray(self.basis[:, :k]), self.variance[:k].copy(),
                       self.noise_variance)

    def offsets(self, coefficients: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Deviation from the mean for coefficients in standard deviations.

        Parameters
        ----------
        coefficients : (K',) or (B, K') with K' <= K; missing trailing ones are 0.
        out : float32 array of the result's size to write into (reused buffers skip the
            page faults of a fresh one), or None

        Returns
        -------
        (3N,) or (B, 3N) float32 (``out`` reshaped when given)
        """
        c = np.asarray(coefficients, dtype=np.float32)
        single = c.ndim == 1
        c2 = np.atleast_2d(c)
        k = c2.shape[1]
        if k > self.n_components:
            raise ValueError(
                f"got {k} coefficients but this part has only {self.n_components} components")
        scaled = c2 * np.sqrt(self.variance[:k])
        if out is not None:
            out = out.reshape(len(scaled), -1)
        out = np.matmul(scaled, self.basis[:, :k].T, out=out)
        return out[0] if single else out


def _hash_arrays(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class MorphableModel:
    """A 3D morphable face model.

    Attributes
    ----------
    shape, color, expression : PcaPart (expression may have 0 components)
    triangles : (T, 3) int32
    landmarks : dict name -> vertex id. The embedded model names the 68 iBUG
        points ``ibug00`` .. ``ibug67`` (dlib's order).
    name : str, human readable origin
    directions : dict name -> {part: (K,) unit vector in coefficient space}; the
        semantic axes the model knows about (the embedded model: ``sex``, ``age``).
    """

    shape: PcaPart
    color: PcaPart
    expression: PcaPart
    triangles: np.ndarray
    landmarks: dict = field(default_factory=dict)
    name: str = "model"
    directions: dict = field(default_factory=dict)

    @property
    def n_shape(self) -> int:
        """Shape components: the first ``n_shape`` entries of a parameter vector."""
        return self.shape.n_components

    @property
    def n_color(self) -> int:
        """Colour components: the next ``n_color`` entries of a parameter vector."""
        return self.color.n_components

    @property
    def n_params(self) -> int:
        """Length of a parameter vector [shape | color]: ``n_shape + n_color``."""
        return self.n_shape + self.n_color

    @property
    def n_vertices(self) -> int:
        return self.shape.mean.shape[0] // 3

    @property
    def mean_mesh(self) -> Mesh:
        return self.instance()

    @property
    def ibug68(self) -> np.ndarray | None:
        """Vertex ids of the 68 iBUG landmarks in dlib's order, when the model has them."""
        names = [f"ibug{i:02d}" for i in range(68)]
        if all(n in self.landmarks for n in names):
            return np.array([self.landmarks[n] for n in names], dtype=np.int64)
        return None

    @property
    def landmark_ids(self) -> np.ndarray | None:
        """The iBUG 68 ids when the model has them, else every named landmark in order."""
        ids = self.ibug68
        if ids is None and self.landmarks:
            ids = np.array(list(self.landmarks.values()), dtype=np.int64)
        return ids

    @property
    def fingerprint(self) -> str:
        """Stable hash of every array; equal models give equal fingerprints."""
        arrays = []
        for p in PARTS:
            part = getattr(self, p)
            arrays += [part.mean, part.basis, part.variance]
        arrays.append(self.triangles)
        arrays.append(np.array(sorted(self.landmarks.items()), dtype=object).astype(str))
        return _hash_arrays(arrays)

    def truncated(self, n_shape=None, n_color=None, n_expression=None) -> "MorphableModel":
        """The same model with fewer components per part (directions cut to match)."""
        counts = dict(shape=n_shape, color=n_color, expression=n_expression)
        parts = {p: getattr(self, p).truncated(counts[p]) for p in PARTS}
        directions = {name: {p: v[: parts[p].n_components] for p, v in d.items()}
                      for name, d in self.directions.items()}
        return MorphableModel(**parts, triangles=self.triangles, landmarks=self.landmarks,
                              name=self.name, directions=directions)

    def vertices(self, shape=None, expression=None, out=None) -> np.ndarray:
        """Vertex positions, (N, 3) for 1-D coefficients or (B, N, 3) for 2-D ones (into
        ``out``, float32 of that size, when given)."""
        out = self._part_values(self.shape, shape, out)
        if expression is not None and self.expression.n_components:
            e = self.expression.offsets(expression)
            if out.shape == np.broadcast_shapes(out.shape, e.shape):
                out += e
            else:  # one shape, a batch of expressions
                out = out + e
        return out.reshape(out.shape[:-1] + (-1, 3))

    def colors(self, color=None, out=None) -> np.ndarray:
        """Vertex colours clipped to 0..1, (N, 3) or (B, N, 3) (into ``out`` when given)."""
        out = self._part_values(self.color, color, out)
        return np.clip(out, 0.0, 1.0, out=out).reshape(out.shape[:-1] + (-1, 3))

    @staticmethod
    def _part_values(part: PcaPart, coefficients, out=None) -> np.ndarray:
        """mean + offsets, summed in place (no temporary of the instance's size)."""
        if coefficients is None:
            if out is None:
                return part.mean.copy()
            out = out.reshape(-1)
            out[:] = part.mean
            return out
        out = part.offsets(coefficients, out)
        out += part.mean
        return out

    def instance(self, shape=None, color=None, expression=None) -> Mesh:
        """The face for coefficient vectors in standard deviations (missing = 0)."""
        for name, c in (("shape", shape), ("color", color), ("expression", expression)):
            if c is not None and np.ndim(c) != 1:
                raise ValueError(f"{name} must be a 1-D coefficient vector; use instances() for batches")
        return Mesh(self.vertices(shape, expression).astype(np.float32, copy=False),
                    self.colors(color).astype(np.float32, copy=False), self.triangles, self.landmark_ids)

    def instances(self, shape=None, color=None, expression=None, out=None):
        """Batched form: (B, K) coefficient arrays -> vertices (B, N, 3), colors (B, N, 3)
        float32, summed in place (into ``out`` = two such arrays when given, e.g. buffers
        reused across batches)."""
        b = {np.shape(c)[0] for c in (shape, color, expression) if c is not None}
        if len(b) > 1:
            raise ValueError(f"batch sizes differ: {sorted(b)}")
        n = b.pop() if b else 1
        vout, cout = (None, None) if out is None else out
        v = self.vertices(np.zeros((n, 0)) if shape is None else shape,
                          None if expression is None else np.atleast_2d(expression), vout)
        c = self.colors(np.zeros((n, 0)) if color is None else color, cout)
        return v.astype(np.float32, copy=False), c.astype(np.float32, copy=False)

    def split(self, params: np.ndarray):
        """Split parameter vectors [shape | color | expression] into the three parts, by this
        model's ``n_shape`` and ``n_color``."""
        p = np.asarray(params)
        ns, nc = self.n_shape, self.n_color
        return p[..., :ns], p[..., ns:ns + nc], p[..., ns + nc:]


# --------------------------------------------------------------------- BFM 2017
def _bad(path, key, what) -> ValueError:
    return ValueError(f"{path}: {key}: {what}")


def load_bfm2017(path, n_shape=None, n_color=None, n_expression=None) -> MorphableModel:
    """Read a Basel Face Model 2017 file (Statismo HDF5 layout).

    Parameters
    ----------
    path : str or Path, e.g. ``model2017-1_face12_nomouth.h5``
    n_shape, n_color, n_expression : keep only that many leading components

    Raises
    ------
    FileNotFoundError
        the file does not exist.
    ValueError
        the file is not HDF5, is truncated, lacks a key, or holds an array of the
        wrong shape, non-finite values, negative variances or out-of-range
        triangle indices. The message names the file and the key.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no such BFM 2017 file; set model.path in your params file to the .h5 you "
            "downloaded from https://faces.dmi.unibas.ch/bfm/bfm2017.html")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path}: not a readable HDF5 file (truncated or another format): {e}") from None

    def read(key):
        if key not in f:
            raise _bad(path, "/" + key, "missing")
        try:
            return np.asarray(f[key][()])
        except Exception as e:  # truncated data blocks surface here
            raise _bad(path, "/" + key, f"unreadable ({e})") from None

    wanted = {"shape": n_shape, "color": n_color, "expression": n_expression}
    with f:
        cells, n = _read_cells(read, path)
        parts = {part: _read_part(read, path, part, n, wanted[part]) for part in PARTS}
        landmarks = (_read_landmarks(read, path, parts["shape"].mean)
                     if "metadata/landmarks/json" in f else {})
    return MorphableModel(parts["shape"], parts["color"], parts["expression"],
                          np.ascontiguousarray(cells.T.astype(np.int32)), landmarks,
                          name=f"BFM 2017 ({path.name})")


def _read_cells(read, path) -> tuple[np.ndarray, int]:
    """The (3, T) triangles of a BFM file, checked against its (3, N) points, and N."""
    points = read("shape/representer/points")
    if points.ndim != 2 or points.shape[0] != 3:
        raise _bad(path, "/shape/representer/points", f"expected shape (3, N), got {points.shape}")
    n = points.shape[1]
    cells = read("shape/representer/cells")
    if cells.ndim != 2 or cells.shape[0] != 3:
        raise _bad(path, "/shape/representer/cells", f"expected shape (3, T), got {cells.shape}")
    if not np.issubdtype(cells.dtype, np.integer):
        raise _bad(path, "/shape/representer/cells", f"expected integers, got {cells.dtype}")
    if cells.min() < 0 or cells.max() >= n:
        raise _bad(path, "/shape/representer/cells",
                   f"vertex index out of range 0..{n - 1} (found {cells.min()}..{cells.max()})")
    return cells, n


def _read_part(read, path, part: str, n: int, k) -> "PcaPart":
    """One PCA part (shape, color or expression) of a BFM file, checked and cut to ``k``."""
    mean = read(f"{part}/model/mean").astype(np.float64)
    basis = read(f"{part}/model/pcaBasis").astype(np.float64)
    var = read(f"{part}/model/pcaVariance").astype(np.float64)
    noise = read(f"{part}/model/noiseVariance")
    if mean.shape != (3 * n,):
        raise _bad(path, f"/{part}/model/mean", f"expected shape ({3 * n},), got {mean.shape}")
    if basis.ndim != 2 or basis.shape[0] != 3 * n:
        raise _bad(path, f"/{part}/model/pcaBasis", f"expected shape ({3 * n}, K), got {basis.shape}")
    if var.shape != (basis.shape[1],):
        raise _bad(path, f"/{part}/model/pcaVariance",
                   f"expected shape ({basis.shape[1]},) to match pcaBasis, got {var.shape}")
    for key, arr in (("mean", mean), ("pcaBasis", basis), ("pcaVariance", var)):
        if not np.all(np.isfinite(arr)):
            raise _bad(path, f"/{part}/model/{key}", "contains NaN or infinite values")
    if np.any(var < 0):
        raise _bad(path, f"/{part}/model/pcaVariance", "negative variance")
    if k is not None and k > basis.shape[1]:
        raise _bad(path, f"/{part}/model/pcaBasis", f"asked for {k} components but the file has {basis.shape[1]}")
    # Statismo stores U (orthonormal); some exports store U*sqrt(var): normalise defensively
    norms = np.linalg.norm(basis, axis=0)
    norms[norms == 0] = 1.0
    return PcaPart(mean.astype(np.float32), (basis / norms).astype(np.float32), var.astype(np.float32),
                   float(np.asarray(noise).reshape(-1)[0])).truncated(k)


def _read_landmarks(read, path, shape_mean) -> dict:
    """Landmark name -> nearest vertex of the mean shape, from ``/metadata/landmarks/json``."""
    raw = read("metadata/landmarks/json")
    raw = raw.tobytes().decode() if isinstance(raw, np.ndarray) else raw
    raw = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        items = json.loads(raw)
        pts = np.array([it["coordinates"] for it in items], dtype=np.float64)
        names = [str(it["id"]) for it in items]
    except (ValueError, KeyError, TypeError) as e:
        raise _bad(path, "/metadata/landmarks/json", f"expected a JSON list of {{id, coordinates}}: {e}") from None
    verts = shape_mean.reshape(-1, 3).astype(np.float64)
    return {name: int(np.argmin(((verts - p) ** 2).sum(1))) for name, p in zip(names, pts)}


def save_bfm2017(model: MorphableModel, path) -> Path:
    """Write a model in the BFM 2017 Statismo layout that :func:`load_bfm2017` reads.

    Landmarks are stored as ``/metadata/landmarks/json`` (id and the mean-shape
    coordinates of their vertex); semantic directions are not part of the format.
    Written atomically, so a killed export leaves no partial file.
    """
    import io

    import h5py

    from thesislib.common import atomic_write_bytes

    buf = io.BytesIO()  # h5py needs a readable file object; the bytes then go out atomically
    with h5py.File(buf, "w") as f:
        points = model.shape.mean.reshape(-1, 3).T.astype(np.float32)
        for name in PARTS:
            part = getattr(model, name)
            g = f.create_group(f"{name}/model")
            g["mean"] = part.mean.astype(np.float32)
            g["pcaBasis"] = part.basis.astype(np.float32)
            g["pcaVariance"] = part.variance.astype(np.float32)
            g["noiseVariance"] = np.float32(part.noise_variance)
            r = f.create_group(f"{name}/representer")
            r["points"] = points
            r["cells"] = model.triangles.T.astype(np.int32)
        verts = points.T
        f["metadata/landmarks/json"] = json.dumps(
            [{"id": k, "coordinates": verts[v].tolist()} for k, v in model.landmarks.items()])
    return atomic_write_bytes(path, buf.getvalue())


@functools.lru_cache(maxsize=1)
def default_model() -> MorphableModel:
    """The embedded default model (:mod:`thesislib.facemodel.procedural`), one object per process."""
    a = build_cached()
    return MorphableModel(**{p: PcaPart(*a[p]) for p in PARTS}, triangles=a["triangles"],
                          landmarks=a["landmarks"], name=a["name"], directions=a["directions"])


def load_model(spec: dict | None = None) -> MorphableModel:
    """Model from a params ``model`` section: ``{kind: default}`` or ``{kind: bfm2017, path: ...}``."""
    spec = dict(spec or {})
    kind = spec.pop("kind", "default")
    counts = {k: spec.pop(k, None) for k in ("n_shape", "n_color", "n_expression")}
    if kind == "default":
        return default_model().truncated(**counts)
    if kind == "bfm2017":
        return load_bfm2017(spec["path"], **counts)
    raise ValueError(f"model.kind must be 'default' or 'bfm2017', got {kind!r}")
