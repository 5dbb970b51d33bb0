"""Scoring BPRNs: face-recognition scores, score tables; the geometric and albedo errors are in
:mod:`thesislib.evaluation.errors`.

Test sets are in :mod:`thesislib.datasets.testsets`; training sweeps, the ridge reference,
learning curves and the stem experiment in :mod:`thesislib.studies.bprn`.

The thesis (6.4) scores a prediction by the face-recognition similarity between
the input photo and a render of the predicted face. Here:

* **score** s: cosine similarity of dlib 128-D descriptors (:mod:`thesislib.faces.recognition`)
  of the input crop and of the 224 px crop of the prediction rendered frontally
  (default scene, grey background);
* **sigma** σ: standard deviation of the predicted parameter vector over its
  ``n_params`` entries (sd units, per instance);
* **corrected score**: :func:`thesislib.evaluation.scores.corrected_score` (eq. 6.2, n = 30);
* same-vs-different identity similarities (thesis Fig 4.7): prediction i vs input i,
  and vs every other input j != i;
* where the truth is known (rendered test sets): parameter RMSE, the per-vertex
  error in mm after rigid alignment (:func:`thesislib.evaluation.geometry.vertex_error`, NoW-style
  median/mean/std) and the per-vertex albedo error (RGB distance in 0-255) -- beyond
  the thesis.

The default stem (face mesh) and the scoring network (dlib) are independent. With
``stem="dlib"`` the BPRN learns from the very features the score compares, so the
face-recognition score is biased toward it; the geometric error depends on no
recognition network and is the fairer comparison between stems.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from thesislib import bprn as B
from . import geometry, scores
from .errors import albedo_errors, shape_errors, thesis_model
from thesislib.datasets import TestSet


#: The face region of a 224 px crop (the dlib stem's box, bprn.stems.CROP_FACE_BOX), where dlib's detector misses.
FACE_BOX = (26, 26, 198, 198)


def _descriptors(images, n_jobs: int = 1, progress: bool = False) -> np.ndarray:
    """dlib descriptors of 224 px crops of renders, (n, 128) float32: the dlib stem's box (detector,
    else :data:`FACE_BOX`), dlib's network run by torch (:func:`thesislib.faces.describe_many`:
    equal to dlib's within 1e-6, ~15 instead of ~95 ms per image)."""
    from thesislib.faces import describe_many

    return describe_many(images, fallback_box=FACE_BOX, n_jobs=n_jobs, progress=progress).descriptors


def input_embeddings(test: TestSet, n_jobs: int = 1, progress: bool = False) -> np.ndarray:
    """dlib descriptors of the test crops, (n, 128) float32; compute once, reuse for every model.
    They are the dlib stem's features (:func:`thesislib.bprn.frozen_features`), dlib's own network."""
    return B.frozen_features(test.images, "dlib", n_jobs=n_jobs, progress=progress)


# ----------------------------------------------------------------- evaluation
@dataclass(frozen=True, eq=False)
class Evaluation:
    """One model on one test set.

    Attributes
    ----------
    per_image : DataFrame, one row per test image: id, score, corrected_score, sigma,
        param_rmse, vertex_mean_mm, vertex_median_mm, albedo_mean (mean per-vertex RGB
        distance in 0-255; NaN without truth), age, sex
    predictions : (n, n_params) float64, sd
    similarity : (n, n) float64; [i, j] = similarity(render of prediction i, input j)
    vertex : dict median/mean/std in mm pooled over all vertices and images, or None
    renders : (n, 224, 224, 3) uint8 crops of the rendered predictions
    """

    per_image: pd.DataFrame
    predictions: np.ndarray
    similarity: np.ndarray
    vertex: dict | None
    renders: np.ndarray

    @property
    def same_identity(self) -> np.ndarray:
        """(n,) similarity of prediction i with its own input i."""
        return np.diag(self.similarity).copy()

    @property
    def different_identity(self) -> np.ndarray:
        """(n * (n - 1),) similarity of prediction i with other inputs j != i."""
        return self.similarity[~np.eye(len(self.similarity), dtype=bool)]

    def identity_auc(self) -> float:
        """ROC AUC of same vs different identity similarities (0.5 = no identity kept)."""
        from sklearn.metrics import roc_auc_score

        a, b = self.same_identity, self.different_identity
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) == 0 or len(b) == 0:
            return float("nan")
        return float(roc_auc_score(np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b]))

    def summary(self) -> dict:
        """Means over images: score, corrected_score, sigma, param_rmse; identity AUC; vertex; albedo."""
        d = self.per_image
        out = {k: float(d[k].mean()) for k in ("score", "corrected_score", "sigma", "param_rmse")}
        out["identity_auc"] = self.identity_auc()
        for k, v in (self.vertex or {"median": np.nan, "mean": np.nan, "std": np.nan}).items():
            out[f"vertex_{k}_mm"] = v
        out["albedo_mean"] = float(d["albedo_mean"].mean())
        return out


