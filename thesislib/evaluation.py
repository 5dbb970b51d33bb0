"""Scoring BPRNs: test sets, face-recognition scores, score tables, the ensemble.

Training sweeps and the stem experiment are in :mod:`thesislib.experiments`.

The thesis (6.4) scores a prediction by the face-recognition similarity between
the input photo and a render of the predicted face. Here:

* **score** s: cosine similarity of dlib 128-D descriptors (:mod:`thesislib.faces`)
  of the input crop and of the 224 px crop of the prediction rendered frontally
  (default scene, grey background);
* **sigma** σ: standard deviation of the predicted parameter vector over its
  ``n_params`` entries (sd units, per instance);
* **corrected score**: :func:`thesislib.metrics.corrected_score` (eq. 6.2, n = 30);
* same-vs-different identity similarities (thesis Fig 4.7): prediction i vs input i,
  and vs every other input j != i;
* where the truth is known (rendered test sets): parameter RMSE and the per-vertex
  error in mm after rigid alignment (:func:`thesislib.metrics.vertex_error`, NoW-style
  median/mean/std) -- beyond the thesis.

Bias note: the default stem (``"dlib"``) *is* the evaluation network. A BPRN built on
it learns from the very features the score compares, so the face-recognition score
is biased toward it (and toward any model sharing it); the geometric error does not
depend on any recognition network and is the fairer comparison between stems.

Real photos: scikit-image's astronaut when scikit-image is installed
(:func:`package_photos`; dlib and face-recognition-models ship no photos, so without
scikit-image there are none), and an IMDB-WIKI set when a ``wiki.mat`` is given
(:func:`wiki_test_set`).
"""
from __future__ import annotations

import importlib.util
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from thesislib import bprn as B
from thesislib.atomic import atomic_write_bytes
from thesislib import metrics
from thesislib.population import param_columns


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
    n_shape, n_color : int
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


def realistic_scenes():
    """Scene distribution of the real-like test set: near-frontal poses (|yaw| <= 20°,
    pitch sd 8°, like curated photo sets), built-in light prior, procedural backgrounds."""
    from thesislib.scene import SceneSampler

    return SceneSampler(max_yaw=20.0, yaw_weights=(0.5, 0.3, 0.2), pitch_std=8.0, max_pitch=15.0,
                        roll_std=4.0, max_roll=10.0)


def realistic_test_set(n: int, seed: int, model=None, n_shape: int = 50, n_color: int = 50,
                       scene_sampler=None, name: str = "real-like", progress: bool = False) -> TestSet:
    """Held-out real-like faces with known truth.

    Faces come from :func:`thesislib.population.reference_population` (``rng =
    default_rng([seed, 0])``), scenes from ``scene_sampler`` (default
    :func:`realistic_scenes`) with ``default_rng([seed, 1])`` -- use a seed no training
    dataset uses, so backgrounds and light differ from training. Each render is cropped
    from its projected landmarks (:func:`thesislib.crops.landmark_crop`, framed like a
    detector crop on average), as the training datasets are.

    Returns
    -------
    TestSet with params, age and sex
    """
    from tqdm.auto import tqdm

    from thesislib.crops import landmark_crop
    from thesislib.model import default_model
    from thesislib.population import reference_population
    from thesislib.render import Workspace, render

    base = (default_model() if model is None else model).truncated(n_shape, n_color, 0)
    pop = reference_population(base, int(n), np.random.default_rng([int(seed), 0]), n_shape, n_color)
    scenes = (scene_sampler or realistic_scenes()).sample_many(int(n), np.random.default_rng([int(seed), 1]))
    images, ws = np.empty((int(n), 224, 224, 3), np.uint8), Workspace()
    for i in tqdm(range(int(n)), disable=not progress, desc="real-like test set"):
        p = pop.params[i]
        r = render(base.instance(p[:n_shape], p[n_shape:]), scenes[i], workspace=ws)
        images[i] = landmark_crop(r.image, r.landmarks, r.landmark_visible).image
    return TestSet(name, images, [f"{name}-{i:05d}" for i in range(int(n))], pop.params.copy(),
                   pop.age.copy(), pop.sex.copy(), n_shape, n_color, pop.source + f", seed {seed}")


