"""Chapter 05's smaller tables and selections (part of :mod:`thesislib.studies.bprn`).

Training histories, the first draw's datasets, the best sampler, the mean prediction per
parameter and a gallery of reconstructions (from :class:`thesislib.studies.DrawScores`), the
learning curves' tables, the stem summary, and the predictions of every draw on real photos.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def photo_test_sets(model, photos=None, wiki=None, wiki_images=None, n: int = 40,
                    seed: int = 0) -> list:
    """The real-photo test sets of a run, by name: the photos installed packages ship, the folder
    ``photos`` and IMDB-WIKI (``wiki`` mat file with its image folder ``wiki_images``) when given.
    ``model``: truncated MorphableModel; its n_shape/n_color decide the parameter layout."""
    from thesislib.datasets import package_photos, photo_test_set, wiki_test_set

    sets = [t for t in [package_photos(model)] if t is not None]
    if photos:
        sets.append(photo_test_set(photos, model))
    if wiki:
        sets.append(wiki_test_set(wiki, wiki_images, n=n, seed=seed, model=model))
    return {t.name: t for t in sets}


def sweep_histories(sweep: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The training history of each model of a sweep: ``"<sampler> d<draw>"`` (draws of
    :func:`thesislib.studies.train_draws`) or ``"<dataset> s<seed>"`` -> history table."""
    from thesislib.bprn import BPRN

    key = (lambda r: f"{r.sampler} d{r.draw}") if "draw" in sweep else (lambda r: f"{r.dataset} s{r.seed}")
    return {key(r): pd.DataFrame(BPRN.load(r.path).history_) for r in sweep.itertuples()}


def first_draw(sweep: pd.DataFrame, column: str = "dataset") -> dict:
    """Sampler -> dataset folder (``column="path"``: BPRN file) of draw 0 of :func:`thesislib.studies.train_draws`."""
    first = sweep[sweep["draw"] == 0]
    return dict(zip(first["sampler"], first[column]))


def best_and_worst(summary: pd.DataFrame, test_set: str = "held-out", head: str = "bprn") -> tuple[str, str]:
    """The samplers whose networks err least and most on one test set (:func:`thesislib.studies.geometry_summary`)."""
    part = summary[(summary["test_set"] == test_set) & (summary["head"] == head)].sort_values("vertex_mm")
    return str(part["sampler"].iloc[0]), str(part["sampler"].iloc[-1])


def prediction_means(scores, test_set: str, truth=None, head: str = "bprn") -> pd.DataFrame:
    """Mean predicted value per parameter (columns) per sampler (rows; over its draws and the
    faces of ``test_set``) from :class:`thesislib.studies.DrawScores`, and the mean of ``truth``
    as row ``"truth"`` (NaN when None)."""
    rows = {s: P.reshape(-1, P.shape[-1]).mean(0) for (t, s, h), P in scores.predictions.items()
            if t == test_set and h == head}
    means = pd.DataFrame(rows).T
    means.loc["truth"] = np.asarray(truth).mean(0) if truth is not None else np.nan
    return means


def reconstruction_gallery(test, scores, model, samplers, n: int = 4, head: str = "bprn"):
    """Images and titles of a gallery: per test face, the input, the render of its truth and of
    draw 0's prediction of each sampler (:func:`thesislib.evaluation.render_predictions`).

    Returns
    -------
    images : list of (H, W, 3) uint8, ``n`` rows of ``2 + len(samplers)``
    titles : list of str (the prediction's vertex error in mm)
    """
    from thesislib.evaluation import render_predictions

    err = scores.errors
    err = err[(err["test_set"] == test.name) & (err["head"] == head) & (err["draw"] == 0)]
    renders = {s: render_predictions(scores.predictions[(test.name, s, head)][0][:n], model) for s in samplers}
    truth = render_predictions(test.params[:n], model)
    images, titles = [], []
    for i in range(n):
        images += [test.images[i], truth[i]] + [renders[s][i] for s in samplers]
        titles += ["input", "truth"] + [
            f"{s}: {err[(err.sampler == s) & (err.face == i)].vertex_mm.iloc[0]:.2f} mm" for s in samplers]
    return images, titles