def render_predictions(P, model=None) -> np.ndarray:
    """Frontal renders (default scene) of parameter vectors (n, n_shape + n_color), cropped
    to (n, 224, 224, 3) uint8 from their projected landmarks (:func:`thesislib.imaging.crops.landmark_crop`,
    as the input renders and training datasets are); ``model``: truncated MorphableModel; its n_shape/n_color decide the parameter layout
    (None: the embedded default, 50 + 50)."""
    from thesislib.imaging import landmark_crop
    from thesislib.imaging import Workspace, render

    base = thesis_model(model).truncated(None, None, 0)
    n_shape, n_color = base.n_shape, base.n_color
    P = np.asarray(P, np.float64)
    out, ws = np.empty((len(P), 224, 224, 3), np.uint8), Workspace()
    for i, p in enumerate(P):
        r = render(base.instance(p[:n_shape], p[n_shape:n_shape + n_color]), workspace=ws)
        out[i] = landmark_crop(r.image, r.landmarks, r.landmark_visible).image
    return out


def test_features(test: TestSet, stem: str, n_jobs: int = 1, weights_path=None, progress: bool = False,
                  scheduler=None) -> np.ndarray:
    """Frozen-stem features of the test crops, (n, F) float32: compute once per stem and
    pass them to :func:`evaluate` for every model of that stem."""
    return B.frozen_features(test.images, stem, n_jobs, weights_path, progress, scheduler=scheduler)


def evaluate(bprn, test: TestSet, model=None, n: float = 30, embeddings=None, n_jobs: int = 1,
             progress: bool = False, features=None, recognition: bool = True) -> Evaluation:
    """Predict, render and score a BPRN on a test set.

    Parameters
    ----------
    bprn : fitted :class:`thesislib.bprn.estimator.BPRN` (``n_params = n_shape + n_color`` of the test set),
        or a (n, n_params) array of predictions made elsewhere (e.g. a fitting method)
    test : :class:`TestSet`
    model : the morphable model to render with (default: the embedded model); it is truncated
        to the test set's ``n_shape``/``n_color``
    n : corrected-score strength (eq. 6.2; thesis 30)
    embeddings : (n, 128) dlib descriptors of the inputs from :func:`input_embeddings`, or None
        to compute them (pass them when evaluating many models on one test set)
    features : (n, F) features of the inputs for the BPRN's frozen stem from
        :func:`test_features`, or None to compute them (dlib: ``embeddings`` are used)
    recognition : False skips the renders and the face-recognition score (score,
        corrected_score and ``similarity`` NaN, ``renders`` empty): geometry and albedo only
    n_jobs : processes for the dlib descriptors of the renders

    Returns
    -------
    Evaluation

    Notes
    -----
    With the ``dlib`` stem the BPRN and the score share a network: scores are biased
    toward that stem; compare stems by the vertex error (module docstring).
    """
    if embeddings is not None:
        E = np.asarray(embeddings, np.float32)
    else:
        E = input_embeddings(test, n_jobs, progress) if recognition or bprn_stem(bprn) == "dlib" else None
    if isinstance(bprn, np.ndarray):
        P = np.asarray(bprn, np.float64)
    else:
        stem = bprn.settings.stem
        if stem == "cnn":
            X = test.images
        elif stem == "dlib":
            X = E
        else:
            X = features if features is not None else test_features(test, stem, n_jobs, bprn.settings.weights_path)
        P = bprn.predict(X)
    from thesislib.facemodel import default_model

    model = (default_model() if model is None else model).truncated(test.n_shape, test.n_color, 0)
    d = model.n_params
    if P.shape != (len(test), d):
        raise ValueError(f"predictions have shape {P.shape}; the test set needs ({len(test)}, {d})")
    if recognition:
        from thesislib.faces import similarity

        renders = render_predictions(P, model)
        R = _descriptors(renders, n_jobs, progress)
        S = np.atleast_2d(similarity(R, E))
    else:
        renders, S = np.zeros((0, 224, 224, 3), np.uint8), np.full((len(P), len(P)), np.nan)
    score = np.diag(S).copy()
    sigma = P.std(axis=1)
    df = pd.DataFrame({"id": list(test.ids), "score": score,
                       "corrected_score": scores.corrected_score(sigma, score, n), "sigma": sigma})
    vertex = None
    if test.params is not None:
        T = np.asarray(test.params, np.float64)
        df["param_rmse"] = np.sqrt(((P - T) ** 2).mean(axis=1))
        err = shape_errors(P, T, model)
        df["vertex_mean_mm"], df["vertex_median_mm"] = err.mean(1), np.median(err, 1)
        vertex = geometry.vertex_error_summary(err)
        df["albedo_mean"] = albedo_errors(P, T, model).mean(1)
    else:
        df["param_rmse"] = df["vertex_mean_mm"] = df["vertex_median_mm"] = df["albedo_mean"] = np.nan
    df["age"] = np.nan if test.age is None else test.age
    df["sex"] = np.nan if test.sex is None else test.sex
    return Evaluation(df, P, S, vertex, renders)


