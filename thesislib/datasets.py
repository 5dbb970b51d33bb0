"""Synthetic face datasets on disk, and the IMDB-WIKI label file.

:func:`generate` turns a sampler into a dataset (thesis 5.3-5.4): ``n_faces``
parameter vectors are drawn up front from the dataset seed, each face is rendered
``images_per_face`` times under random scenes, each render (227 x 227) is cropped
to the 224 x 224 face crop (by default from its projected landmarks,
:mod:`thesislib.crops`) and written as a PNG. A chunk's faces are instanced in
batches. Layout of a dataset folder::

    images/<id>.png            224 x 224 uint8 RGB crops, id = 7-digit image index
    labels/part-<chunk>.parquet  labels per chunk (kept after the merge)
    labels.parquet             every image: id, index, instance_id, [age, sex],
                               shape_000.., color_000.., [expression_000..], pose
                               (yaw, pitch, roll in degrees), camera, 27 SH numbers
                               sh<i>_<r|g|b>, background_id, crop method and box
    card.json                  settings, counts, versions, times; written last, so
                               its presence means the dataset is complete

Determinism: face ``i`` gets row ``i`` of ``sampler.sample(n_faces,
default_rng([seed, 0]))``; image ``k`` draws its scene from ``default_rng([seed, 1,
k])`` (and its expression, when enabled, from ``default_rng([seed, 2, k])``, or
``[seed, 2, face]`` per face). No image depends on which worker made it or when,
so local processes, a Dask cluster and a resumed run all give the same bytes.

Crash safety: every file is written to ``<name>.<random>.tmp`` (:mod:`thesislib.atomic`) and moved into place
with :func:`os.replace`. Images are written before the label part of their chunk;
a chunk counts as done when its part exists and all its PNGs exist and end with
the IEND chunk. A rerun after a kill removes stale temporary files and redoes only
unfinished chunks; a rerun of a finished dataset checks the same and repairs
missing or truncated images. ``card.json`` holds times, so it is the one file that
differs between a resumed and an uninterrupted run.

Parallelism: chunks of ``chunk_size`` images run in-process (``workers=1``), on
local loky processes (``workers>1``) or on a Dask cluster (``scheduler``). Workers
get the settings once, load the default model once per process from its on-disk
cache (a model passed explicitly is shipped instead) and run BLAS single-threaded.
PNGs are encoded by :mod:`thesislib.png` (Paeth filter, Huffman coding in numba), ~8x faster than PIL.

:func:`load_wiki` (from :mod:`thesislib.wiki`) reads the IMDB-WIKI ``wiki.mat`` (the thesis' real photos with
age and sex) into a filtered table.
"""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.metadata
import inspect
import json
import os
import platform
import shutil
import threading
import time
from collections import Counter
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import png as _png
from .atomic import atomic_write_bytes
from .crops import (CROPS, LANDMARK_CROP_MARGIN, LANDMARK_CROP_SHIFT, SimpleCrop, center_crop,  # noqa: F401
                    detector_crop, landmark_crop, landmark_crop_box)
from .wiki import AGE_RANGE, SKIP_REASONS, WIKI_FIELDS, load_wiki  # noqa: F401  (public here)

FORMAT = "thesislib.dataset/1"
CROP_SIZE = 224
ID_DIGITS = 7
#: PNGs: :func:`thesislib.png.png_bytes`, ~0.4 ms / 44 kB per 224 px crop (Up + zlib 1 RLE before:
#: 1.4 ms / 51 kB; PIL at compress_level 1: 3.3 ms / 50 kB; measurements in thesislib.png).
PNG_FILTER = _png.PNG_FILTER
_CARD, _LABELS, _PARTS, _IMAGES, _REQUEST = "card.json", "labels.parquet", "labels", "images", "request.json"


# ----------------------------------------------------------------- settings and results
@dataclass(frozen=True)
class ExpressionSettings:
    """How expression coefficients are drawn.

    Attributes
    ----------
    n_expression : int or None, number of expression components (None: all of the model's)
    sampler : str, a :data:`thesislib.samplers.SAMPLERS` name (drawn with ``n_params=n_expression``)
    settings : dict, extra sampler settings
    per : "image" (a new expression per image) or "face" (one per face)
    """

    n_expression: int | None = None
    sampler: str = "naive_normal_1"
    settings: dict = field(default_factory=dict)
    per: str = "image"

    def __post_init__(self):
        if self.per not in ("image", "face"):
            raise ValueError(f"expression per must be 'image' or 'face', got {self.per!r}")