def learning_curve_table(lc: pd.DataFrame) -> pd.DataFrame:
    """Vertex error per (head, dataset) (rows) and training size (columns) of a learning curve."""
    return lc.pivot_table(index=["head", "dataset"], columns="n_images", values="vertex_mean_mm")


def sample_efficiency(lc: pd.DataFrame) -> pd.Series:
    """What a learning curve says, in numbers.

    Returns
    -------
    Series named "sample efficiency": ``first``, ``last`` (smallest and largest size), ``best_first``, ``best_first_mm``,
    ``best_last``, ``best_last_mm`` (the dataset whose ridge head errs least at that size, and
    its error), ``mean_face_mm``, ``thesis_vs_ridge`` and ``bprn_vs_ridge`` (mean difference to
    the ridge head at the largest size, mm; NaN without that head)
    """
    curve = learning_curve_table(lc)
    first, last = int(lc["n_images"].min()), int(lc["n_images"].max())
    b = curve.loc["ridge"]
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


def photo_predictions(sweep: pd.DataFrame, photos: dict, fitted, stem: str, weights_path=None,
                      n_jobs: int = 1) -> dict:
    """Every draw's BPRN and the two baselines a photo can have, on each photo test set.

    Returns
    -------
    dict photo set name -> {sampler: (draws, n, n_params) predictions, "model mean face" and
    "fitted-set mean face": (n, n_params)} (:func:`thesislib.evaluation.judge_test_sets` takes it;
    photos have no population whose mean an oracle could know)
    """
    from thesislib.bprn import BPRN
    from thesislib.evaluation import test_features

    nets = {(r.sampler, r.draw): BPRN.load(r.path) for r in sweep.itertuples()}
    out = {}
    for name, ps in photos.items():
        T = test_features(ps, stem, n_jobs, weights_path)
        P = {}
        for (sampler, draw), m in sorted(nets.items(), key=lambda kv: kv[0][1]):
            P.setdefault(sampler, []).append(m.predict(T))
        out[name] = {s: np.stack(v) for s, v in P.items()}
        d = np.asarray(fitted.params).shape[1]
        out[name]["model mean face"] = np.zeros((len(ps), d))
        out[name]["fitted-set mean face"] = np.tile(np.asarray(fitted.params).mean(0), (len(ps), 1))
    return out


def learning_curves(datasets: dict, test, sizes, trained: dict | None = None, remove: bool = False,
                    **settings) -> pd.DataFrame:
    """:func:`thesislib.studies.learning_curve` of the ridge head at every size, and of the BPRN
    and the thesis head alone (no linear path) at the largest: do the head and the linear path
    matter? (The BPRN stays within 0.02 mm of the ridge head at every size measured, so training it
    at every size cost minutes and showed nothing the ridge curve does not.) ``trained``: BPRNs
    already trained on the whole datasets (chapter 05: draw 0 of the sweep, same seed and
    settings, ``first_draw(sweep, "path")``) predict the BPRN points instead of a second
    training (``learning_curve``'s ``trained``). ``settings`` are the keyword arguments of
    ``learning_curve`` (``heads`` excepted); the test crops' features are computed once for both
    calls (without ``features``). ``remove``: delete the datasets once the curves are made
    (:func:`thesislib.datasets.remove_dataset`; chapter 05's draw 0, which a rerun renders again)."""
    from thesislib.evaluation import test_features

    from .bprn import curve_settings, learning_curve

    s = curve_settings(settings.get("settings"))
    if settings.get("features") is None and s.stem != "cnn":
        n_jobs = settings.get("n_jobs", 1)
        settings["features"] = ({k: test_features(t, s.stem, n_jobs, s.weights_path) for k, t in test.items()}
                                if isinstance(test, dict) else test_features(test, s.stem, n_jobs, s.weights_path))
    lc = learning_curve(datasets, test, sizes=sizes, heads=("ridge",), **settings)
    last = learning_curve(datasets, test, sizes=[int(lc["n_images"].max())], heads=("bprn", "thesis"),
                          trained=trained, **settings)
    out = pd.concat([lc, last[last["head"].isin(["bprn", "thesis"])]], ignore_index=True)
    if remove:
        from thesislib.datasets import remove_dataset

        for folder in datasets.values():
            remove_dataset(folder)
    return out
