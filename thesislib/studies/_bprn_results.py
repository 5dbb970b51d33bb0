"""Chapter 05's tables and selections from the scored models (part of :mod:`thesislib.studies.bprn`).

The evaluations of the trained BPRNs (:func:`thesislib.evaluation.evaluate_sweep`) become
the geometry table beside the ridge heads, the per-model scores, the mean prediction per
parameter, the sample efficiency of the learning curves and the stem summary; the best
models are picked once, by :func:`best_models`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from thesislib.evaluation import evaluate, geometry_table, parameter_means

MEAN_FACE = "mean face (baseline)"


def photo_test_sets(model, photos=None, wiki=None, wiki_images=None, n: int = 40,
                    seed: int = 0) -> list:
    """The real-photo test sets of a run: the photos installed packages ship, the folder
    ``photos`` and IMDB-WIKI (``wiki`` mat file with its image folder ``wiki_images``) when given.
    ``model``: truncated MorphableModel; its n_shape/n_color decide the parameter layout."""
    from thesislib.datasets import package_photos, photo_test_set, wiki_test_set

    sets = [t for t in [package_photos(model)] if t is not None]
    if photos:
        sets.append(photo_test_set(photos, model))
    if wiki:
        sets.append(wiki_test_set(wiki, wiki_images, n=n, seed=seed, model=model))
    return sets


def sweep_histories(sweep: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The training history of each model of a sweep: ``"<dataset> s<seed>"`` -> history table."""
    from thesislib.bprn import BPRN

    return {f"{r.dataset} s{r.seed}": pd.DataFrame(BPRN.load(r.path).history_) for r in sweep.itertuples()}


def ridge_evaluations(datasets: dict, test, stem: str, features, model=None, n_jobs: int = 1,
                      weights_path=None) -> dict:
    """A ridge head per dataset (:func:`thesislib.studies.ridge_reference`) scored on ``test``
    (geometry and albedo; ``features``: the test crops' features of ``stem``). Empty for the cnn stem."""
    from .bprn import ridge_reference

    if stem == "cnn":
        return {}
    return {name: evaluate(ridge_reference(path, stem, n_jobs, weights_path).predict(features), test, model=model,
                           recognition=False) for name, path in datasets.items()}


def bprn_geometry(evaluations: dict, ridge: dict, baseline) -> pd.DataFrame:
    """:func:`thesislib.evaluation.geometry_table` of the BPRNs (all seeds of a dataset in one
    group, head "bprn") and the ridge heads (head "ridge") against the mean face."""
    groups = {}
    for (name, _), ev in evaluations.items():
        groups.setdefault((name, "bprn"), []).append(ev)
    groups.update({(name, "ridge"): [ev] for name, ev in ridge.items()})
    return geometry_table(groups, baseline)


def per_model_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean score, corrected score, sigma, vertex and albedo error per trained model (sampler,
    seed) from :func:`thesislib.evaluation.long_scores`; the mean face's rows left out."""
    return scores[scores.sampler != MEAN_FACE].groupby(["sampler", "seed"]).agg(
        mean_score=("score", "mean"), mean_corrected_score=("corrected_score", "mean"),
        mean_sigma=("sigma", "mean"), vertex_mean_mm=("vertex_mean_mm", "mean"),
        albedo_mean=("albedo_mean", "mean")).reset_index()


@dataclass(frozen=True)
class BestModels:
    """The models chapter 05 singles out, each picked once.

    Attributes
    ----------
    overall : (sampler, head) with the lowest vertex error of the geometry table (any head)
    bprn : (sampler, seed) of the BPRN with the lowest vertex error (its dataset's best seed), or None
    by_score : (sampler, seed) of the best model by face-recognition score (the score table's
        best sampler, its seed with the highest mean score)
    worst_by_score : (sampler, seed), the same for the score table's worst sampler
    """

    overall: tuple
    bprn: tuple | None
    by_score: tuple
    worst_by_score: tuple