@dataclass(frozen=True)
class DatasetCard:
    """What a dataset is (the content of ``card.json``).

    Attributes
    ----------
    path : str, the dataset folder
    settings : dict, everything the bytes depend on (sampler name/class/settings and
        fit fingerprint, seed, counts requested, model name/fingerprint/components,
        expression, scene sampler, crop, chunk size)
    counts : dict, n_faces, images_per_face, n_images, crop_methods, backgrounds
    versions : dict, package name -> version
    created : str, ISO 8601 UTC time the card was written
    elapsed_s : float, wall time of the call that finished the dataset, s
    run : dict, about that call: images_rendered (fewer after a resume), render_cpu_s
        (CPU seconds in the chunks, all workers), workers, scheduler
    """

    path: str
    settings: dict
    counts: dict
    versions: dict
    created: str
    elapsed_s: float
    run: dict = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return int(self.counts["n_images"])

    @property
    def sampler(self) -> dict:
        return self.settings["sampler"]

    @property
    def seed(self) -> int:
        return int(self.settings["seed"])

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("path")
        return {"format": FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict, path) -> "DatasetCard":
        keys = [f.name for f in fields(cls) if f.name not in ("path", "run")]
        return cls(path=str(path), **{k: d[k] for k in keys},
                   run=d.get("run", {}))


# ----------------------------------------------------------------- JSON helpers
def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _jsonable(v):
    """Settings value -> JSON-compatible value (large arrays become fingerprints)."""
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, np.ndarray) for x in v):
            return {"n": len(v), "fingerprint": _digest(*v)}
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist() if v.size <= 64 else {"shape": list(v.shape), "fingerprint": _digest(v)}
    if isinstance(v, Path):
        return str(v)
    if is_dataclass(v):
        return {f.name: _jsonable(getattr(v, f.name)) for f in fields(v)}
    if callable(v):
        return f"{getattr(v, '__module__', '?')}.{getattr(v, '__qualname__', repr(v))}"
    return repr(v)


def _normalise(d: dict) -> dict:
    """JSON round trip, so settings compare equal to what a card file holds."""
    return json.loads(json.dumps(_jsonable(d)))


