"""Synthetic face datasets: :func:`generate` turns a sampler into a dataset on disk.

Generation (thesis 5.3-5.4): ``n_faces`` parameter vectors are drawn up front from the
dataset seed, each face is rendered ``images_per_face`` times under random scenes, each
render (227 x 227) is cropped to the 224 x 224 face crop (by default from its projected
landmarks, :mod:`thesislib.imaging.crops`) and written as a PNG, or turned into the face-mesh
stem's features right there (``store="features"``: no PNG written, read back and decoded; or
``"both"``). This module resolves the
arguments (sampler, crop, expression), draws the faces, cuts the work into chunks and
writes the merged labels and the card; the rest lives in one module per concept:

* :mod:`thesislib.datasets.card` -- :class:`DatasetCard` and the settings it records;
* :mod:`thesislib.datasets.store` -- the folder layout, crash-safe writing, completeness
  and resume checks, :func:`load_dataset`, :func:`load_card`, :func:`dataset_gallery`;
* :mod:`thesislib.datasets.chunks` -- what a worker does with a chunk, and where chunks run
  (in this process, local processes, a Dask cluster).

Their public names import from here too, as does :func:`load_wiki` (from
:mod:`thesislib.datasets.wiki`: the IMDB-WIKI ``wiki.mat``, the thesis' real photos with age and sex).

Determinism: face ``i`` gets row ``i`` of ``sampler.sample(n_faces, default_rng([seed,
0]))``; image ``k`` draws its scene from ``default_rng([seed, 1, k])`` (and its expression,
when enabled, from ``default_rng([seed, 2, k])``, or ``[seed, 2, face]`` per face). No image
depends on which worker made it or when, so local processes, a Dask cluster and a resumed
run all give the same bytes.
"""
from __future__ import annotations

import datetime as _dt
import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from thesislib.faces import detector_crop
from thesislib.imaging import center_crop, coarse_model, landmark_crop
from thesislib.samplers import ready_sampler, registered_name, sampler_identity, samplers_needing_fit
from .card import DatasetCard, fit_fingerprint, jsonable, normalised_settings, package_versions
from .chunks import Chunk, compact_model, ChunkContext, default_truncated, run_chunks
from .store import (
    CARD_FILE, FEATURES_DIR, IMAGES_DIR, LABELS_FILE, PARTS_DIR, REQUEST_FILE, CROP_SIZE, PNG_FILTER, STORES,
    write_file, check_request, chunk_done, has_features, has_images, merged_rows, parquet_bytes, remove_stale_tmp,
    load_card)

__all__ = [
    "generate", "ExpressionSettings", "CROPS",
]