def _best_seed(evaluations: dict, sampler: str, key) -> tuple:
    return max((k for k in evaluations if k[0] == sampler), key=lambda k: key(evaluations[k]))


def best_models(geometry: pd.DataFrame, table: pd.DataFrame, evaluations: dict) -> BestModels:
    """Pick the best models once (:class:`BestModels`).

    Parameters
    ----------
    geometry : :func:`bprn_geometry` (sorted by vertex error, mean face included)
    table : :func:`thesislib.evaluation.score_table` (sorted best first, mean face included)
    evaluations : {(sampler, seed): Evaluation} of the trained BPRNs
    """
    overall = geometry.drop(("mean face", "baseline")).index[0]
    nets = [k for k in geometry.index if k[1] == "bprn"]
    bprn = None
    if nets:
        bprn = _best_seed(evaluations, nets[0][0], lambda e: -e.per_image["vertex_mean_mm"].mean())
    trained = [s for s in table.index if s != MEAN_FACE]
    score = lambda e: e.per_image.score.mean()  # noqa: E731
    return BestModels(tuple(overall), bprn, _best_seed(evaluations, trained[0], score),
                      _best_seed(evaluations, trained[-1], score))


def prediction_means(evaluations: dict, truth=None) -> pd.DataFrame:
    """Mean predicted value per parameter (columns) per model, rows ``"<sampler> s<seed>"``
    (:func:`thesislib.evaluation.parameter_means`), and the mean of ``truth`` as row ``"truth"``
    (NaN when None)."""
    means = parameter_means(evaluations)
    means.index = [f"{s} s{seed}" for s, seed in means.index]
    means.loc["truth"] = np.asarray(truth).mean(0) if truth is not None else np.nan
    return means


def learning_curve_table(lc: pd.DataFrame) -> pd.DataFrame:
    """Vertex error per (head, dataset) (rows) and training size (columns) of a learning curve."""
    return lc.pivot_table(index=["head", "dataset"], columns="n_images", values="vertex_mean_mm")


def sample_efficiency(lc: pd.DataFrame) -> pd.Series:
    """What a learning curve says, in numbers.

    Returns
    -------
    Series named "sample efficiency": ``first``, ``last`` (smallest and largest size), ``best_first``, ``best_first_mm``,
    ``best_last``, ``best_last_mm`` (the dataset whose BPRN errs least at that size, and its
    error), ``mean_face_mm``, ``thesis_vs_ridge`` and ``bprn_vs_ridge`` (mean difference to the
    ridge head at the largest size, mm; NaN without that head)
    """
    curve = learning_curve_table(lc)
    first, last = int(lc["n_images"].min()), int(lc["n_images"].max())
    b = curve.loc["bprn"]
    heads = set(curve.index.get_level_values("head"))
    gap = lambda h: float((curve.loc[h, last] - curve.loc["ridge", last]).mean()) if h in heads else np.nan  # noqa: E731
    return pd.Series({"first": first, "last": last, "best_first": b[first].idxmin(),
                      "best_first_mm": round(float(b[first].min()), 3), "best_last": b[last].idxmin(),
                      "best_last_mm": round(float(b[last].min()), 3),
                      "mean_face_mm": round(float(lc.loc[lc["head"] == "mean face", "vertex_mean_mm"].iloc[0]), 3),
                      "thesis_vs_ridge": round(gap("thesis"), 3), "bprn_vs_ridge": round(gap("bprn"), 3)},
                     name="sample efficiency", dtype=object)


