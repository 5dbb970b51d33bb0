"""Running the chunks of a dataset: what a worker does with one, and where chunks run.

A chunk (:class:`Chunk`) is ``chunk_size`` consecutive images; its faces are instanced
``INSTANCE_BATCH`` at a time (:func:`_chunk_meshes`; from :func:`thesislib.imaging.coarse_model` of
the model when ``mesh="coarse"``), each image is rendered and cropped (the default landmark crop
straight from the render, :func:`thesislib.imaging.render_crop`, a face's vertex normals computed once
for all its images) and written as a PNG and/or turned into the face-mesh stem's features in memory
(:func:`thesislib.faces.features`; the chunk's features go to one ``.npy`` part), then the
chunk's label part (:func:`_label_table`) is written
(:mod:`thesislib.datasets.store` says where and how). No image depends on which worker
made it or when: image ``k`` draws its scene from ``default_rng([seed, 1, k])`` and its
expression from ``default_rng([seed, 2, k])`` (or ``[seed, 2, face]`` per face).

:func:`run_chunks` runs chunks with :func:`thesislib.common.run_tasks`: in-process
(``workers=1``), on local processes (``workers>1``) or on a Dask cluster (``scheduler``).
Workers get the settings (:class:`ChunkContext`) once, load the default model once per
process from its on-disk cache (a model passed explicitly is shipped instead;
:func:`_worker_model` checks the fingerprint) and run BLAS single-threaded
(:class:`_OneThread`). Everything a worker process unpickles lives in this module, so it is
found by its module path.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from thesislib.common import run_tasks

from .store import (
    CROP_SIZE, IMAGES_DIR, PARTS_DIR, features_path, has_features, has_images, image_id, parquet_bytes,
    save_features, save_png, write_file)


# ----------------------------------------------------------------- worker side
@dataclass(frozen=True, eq=False)
class ChunkContext:
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
    expression: object  # thesislib.datasets.generation.ExpressionSettings, or None: no expression
    size: int = CROP_SIZE
    store: str = "png"  # thesislib.datasets.store.STORES
    mesh: str = "full"  # or "coarse": thesislib.imaging.coarse_model of the model


@dataclass(frozen=True, eq=False)
class Chunk:
    """One unit of work: images ``start`` .. ``stop - 1``."""

    number: int
    start: int
    stop: int
    face_start: int
    params: np.ndarray  # (faces in chunk, n_shape + n_color)
    labels: dict  # name -> (faces in chunk,) e.g. age, sex


_MODELS: dict = {}  # (n_shape, n_color, n_expression) -> (default model so truncated, compact; fingerprint)
_BUFFERS = threading.local()  # instance buffers of the chunk this thread renders
INSTANCE_BATCH = 16  # faces per batched instance product (_chunk_meshes)


def compact_model(model):
    """The same model with column-major bases (faster instances, see PcaPart.truncated; same fingerprint)."""
    from dataclasses import replace

    parts = {p: replace(getattr(model, p), basis=np.asfortranarray(getattr(model, p).basis))
             for p in ("shape", "color", "expression")}
    return replace(model, **parts)


def default_truncated(key: tuple):
    """The default model truncated to ``key`` (compact) and its fingerprint, once per process (~100 ms)."""
    if key not in _MODELS:
        from thesislib.facemodel import default_model

        model = compact_model(default_model().truncated(*key))
        _MODELS[key] = (model, model.fingerprint)
    return _MODELS[key]


def _worker_model(ctx: ChunkContext):
    """The context's model, the default model loaded once per process."""
    if ctx.model is not None:
        return ctx.model
    model, fingerprint = default_truncated((ctx.n_shape, ctx.n_color, ctx.n_expression))
    if fingerprint != ctx.model_fingerprint:
        raise RuntimeError(f"this worker's default model (fingerprint {fingerprint}) differs from "
                           f"the coordinator's ({ctx.model_fingerprint}): the embedded model changed "
                           "while generating (thesislib.facemodel.procedural edited, or another install on a "
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


def _expression_sampler(settings, n: int):
    """The expression sampler of an ExpressionSettings, drawing ``n`` components."""
    from thesislib.samplers import make_sampler

    return make_sampler(settings.sampler, **{"n_params": n, **settings.settings})


def _run_chunk(chunk: Chunk, ctx: ChunkContext) -> dict:
    """Render, crop and write the images of one chunk, then its label part."""
    t0 = time.process_time()
    with _OneThread():
        result = _render_chunk(chunk, ctx)
    return {**result, "cpu_s": time.process_time() - t0}


def _render_chunk(chunk: Chunk, ctx: ChunkContext) -> dict:
    from thesislib.facemodel import param_columns
    from thesislib.imaging import Workspace, coarse_model, landmark_crop, mesh_normals, render, render_crop

    model = _worker_model(ctx)
    if ctx.mesh == "coarse":
        model = coarse_model(model)
    out = Path(ctx.out_dir)
    pcols = param_columns(ctx)
    ecols = [f"expression_{i:03d}" for i in range(ctx.n_expression)] if ctx.expression else []
    esampler = _expression_sampler(ctx.expression, ctx.n_expression) if ctx.expression else None
    exprs = None
    if esampler is not None:
        per_image = ctx.expression.per == "image"
        exprs = np.stack([esampler.sample(1, np.random.default_rng(
            [ctx.seed, 2, i if per_image else i // ctx.images_per_face]))[0]
            for i in range(chunk.start, chunk.stop)])
    meshes = _chunk_meshes(model, chunk, ctx, exprs)
    scenes, crops, feats, ws = [], [], [], Workspace()  # feats: the crops to compute features of
    images = out / IMAGES_DIR
    stem = _stem(ctx.store)
    # the default crop renders straight to it (same bytes, less work); then the normals of a face
    # serve all its images unless each image has its own expression
    direct = ctx.crop is landmark_crop
    same_vertices = esampler is None or ctx.expression.per == "face"
    normals, normals_face = None, -1
    for index, mesh in zip(range(chunk.start, chunk.stop), meshes):
        scene = ctx.scene_sampler.sample(np.random.default_rng([ctx.seed, 1, index]))
        if direct:
            if same_vertices and index // ctx.images_per_face != normals_face:
                normals = mesh_normals(mesh, _normals_buffer(len(mesh.vertices)))
                normals_face = index // ctx.images_per_face
            c = render_crop(mesh, scene, size=ctx.size, normals=normals, workspace=ws)
        else:
            result = render(mesh, scene, workspace=ws)
            c = ctx.crop(result.image, result.landmarks, result.landmark_visible, size=ctx.size)
        img = np.asarray(c.image)
        if img.shape != (ctx.size, ctx.size, 3) or img.dtype != np.uint8:
            raise ValueError(f"crop returned {img.shape} {img.dtype}, need ({ctx.size}, {ctx.size}, 3) uint8")
        if has_images(ctx.store):
            save_png(images / f"{image_id(index)}.png", img)
        if stem is not None:
            feats.append(img)
        scenes.append(scene.labels())
        crops.append((str(c.method), *(int(v) for v in c.box)))
    if stem is not None:  # after the renders: the network's weights stay in cache (~0.5 ms per image less)
        save_features(features_path(out, chunk.number), np.stack([stem(img) for img in feats]))
    table = _label_table(chunk, ctx, pcols + ecols, exprs, scenes, crops)
    write_file(out / PARTS_DIR / f"part-{chunk.number:05d}.parquet", parquet_bytes(table))
    return {"number": chunk.number, "n": len(crops)}


def _normals_buffer(n: int) -> np.ndarray:
    """This thread's (n, 3) float32 buffer for a face's vertex normals."""
    buf = getattr(_BUFFERS, "normals", None)
    if buf is None or len(buf) != n:
        buf = _BUFFERS.normals = np.empty((n, 3), np.float32)
    return buf


def _stem(store: str):
    """The stem features of a crop for a store that keeps them, else None."""
    if not has_features(store):
        return None
    from thesislib.faces import features

    return features


def _label_table(chunk: Chunk, ctx: ChunkContext, param_cols: list, exprs, scenes: list, crops: list):
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


def _chunk_meshes(model, chunk: Chunk, ctx: ChunkContext, exprs):
    """The meshes of a chunk's images: shape and colour of INSTANCE_BATCH faces per matrix product
    (~0.12 ms a face and part; 64 faces: 0.09 ms but 20 MB of fresh pages a part) into buffers this
    thread reuses, expression offsets per image; ``model.instance``'s sums up to float32 rounding.
    Each mesh holds views of those buffers: use it before taking the next."""
    from thesislib.facemodel import Mesh

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


# ----------------------------------------------------------------- where chunks run
def run_chunks(chunks, ctx, workers, scheduler, progress, done) -> float:
    """Run the chunks (:func:`thesislib.common.run_tasks`); returns the CPU seconds the workers spent in them.

    The progress bar counts images, starting from the ``done`` ones a previous run left on disk.
    """
    sizes = [c.stop - c.start for c in chunks]
    results = run_tasks(_run_chunk, chunks, context=ctx, workers=workers, scheduler=scheduler,
                        progress=progress, desc="dataset", unit="img", sizes=sizes, initial=done)
    return float(sum(r["cpu_s"] for r in results))