def bprn_stem(bprn) -> str | None:
    """The stem name of a BPRN, None for an array of predictions."""
    return None if isinstance(bprn, np.ndarray) else bprn.settings.stem


def evaluate_sweep(sweep: pd.DataFrame, test: TestSet, model=None, n: float = 30, n_jobs: int = 1,
                   progress: bool = True, embeddings=None, features=None) -> dict:
    """Evaluate every model of a :func:`thesislib.studies.bprn.train_sweep` table on one test set.

    The input descriptors (``embeddings``) and the stem features of the test crops
    (``features``: {stem: (n, F)}) are computed once per stem and shared; pass them when
    they exist already. Returns {(dataset, seed): Evaluation}, ready for :func:`long_scores`.
    """
    from tqdm.auto import tqdm

    E = input_embeddings(test, n_jobs, progress) if embeddings is None else embeddings
    feats, out = dict(features or {}), {}
    for row in tqdm(list(sweep.itertuples()), disable=not progress, desc=f"evaluate on {test.name}"):
        m = B.BPRN.load(row.path, n_jobs=n_jobs)
        stem = m.settings.stem
        if stem not in ("cnn", "dlib") and stem not in feats:
            feats[stem] = test_features(test, stem, n_jobs, m.settings.weights_path)
        out[(row.dataset, int(row.seed))] = evaluate(m, test, model=model, n=n, embeddings=E, n_jobs=n_jobs,
                                                     features=feats.get(stem))
    return out


def parameter_means(evaluations: dict) -> pd.DataFrame:
    """Mean predicted value per parameter per model (thesis Fig 6.14): {(sampler, seed):
    Evaluation} -> DataFrame indexed by (sampler, seed), one column per parameter."""
    rows = {(k if isinstance(k, tuple) else (k, 0)): ev.predictions.mean(0) for k, ev in evaluations.items()}
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index = pd.MultiIndex.from_tuples(df.index, names=["sampler", "seed"])
    return df