def package_photos(n_shape: int = 50, n_color: int = 50) -> TestSet | None:
    """Real face photos shipped by installed packages, or None when there are none.

    scikit-image's ``skimage.data.astronaut`` (when scikit-image is installed) and
    matplotlib's ``sample_data/grace_hopper.jpg`` (when present); dlib-bin and
    face-recognition-models ship model files only. Faces are found as in the user's own
    photos (:func:`thesislib.photos.detect_face`: dlib, then MediaPipe); photos where
    no face is found are left out.
    """
    from thesislib import photos as P

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
                found["grace_hopper"] = P.read_photo(path)
                sources.append("matplotlib sample data")
        except Exception as exc:  # noqa: BLE001
            warnings.warn(f"matplotlib's sample photo unavailable: {exc}")
    if not found:
        return None
    try:
        ps = P.from_images(found)
    except ImportError as exc:  # MediaPipe missing: dlib alone
        warnings.warn(f"{exc}; using dlib's detector only")
        ps = P.from_images(found, methods=("hog",))
    if not len(ps):
        return None
    nan = np.full(len(ps), np.nan)
    return TestSet("package photos", ps.images, list(ps.names), None, nan, nan.copy(), n_shape, n_color,
                   ", ".join(sources))


def wiki_test_set(mat_path, root, n: int | None = None, seed: int = 0, min_face_score: float = 1.0,
                  n_shape: int = 50, n_color: int = 50, progress: bool = False) -> TestSet:
    """IMDB-WIKI photos (``wiki.mat`` + image folder ``root``) cropped at their face boxes.

    Rows come from :func:`thesislib.datasets.load_wiki` (its filters); ``n`` of them are
    drawn with ``default_rng(seed)`` (None: all). Age and sex are kept.
    """
    from PIL import Image
    from tqdm.auto import tqdm

    from thesislib import faces
    from thesislib.datasets import load_wiki

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


def input_embeddings(test: TestSet, n_jobs: int = 1, progress: bool = False) -> np.ndarray:
    """dlib descriptors of the test crops, (n, 128) float32; compute once, reuse for every model."""
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


def render_predictions(P, model=None, n_shape: int = 50, n_color: int = 50) -> np.ndarray:
    """Frontal renders (default scene) of parameter vectors (n, n_shape + n_color), cropped
    to (n, 224, 224, 3) uint8 from their projected landmarks (:func:`thesislib.crops.landmark_crop`,
    as the input renders and training datasets are)."""
    from thesislib.crops import landmark_crop
    from thesislib.model import default_model
    from thesislib.render import Workspace, render

    base = (default_model() if model is None else model).truncated(n_shape, n_color, 0)
    P = np.asarray(P, np.float64)
    out, ws = np.empty((len(P), 224, 224, 3), np.uint8), Workspace()
    for i, p in enumerate(P):
        r = render(base.instance(p[:n_shape], p[n_shape:]), workspace=ws)
        out[i] = landmark_crop(r.image, r.landmarks, r.landmark_visible).image
    return out


def vertex_errors(P, T, model=None, n_shape: int = 50, batch: int = 32) -> np.ndarray:
    """Per-vertex error (n, N) in mm between shapes of predicted and true parameters after
    rigid alignment (:func:`thesislib.metrics.vertex_error`); only shape coefficients matter."""
    from thesislib.model import default_model

    base = (default_model() if model is None else model).truncated(n_shape, None, 0)
    P, T = np.asarray(P, np.float64), np.asarray(T, np.float64)
    out = np.empty((len(P), base.n_vertices))
    for i in range(0, len(P), batch):
        out[i:i + batch] = metrics.vertex_error(base.vertices(P[i:i + batch, :n_shape]),
                                                base.vertices(T[i:i + batch, :n_shape]))
    return out


