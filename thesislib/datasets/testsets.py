"""Test sets for BPRNs: the :class:`TestSet` value, real-like renders with known truth,
IMDB-WIKI photos, the user's photo folder and the photos installed packages ship.

Photos are read and their faces found by :mod:`thesislib.faces` (:func:`photo_test_set`,
params ``data.photos``; :func:`package_photos`); this module wraps them as :class:`TestSet`.
"""
from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thesislib.faces import METHODS, from_images, load_photos, read_photo

# ----------------------------------------------------------------- test sets
@dataclass(frozen=True, eq=False)
class TestSet:
    """Face crops to evaluate on.

    Attributes
    ----------
    name : str
    images : (n, 224, 224, 3) uint8 RGB crops
    ids : list of n str
    params : (n, n_shape + n_color) float64 true parameters in sd, or None (photos)
    age, sex : (n,) float64 or None (sex 1 male, 0 female, NaN unknown)
    n_shape, n_color : int, the parameter layout (the model's counts of the function that made the set)
    source : str, where the images come from
    """

    __test__ = False  # not a pytest class
    name: str
    images: np.ndarray
    ids: list
    params: np.ndarray | None = None
    age: np.ndarray | None = None
    sex: np.ndarray | None = None
    n_shape: int = 50
    n_color: int = 50
    source: str = ""

    def __len__(self) -> int:
        return len(self.images)


def _layout(model) -> tuple[int, int]:
    """(n_shape, n_color) of ``model``, or the thesis' (50, 50) for None (the embedded default)."""
    return (50, 50) if model is None else (int(model.n_shape), int(model.n_color))


def realistic_scenes(background_images=None):
    """Scene distribution of the real-like test set: near-frontal poses (|yaw| <= 20°,
    pitch sd 8°, like curated photo sets), built-in light prior, procedural backgrounds, or
    crops of ``background_images`` ((H, W, 3) uint8 photos) when given."""
    from thesislib.imaging import SceneSampler

    bg = {} if background_images is None else {"background": "images", "background_images": list(background_images)}
    return SceneSampler(max_yaw=20.0, yaw_weights=(0.5, 0.3, 0.2), pitch_std=8.0, max_pitch=15.0,
                        roll_std=4.0, max_roll=10.0, **bg)


def realistic_test_set(n: int, seed: int, model=None, scene_sampler=None, name: str = "real-like", progress: bool = False,
                       workers: int = 1, scheduler=None) -> TestSet:
    """Held-out real-like faces with known truth.

    Faces come from :func:`thesislib.facemodel.population.reference_population` (``rng =
    default_rng([seed, 0])``) and are rendered by :func:`population_test_set`; use a seed no
    training dataset uses, so backgrounds and light differ from training.

    Parameters
    ----------
    n : number of faces
    seed : int
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout, or None
        (the embedded default truncated to 50 + 50)
    scene_sampler : scene distribution (default :func:`realistic_scenes`)
    name : str
    progress : bool, show a tqdm bar
    workers, scheduler : where the renders run (see :func:`population_test_set`)

    Returns
    -------
    TestSet with params, age and sex
    """
    from thesislib.facemodel import reference_population

    base = _base_model(model)
    pop = reference_population(base, int(n), np.random.default_rng([int(seed), 0]))
    return population_test_set(pop, seed, model, scene_sampler, name, progress, workers, scheduler)


def _base_model(model):
    """``model`` without expression components; None: the default truncated to 50 + 50 (once per process)."""
    from thesislib.facemodel import default_model

    if model is None:
        if "default" not in _BASES:
            _BASES["default"] = default_model().truncated(50, 50, 0).truncated(None, None, 0)
        return _BASES["default"]
    return model.truncated(None, None, 0)


_BASES: dict = {}  # _base_model(None), once per process