# ----------------------------------------------------------------- tables
def long_scores(evaluations: dict) -> pd.DataFrame:
    """Per-image scores of many models: {(sampler, seed): Evaluation} -> long DataFrame
    (sampler, seed, id, score, corrected_score, sigma, param_rmse, vertex_mean_mm, albedo_mean)."""
    frames = []
    for key, ev in evaluations.items():
        sampler, seed = key if isinstance(key, tuple) else (key, 0)
        f = ev.per_image[["id", "score", "corrected_score", "sigma", "param_rmse", "vertex_mean_mm",
                          "albedo_mean"]].copy()
        f.insert(0, "seed", seed)
        f.insert(0, "sampler", sampler)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def score_table(results: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Thesis Table 6.6: per sampler mean corrected score, corrected rank, score and rank.

    Parameters
    ----------
    results : DataFrame with columns sampler, score, corrected_score and optionally seed,
        id, sigma, vertex_mean_mm. With an ``id`` column (per-image rows, e.g.
        :func:`long_scores`) the predictions of all models for the same image are ranked
        against each other (1 = best of all models, as in the thesis) and ranks are
        averaged per sampler over images and seeds; without it each row is one model and
        models are ranked by their scores.
    confidence : level of the Student-t intervals (:func:`thesislib.evaluation.scores.group_mean_ci`)

    Returns
    -------
    DataFrame indexed by sampler, sorted by corrected score (best first): models, corrected_score,
    corrected_rank, corrected_rank_low, corrected_rank_high, score, rank, rank_low, rank_high,
    and sigma / vertex_mean_mm / albedo_mean means when given
    """
    df = results.reset_index(drop=True)
    if "id" in df.columns:
        r = {c: df.groupby("id")[c].transform(lambda s: pd.Series(scores.ranks(s.to_numpy()), index=s.index))
             for c in ("score", "corrected_score")}
        rank, crank = r["score"].to_numpy(), r["corrected_score"].to_numpy()
    else:
        rank, crank = scores.ranks(df["score"].to_numpy()), scores.ranks(df["corrected_score"].to_numpy())
    groups = df["sampler"].astype(str).to_numpy()
    ci_r = scores.group_mean_ci(rank, groups, confidence)
    ci_c = scores.group_mean_ci(crank, groups, confidence)
    g = df.groupby(df["sampler"].astype(str))
    out = pd.DataFrame({
        "models": g["seed"].nunique() if "seed" in df.columns else g.size(),
        "corrected_score": g["corrected_score"].mean(),
        "corrected_rank": pd.Series(ci_c.mean, ci_c.groups), "corrected_rank_low": pd.Series(ci_c.low, ci_c.groups),
        "corrected_rank_high": pd.Series(ci_c.high, ci_c.groups),
        "score": g["score"].mean(), "rank": pd.Series(ci_r.mean, ci_r.groups),
        "rank_low": pd.Series(ci_r.low, ci_r.groups), "rank_high": pd.Series(ci_r.high, ci_r.groups)})
    for extra in ("sigma", "vertex_mean_mm", "albedo_mean"):
        if extra in df.columns:
            out[extra] = g[extra].mean()
    out.index.name = "sampler"
    return out.sort_values("corrected_score", ascending=False)


def geometry_table(groups: dict, baseline: Evaluation, confidence: float = 0.95) -> pd.DataFrame:
    """Vertex and albedo error per model group against the mean face, with intervals.

    Parameters
    ----------
    groups : dict (sampler, head) -> list of :class:`Evaluation` on one test set with truth
        (e.g. one per seed); a group's per-face error is the mean over its models
    baseline : the mean face's Evaluation on the same test set
    confidence : level of the Student-t intervals over test faces

    Returns
    -------
    DataFrame indexed by (sampler, head), sorted by vertex error: models, vertex_mean_mm,
    vertex_low, vertex_high (interval of the mean), vs_mean_face (ratio of means),
    gain_low, gain_high (interval of the paired per-face difference mean face - model, mm;
    above 0: better than the mean face), albedo_mean, albedo_vs_mean_face
    """
    from scipy import stats

    def ci(x):
        x = np.asarray(x, np.float64)
        h = stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        return x.mean() - h, x.mean() + h

    v0 = baseline.per_image["vertex_mean_mm"].to_numpy()
    a0 = baseline.per_image["albedo_mean"].to_numpy()
    rows = {}
    for key, evs in groups.items():
        v = np.mean([e.per_image["vertex_mean_mm"].to_numpy() for e in evs], axis=0)
        a = np.mean([e.per_image["albedo_mean"].to_numpy() for e in evs], axis=0)
        (lo, hi), (glo, ghi) = ci(v), ci(v0 - v)
        rows[key] = {"models": len(evs), "vertex_mean_mm": v.mean(), "vertex_low": lo, "vertex_high": hi,
                     "vs_mean_face": v.mean() / v0.mean(), "gain_low": glo, "gain_high": ghi,
                     "albedo_mean": a.mean(), "albedo_vs_mean_face": a.mean() / a0.mean()}
    lo, hi = ci(v0)
    rows[("mean face", "baseline")] = {"models": 1, "vertex_mean_mm": v0.mean(), "vertex_low": lo,
                                       "vertex_high": hi, "vs_mean_face": 1.0, "gain_low": 0.0, "gain_high": 0.0,
                                       "albedo_mean": a0.mean(), "albedo_vs_mean_face": 1.0}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["sampler", "head"])
    return out.sort_values("vertex_mean_mm")
