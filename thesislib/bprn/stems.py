"""Frozen BPRN stems: image -> feature vector, and the per-dataset feature cache.

A frozen stem is pretrained and never trained here, so its features are computed once
per image and cached (:func:`dataset_features`); an epoch of the head then costs only
the head. Stems (``stem=`` name):

``"facemesh"`` (default)  MediaPipe Face Mesh: 478 3D landmarks, centred and scaled,
    plus colours sampled around them (:mod:`thesislib.faces.facemesh`), 2869-D. Its network
    (trained on real faces for geometry) is independent of the face-recognition network
    that scores the predictions (:mod:`thesislib.evaluation.predictions`).
``"dlib"``  dlib's ResNet face descriptor (128-D, ``face-recognition-models``), batched in
    torch (:func:`thesislib.faces.describe_many`). It *is* the scoring network, so face-recognition
    scores are biased toward it; compare stems by the geometric error.
``"wide_resnet50_2"``  the thesis' stem (ImageNet-normalised 224 px input, 2048-D pooled
    features); needs torchvision and a user-supplied weights file (``weights_path``, a
    ``state_dict`` read with ``torch.load(weights_only=True)``).

Per-image stems (facemesh, dlib) run in local processes (``n_jobs``) or on a Dask cluster
(``scheduler``) through :func:`thesislib.common.run_tasks`, like dataset generation; rows
where a stem finds no face are NaN (facemesh) and are imputed by the head
(:class:`thesislib.bprn.estimator.BPRN`).

A stem has a version (:func:`stem_version`; facemesh 2 runs the landmark network on the known
crop without MediaPipe's face detector, version 1 ran the detector on every crop; dlib 2 runs
dlib's network in torch, batched, version 1 ran dlib's own): cached features of another version
are recomputed. A dataset generated with ``store="features"`` or
``"both"`` holds its face-mesh features already; :func:`dataset_features` reads them when stem and
version match (a features-only dataset has no images to compute anything else from).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from thesislib.common import atomic_write, run_tasks, worker_count

#: Every stem name; "cnn" is trained with the head (:mod:`thesislib.bprn.estimator`), the others are frozen.
STEMS = ("facemesh", "dlib", "cnn", "wide_resnet50_2")
#: Feature size of each frozen stem.
FEATURE_DIMS = {"facemesh": 2 * 3 * 478 + 1, "dlib": 128, "wide_resnet50_2": 2048}
#: Face box inside a 224 px dataset crop (the detector box widened by 15 % per side,
#: see thesislib.faces.recognition.crop), used for the dlib stem when the detector misses the face.
CROP_FACE_BOX = (26, 26, 198, 198)


def _read_png(path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), np.uint8)


def dlib_features_many(images) -> np.ndarray:
    """dlib 128-D descriptors of face crops (224 px), (n, 128) float32, the network batched.

    Each crop: the detector's box, else :data:`CROP_FACE_BOX` (the face region of a dataset
    crop), so a crop always gets a finite feature vector; dlib's shape predictor and aligned chip,
    then dlib's recognition network run in torch on all chips at once
    (:func:`thesislib.faces.describe_many`; dlib's own network gives the same descriptors within
    5e-7, at ~91 ms per image against ~13 ms here).
    """
    from thesislib.faces import describe_many

    images = [np.asarray(im) for im in images]
    return describe_many(images, fallback_box=CROP_FACE_BOX, chunk=max(1, len(images))).descriptors


def dlib_features(image) -> np.ndarray:
    """dlib 128-D descriptor of one face crop (224 px), float32 (128,) (:func:`dlib_features_many`)."""
    return dlib_features_many([image])[0]


def facemesh_features(image) -> np.ndarray:
    """Face-mesh features of one face crop, (2869,) float32 (:func:`thesislib.faces.facemesh.features`)."""
    from thesislib import faces as facemesh

    return facemesh.features(image)


#: Stems computed per image, and by what (looked up by name at call time, so tests can replace
#: them): facemesh image by image, dlib a chunk of images at once (its network batched).
_PER_IMAGE = {"dlib": "dlib_features_many", "facemesh": "facemesh_features"}
_BATCHED = {"dlib"}


def _chunk(items, stem: str) -> np.ndarray:
    """Features of a list of images or PNG paths with a per-image stem, (len, F) float32."""
    f = globals()[_PER_IMAGE[stem]]
    images = [_read_png(x) if isinstance(x, (str, Path)) else x for x in items]
    if stem in _BATCHED:
        return np.asarray(f(images), np.float32).reshape(len(images), -1)
    return np.stack([f(im) for im in images]).astype(np.float32)


def _wrn_model(weights_path):
    try:
        import torchvision
    except ImportError as exc:
        raise ImportError("stem 'wide_resnet50_2' needs torchvision (a build matching torch "
                          f"{torch.__version__}: pip install torchvision) and a weights file "
                          "(weights_path=...); or use stem='facemesh'") from exc
    if weights_path is None or not Path(weights_path).is_file():
        raise FileNotFoundError(f"stem 'wide_resnet50_2' needs weights_path, a torchvision "
                                f"wide_resnet50_2 state_dict file (got {weights_path!r}); nothing "
                                "is downloaded at run time. Or use stem='facemesh'")
    net = torchvision.models.wide_resnet50_2(weights=None)
    net.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    net.fc = nn.Identity()
    return net.eval()


def check_stem(stem: str, weights_path=None) -> None:
    """Raise a clear error when ``stem`` is unknown or cannot run here."""
    if stem not in STEMS:
        raise ValueError(f"unknown stem {stem!r}; choose one of {STEMS}")
    if stem == "facemesh":
        from thesislib import faces as facemesh

        facemesh.check()
    if stem == "wide_resnet50_2":
        _wrn_model(weights_path)
    if stem == "dlib":
        from thesislib.faces import RECOGNITION_FILE, model_file

        model_file(RECOGNITION_FILE)


def frozen_features(images, stem: str = "facemesh", n_jobs: int = 1, weights_path=None,
                    progress: bool = False, batch_size: int = 32, scheduler=None) -> np.ndarray:
    """Features of a frozen stem, (n, F) float32, without caching.

    Parameters
    ----------
    images : (n, H, W, 3) uint8 array or sequence of such images or of PNG paths
    stem : "facemesh", "dlib" or "wide_resnet50_2"
    n_jobs : worker processes for the per-image stems (facemesh, dlib; -1: all cores)
    scheduler : Dask scheduler address or ``distributed.Client``: run the per-image stems
        on that cluster instead (its workers must see the PNG paths)
    """
    if stem not in FEATURE_DIMS:
        raise ValueError(f"stem {stem!r} is not a frozen stem (frozen: {', '.join(FEATURE_DIMS)})")
    items = list(images)
    if not items:
        return np.zeros((0, FEATURE_DIMS[stem]), np.float32)
    if stem in _PER_IMAGE:
        k = 1 if scheduler is None and n_jobs == 1 else max(2, worker_count(n_jobs))
        chunk = max(1, min(32, -(-len(items) // k)))
        parts = [items[i:i + chunk] for i in range(0, len(items), chunk)]
        return np.concatenate(run_tasks(_chunk, parts, context=stem, workers=n_jobs, scheduler=scheduler,
                                        progress=progress, desc=f"{stem} features", unit="img",
                                        sizes=[len(p) for p in parts])).astype(np.float32)
    if stem == "wide_resnet50_2":
        net = _wrn_model(weights_path)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        out = []
        with torch.no_grad():
            for i in range(0, len(items), batch_size):
                b = np.stack([_read_png(x) if isinstance(x, (str, Path)) else np.asarray(x, np.uint8)
                              for x in items[i:i + batch_size]])
                t = torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255.0
                t = nn.functional.interpolate(t, size=(224, 224), mode="bilinear", align_corners=False)
                out.append(net((t - mean) / std).numpy())
        return np.concatenate(out).astype(np.float32)


# ----------------------------------------------------------------- feature cache
@dataclass(frozen=True, eq=False)
class Features:
    """Cached frozen-stem features of a dataset.

    Attributes
    ----------
    ids : list of image ids (dataset order)
    X : (n, F) float32
    n_computed : int, images computed in this call (0 = everything came from the cache)
    path : Path of the cache file (``<dataset>/features/<stem>.npz``)
    """

    ids: list
    X: np.ndarray
    n_computed: int
    path: Path


def feature_cache_path(dataset_path, stem: str) -> Path:
    return Path(dataset_path) / "features" / f"{stem}.npz"


#: Version of the dlib stem's features: 1 -- dlib's own network, image by image; 2 -- the same
#: network in torch on batches (:func:`dlib_features_many`; within 5e-7 of version 1).
DLIB_VERSION = 2


def stem_version(stem: str) -> int:
    """Version of a frozen stem's features (facemesh: :data:`thesislib.faces.FEATURES_VERSION`,
    dlib: :data:`DLIB_VERSION`)."""
    if stem == "facemesh":
        from thesislib.faces import FEATURES_VERSION

        return int(FEATURES_VERSION)
    if stem == "dlib":
        return DLIB_VERSION
    return 1


def _cache_key(card: dict, stem: str, weights_path=None) -> str:
    """What cached features depend on: the dataset's settings and creation time, the stem and
    its version, and (wide_resnet50_2) the weights file's size and modification time. Version 1
    stems keep the key they had before stems had versions."""
    import hashlib

    parts = {"settings": card.get("settings"), "created": card.get("created"), "stem": stem}
    if stem_version(stem) != 1:
        parts["version"] = stem_version(stem)
    if stem == "wide_resnet50_2" and weights_path is not None and Path(weights_path).is_file():
        st = Path(weights_path).stat()
        parts["weights"] = [str(Path(weights_path).resolve()), st.st_size, st.st_mtime_ns]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _load_cache(path: Path, key: str) -> dict:
    """id -> feature row; empty when the file is missing or was made for another dataset/stem."""
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as z:
        if "key" not in z.files or str(z["key"]) != key:
            return {}
        return dict(zip(z["ids"].tolist(), z["X"]))


def _stored_features(ds, stem: str):
    """The dataset's own features when it stores this stem's in this version, else None (or a clear
    error when it has no images to compute them from)."""
    held = ds.stem or {}
    if held.get("name") == stem and held.get("version") == stem_version(stem):
        X = ds.stem_features()
        return Features([str(i) for i in ds.ids], X, 0, Path(ds.path) / "stem_features")
    if ds.store == "features":
        what = (f"stem {stem!r}" if held.get("name") != stem else
                f"version {stem_version(stem)} of stem {stem!r} (this thesislib's)")
        raise FileNotFoundError(
            f"dataset {ds.path} stores no images, only {held.get('name')} features version {held.get('version')}; "
            f"{what} needs the images: regenerate the dataset with thesislib.datasets.generate(..., "
            "store='png') or 'both'" + ("" if held.get("name") != stem else ", or store='features' again"))
    return None


def dataset_features(dataset, stem: str = "facemesh", n_jobs: int = 1, weights_path=None,
                     progress: bool = False, cache_path=None, scheduler=None) -> Features:
    """Frozen-stem features of every image of a dataset, computed once and cached.

    The cache is an ``.npz`` (``ids`` (n,) unicode, ``X`` (n, F) float32, ``key``; no
    pickle) keyed by image id and stem, written atomically. ``key`` hashes the dataset
    card (settings, creation time), the stem, its version and its weights file, so a
    regenerated dataset, another stem version or other weights invalidate it. Missing ids are
    computed (in ``n_jobs`` processes) and the file is rewritten; cached ids cost nothing.
    A dataset that stores this stem's features in this version (``generate(..., store="features")``
    or ``"both"``) is read as it is (``n_computed`` 0, ``path`` its ``stem_features`` folder).

    Parameters
    ----------
    dataset : dataset folder or :class:`thesislib.datasets.generation.Dataset`
    stem : "facemesh", "dlib" or "wide_resnet50_2"
    scheduler : Dask scheduler for the extraction (see :func:`frozen_features`)
    cache_path : file to use instead of ``<dataset>/features/<stem>.npz``

    Raises
    ------
    FileNotFoundError
        the dataset stores no images and not this stem's features in this version
    """
    from thesislib.datasets import Dataset, load_dataset

    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    stored = _stored_features(ds, stem)
    if stored is not None:
        return stored
    path = Path(cache_path) if cache_path is not None else feature_cache_path(ds.path, stem)
    key = _cache_key(ds.card, stem, weights_path)
    cache = _load_cache(path, key)
    ids = [str(i) for i in ds.ids]
    missing = [i for i in ids if i not in cache]
    if missing:
        X = frozen_features([str(ds.image_path(i)) for i in missing], stem, n_jobs, weights_path, progress,
                            scheduler=scheduler)
        cache.update(zip(missing, X))
        keys = sorted(cache)

        def write(fh):
            np.savez(fh, ids=np.array(keys, dtype=str), X=np.stack([cache[k] for k in keys]).astype(np.float32),
                     key=np.array(key))

        atomic_write(path, write)
    return Features(ids, np.stack([cache[i] for i in ids]).astype(np.float32), len(missing), path)