def stem_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per stem of :func:`thesislib.studies.stem_experiment`: final and best validation loss,
    the last vertex and albedo errors and the time."""
    return curves.groupby("stem").agg(final_val=("val_loss", "last"), best_val=("val_loss", "min"),
                                      vertex_mean_mm=("vertex_mean_mm", "last"),
                                      albedo_mean=("albedo_mean", "last"), seconds=("seconds", "max"))


def photo_reconstructions(sweep: pd.DataFrame, photos, model=None, n_jobs: int = 1):
    """Every trained BPRN and the mean face on a photo test set.

    Returns
    -------
    evaluations : dict ``"<dataset> s<seed>"`` (and ``"mean face"``) -> Evaluation
    similarity : DataFrame (photos x models) of face-recognition scores
    top : the model with the highest mean score on these photos (the mean face excluded)
    """
    from thesislib.bprn import BPRN

    evs = {f"{r.dataset} s{r.seed}": evaluate(BPRN.load(r.path), photos, model=model, n_jobs=n_jobs)
           for r in sweep.itertuples()}
    d = int(photos.n_shape + photos.n_color)
    evs["mean face"] = evaluate(np.zeros((len(photos), d)), photos, model=model, n_jobs=n_jobs)
    sims = pd.DataFrame({k: e.per_image["score"].to_numpy() for k, e in evs.items()}, index=list(photos.ids))
    return evs, sims, sims.drop(columns="mean face").mean().idxmax()


def learning_curves(datasets: dict, test, sizes, **settings) -> pd.DataFrame:
    """:func:`thesislib.studies.learning_curve` of the BPRN and the ridge head at every size, plus
    the thesis head alone (no linear path) at the largest size: does the linear path matter?
    ``settings`` are the keyword arguments of ``learning_curve`` (``heads`` excepted)."""
    from .bprn import learning_curve

    lc = learning_curve(datasets, test, sizes=sizes, **settings)
    alone = learning_curve(datasets, test, sizes=[int(lc["n_images"].max())], heads=("thesis",), **settings)
    return pd.concat([lc, alone[alone["head"] == "thesis"]], ignore_index=True)


def score_models(sweep: pd.DataFrame, test, datasets: dict, stem: str, embeddings, features: dict, model=None,
                 n_jobs: int = 1, weights_path=None, progress: bool = True):
    """Score every trained BPRN, the mean face and a ridge head per dataset on ``test``.

    Returns
    -------
    evaluations : {(sampler, seed): Evaluation} of the BPRNs (:func:`thesislib.evaluation.evaluate_sweep`)
    baseline : the mean face's Evaluation
    geometry : :func:`bprn_geometry` of the BPRNs and ridge heads against the mean face
    """
    from thesislib.evaluation import evaluate_sweep

    evaluations = evaluate_sweep(sweep, test, model=model, n_jobs=n_jobs, progress=progress, embeddings=embeddings,
                                 features=features)
    d = int(test.n_shape + test.n_color)
    baseline = evaluate(np.zeros((len(test), d)), test, model=model, embeddings=embeddings, n_jobs=n_jobs)
    ridge = ridge_evaluations(datasets, test, stem, features.get(stem, embeddings), model, n_jobs, weights_path)
    return evaluations, baseline, bprn_geometry(evaluations, ridge, baseline)


def model_outputs(evaluations: dict) -> tuple[dict, dict]:
    """Predictions and per-image scores of each model, keyed ``"<sampler> s<seed>"`` (for
    :func:`thesislib.evaluation.ensemble_fit`)."""
    keys = {f"{k[0]} s{k[1]}": e for k, e in evaluations.items()}
    return ({k: e.predictions for k, e in keys.items()}, {k: e.per_image.score.to_numpy() for k, e in keys.items()})


def test_inputs(test, stem: str, n_jobs: int = 1, weights_path=None, scheduler=None, progress: bool = True):
    """What every model's scoring on ``test`` shares, computed once: the dlib descriptors of the
    test crops and, for a frozen stem other than dlib, that stem's features ({stem: (n, F)}; {} else)."""
    from thesislib.evaluation import input_embeddings, test_features

    embeddings = input_embeddings(test, n_jobs, progress=progress)
    features = {} if stem in ("cnn", "dlib") else {
        stem: test_features(test, stem, n_jobs, weights_path, progress=progress, scheduler=scheduler)}
    return embeddings, features