# ----------------------------------------------------------------- arguments
@dataclass(frozen=True)
class ExpressionSettings:
    """How expression coefficients are drawn.

    Attributes
    ----------
    n_expression : int or None, number of expression components (None: all of the model's)
    sampler : str, a :data:`thesislib.samplers.registry.SAMPLERS` name (drawn with ``n_params=n_expression``)
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

#: Meshes :func:`generate` renders: the model's own, or its :func:`thesislib.imaging.coarse_model`.
MESHES = ("full", "coarse")

#: Crop names accepted by :func:`thesislib.datasets.generation.generate`.
CROPS = {"detect": detector_crop, "landmarks": landmark_crop, "center": center_crop}


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
        return jsonable(crop), crop
    raise TypeError(f"crop must be True, False, a name or a callable, got {type(crop).__name__}")

def _resolve_sampler(sampler, d: int):
    """``sampler`` (name or object) -> (object, card entry)."""
    if isinstance(sampler, str):
        name = sampler
        if name in samplers_needing_fit():
            raise ValueError(f"sampler {name!r} needs fit(); pass a fitted sampler object instead "
                             "of its name")
        sampler = ready_sampler(name, d)  # raises the registry's KeyError for unknown names
    else:
        name = registered_name(sampler) or type(sampler).__name__
    params = sampler.get_params() if hasattr(sampler, "get_params") else {}
    entry = {"name": name, "class": sampler_identity(sampler), "settings": params,
             "fit_fingerprint": fit_fingerprint(sampler)}
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

# ----------------------------------------------------------------- generation
def generate(out_dir, sampler, n_faces: int, images_per_face: int, seed: int, model=None,
             scene_sampler=None, expression=False,
             workers: int = 1, scheduler=None, chunk_size: int = 64, progress: bool = True,
             crop="landmarks", overwrite: bool = False, store: str = "png", mesh: str = "full") -> DatasetCard:
    """Render a dataset of face crops with labels (resumable, deterministic).

    Parameters
    ----------
    out_dir : path of the dataset folder (created)
    sampler : a :data:`thesislib.samplers.registry.SAMPLERS` name (built with ``n_params =
        n_shape + n_color``) or a sampler object with ``sample(n, rng) -> (n, n_shape +
        n_color)``. Samplers with ``sample_with_labels`` (GAN) or fitted ``sample_labels``
        (GMM) also give age and sex columns.
    n_faces : int, number of face instances
    images_per_face : int, renders per face (different scenes)
    seed : int >= 0, the only source of randomness
    model : truncated :class:`thesislib.facemodel.model.MorphableModel`; its n_shape/n_color decide
        the parameter layout (its expression components are what ``expression`` may use), or None
        for the default model truncated to 50 shape + 50 colour components (workers then load it
        from the on-disk cache instead of receiving it)
    scene_sampler : :class:`thesislib.imaging.scene.SceneSampler` or None for the default one
        (backgrounds from the cached bank; ``background="procedural"`` for fresh ones)
    expression : False, True (all expression components ~ N(0, 1) per image), a dict
        of :class:`ExpressionSettings` fields or an ExpressionSettings
    workers : int, local processes (1: in this process)
    scheduler : Dask scheduler address (str) or ``distributed.Client``; runs the chunks
        on that cluster instead of local processes (workers must see ``out_dir``)
    chunk_size : int, images per work unit and per label part
    progress : bool, show a tqdm bar
    crop : "landmarks" (default: framed by the projected landmarks, no detector, see
        :func:`thesislib.imaging.crops.landmark_crop`), "detect" or True (dlib detector, else
        landmarks, see :func:`thesislib.faces.recognition.crop`; ~20x slower), "center" or False
        (central 224 px), or a picklable callable ``f(image (227, 227, 3),
        landmarks (L, 2), landmark_visible (L,), size=224)`` returning an object with
        ``image`` (224, 224, 3) uint8, ``box`` (x0, y0, x1, y1) and ``method`` str
    overwrite : bool, replace a dataset in ``out_dir`` made with other settings
    store : "png" (the crops as PNG files; default), "features" (the face-mesh stem's features of
        each crop, :func:`thesislib.faces.features`, computed in the worker from the crop in memory,
        no PNG; :func:`thesislib.bprn.dataset_features` and so ``BPRN.fit`` read them) or "both".
        The card records the store and the stem's name and version; the features are the same
        bytes as the stem applied to the PNG of a "both" dataset
    mesh : "full" (default) or "coarse": render every image from
        :func:`thesislib.imaging.coarse_model` of the model (its grid in 2 x 2 blocks but at the
        outline and the detail: 20k of 52k triangles, about half the image's cost; crops differ by 0.2
        of 255 per pixel on average, 0.1 % of pixels by more than 8; only models built on a grid,
        such as the embedded one)

    Returns
    -------
    DatasetCard (also written to ``out_dir/card.json``)

    Raises
    ------
    ValueError
        ``out_dir`` holds a (finished or partial) dataset with other settings, or the
        sampler's dimension does not match ``n_shape + n_color``.
    """
    from thesislib.facemodel import default_model
    from thesislib.imaging import SceneSampler

    t0 = time.perf_counter()
    seed, n_faces, images_per_face = int(seed), int(n_faces), int(images_per_face)
    chunk_size = int(chunk_size)
    if seed < 0 or n_faces < 1 or images_per_face < 1 or chunk_size < 1:
        raise ValueError("seed must be >= 0 and n_faces, images_per_face, chunk_size >= 1")
    if store not in STORES:
        raise ValueError(f"store must be one of {STORES}, got {store!r}")
    if mesh not in MESHES:
        raise ValueError(f"mesh must be one of {MESHES}, got {mesh!r}")
    out = Path(out_dir)
    base = default_model() if model is None else model
    n_shape, n_color = base.n_shape, base.n_color
    if model is None:  # the default layout, 50 + 50 (not by truncating: that copied the bases, ~65 ms a call)
        n_shape, n_color = min(50, n_shape), min(50, n_color)
    expr = _expression_arg(expression, base)
    n_expression = expr.n_expression if expr else 0
    if model is None:  # hashes every array (~60 ms): once per process and truncation
        truncated, fingerprint = default_truncated((n_shape, n_color, n_expression))
    else:
        truncated = compact_model(base.truncated(n_shape, n_color, n_expression))
        fingerprint = truncated.fingerprint
    if mesh == "coarse":
        coarse_model(truncated)  # raises here for a model that is not built on a grid
    scene_sampler = SceneSampler() if scene_sampler is None else scene_sampler
    crop_name, crop_fn = _crop_spec(crop)
    sampler, sampler_entry = _resolve_sampler(sampler, n_shape + n_color)
    settings = normalised_settings({
        "sampler": sampler_entry, "seed": seed, "n_faces": n_faces, "images_per_face": images_per_face,
        "model": {"name": base.name, "fingerprint": fingerprint, "n_shape": n_shape,
                  "n_color": n_color, "n_expression": n_expression},
        "expression": expr, "scene": scene_sampler, "crop": crop_name, "image_size": CROP_SIZE,
        "png_filter": PNG_FILTER, "chunk_size": chunk_size, **_store_settings(store),
        **({} if mesh == "full" else {"mesh": mesh})})

    out.mkdir(parents=True, exist_ok=True)
    if check_request(out, settings, overwrite):
        return load_card(out)
    for sub, wanted in ((IMAGES_DIR, has_images(store)), (FEATURES_DIR, has_features(store)), (PARTS_DIR, True)):
        if wanted:
            (out / sub).mkdir(exist_ok=True)
    remove_stale_tmp(out)
    write_file(out / REQUEST_FILE, json.dumps({"settings": settings}, indent=1).encode())

    X, face_labels = _draw_faces(sampler, n_faces, np.random.default_rng([seed, 0]))
    if X.shape != (n_faces, n_shape + n_color) or not np.all(np.isfinite(X)):
        raise ValueError(f"sampler gave {X.shape} parameters (finite: {np.all(np.isfinite(X))}); "
                         f"need ({n_faces}, n_shape + n_color = {n_shape + n_color}) finite values")

    chunks, done = _pending_chunks(out, X, face_labels, images_per_face, chunk_size, store)
    ctx = ChunkContext(str(out), seed, images_per_face, n_shape, n_color, n_expression,
                       None if model is None else truncated, fingerprint,
                       scene_sampler, crop_fn, expr, store=store, mesh=mesh)
    cpu_s = run_chunks(chunks, ctx, workers, scheduler, progress, done)
    run = {"images_rendered": n_faces * images_per_face - done, "render_cpu_s": round(cpu_s, 3),
           "workers": int(workers) if scheduler is None else None,
           "scheduler": None if scheduler is None else
           scheduler if isinstance(scheduler, str) else type(scheduler).__name__}
    return _finish(out, settings, crop_name, run, t0)


def _store_settings(store: str) -> dict:
    """The card's record of a store that keeps stem features (nothing for "png", as before stores).

    Checks first that the stem can run here (clear ImportError otherwise)."""
    if not has_features(store):
        return {}
    from thesislib.faces import FEATURES_VERSION, N_FEATURES, check

    check()
    return {"store": store, "stem": {"name": "facemesh", "version": FEATURES_VERSION, "n_features": N_FEATURES}}


def _pending_chunks(out: Path, X, face_labels: dict, images_per_face: int, chunk_size: int,
                    store: str = "png") -> tuple[list, int]:
    """(chunks still to render, images already done): chunks whose files a previous run left
    complete are skipped."""
    n_images = len(X) * images_per_face
    chunks, done = [], 0
    merged = merged_rows(out, n_images)
    for number, start in enumerate(range(0, n_images, chunk_size)):
        stop = min(start + chunk_size, n_images)
        if chunk_done(out, number, start, stop, store, merged):
            done += stop - start
            continue
        f0, f1 = start // images_per_face, (stop - 1) // images_per_face + 1
        chunks.append(Chunk(number, start, stop, f0, X[f0:f1], {k: v[f0:f1] for k, v in face_labels.items()}))
    return chunks, done


def _finish(out: Path, settings: dict, crop_name, run: dict, t0: float) -> DatasetCard:
    """Merge the chunks' label parts into the labels table and write the card (the request goes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_faces, images_per_face = settings["n_faces"], settings["images_per_face"]
    n_images = n_faces * images_per_face
    parts = [pq.read_table(p) for p in sorted((out / PARTS_DIR).glob("part-*.parquet"))]
    if (out / LABELS_FILE).is_file():  # a repaired dataset: the chunks not redone are merged already
        redone = set().union(*(t["index"].to_pylist() for t in parts))
        kept = pq.read_table(out / LABELS_FILE)
        parts.append(kept.filter(pa.array([i not in redone for i in kept["index"].to_pylist()])))
    labels = pa.concat_tables(parts, promote_options="default").sort_by("index")
    if len(labels) != n_images or not np.array_equal(labels["index"].to_numpy(), np.arange(n_images)):
        raise RuntimeError(f"label parts in {out / PARTS_DIR} do not cover images 0..{n_images - 1}")
    write_file(out / LABELS_FILE, parquet_bytes(labels))
    counts = {"n_faces": n_faces, "images_per_face": images_per_face, "n_images": n_images,
              "crop_methods": dict(sorted(Counter(labels["crop_method"].to_pylist()).items())),
              "backgrounds": dict(sorted(Counter(
                  b.split(":")[0] for b in labels["background_id"].to_pylist()).items()))}
    card = DatasetCard(str(out), settings, counts, dict(package_versions(crop_name, settings.get("store", "png"))),
                       _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                       round(time.perf_counter() - t0, 3), run)
    write_file(out / CARD_FILE, json.dumps(card.to_dict(), indent=1).encode())
    (out / REQUEST_FILE).unlink(missing_ok=True)
    if not has_images(settings.get("store", "png")):
        shutil.rmtree(out / PARTS_DIR, ignore_errors=True)  # labels.parquet holds them; no image to repair
    return card