def population_test_set(population, seed: int, model=None, scene_sampler=None, name: str = "real-like",
                        progress: bool = False, workers: int = 1, scheduler=None) -> TestSet:
    """Real-like renders of given faces, with their truth.

    Scenes come from ``scene_sampler`` (default :func:`realistic_scenes`) with
    ``default_rng([seed, 1])``. Each render is cropped from its projected landmarks
    (:func:`thesislib.imaging.crops.landmark_crop`, framed like a detector crop on
    average), as the training datasets are.

    Parameters
    ----------
    population : :class:`thesislib.facemodel.population.Population` in ``model``'s layout
    seed : int, seeds the scenes
    model, scene_sampler, name, progress : as :func:`realistic_test_set`
    workers, scheduler : where the renders run (:func:`thesislib.common.run_tasks`: this process,
        local processes or a Dask cluster), :data:`RENDER_CHUNK` faces a task; the same bytes for any
        worker count. The scenes are drawn here and sent with the tasks (~10 MB a task with backgrounds)

    Returns
    -------
    TestSet with the population's params, age and sex
    """
    from thesislib.common import run_tasks

    base = _base_model(model)
    n_shape, n_color = base.n_shape, base.n_color
    if population.params.shape[1] != n_shape + n_color:
        raise ValueError(f"population has {population.params.shape[1]} parameters; the model takes "
                         f"{n_shape} + {n_color}")
    n = len(population)
    scenes = (scene_sampler or realistic_scenes()).sample_many(n, np.random.default_rng([int(seed), 1]))
    params = np.asarray(population.params)
    tasks = [(params[i:i + RENDER_CHUNK], scenes[i:i + RENDER_CHUNK]) for i in range(0, n, RENDER_CHUNK)]
    parts = run_tasks(_render_faces, tasks, context=_Renders(model, n_shape), workers=workers, scheduler=scheduler,
                      progress=progress, desc=f"{name} test set", unit="img", sizes=[len(t[1]) for t in tasks])
    images = np.concatenate(parts) if parts else np.empty((0, 224, 224, 3), np.uint8)
    return TestSet(name, images, [f"{name}-{i:05d}" for i in range(n)], population.params.copy(),
                   population.age.copy(), population.sex.copy(), n_shape, n_color,
                   population.source + f", seed {seed}")


#: Faces per task of :func:`population_test_set`.
RENDER_CHUNK = 64


@dataclass(frozen=True, eq=False)
class _Renders:
    """What a worker of :func:`population_test_set` needs: the model as given (None: the default,
    which every worker process truncates itself, once) and the layout."""

    model: object
    n_shape: int


def _render_faces(task, ctx: _Renders) -> np.ndarray:
    """The landmark crops (k, 224, 224, 3) uint8 of one task's faces (params (k, d), k scenes)."""
    from thesislib.imaging import Workspace, render_crop

    from .chunks import _OneThread

    base = _base_model(ctx.model)
    params, scenes = task
    out, ws, k = np.empty((len(scenes), 224, 224, 3), np.uint8), Workspace(), ctx.n_shape
    with _OneThread():  # a face's instance is a small product: a BLAS thread pool only spin-waits (8 ms a face)
        for i, (p, scene) in enumerate(zip(params, scenes)):
            out[i] = render_crop(base.instance(p[:k], p[k:]), scene, workspace=ws).image
    return out