def albedo_errors(P, T, model=None, n_shape: int = 50, n_color: int = 50, batch: int = 32) -> np.ndarray:
    """Per-vertex albedo error (n, N): Euclidean RGB distance in 0-255 between the vertex
    colours of predicted and true parameters; only colour coefficients matter."""
    from thesislib.model import default_model

    base = (default_model() if model is None else model).truncated(None, n_color, 0)
    c = slice(n_shape, n_shape + n_color)
    P, T = np.asarray(P, np.float64)[:, c], np.asarray(T, np.float64)[:, c]
    out = np.empty((len(P), base.n_vertices))
    for i in range(0, len(P), batch):
        out[i:i + batch] = 255.0 * np.linalg.norm(base.colors(P[i:i + batch]) - base.colors(T[i:i + batch]), axis=-1)
    return out


def test_features(test: TestSet, stem: str, n_jobs: int = 1, weights_path=None, progress: bool = False,
                  scheduler=None) -> np.ndarray:
    """Frozen-stem features of the test crops, (n, F) float32: compute once per stem and
    pass them to :func:`evaluate` for every model of that stem."""
    return B.frozen_features(test.images, stem, n_jobs, weights_path, progress, scheduler=scheduler)


def evaluate(bprn, test: TestSet, model=None, n: float = 30, embeddings=None, n_jobs: int = 1,
             progress: bool = False, features=None) -> Evaluation:
    """Predict, render and score a BPRN on a test set.

    Parameters
    ----------
    bprn : fitted :class:`thesislib.bprn.BPRN` (``n_params = n_shape + n_color`` of the test set),
        or a (n, n_params) array of predictions made elsewhere (e.g. a fitting method)
    test : :class:`TestSet`
    model : the morphable model to render with (default: the embedded model)
    n : corrected-score strength (eq. 6.2; thesis 30)
    embeddings : (n, 128) dlib descriptors of the inputs from :func:`input_embeddings`, or None
        to compute them (pass them when evaluating many models on one test set)
    features : (n, F) features of the inputs for the BPRN's frozen stem from
        :func:`test_features`, or None to compute them (dlib: ``embeddings`` are used)
    n_jobs : processes for the dlib descriptors of the renders

    Returns
    -------
    Evaluation

    Notes
    -----
    With the ``dlib`` stem the BPRN and the score share a network: scores are biased
    toward that stem; compare stems by the vertex error (module docstring).
    """
    E = input_embeddings(test, n_jobs, progress) if embeddings is None else np.asarray(embeddings, np.float32)
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
    d = test.n_shape + test.n_color
    if P.shape != (len(test), d):
        raise ValueError(f"predictions have shape {P.shape}; the test set needs ({len(test)}, {d})")
    renders = render_predictions(P, model, test.n_shape, test.n_color)
    R = B.frozen_features(renders, "dlib", n_jobs=n_jobs, progress=progress)
    from thesislib.faces import similarity

    S = np.atleast_2d(similarity(R, E))
    score = np.diag(S).copy()
    sigma = P.std(axis=1)
    df = pd.DataFrame({"id": list(test.ids), "score": score,
                       "corrected_score": metrics.corrected_score(sigma, score, n), "sigma": sigma})
    vertex = None
    if test.params is not None:
        T = np.asarray(test.params, np.float64)
        df["param_rmse"] = np.sqrt(((P - T) ** 2).mean(axis=1))
        err = vertex_errors(P, T, model, test.n_shape)
        df["vertex_mean_mm"], df["vertex_median_mm"] = err.mean(1), np.median(err, 1)
        vertex = metrics.vertex_error_summary(err)
        df["albedo_mean"] = albedo_errors(P, T, model, test.n_shape, test.n_color).mean(1)
    else:
        df["param_rmse"] = df["vertex_mean_mm"] = df["vertex_median_mm"] = df["albedo_mean"] = np.nan
    df["age"] = np.nan if test.age is None else test.age
    df["sex"] = np.nan if test.sex is None else test.sex
    return Evaluation(df, P, S, vertex, renders)