def _fit_fingerprint(sampler) -> str | None:
    """Hash of a sampler's fitted state (public attributes ending in ``_``), None if unfitted."""
    names = sorted(k for k in vars(sampler) if k.endswith("_") and not k.startswith("_"))
    if not names:
        return None
    h = hashlib.sha256()
    for k in names:
        v = getattr(sampler, k)
        h.update(k.encode())
        if hasattr(v, "state_dict"):
            for name, t in v.state_dict().items():
                h.update(name.encode())
                h.update(np.ascontiguousarray(t.detach().cpu().numpy()).tobytes())
        elif isinstance(v, np.ndarray) or np.isscalar(v):
            h.update(_digest(np.asarray(v)).encode())
        else:
            h.update(repr(v).encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _versions(crop_spec) -> tuple:
    """((name, version), ...) of Python and the packages the bytes depend on (once per process)."""
    out = {"python": platform.python_version()}
    names = ["thesislib", "numpy", "pandas", "pyarrow", "pillow", "numba"]
    if crop_spec == "detect":
        names.append("dlib-bin")
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return tuple(out.items())


# ----------------------------------------------------------------- atomic files
def _atomic_write(path: Path, data: bytes) -> None:
    # no fsync per image: the rename alone makes a kill leave whole files only
    atomic_write_bytes(path, data, fsync=False)


_png_bytes = _png.png_bytes  # 8-bit RGB PNG of an (H, W, 3) uint8 image


def _save_png(path: Path, image: np.ndarray) -> None:
    _atomic_write(path, _png_bytes(image))


def _parquet_bytes(data) -> bytes:
    """Parquet file of a pyarrow Table or a list of row dicts (no pandas in between: ~3x faster)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(data) if isinstance(data, list) else data, buf)
    return buf.getvalue().to_pybytes()


def _remove_stale_tmp(out: Path) -> int:
    n = 0
    for folder in (out, out / _IMAGES, out / _PARTS):
        if folder.is_dir():
            for p in folder.glob("*.tmp"):
                p.unlink(missing_ok=True)
                n += 1
    return n


def image_id(index: int) -> str:
    """File stem of image ``index``: zero-padded to 7 digits."""
    return f"{int(index):0{ID_DIGITS}d}"


# ----------------------------------------------------------------- crops (see thesislib.crops)
def _crop_spec(crop) -> tuple[str, Callable]:
    """``crop`` argument -> (name recorded in the card, function)."""
    if crop is True:
        crop = "detect"
    elif crop is False or crop is None:
        crop = "center"
    if isinstance(crop, str):
        if crop not in CROPS:
            raise ValueError(f"crop must be True, False, a callable or one of {sorted(CROPS)}, got {crop!r}")
        return crop, CROPS[crop]
    if callable(crop):
        return _jsonable(crop), crop
    raise TypeError(f"crop must be True, False, a name or a callable, got {type(crop).__name__}")


# ----------------------------------------------------------------- worker side
@dataclass(frozen=True, eq=False)
class _Context:
    """What every worker needs once (shipped once per worker process)."""

    out_dir: str
    seed: int
    images_per_face: int
    n_shape: int
    n_color: int
    n_expression: int
    model: object  # MorphableModel or None for the default model
    model_fingerprint: str
    scene_sampler: object
    crop: Callable
    expression: ExpressionSettings | None
    size: int = CROP_SIZE


@dataclass(frozen=True, eq=False)
class _Chunk:
    """One unit of work: images ``start`` .. ``stop - 1``."""

    number: int
    start: int
    stop: int
    face_start: int
    params: np.ndarray  # (faces in chunk, n_shape + n_color)
    labels: dict  # name -> (faces in chunk,) e.g. age, sex


_MODELS: dict = {}  # (n_shape, n_color, n_expression) -> (default model so truncated, compact; fingerprint)
_POOL_CONTEXT: list = []
_BUFFERS = threading.local()  # instance buffers of the chunk this thread renders
INSTANCE_BATCH = 16  # faces per batched instance product (_chunk_meshes)


def _compact(model):
    """The same model with column-major bases (faster instances, see PcaPart.truncated; same fingerprint)."""
    from dataclasses import replace

    parts = {p: replace(getattr(model, p), basis=np.asfortranarray(getattr(model, p).basis))
             for p in ("shape", "color", "expression")}
    return replace(model, **parts)


def _default_truncated(key: tuple):
    """The default model truncated to ``key`` (compact) and its fingerprint, once per process (~100 ms)."""
    if key not in _MODELS:
        from thesislib.model import default_model

        model = _compact(default_model().truncated(*key))
        _MODELS[key] = (model, model.fingerprint)
    return _MODELS[key]


def _worker_model(ctx: _Context):
    """The context's model, the default model loaded once per process."""
    if ctx.model is not None:
        return ctx.model
    model, fingerprint = _default_truncated((ctx.n_shape, ctx.n_color, ctx.n_expression))
    if fingerprint != ctx.model_fingerprint:
        raise RuntimeError(f"this worker's default model (fingerprint {fingerprint}) differs from "
                           f"the coordinator's ({ctx.model_fingerprint}): the embedded model changed "
                           "while generating (thesislib.procedural edited, or another install on a "
                           "remote worker); rerun, or pass model= explicitly")
    return model


class _OneThread:
    """Limit BLAS/OpenMP pools to one thread (work is parallel over processes; a
    multi-threaded BLAS spin-waits and makes each small matrix-vector product slower)."""

    def __enter__(self):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - optional
            self.limits = None
            return self
        self.limits = threadpool_limits(1)
        return self

    def __exit__(self, *exc):
        if self.limits is not None:
            self.limits.restore_original_limits()


def _expression_sampler(settings: ExpressionSettings, n: int):
    from thesislib.samplers import make_sampler

    return make_sampler(settings.sampler, **{"n_params": n, **settings.settings})


def _run_chunk(chunk: _Chunk, ctx: _Context) -> dict:
    """Render, crop and write the images of one chunk, then its label part."""
    t0 = time.process_time()
    with _OneThread():
        result = _render_chunk(chunk, ctx)
    return {**result, "cpu_s": time.process_time() - t0}


def _render_chunk(chunk: _Chunk, ctx: _Context) -> dict:
    from thesislib.population import param_columns
    from thesislib.render import Workspace, render

    model = _worker_model(ctx)
    out = Path(ctx.out_dir)
    pcols = param_columns(ctx.n_shape, ctx.n_color)
    ecols = [f"expression_{i:03d}" for i in range(ctx.n_expression)] if ctx.expression else []
    esampler = _expression_sampler(ctx.expression, ctx.n_expression) if ctx.expression else None
    exprs = None
    if esampler is not None:
        per_image = ctx.expression.per == "image"
        exprs = np.stack([esampler.sample(1, np.random.default_rng(
            [ctx.seed, 2, i if per_image else i // ctx.images_per_face]))[0]
            for i in range(chunk.start, chunk.stop)])
    meshes = _chunk_meshes(model, chunk, ctx, exprs)
    scenes, crops, ws = [], [], Workspace()
    images = out / _IMAGES
    for index, mesh in zip(range(chunk.start, chunk.stop), meshes):
        scene = ctx.scene_sampler.sample(np.random.default_rng([ctx.seed, 1, index]))
        result = render(mesh, scene, workspace=ws)
        c = ctx.crop(result.image, result.landmarks, result.landmark_visible, size=ctx.size)
        img = np.asarray(c.image)
        if img.shape != (ctx.size, ctx.size, 3) or img.dtype != np.uint8:
            raise ValueError(f"crop returned {img.shape} {img.dtype}, need ({ctx.size}, {ctx.size}, 3) uint8")
        _save_png(images / f"{image_id(index)}.png", img)
        scenes.append(scene.labels())
        crops.append((str(c.method), *(int(v) for v in c.box)))
    table = _label_table(chunk, ctx, pcols + ecols, exprs, scenes, crops)
    _atomic_write(out / _PARTS / f"part-{chunk.number:05d}.parquet", _parquet_bytes(table))
    return {"number": chunk.number, "n": len(crops)}


def _label_table(chunk: _Chunk, ctx: _Context, param_cols: list, exprs, scenes: list, crops: list):
    """A chunk's label part, built by columns (the columns and types per-image row dicts gave, ~5x
    faster): id, index, instance_id, per-face labels, parameters, [expression], scene, crop method and box."""
    import pyarrow as pa

    index = np.arange(chunk.start, chunk.stop, dtype=np.int64)
    face = index // ctx.images_per_face
    local = face - chunk.face_start
    cols = {"id": [image_id(i) for i in range(chunk.start, chunk.stop)], "index": index, "instance_id": face}
    cols.update({k: np.asarray(v)[local] for k, v in chunk.labels.items()})
    values = np.asarray(chunk.params, np.float64)[local]
    if exprs is not None:
        values = np.hstack([values, np.asarray(exprs, np.float64)])
    cols.update({name: values[:, j] for j, name in enumerate(param_cols)})
    cols.update({key: [s[key] for s in scenes] for key in scenes[0]})
    method, *box = zip(*crops)
    cols["crop_method"] = list(method)
    cols.update({f"crop_{c}": np.asarray(v, np.int64) for c, v in zip(("x0", "y0", "x1", "y1"), box)})
    return pa.table(cols)


def _chunk_meshes(model, chunk: _Chunk, ctx: _Context, exprs):
    """The meshes of a chunk's images: shape and colour of INSTANCE_BATCH faces per matrix product
    (~0.12 ms a face and part; 64 faces: 0.09 ms but 20 MB of fresh pages a part) into buffers this
    thread reuses, expression offsets per image; ``model.instance``'s sums up to float32 rounding.
    Each mesh holds views of those buffers: use it before taking the next."""
    from thesislib.model import Mesh

    n, ids, lo, hi = len(chunk.params), model.landmark_ids, 0, 0
    buf = getattr(_BUFFERS, "arrays", None)
    if buf is None or buf[0].shape[1] != model.n_vertices:
        buf = _BUFFERS.arrays = tuple(np.empty((INSTANCE_BATCH, model.n_vertices, 3), np.float32) for _ in "vc")
    for k, index in enumerate(range(chunk.start, chunk.stop)):
        local = index // ctx.images_per_face - chunk.face_start
        if k == 0 or local >= hi:
            lo, hi = local, min(local + INSTANCE_BATCH, n)
            p = chunk.params[lo:hi]
            V, C = model.instances(p[:, :ctx.n_shape], p[:, ctx.n_shape:], out=(buf[0][:hi - lo], buf[1][:hi - lo]))
        v = V[local - lo]
        if exprs is not None:
            v = v + model.expression.offsets(exprs[k]).reshape(-1, 3)
        yield Mesh(v, C[local - lo], model.triangles, ids)


def _pool_init(ctx: _Context) -> None:
    _POOL_CONTEXT[:] = [ctx]


def _run_chunk_pool(chunk: _Chunk) -> dict:
    return _run_chunk(chunk, _POOL_CONTEXT[0])


# ----------------------------------------------------------------- coordinator
def _resolve_sampler(sampler, d: int):
    """``sampler`` (name or object) -> (object, card entry)."""
    from thesislib.samplers import SAMPLERS, make_sampler, resolve_class

    if isinstance(sampler, str):
        name = sampler
        if name not in SAMPLERS:
            make_sampler(name)  # raises the registry's KeyError
        if SAMPLERS[name].needs_fit:
            raise ValueError(f"sampler {name!r} needs fit(); pass a fitted sampler object instead "
                             "of its name")
        cls = resolve_class(name)
        extra = {"n_params": d} if "n_params" in inspect.signature(cls.__init__).parameters else {}
        sampler = make_sampler(name, **extra)
    else:
        name = None
        for key, spec in SAMPLERS.items():
            if isinstance(spec.target, type) and type(sampler) is spec.target and all(
                    sampler.get_params().get(k) == v for k, v in spec.settings.items()):
                name = key
                break
        name = name or type(sampler).__name__
    params = sampler.get_params() if hasattr(sampler, "get_params") else {}
    entry = {"name": name, "class": f"{type(sampler).__module__}.{type(sampler).__qualname__}",
             "settings": params, "fit_fingerprint": _fit_fingerprint(sampler)}
    return sampler, entry


def _draw_faces(sampler, n: int, rng) -> tuple[np.ndarray, dict]:
    """Parameters (n, d) and per-face labels (age, sex) where the sampler reports them."""
    if hasattr(sampler, "sample_with_labels"):
        X, age, sex = sampler.sample_with_labels(n, rng)
        return np.asarray(X, np.float64), {"age": np.asarray(age, float), "sex": np.asarray(sex, float)}
    if hasattr(sampler, "sample_labels") and getattr(sampler, "labels_", ()):
        X, labels = sampler.sample_labels(n, rng)
        return np.asarray(X, np.float64), {k: np.asarray(v, float) for k, v in labels.items()}
    return np.asarray(sampler.sample(n, rng), np.float64), {}


def _expression_arg(expression, model) -> ExpressionSettings | None:
    if expression is False or expression is None:
        return None
    if expression is True:
        expression = ExpressionSettings()
    elif isinstance(expression, dict):
        expression = ExpressionSettings(**expression)
    if not isinstance(expression, ExpressionSettings):
        raise TypeError("expression must be False, True, a dict or ExpressionSettings")
    n = model.expression.n_components if expression.n_expression is None else expression.n_expression
    if n < 1 or n > model.expression.n_components:
        raise ValueError(f"n_expression={n} but the model has {model.expression.n_components} "
                         "expression components")
    return ExpressionSettings(n, expression.sampler, dict(expression.settings), expression.per)


_PNG_END = b"IEND\xaeB`\x82"


def _png_ok(path: Path) -> bool:
    """The file exists and ends with PNG's IEND chunk (not truncated)."""
    try:
        with open(path, "rb") as f:
            f.seek(-len(_PNG_END), os.SEEK_END)
            return f.read() == _PNG_END
    except OSError:
        return False


def _chunk_done(out: Path, number: int, start: int, stop: int) -> bool:
    if not (out / _PARTS / f"part-{number:05d}.parquet").is_file():
        return False
    return all(_png_ok(out / _IMAGES / f"{image_id(i)}.png") for i in range(start, stop))


def _complete(out: Path, settings: dict) -> bool:
    n = settings["n_faces"] * settings["images_per_face"]
    return (out / _LABELS).is_file() and all(_png_ok(out / _IMAGES / f"{image_id(i)}.png") for i in range(n))


def _check_request(out: Path, settings: dict, overwrite: bool) -> bool:
    """True when ``out`` already holds the finished dataset; clears it when ``overwrite``."""
    for name in (_CARD, _REQUEST):
        f = out / name
        if f.is_file():
            held = json.loads(f.read_text())
            held = held.get("settings", held)
            if held == settings:
                if name == _CARD and not _complete(out, settings):
                    (out / _CARD).unlink()  # files were removed: finish it again
                    return False
                return name == _CARD
            if not overwrite:
                diff = sorted(k for k in set(held) | set(settings) if held.get(k) != settings.get(k))
                raise ValueError(f"{out} holds a {'finished' if name == _CARD else 'partial'} dataset with "
                                 f"other settings (differ in: {', '.join(diff)}); use another folder or "
                                 "overwrite=True")
            for sub in (_IMAGES, _PARTS):
                shutil.rmtree(out / sub, ignore_errors=True)
            for n in (_CARD, _REQUEST, _LABELS):
                (out / n).unlink(missing_ok=True)
            return False
    if (out / _IMAGES).is_dir() and any((out / _IMAGES).glob("*.png")):
        if not overwrite:
            raise ValueError(f"{out}/images holds files but no card.json or request.json; use another "
                             "folder or overwrite=True")
        for sub in (_IMAGES, _PARTS):
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / _LABELS).unlink(missing_ok=True)
    return False


def generate(out_dir, sampler, n_faces: int, images_per_face: int, seed: int, model=None,
             scene_sampler=None, n_shape: int = 50, n_color: int = 50, expression=False,
             workers: int = 1, scheduler=None, chunk_size: int = 64, progress: bool = True,
             crop="landmarks", overwrite: bool = False) -> DatasetCard:
    """Render a dataset of face crops with labels (resumable, deterministic).

    Parameters
    ----------
    out_dir : path of the dataset folder (created)
    sampler : a :data:`thesislib.samplers.SAMPLERS` name (built with ``n_params =
        n_shape + n_color``) or a sampler object with ``sample(n, rng) -> (n, n_shape +
        n_color)``. Samplers with ``sample_with_labels`` (GAN) or fitted ``sample_labels``
        (GMM) also give age and sex columns.
    n_faces : int, number of face instances
    images_per_face : int, renders per face (different scenes)
    seed : int >= 0, the only source of randomness
    model : :class:`thesislib.model.MorphableModel` or None for the default model
        (workers then load it from the on-disk cache instead of receiving it)
    scene_sampler : :class:`thesislib.scene.SceneSampler` or None for the default one
        (backgrounds from the cached bank; ``background="procedural"`` for fresh ones)
    n_shape, n_color : int, coefficients per part (the model is truncated to these)
    expression : False, True (all expression components ~ N(0, 1) per image), a dict
        of :class:`ExpressionSettings` fields or an ExpressionSettings
    workers : int, local processes (1: in this process)
    scheduler : Dask scheduler address (str) or ``distributed.Client``; runs the chunks
        on that cluster instead of local processes (workers must see ``out_dir``)
    chunk_size : int, images per work unit and per label part
    progress : bool, show a tqdm bar
    crop : "landmarks" (default: framed by the projected landmarks, no detector, see
        :func:`thesislib.crops.landmark_crop`), "detect" or True (dlib detector, else
        landmarks, see :func:`thesislib.faces.crop`; ~20x slower), "center" or False
        (central 224 px), or a picklable callable ``f(image (227, 227, 3),
        landmarks (L, 2), landmark_visible (L,), size=224)`` returning an object with
        ``image`` (224, 224, 3) uint8, ``box`` (x0, y0, x1, y1) and ``method`` str
    overwrite : bool, replace a dataset in ``out_dir`` made with other settings

    Returns
    -------
    DatasetCard (also written to ``out_dir/card.json``)

    Raises
    ------
    ValueError
        ``out_dir`` holds a (finished or partial) dataset with other settings, or the
        sampler's dimension does not match ``n_shape + n_color``.
    """
    from thesislib.model import default_model
    from thesislib.scene import SceneSampler

    t0 = time.perf_counter()
    seed, n_faces, images_per_face = int(seed), int(n_faces), int(images_per_face)
    chunk_size = int(chunk_size)
    if seed < 0 or n_faces < 1 or images_per_face < 1 or chunk_size < 1:
        raise ValueError("seed must be >= 0 and n_faces, images_per_face, chunk_size >= 1")
    out = Path(out_dir)
    base = default_model() if model is None else model
    expr = _expression_arg(expression, base)
    n_expression = expr.n_expression if expr else 0
    if n_shape > base.shape.n_components or n_color > base.color.n_components:
        raise ValueError(f"model has {base.shape.n_components} shape and {base.color.n_components} color "
                         f"components; asked for {n_shape} and {n_color}")
    if model is None:  # hashes every array (~60 ms): once per process and truncation
        truncated, fingerprint = _default_truncated((n_shape, n_color, n_expression))
    else:
        truncated = _compact(base.truncated(n_shape, n_color, n_expression))
        fingerprint = truncated.fingerprint
    scene_sampler = SceneSampler() if scene_sampler is None else scene_sampler
    crop_name, crop_fn = _crop_spec(crop)
    sampler, sampler_entry = _resolve_sampler(sampler, n_shape + n_color)
    settings = _normalise({
        "sampler": sampler_entry, "seed": seed, "n_faces": n_faces, "images_per_face": images_per_face,
        "model": {"name": base.name, "fingerprint": fingerprint, "n_shape": n_shape,
                  "n_color": n_color, "n_expression": n_expression},
        "expression": expr, "scene": scene_sampler, "crop": crop_name, "image_size": CROP_SIZE,
        "png_filter": PNG_FILTER, "chunk_size": chunk_size})

    out.mkdir(parents=True, exist_ok=True)
    if _check_request(out, settings, overwrite):
        return load_card(out)
    (out / _IMAGES).mkdir(exist_ok=True)
    (out / _PARTS).mkdir(exist_ok=True)
    _remove_stale_tmp(out)
    _atomic_write(out / _REQUEST, json.dumps({"settings": settings}, indent=1).encode())

    X, face_labels = _draw_faces(sampler, n_faces, np.random.default_rng([seed, 0]))
    if X.shape != (n_faces, n_shape + n_color) or not np.all(np.isfinite(X)):
        raise ValueError(f"sampler gave {X.shape} parameters (finite: {np.all(np.isfinite(X))}); "
                         f"need ({n_faces}, n_shape + n_color = {n_shape + n_color}) finite values")

    n_images = n_faces * images_per_face
    chunks, done = [], 0
    for number, start in enumerate(range(0, n_images, chunk_size)):
        stop = min(start + chunk_size, n_images)
        if _chunk_done(out, number, start, stop):
            done += stop - start
            continue
        f0, f1 = start // images_per_face, (stop - 1) // images_per_face + 1
        chunks.append(_Chunk(number, start, stop, f0, X[f0:f1],
                             {k: v[f0:f1] for k, v in face_labels.items()}))
    ctx = _Context(str(out), seed, images_per_face, n_shape, n_color, n_expression,
                   None if model is None else truncated, fingerprint,
                   scene_sampler, crop_fn, expr)
    cpu_s = _execute(chunks, ctx, workers, scheduler, progress, n_images, done)

    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = [pq.read_table(p) for p in sorted((out / _PARTS).glob("part-*.parquet"))]
    labels = pa.concat_tables(parts, promote_options="default").sort_by("index")
    if len(labels) != n_images or not np.array_equal(labels["index"].to_numpy(), np.arange(n_images)):
        raise RuntimeError(f"label parts in {out / _PARTS} do not cover images 0..{n_images - 1}")
    _atomic_write(out / _LABELS, _parquet_bytes(labels))
    counts = {"n_faces": n_faces, "images_per_face": images_per_face, "n_images": n_images,
              "crop_methods": dict(sorted(Counter(labels["crop_method"].to_pylist()).items())),
              "backgrounds": dict(sorted(Counter(
                  b.split(":")[0] for b in labels["background_id"].to_pylist()).items()))}
    card = DatasetCard(str(out), settings, counts, dict(_versions(crop_name)),
                       _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                       round(time.perf_counter() - t0, 3),
                       {"images_rendered": n_images - done, "render_cpu_s": round(cpu_s, 3),
                        "workers": int(workers) if scheduler is None else None,
                        "scheduler": None if scheduler is None else
                        scheduler if isinstance(scheduler, str) else type(scheduler).__name__})
    _atomic_write(out / _CARD, json.dumps(card.to_dict(), indent=1).encode())
    (out / _REQUEST).unlink(missing_ok=True)
    return card


def _execute(chunks, ctx, workers, scheduler, progress, total, done) -> float:
    """Run the chunks; returns the CPU seconds the workers spent in them."""
    from tqdm.auto import tqdm

    cpu = []

    def update(result):
        bar.update(result["n"])
        cpu.append(result["cpu_s"])

    with tqdm(total=total, initial=done, disable=not progress, unit="img", desc="dataset") as bar:
        if scheduler is not None:
            _execute_dask(chunks, ctx, scheduler, update)
        elif int(workers) <= 1 or len(chunks) <= 1:
            for c in chunks:
                update(_run_chunk(c, ctx))
        else:
            # loky (joblib's process executor) starts fresh interpreters without re-running
            # the caller's __main__, so scripts need no `if __name__ == "__main__"` guard
            from joblib.externals.loky.process_executor import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=min(int(workers), len(chunks)),
                                     initializer=_pool_init, initargs=(ctx,)) as pool:
                futures = [pool.submit(_run_chunk_pool, c) for c in chunks]
                for f in as_completed(futures):
                    update(f.result())
    return float(sum(cpu))


def _execute_dask(chunks, ctx, scheduler, update) -> None:
    from distributed import Client
    from distributed import as_completed as dask_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        if not chunks:
            return
        ctx_future = client.scatter(ctx, broadcast=True)
        futures = client.map(_run_chunk, chunks, ctx=ctx_future, pure=False)
        for f in dask_completed(futures):
            update(f.result())
    finally:
        if own:
            client.close()


# ----------------------------------------------------------------- reading datasets
def load_card(path) -> DatasetCard:
    """The :class:`DatasetCard` of a finished dataset folder."""
    f = Path(path) / _CARD
    if not f.is_file():
        hint = " (generation was interrupted: rerun generate with the same settings to finish it)" \
            if (Path(path) / _REQUEST).is_file() else ""
        raise FileNotFoundError(f"{f} does not exist: {path} is not a finished dataset{hint}")
    return DatasetCard.from_dict(json.loads(f.read_text()), path)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A finished dataset on disk.

    Attributes
    ----------
    path : Path, the folder
    card : dict, the content of ``card.json``
    labels : DataFrame, one row per image (see the module docstring)
    """

    path: Path
    card: dict
    labels: pd.DataFrame

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def ids(self) -> list:
        return self.labels["id"].tolist()

    def image_path(self, image: str | int) -> Path:
        """Path of an image given its id (str) or index (int)."""
        return self.path / _IMAGES / f"{image if isinstance(image, str) else image_id(image)}.png"

    def images(self, ids=None) -> np.ndarray:
        """Images as (n, 224, 224, 3) uint8; ``ids`` (ids or indices) or None for all."""
        from PIL import Image

        ids = self.ids if ids is None else list(ids)
        out = np.empty((len(ids), CROP_SIZE, CROP_SIZE, 3), np.uint8)
        for k, i in enumerate(ids):
            with Image.open(self.image_path(i)) as im:
                out[k] = np.asarray(im.convert("RGB"))
        return out

    def parameters(self) -> np.ndarray:
        """Shape and color coefficients per image, (n, n_shape + n_color) float64."""
        cols = [c for c in self.labels.columns if c.startswith(("shape_", "color_"))]
        return self.labels[cols].to_numpy(np.float64)


def load_dataset(path) -> Dataset:
    """Open a finished dataset folder (raises FileNotFoundError when card.json is missing)."""
    path = Path(path)
    card = load_card(path)
    return Dataset(path, card.to_dict(), pd.read_parquet(path / _LABELS))


def dataset_gallery(dataset, k: int = 16, cols: int | None = None, pad: int = 2,
                    scale: float = 1.0) -> np.ndarray:
    """A grid of the first ``k`` images for notebooks.

    Parameters
    ----------
    dataset : :class:`Dataset` or path
    k : int, number of images (at most the dataset size)
    cols : int or None, images per row (default ~sqrt(k))
    pad : int, white pixels between images
    scale : float, resize factor per image

    Returns
    -------
    (H, W, 3) uint8 RGB
    """
    from PIL import Image

    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    k = max(1, min(int(k), len(ds)))
    imgs = ds.images(ds.ids[:k])
    side = max(1, int(round(CROP_SIZE * scale)))
    if side != CROP_SIZE:
        imgs = np.stack([np.asarray(Image.fromarray(im).resize((side, side), Image.BILINEAR)) for im in imgs])
    cols = int(cols) if cols else int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    grid = np.full((rows * side + (rows + 1) * pad, cols * side + (cols + 1) * pad, 3), 255, np.uint8)
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        y, x = pad + r * (side + pad), pad + c * (side + pad)
        grid[y:y + side, x:x + side] = im
    return grid
