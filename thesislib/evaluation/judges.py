"""The face-recognition judge, calibrated: every score placed between the mean face and the truth.

The thesis scores a prediction by the cosine similarity of dlib's 128-D descriptors of the input
and of a render of the prediction. Raw, that number barely moves (any two faces of the embedded
model score about 0.93). Here every test image also gets two reference scores, rendered exactly
as the predictions are:

* the **oracle** ``o``: the render of the image's true parameters (synthetic test sets only);
* the **mean face** ``m``: the render of the all-zero parameter vector.

A prediction's **gain** is ``s - m`` (above 0: better than knowing nothing), its **calibrated
score** ``(s - m) / (o - m)`` per image (0 = the mean face, 1 = as good as the truth, by
construction). :func:`judge_summary` reports per model the mean gain and the calibrated score
of the means, ``mean(s - m) / mean(o - m)``, with intervals that count draws and faces
(:func:`thesislib.evaluation.draw_interval`). Photos have no oracle: their gain is reported, and
scaled by the synthetic test set's mean gap ``mean(o - m)`` when one is given (:func:`photo_summary`).

Renderings (:data:`RENDERINGS`): ``"frontal"`` -- the thesis' render (frontal, default light,
grey, :func:`thesislib.evaluation.render_predictions`); ``"posed"`` -- the input's pose and
light on grey (:mod:`thesislib.evaluation.posed`).

What a test set needs once, for every model (input descriptors and landmarks, oracle and
mean-face descriptors per rendering), is a :class:`JudgeInputs` (:func:`judge_inputs`), kept in
memory or in an ``.npz`` file. Descriptors come from :func:`thesislib.faces.describe_many` (dlib's
network run by torch). Cost per image on one core: an input ~16 ms (face-mesh landmarks ~2 ms,
dlib's detector, 68 landmarks and descriptor ~14 ms), a frontal prediction ~18 ms (render and
crop ~4 ms), a posed one ~30 ms (render ~4 ms, pose fit ~3 ms, light ~8 ms); predictions that are
all zero reuse the mean face's descriptors. Every task runs BLAS, OpenMP and torch on one thread
(parallelism is ``n_jobs`` processes: more threads per process cost several times over on busy
cores), and every :func:`thesislib.common.run_tasks` call of one model passes the same context, so
its worker pool (and what the workers loaded) serves every test set. Measured 2026-12-04 on a
2-core machine that others loaded (load 2-6): chapter 05's smoke-sized call (3 sets x 4 faces,
11 prediction sets, both renderings, ``n_jobs=1``) took 74-78 s (55 s of CPU) before these
choices and 9-17 s (9 s of CPU) after; a default-sized test set (40 faces, 30 prediction sets,
``n_jobs=2``) 48 s (>= 84 s of CPU) before, 34 s (65 s of CPU) after.

Measured (2026-12-04; 100 real-like faces of the embedded model, 50 + 50; "samplers" made of the
truth plus noise of sd 0.3-1.5 or shrunk by half, 3 draws each; a ridge head on 400 naive renders;
the test population's and the model's mean faces):

* frontal: oracle - mean face 0.041 (d = mean / sd over images 1.7), Spearman per image 0.67,
  Kendall tau 0.86 [0.79, 0.93];
* posed, default light: 0.044 (d 1.8), 0.69, 0.86 [0.79, 0.93];
* posed, pose and light: 0.054 (d 2.3), 0.80, 0.93 [0.86, 1.00].

The estimated light does most of the posed rendering's gain. Closer to the chapter: six samplers
(naive normal 1, 1.5, 2, uniform 3.5, 4, meta normal) each with 3 draws of 300 renders and a ridge
head on face-mesh features (mean vertex error 4.76-5.18 mm): frontal -- Kendall tau between the
samplers' orders 0.33 [-0.20, 0.73], Spearman per image 0.21; posed -- 0.87 [0.60, 1.00], 0.29
(with 40 faces: 0.17 [-0.33, 0.83] and 0.85 [0.39, 0.99], means over 20 subsets). The samplers'
calibrated scores lie between 0.45 and 0.58 (posed). A model's calibrated score (3 draws)
has a 95 % interval of about +-0.14 (posed) / +-0.17 (frontal) with 40 faces, +-0.09 / +-0.11 with
100; a paired difference of two such models about +-0.10 / +-0.11 with 40 faces.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .posed import posed_renders
from .predictions import FACE_BOX, mean_shape_errors, render_predictions

#: How a prediction (and its references) is rendered before the judge sees it.
RENDERINGS = ("frontal", "posed")
#: Columns of :func:`judge_scores`.
SCORE_COLUMNS = ["test_set", "judge", "rendering", "sampler", "draw", "fixed", "face", "id", "score", "oracle",
                 "mean_face", "gain", "calibrated", "vertex_mm"]
_VERSION = 1
#: What the inputs' numbers are made by, part of :class:`JudgeInputs`' key (a file made otherwise is
#: recomputed): 1 -- face-mesh landmarks by MediaPipe's detector graph; 2 -- by the face-mesh network
#: on the crop's fixed region (:func:`thesislib.faces.facemesh_landmarks` with ``detector=False``).
_INPUTS = 2


@dataclass(frozen=True, eq=False)
class JudgeInputs:
    """What the judge needs of one test set, computed once for every model (:func:`judge_inputs`).

    Attributes
    ----------
    test_set : str, the test set's name
    faces : (k,) int, indices of the scored faces in the test set
    ids : list of k str, their ids
    key : str, fingerprint of the test images, truth, model and faces (a file is reused only
        for the same key)
    descriptors : (k, 128) float32, dlib descriptors of the input crops
    landmarks : (k, 478, 3) float64, MediaPipe face-mesh landmarks of the inputs, px (the network
        on the crop's fixed region, ``facemesh_landmarks(detector=False)``); they pose the "posed"
        renders (NaN rows: no face found; that face's renders are then frontal)
    dlib_landmarks : (k, 68, 2) float32, dlib's 68 points of the inputs, px
    oracle : dict rendering -> (k, 128) descriptors of the true faces' renders (empty for photos)
    mean_face : dict rendering -> (k, 128) descriptors of the mean face's renders
    """

    test_set: str
    faces: np.ndarray
    ids: list
    key: str
    descriptors: np.ndarray
    landmarks: np.ndarray
    dlib_landmarks: np.ndarray
    oracle: dict = field(default_factory=dict)
    mean_face: dict = field(default_factory=dict)

    @property
    def renderings(self) -> tuple:
        return tuple(self.mean_face)

    def save(self, path) -> Path:
        """Write an ``.npz`` file (atomically); :meth:`load` reads it back."""
        from thesislib.common import atomic_write

        arrays = {"version": np.array(_VERSION), "test_set": np.array(self.test_set), "faces": self.faces,
                  "ids": np.array(self.ids, dtype=str), "key": np.array(self.key),
                  "descriptors": self.descriptors, "landmarks": self.landmarks,
                  "dlib_landmarks": self.dlib_landmarks}
        arrays.update({f"oracle_{k}": v for k, v in self.oracle.items()})
        arrays.update({f"mean_face_{k}": v for k, v in self.mean_face.items()})
        return atomic_write(Path(path), lambda fh: np.savez(fh, **arrays))

    @classmethod
    def load(cls, path) -> "JudgeInputs":
        with np.load(Path(path), allow_pickle=False) as z:
            if int(z["version"]) != _VERSION:
                raise ValueError(f"{path}: judge inputs of version {int(z['version'])}, this is {_VERSION}")
            refs = {p: {k[len(p) + 1:]: z[k] for k in z.files if k.startswith(p + "_")} for p in ("oracle", "mean_face")}
            return cls(str(z["test_set"]), z["faces"], list(z["ids"]), str(z["key"]), z["descriptors"],
                       z["landmarks"], z["dlib_landmarks"], refs["oracle"], refs["mean_face"])


def _face_indices(test, faces) -> np.ndarray:
    """``faces`` as sorted unique indices into ``test``: None = all, an int k = the first k
    (test faces are drawn at random, so the first k are a random subset), else indices."""
    n = len(test)
    if faces is None:
        return np.arange(n)
    if np.ndim(faces) == 0:
        return np.arange(min(int(faces), n))
    idx = np.unique(np.asarray(faces, np.int64))
    if len(idx) and (idx[0] < 0 or idx[-1] >= n):
        raise ValueError(f"face indices must lie in 0..{n - 1}")
    return idx


def _key(test, model, idx) -> str:
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(test.images[idx]), idx,
              np.zeros(0) if test.params is None else np.ascontiguousarray(test.params[idx], np.float64)):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(model.fingerprint.encode())
    h.update(f"inputs {_INPUTS}".encode())
    return h.hexdigest()[:24]


def _model(model, test):
    from thesislib.facemodel import default_model

    return (default_model() if model is None else model).truncated(test.n_shape, test.n_color, 0)


# ----------------------------------------------------------------- rendering and describing
def _one_thread():
    """Context manager: BLAS and OpenMP on one thread. A task's products are small (a face's
    20-100 coefficients times its 28.6k vertices, pose and light fits): more threads gain nothing
    and on busy cores cost up to 10x (a face instance: 0.9 ms of CPU on one thread, 5-11 ms on two
    of a loaded 2-core machine). Parallelism comes from run_tasks' processes."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _inputs_chunk(images, _context=None):
    """Face-mesh landmarks and dlib's view of input crops (a worker task). The landmarks come
    from the face-mesh network run on the crop's fixed region (``detector=False``, LiteRT, ~2 ms;
    no MediaPipe graph to start, nothing printed), as the face-mesh stem reads test crops."""
    from thesislib.faces import describe_many, facemesh_landmarks

    with _one_thread():
        marks = []
        for im in images:
            pts = facemesh_landmarks(im, detector=False)
            marks.append(np.full((478, 3), np.nan) if pts is None else pts)
        d = describe_many(images, fallback_box=FACE_BOX)
    return d.descriptors, d.landmarks, np.stack(marks)


def _render(P, rendering, model, images=None, landmarks=None) -> np.ndarray:
    """(m, 224, 224, 3) uint8 renders of predictions P (m, n_params) in ``rendering``."""
    if rendering == "frontal":
        return render_predictions(P, model)
    if rendering == "posed":
        return posed_renders(P, model, landmarks, images, light=True).images
    raise ValueError(f"unknown rendering {rendering!r}; choose from {RENDERINGS}")


def _describe_task(task, model):
    """dlib descriptors (m, 128) of predictions rendered as asked (a worker task:
    ``task = (P, rendering, input images or None, landmarks or None)``)."""
    from thesislib.faces import describe_many

    P, rendering, images, landmarks = task
    with _one_thread():
        return describe_many(_render(P, rendering, model, images, landmarks), fallback_box=FACE_BOX).descriptors


def _describe_predictions(jobs, test, inputs: JudgeInputs, model, n_jobs, progress, chunk: int = 16) -> list:
    """Descriptors of many prediction sets: ``jobs`` is a list of (P (k, n_params) for the scored
    faces, rendering); returns one (k, 128) array per job. Work is cut into chunks of ``chunk``
    images across jobs, run by :func:`thesislib.common.run_tasks`."""
    from thesislib.common import run_tasks

    k = len(inputs.faces)
    tasks, where = [], []
    for j, (P, rendering) in enumerate(jobs):
        for a in range(0, k, chunk):
            rows = np.arange(a, min(a + chunk, k))
            posed = rendering == "posed"
            tasks.append((np.asarray(P, np.float64)[rows], rendering,
                          test.images[inputs.faces[rows]] if posed else None,
                          inputs.landmarks[rows, :, :2] if posed else None))
            where.append(j)
    out = run_tasks(_describe_task, tasks, context=model, workers=n_jobs, progress=progress,
                    desc=f"judge {test.name}", unit="img", sizes=[len(t[0]) for t in tasks])
    return [np.concatenate([o for o, w in zip(out, where) if w == j]) if k else np.zeros((0, 128), np.float32)
            for j in range(len(jobs))]


# ----------------------------------------------------------------- the inputs of a test set
def judge_inputs(test, model=None, renderings=RENDERINGS, faces=None, n_jobs: int = 1, path=None,
                 progress: bool = False) -> JudgeInputs:
    """Descriptors and landmarks of a test set's inputs, and of its oracle and mean-face renders.

    Parameters
    ----------
    test : :class:`thesislib.datasets.TestSet` (with ``params``: oracles are rendered; without: none)
    model : MorphableModel (None: the embedded default), truncated to the test set's layout
    renderings : renderings to prepare references for (:data:`RENDERINGS`)
    faces : None (all), an int k (the first k faces) or indices: the faces to score
    n_jobs : worker processes (:func:`thesislib.common.run_tasks`)
    path : an ``.npz`` file: read when it holds the same key and renderings, else computed and
        written there (what it lacks is added); None: memory only
    progress : tqdm bars

    Returns
    -------
    :class:`JudgeInputs`
    """
    from thesislib.common import run_tasks

    m = _model(model, test)
    idx = _face_indices(test, faces)
    key = _key(test, m, idx)
    renderings = tuple(renderings)
    have = None
    if path is not None and Path(path).is_file():
        have = JudgeInputs.load(path)
        if have.key != key:
            have = None
        elif all(r in have.mean_face for r in renderings):
            return have
    if have is None:
        parts = [test.images[idx[a:a + 16]] for a in range(0, len(idx), 16)]
        out = run_tasks(_inputs_chunk, parts, context=m, workers=n_jobs, progress=progress,
                        desc=f"inputs of {test.name}", unit="img", sizes=[len(p) for p in parts])
        desc, dl, fm = (np.concatenate([o[i] for o in out]) if out else np.zeros((0,) + s)
                        for i, s in enumerate([(128,), (68, 2), (478, 3)]))
        have = JudgeInputs(test.name, idx, [test.ids[i] for i in idx], key, desc, fm, dl)
    todo = [r for r in renderings if r not in have.mean_face]
    zeros = np.zeros((len(idx), m.n_params))
    jobs = [(zeros, r) for r in todo]
    if test.params is not None:
        jobs += [(np.asarray(test.params, np.float64)[idx], r) for r in todo]
    got = _describe_predictions(jobs, test, have, m, n_jobs, progress)
    mean_face = {**have.mean_face, **dict(zip(todo, got[:len(todo)]))}
    oracle = {**have.oracle, **dict(zip(todo, got[len(todo):]))}
    result = JudgeInputs(have.test_set, have.faces, have.ids, have.key, have.descriptors, have.landmarks,
                         have.dlib_landmarks, oracle, mean_face)
    if path is not None:
        result.save(path)
    return result


# ----------------------------------------------------------------- scores
def _as_draws(P, n, d, name, fixed=()) -> tuple[np.ndarray, bool]:
    """(draws, n, d) predictions and whether they are a fixed baseline (given as (n, d), or named
    in ``fixed`` with one draw)."""
    a = np.asarray(P, np.float64)
    is_fixed = a.ndim == 2 or (name in fixed and a.ndim == 3 and len(a) == 1)
    a = a[None] if a.ndim == 2 else a
    if a.ndim != 3 or a.shape[1:] != (n, d):
        raise ValueError(f"predictions of {name!r} have shape {np.shape(P)}; need (draws, {n}, {d}) or ({n}, {d})")
    return a, is_fixed


def _cosine(a, b) -> np.ndarray:
    """Row-wise cosine similarity of (k, 128) arrays."""
    from thesislib.faces import similarity

    return np.asarray(similarity(a, b, pairwise=True), np.float64)


def judge_scores(predictions: dict, test, model=None, rendering="frontal", n_jobs: int = 1, cache=None,
                 faces=None, progress: bool = False, fixed=()) -> pd.DataFrame:
    """Every prediction's face-recognition score on a test set, raw and calibrated.

    Parameters
    ----------
    predictions : dict name -> (draws, n, n_params) array (a sampler's BPRNs, one per draw) or
        (n, n_params) (a fixed baseline), n = ``len(test)``, parameters in sd
    test : :class:`thesislib.datasets.TestSet`
    model : MorphableModel (None: the embedded default), truncated to the test set's layout
    rendering : a rendering of :data:`RENDERINGS` or a sequence of them
    n_jobs : worker processes for renders and descriptors
    cache : :class:`JudgeInputs` of this test set, a path for :func:`judge_inputs` (read or
        written), or None (computed here, for these faces)
    faces : the faces to score when ``cache`` is not a :class:`JudgeInputs` (as in
        :func:`judge_inputs`); a given :class:`JudgeInputs` decides them
    progress : tqdm bars
    fixed : names whose (1, n, n_params) predictions are a fixed baseline too

    Returns
    -------
    DataFrame, one row per (rendering, name, draw, scored face), columns :data:`SCORE_COLUMNS`:
    ``judge`` "dlib"; ``fixed`` True for baselines; ``face`` index in the test set; ``score``
    cosine similarity of the input's and the render's descriptors; ``oracle``, ``mean_face``
    the references' scores on that image (oracle NaN without truth); ``gain`` = score -
    mean_face; ``calibrated`` = gain / (oracle - mean_face); ``vertex_mm`` mean vertex error
    after rigid alignment (:func:`thesislib.evaluation.shape_errors`; NaN without truth).
    """
    m = _model(model, test)
    renderings = (rendering,) if isinstance(rendering, str) else tuple(rendering)
    for r in renderings:
        if r not in RENDERINGS:
            raise ValueError(f"unknown rendering {r!r}; choose from {RENDERINGS}")
    if not isinstance(cache, JudgeInputs):
        cache = judge_inputs(test, m, renderings, faces, n_jobs, cache, progress)
    missing = [r for r in renderings if r not in cache.mean_face]
    if missing:
        raise ValueError(f"the judge inputs of {cache.test_set!r} lack the rendering(s) {missing}")
    idx = cache.faces
    arrays = {name: _as_draws(P, len(test), m.n_params, name, fixed) for name, P in predictions.items()}
    keys = [(r, name, d) for r in renderings for name, (a, _) in arrays.items() for d in range(len(a))]
    zero = {k for k in keys if not np.any(arrays[k[1]][0][k[2], idx])}  # the mean face: its descriptors are cached
    todo = [k for k in keys if k not in zero]
    done = _describe_predictions([(arrays[name][0][d, idx], r) for r, name, d in todo], test, cache, m,
                                 n_jobs, progress)
    described = dict(zip(todo, done))
    got = [cache.mean_face[k[0]] if k in zero else described[k] for k in keys]
    truth = None if test.params is None else np.asarray(test.params, np.float64)[idx]
    vertex = _vertex_errors(arrays, idx, truth, m, n_jobs)
    frames = []
    for (r, name, d), D in zip(keys, got):
        s = _cosine(D, cache.descriptors)
        mf = _cosine(cache.mean_face[r], cache.descriptors)
        o = _cosine(cache.oracle[r], cache.descriptors) if r in cache.oracle else np.full(len(idx), np.nan)
        vert = vertex[(name, d)]
        with np.errstate(invalid="ignore", divide="ignore"):
            cal = (s - mf) / (o - mf)
        frames.append(pd.DataFrame({
            "test_set": test.name, "judge": "dlib", "rendering": r, "sampler": name, "draw": d,
            "fixed": arrays[name][1], "face": idx, "id": cache.ids, "score": s, "oracle": o, "mean_face": mf,
            "gain": s - mf, "calibrated": cal, "vertex_mm": vert}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORE_COLUMNS)


def _vertex_task(task, model) -> np.ndarray:
    """Mean vertex error (mm) per row of predictions P against truth T (a worker task: (P, T));
    :func:`thesislib.evaluation.mean_shape_errors`, ``shape_errors(P, T).mean(1)`` within 1e-12."""
    P, T = task
    with _one_thread():
        return mean_shape_errors(P, T, model)


def _vertex_errors(arrays: dict, idx, truth, model, n_jobs: int, chunk: int = 128) -> dict:
    """{(name, draw): (k,) mean vertex error of the scored faces} (NaN without truth), in tasks of
    ``chunk`` faces on :func:`thesislib.common.run_tasks`' pool."""
    from thesislib.common import run_tasks

    pairs = [(name, d) for name, (a, _) in arrays.items() for d in range(len(a))]
    if truth is None or not len(idx) or not pairs:
        return {k: np.full(len(idx), np.nan) for k in pairs}
    P = np.concatenate([arrays[name][0][d, idx] for name, d in pairs])
    T = np.tile(truth, (len(pairs), 1))
    out = run_tasks(_vertex_task, [(P[a:a + chunk], T[a:a + chunk]) for a in range(0, len(P), chunk)],
                    context=model, workers=n_jobs)
    return dict(zip(pairs, np.concatenate(out).reshape(len(pairs), len(idx))))


def judge_test_sets(tests: dict, predictions: dict, model=None, rendering=RENDERINGS, n_jobs: int = 1,
                    cache_dir=None, faces=None, progress: bool = False, heads=("bprn", "baseline")) -> pd.DataFrame:
    """:func:`judge_scores` of several test sets, one table.

    Parameters
    ----------
    tests : dict name -> :class:`thesislib.datasets.TestSet` (synthetic or photos)
    predictions : dict test set name -> {model name: (draws, n, n_params) or (n, n_params)}; or
        the flat dict (test_set, sampler, head) -> (draws, n, n_params) of
        :class:`thesislib.studies.DrawScores` ``.predictions``, of which the ``heads`` are judged:
        head "bprn" is named by its sampler, "baseline" too (a fixed baseline), any other
        "sampler (head)". A test set without predictions is skipped.
    model, rendering, n_jobs, progress : as in :func:`judge_scores`
    cache_dir : folder for each test set's :class:`JudgeInputs` (``judge_inputs_<name>.npz``,
        read when current, else written), or None (memory only)
    faces : faces to score per test set (None, an int k or indices; as in :func:`judge_inputs`),
        or a dict name -> that
    heads : the heads judged from a flat dict

    Returns
    -------
    DataFrame with :data:`SCORE_COLUMNS`, the test sets one after the other
    """
    nested, fixed = _nested(predictions, heads)
    frames = []
    for name, test in tests.items():
        if name not in nested:
            continue
        path = None if cache_dir is None else Path(cache_dir) / f"judge_inputs_{_slug(name)}.npz"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        k = faces.get(name) if isinstance(faces, dict) else faces
        frames.append(judge_scores(nested[name], test, model, rendering, n_jobs, path, k, progress, fixed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORE_COLUMNS)


def _nested(predictions: dict, heads) -> tuple[dict, set]:
    """{test set: {name: array}} and the fixed names, from a nested or a (test_set, sampler, head) dict."""
    if not predictions or not all(isinstance(k, tuple) and len(k) == 3 for k in predictions):
        return predictions, set()
    out, fixed = {}, set()
    for (test_set, sampler, head), P in predictions.items():
        if head not in heads:
            continue
        name = sampler if head in ("bprn", "baseline") else f"{sampler} ({head})"
        if head == "baseline":
            fixed.add(name)
        out.setdefault(test_set, {})[name] = P
    return out, fixed


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))


# ----------------------------------------------------------------- gallery
@dataclass(frozen=True, eq=False)
class JudgeGallery:
    """Inputs beside the renders the judge compared them with (:func:`judge_gallery`).

    Attributes
    ----------
    model : str, the model shown (highest mean gain in the scores)
    rendering : str
    ids : list of n str
    inputs, best, mean_face : (n, 224, 224, 3) uint8: the input crops, the renders of the
        model's prediction (its draw with the highest mean gain) and of the mean face
    best_scores, mean_scores : (n,) float, their scores
    """

    model: str
    rendering: str
    ids: list
    inputs: np.ndarray
    best: np.ndarray
    mean_face: np.ndarray
    best_scores: np.ndarray
    mean_scores: np.ndarray


def judge_gallery(scores: pd.DataFrame, predictions: dict, test, model=None, cache=None, rendering: str = "posed",
                  n: int = 6) -> JudgeGallery:
    """The first ``n`` scored faces of a test set: input | best model | mean face, rendered as the judge saw them.

    Parameters
    ----------
    scores : :func:`judge_scores` rows of this test set (they pick the model and draw)
    predictions : the dict given to :func:`judge_scores`
    test : the test set; model : as in :func:`judge_scores`
    cache : the test set's :class:`JudgeInputs`, its file, or the ``cache_dir`` given to
        :func:`judge_test_sets` (needed for ``rendering="posed"``)
    rendering : "posed" or "frontal"
    n : number of faces
    """
    m = _model(model, test)
    if cache is not None and not isinstance(cache, JudgeInputs):
        path = Path(cache)
        cache = JudgeInputs.load(path / f"judge_inputs_{_slug(test.name)}.npz" if path.is_dir() else path)
    s = scores[(scores["test_set"] == test.name) & (scores["rendering"] == rendering)]
    if s.empty:
        raise ValueError(f"no {rendering} scores of test set {test.name!r}")
    per = s[s["gain"].notna()].groupby(["sampler", "draw"], sort=False)["gain"].mean()
    per = per[[name in predictions for name, _ in per.index]]
    name, draw = per.idxmax()
    faces = np.sort(s["face"].unique())[:n]
    a, _ = _as_draws(predictions[name], len(test), m.n_params, name)
    rows = np.searchsorted(cache.faces, faces) if cache is not None else None
    if rendering == "posed" and (cache is None or not np.array_equal(cache.faces[rows], faces)):
        raise ValueError("posed renders need the test set's JudgeInputs holding these faces (cache=...)")
    lm = cache.landmarks[rows, :, :2] if rendering == "posed" else None
    images = test.images[faces]
    best = _render(a[draw, faces], rendering, m, images, lm)
    mean_face = _render(np.zeros((len(faces), m.n_params)), rendering, m, images, lm)
    pick = s[(s["sampler"] == name) & (s["draw"] == draw)].set_index("face")
    return JudgeGallery(str(name), rendering, [test.ids[i] for i in faces], images, best, mean_face,
                        pick.loc[faces, "score"].to_numpy(), pick.loc[faces, "mean_face"].to_numpy())