def evaluate_sweep(sweep: pd.DataFrame, test: TestSet, model=None, n: float = 30, n_jobs: int = 1,
                   progress: bool = True, embeddings=None, features=None) -> dict:
    """Evaluate every model of a :func:`thesislib.experiments.train_sweep` table on one test set.

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
    confidence : level of the Student-t intervals (:func:`thesislib.metrics.group_mean_ci`)

    Returns
    -------
    DataFrame indexed by sampler, sorted by corrected score (best first): models, corrected_score,
    corrected_rank, corrected_rank_low, corrected_rank_high, score, rank, rank_low, rank_high,
    and sigma / vertex_mean_mm / albedo_mean means when given
    """
    df = results.reset_index(drop=True)
    if "id" in df.columns:
        r = {c: df.groupby("id")[c].transform(lambda s: pd.Series(metrics.ranks(s.to_numpy()), index=s.index))
             for c in ("score", "corrected_score")}
        rank, crank = r["score"].to_numpy(), r["corrected_score"].to_numpy()
    else:
        rank, crank = metrics.ranks(df["score"].to_numpy()), metrics.ranks(df["corrected_score"].to_numpy())
    groups = df["sampler"].astype(str).to_numpy()
    ci_r = metrics.group_mean_ci(rank, groups, confidence)
    ci_c = metrics.group_mean_ci(crank, groups, confidence)
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


# ----------------------------------------------------------------- ensemble
def _atomic_parquet(df: pd.DataFrame, path) -> None:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def ensemble_fit(predictions: dict, scores: dict, ids=None, age=None, sex=None, n_shape: int = 50,
                 n_color: int = 50, path=None) -> pd.DataFrame:
    """Per photo, the best prediction over all models by face-recognition score (thesis'
    Wikipedia ensemble).

    Parameters
    ----------
    predictions : dict model name -> (n, n_shape + n_color) parameters in sd (same photo order)
    scores : dict model name -> (n,) scores (NaN: not scored; a photo without any finite
        score is dropped and counted in ``df.attrs["dropped"]``)
    ids, age, sex : (n,) photo ids (default 0..n-1), age in years and sex (1 male, 0 female)
        or None (NaN columns)
    path : parquet file to write atomically, or None

    Returns
    -------
    DataFrame: id, model, score, shape_000.., color_000.. (as
    :func:`thesislib.population.param_columns`), age, sex -- loadable with
    :func:`thesislib.population.load_fitted_set`
    """
    names = list(predictions)
    if set(names) != set(scores):
        raise ValueError(f"predictions and scores name different models: {sorted(names)} vs {sorted(scores)}")
    P = np.stack([np.asarray(predictions[k], np.float64) for k in names])  # (m, n, d)
    S = np.stack([np.asarray(scores[k], np.float64) for k in names])  # (m, n)
    m, n, d = P.shape
    if d != n_shape + n_color or S.shape != (m, n):
        raise ValueError(f"predictions (m, n, d) = {P.shape} need d = {n_shape + n_color} and scores (m, n)")
    ok = np.isfinite(S).any(0)
    best = np.argmax(np.where(np.isfinite(S), S, -np.inf), axis=0)
    cols = np.arange(n)
    df = pd.DataFrame(P[best, cols], columns=param_columns(n_shape, n_color))
    df.insert(0, "score", S[best, cols])
    df.insert(0, "model", [str(names[b]) for b in best])
    df.insert(0, "id", [str(i) for i in (range(n) if ids is None else ids)])
    df["age"] = np.full(n, np.nan) if age is None else np.asarray(age, np.float64)
    df["sex"] = np.full(n, np.nan) if sex is None else np.asarray(sex, np.float64)
    df = df[ok].reset_index(drop=True)
    df.attrs["dropped"] = int((~ok).sum())
    if path is not None:
        _atomic_parquet(df, path)
    return df