def wiki_test_set(mat_path, root, n: int | None = None, seed: int = 0, min_face_score: float = 1.0,
                  model=None, progress: bool = False) -> TestSet:
    """IMDB-WIKI photos (``wiki.mat`` + image folder ``root``) cropped at their face boxes.

    Rows come from :func:`thesislib.datasets.generation.load_wiki` (its filters); ``n`` of them are
    drawn with ``default_rng(seed)`` (None: all). Age and sex are kept. ``model``: truncated MorphableModel; its n_shape/n_color decide the parameter layout
    (None: the thesis' 50 + 50).
    """
    n_shape, n_color = _layout(model)
    from PIL import Image
    from tqdm.auto import tqdm

    from thesislib import faces
    from .generation import load_wiki

    df = load_wiki(mat_path, min_face_score=min_face_score, root=root)
    df = df[[Path(p).is_file() for p in df["path"]]].reset_index(drop=True)
    if len(df) == 0:
        raise FileNotFoundError(f"no usable IMDB-WIKI images under {root} for {mat_path}")
    if n is not None and n < len(df):
        df = df.iloc[np.sort(np.random.default_rng(seed).choice(len(df), int(n), replace=False))]
    images = []
    for row in tqdm(df.itertuples(), total=len(df), disable=not progress, desc="wiki photos"):
        with Image.open(row.path) as im:
            img = np.asarray(im.convert("RGB"), np.uint8)
        box = (row.face_x0, row.face_y0, row.face_x1, row.face_y1)
        images.append(faces.crop(img, box=box).image)
    return TestSet("wiki", np.stack(images), [Path(p).stem for p in df["path"]], None,
                   df["age"].to_numpy(np.float64), df["sex"].to_numpy(np.float64), n_shape, n_color,
                   f"IMDB-WIKI {mat_path}")


def photo_test_set(folder, model=None, methods=METHODS):
    """A :class:`thesislib.datasets.testsets.TestSet` of the photos in ``folder`` (see :func:`load_photos`);
    ``model``: truncated MorphableModel; its n_shape/n_color decide the parameter layout (None: the thesis' 50 + 50).

    Returns
    -------
    TestSet named "photos": the crops, ids = file names, params None, age and sex NaN
    (unknown), source naming the folder and the counts skipped
    """
    n_shape, n_color = _layout(model)
    ps = load_photos(folder, methods)
    nan = np.full(len(ps), np.nan)
    skipped = ", ".join(f"{len(v)} {k}" for k, v in ps.skipped.items() if v)
    return TestSet("photos", ps.images, list(ps.names), None, nan, nan.copy(), n_shape, n_color,
                   f"photos in {ps.folder}" + (f" (skipped: {skipped})" if skipped else ""))


def package_photos(model=None) -> TestSet | None:
    """Real face photos shipped by installed packages, or None when there are none; ``model``:
    truncated MorphableModel; its n_shape/n_color decide the parameter layout (None: the thesis' 50 + 50).

    scikit-image's ``skimage.data.astronaut`` (when scikit-image is installed) and
    matplotlib's ``sample_data/grace_hopper.jpg`` (when present); dlib-bin and
    face-recognition-models ship model files only. Faces are found as in the user's own
    photos (:func:`thesislib.faces.photos.detect_face`: dlib, then MediaPipe); photos where
    no face is found are left out.
    """
    n_shape, n_color = _layout(model)
    found, sources = {}, []
    if importlib.util.find_spec("skimage") is not None:
        try:
            from skimage import data
            found["astronaut"] = data.astronaut()
            sources.append("scikit-image data")
        except Exception as exc:  # noqa: BLE001 - a broken optional package must not break a run
            warnings.warn(f"scikit-image photos unavailable: {exc}")
    if importlib.util.find_spec("matplotlib") is not None:
        try:
            import matplotlib
            path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
            if path.is_file():
                found["grace_hopper"] = read_photo(path)
                sources.append("matplotlib sample data")
        except Exception as exc:  # noqa: BLE001
            warnings.warn(f"matplotlib's sample photo unavailable: {exc}")
    if not found:
        return None
    try:
        ps = from_images(found)
    except ImportError as exc:  # MediaPipe missing: dlib alone
        warnings.warn(f"{exc}; using dlib's detector only")
        ps = from_images(found, methods=("hog",))
    if not len(ps):
        return None
    nan = np.full(len(ps), np.nan)
    return TestSet("package photos", ps.images, list(ps.names), None, nan, nan.copy(), n_shape, n_color,
                   ", ".join(sources))
