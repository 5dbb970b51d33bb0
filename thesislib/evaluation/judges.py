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
mean-face descriptors per rendering), and the renders and descriptors of predictions are
:mod:`thesislib.evaluation.judging`.

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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .judging import RENDERINGS, JudgeInputs, _describe_predictions, _model, _one_thread, _render, judge_inputs
from .errors import mean_shape_errors

#: Columns of :func:`judge_scores`.
SCORE_COLUMNS = ["test_set", "judge", "rendering", "sampler", "draw", "fixed", "face", "id", "score", "oracle",
                 "mean_face", "gain", "calibrated", "vertex_mm"]


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
