"""BPRN experiments: the training sweep, the ridge reference, learning curves, the stem experiment.

:func:`train_sweep` trains one BPRN per (dataset, seed) (thesis: 4 seeds per dataset)
in local processes or on a Dask cluster, resumably; :func:`ridge_reference` fits the
linear head on the same cached features; :func:`learning_curve` trains heads on the
first 250, 500, ... images of each dataset (features are cached, so a point costs a
head training); :func:`stem_experiment` compares frozen pretrained stems with one
trained from scratch (thesis Table 6.1). Scoring the trained models is
:mod:`thesislib.evaluation.predictions`.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from thesislib import bprn as B
from thesislib.common import run_tasks
from thesislib.evaluation import albedo_errors, evaluate, input_embeddings, mean_shape_errors, test_features


# ----------------------------------------------------------------- samplers and datasets of the study
def generate_datasets(samplers: dict, folders: dict, **settings) -> dict:
    """One dataset per sampler (:func:`thesislib.datasets.generate`, resumable).

    Parameters
    ----------
    samplers : dict name -> ready sampler (e.g. :func:`thesislib.studies.draw_sampler`)
    folders : dict name -> dataset folder
    settings : keyword arguments of :func:`thesislib.datasets.generate` shared by all

    Returns
    -------
    dict name -> dataset folder (str), in the order of ``samplers``
    """
    from thesislib.datasets import generate

    for name, sampler in samplers.items():
        generate(folders[name], sampler, **settings)
    return {name: str(folders[name]) for name in samplers}


# ----------------------------------------------------------------- sweep
def model_path(models_dir, dataset: str, seed: int) -> Path:
    return Path(models_dir) / f"{dataset}__seed{int(seed)}.pt"


def _train_one(job: dict) -> dict:
    t0 = time.perf_counter()
    settings = B.BPRNSettings(**{**job["settings"], "hidden": tuple(job["settings"]["hidden"])})
    out = Path(job["path"])
    ckpt = out.parent / "checkpoints" / out.stem
    m = B.BPRN.from_settings(settings, job["seed"], progress=False, checkpoint_dir=ckpt)
    m.fit(job["dataset_path"])
    m.save(out)
    shutil.rmtree(ckpt, ignore_errors=True)  # the model file is what a rerun needs now
    last = m.history_.iloc[-1] if len(m.history_) else {"train_loss": np.nan, "val_loss": np.nan}
    return {"dataset": job["dataset"], "seed": job["seed"], "path": str(out), "status": "trained",
            "epochs": int(len(m.history_)), "best_epoch": m.best_epoch_, "train_loss": float(last["train_loss"]),
            "val_loss": float(last["val_loss"]), "seconds": round(time.perf_counter() - t0, 3)}


def train_sweep(datasets: dict, seeds, settings: B.BPRNSettings | dict | None = None, models_dir="models",
                workers: int = 1, scheduler=None, n_jobs: int = 1, progress: bool = True) -> pd.DataFrame:
    """Train one BPRN per (dataset, seed); resumable.

    Frozen-stem features are cached per dataset first (``n_jobs`` processes, or the Dask
    cluster when ``scheduler`` is given), then the
    trainings run in ``workers`` local processes, or on a Dask cluster when
    ``scheduler`` (address or ``distributed.Client``) is given (workers must see the
    dataset and model folders). A model whose file exists is skipped; an interrupted
    training resumes from its checkpoint (``models_dir/checkpoints/<name>/``, removed once the
    model is saved).

    Parameters
    ----------
    datasets : dict name -> dataset folder
    seeds : iterable of int (thesis: 4 per dataset)
    settings : :class:`thesislib.bprn.estimator.BPRNSettings`, a dict of its fields, or None for defaults

    Returns
    -------
    DataFrame, one row per (dataset, seed): dataset, seed, path, status ("trained" or
    "skipped"), epochs, best_epoch, train_loss, val_loss, seconds
    """
    if settings is None:
        settings = B.BPRNSettings()
    elif isinstance(settings, dict):
        settings = B.BPRNSettings(**{**settings, "hidden": tuple(settings.get("hidden", (200, 200, 200)))})
    models_dir = Path(models_dir)
    jobs, rows = [], []
    for name, path in datasets.items():
        for seed in seeds:
            out = model_path(models_dir, name, seed)
            if out.is_file():
                m = B.BPRN.load(out)
                rows.append({"dataset": name, "seed": int(seed), "path": str(out), "status": "skipped",
                             "epochs": len(m.history_), "best_epoch": m.best_epoch_,
                             "train_loss": float(m.history_["train_loss"].iloc[-1]) if len(m.history_) else np.nan,
                             "val_loss": float(m.history_["val_loss"].iloc[-1]) if len(m.history_) else np.nan,
                             "seconds": 0.0})
            else:
                jobs.append({"dataset": name, "seed": int(seed), "dataset_path": str(path), "path": str(out),
                             "settings": {**asdict(settings), "hidden": list(settings.hidden)}})
    if settings.stem != "cnn":
        for name in dict.fromkeys(j["dataset"] for j in jobs):
            B.dataset_features(datasets[name], settings.stem, n_jobs, settings.weights_path, progress,
                               scheduler=scheduler)
    rows += run_tasks(_train_one, jobs, workers=workers, scheduler=scheduler, progress=progress,
                      desc="train_sweep", unit="model")
    df = pd.DataFrame(rows, columns=["dataset", "seed", "path", "status", "epochs", "best_epoch",
                                     "train_loss", "val_loss", "seconds"])
    return df.sort_values(["dataset", "seed"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------- ridge reference, learning curves
def ridge_reference(dataset, stem: str = "facemesh", n_jobs: int = 1, weights_path=None, progress: bool = False,
                    scheduler=None) -> B.RidgeHead:
    """The linear reference head (:class:`thesislib.bprn.estimator.RidgeHead`) fitted on a dataset's
    cached frozen-stem features and its parameters (the same inputs a BPRN of that stem gets)."""
    from thesislib.datasets import load_dataset

    ds = load_dataset(dataset)
    f = B.dataset_features(ds, stem, n_jobs, weights_path, progress, scheduler=scheduler)
    return B.RidgeHead().fit(f.X, ds.parameters())


def _test_model(model, test):
    """``model`` (None: the embedded default) truncated to the test set's parameter layout."""
    from thesislib.facemodel import default_model

    return (default_model() if model is None else model).truncated(test.n_shape, test.n_color, 0)


def _truth_errors(P, test, model) -> dict:
    m = _test_model(model, test)
    v = mean_shape_errors(P, test.params, m)
    a = albedo_errors(P, test.params, m).mean(1)
    return {"vertex_mean_mm": float(v.mean()), "vertex_sem_mm": float(v.std(ddof=1) / np.sqrt(len(v))),
            "albedo_mean": float(a.mean()), "albedo_sem": float(a.std(ddof=1) / np.sqrt(len(a)))}


def _fit_predict(job: tuple, shared: tuple) -> np.ndarray:
    """Predictions of test features ``T`` by one head trained on the first ``n`` images of a
    dataset; ``job = (dataset, n, head, seed)``, ``shared = (settings, T, {dataset: (X, Y)})``."""
    (name, n, head, seed), (settings, T, data) = job, shared
    X, Y = (a[:n] for a in data[name])
    if head == "ridge":
        return B.RidgeHead().fit(X, Y).predict(T)
    if head == "thesis":  # the thesis head alone, without the linear path
        settings = B.BPRNSettings(**{**asdict(settings), "linear_skip": False})
    return B.BPRN.from_settings(settings, seed, progress=False).fit(X, Y).predict(T)


def learning_curve(datasets: dict, test, sizes=(250, 500, 1000, 2000), settings: B.BPRNSettings | dict | None = None,
                   seeds=(0,), heads=("bprn", "ridge"), features=None, model=None, n_jobs: int = 1,
                   progress: bool = True) -> pd.DataFrame:
    """Vertex and albedo error against the number of training images, per dataset and head.

    Each point trains a head on the first ``n`` images of a dataset (whole faces, in
    dataset order; sizes beyond the dataset are left out) from its cached frozen-stem
    features and predicts the test set, whose truth must be known. The mean face is
    added as ``head="mean face"`` at every size.

    Parameters
    ----------
    datasets : dict name -> dataset folder
    test : :class:`thesislib.evaluation.predictions.TestSet` with params
    sizes : training-set sizes in images
    settings : BPRN settings (its ``stem`` names the frozen stem; "cnn" is not supported)
    seeds : BPRN seeds per point (ridge is deterministic: one row)
    heads : any of "bprn" (:class:`thesislib.bprn.estimator.BPRN`), "ridge" (:class:`thesislib.bprn.estimator.RidgeHead`)
        and "thesis" (a BPRN without the linear path: the thesis head alone)
    features : (n_test, F) stem features of the test crops, or None to compute them
    n_jobs : processes for the stem features and the head trainings

    Returns
    -------
    DataFrame: dataset, n_images, head, seed, vertex_mean_mm, vertex_sem_mm, albedo_mean,
    albedo_sem (sem: standard error of the mean over test faces)
    """
    from thesislib.datasets import load_dataset

    if test.params is None:
        raise ValueError(f"test set {test.name!r} has no true parameters: a learning curve needs them")
    s = B.BPRNSettings() if settings is None else settings if isinstance(settings, B.BPRNSettings) else \
        B.BPRNSettings(**{**settings, "hidden": tuple(settings.get("hidden", (200, 200, 200)))})
    if s.stem == "cnn":
        raise ValueError("learning_curve needs a frozen stem (facemesh, dlib, wide_resnet50_2), not 'cnn'")
    T = test_features(test, s.stem, n_jobs, s.weights_path) if features is None else np.asarray(features)
    mean = _truth_errors(np.zeros_like(test.params), test, model)
    jobs, data = [], {}
    for name, path in datasets.items():
        ds = load_dataset(path)
        data[name] = B.dataset_features(ds, s.stem, n_jobs, s.weights_path, progress).X, ds.parameters()
        for n in sorted(int(k) for k in sizes if int(k) <= len(ds)):
            jobs += [(name, n, h, seed) for h in heads for seed in (seeds if h != "ridge" else (0,))]
    unknown = set(heads) - {"bprn", "ridge", "thesis"}
    if unknown:
        raise ValueError(f"unknown head(s) {sorted(unknown)}; use 'bprn', 'ridge' or 'thesis'")
    preds = run_tasks(_fit_predict, jobs, context=(s, T, data), workers=n_jobs, progress=progress,
                      desc="learning curve", unit="head")
    rows = []
    for (name, n, head, seed), P in zip(jobs, preds):
        rows.append({"dataset": name, "n_images": n, "head": head, "seed": int(seed), **_truth_errors(P, test, model)})
    for name, n in dict.fromkeys((j[0], j[1]) for j in jobs):
        rows.append({"dataset": name, "n_images": n, "head": "mean face", "seed": 0, **mean})
    return pd.DataFrame(rows).sort_values(["dataset", "head", "n_images", "seed"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------- stem experiment
def stem_experiment(dataset, epochs: int = 30, seed: int = 0, stems=("facemesh", "dlib", "cnn"),
                    settings: B.BPRNSettings | None = None, n_jobs: int = 1, progress: bool = True,
                    test=None, eval_at=None, model=None, embeddings=None, recognition: bool = True) -> pd.DataFrame:
    """Frozen pretrained stem vs a stem trained from scratch (thesis Table 6.1).

    Trains one BPRN per stem on the same dataset, split and seed, and returns their
    loss curves; the frozen stem only trains the head, the ``cnn`` stem trains
    everything. With a ``test`` set, each model is also scored
    (:func:`thesislib.evaluation.predictions.evaluate`) after the epochs in ``eval_at``: training
    stops there, is scored, and resumes from its checkpoint (same weights as one run).

    Parameters
    ----------
    dataset : dataset folder or Dataset (small: the cnn stem trains on all pixels)
    epochs : int, epochs per stem
    seed : int
    stems : stem names to compare
    settings : :class:`thesislib.bprn.estimator.BPRNSettings` for everything but stem/epochs (None: defaults);
        its ``early_stopping`` applies when ``eval_at`` is None
    n_jobs : processes for dlib descriptors
    test : :class:`thesislib.evaluation.predictions.TestSet` or None
    eval_at : epochs at which to score (default: the last epoch); needs ``test``
    model : morphable model for the renders of the evaluation (default: embedded)
    embeddings : dlib descriptors of the test crops (:func:`thesislib.evaluation.predictions.input_embeddings`),
        or None to compute them when needed
    recognition : False scores geometry and albedo only (no renders, no face-recognition score)

    Returns
    -------
    DataFrame, one row per stem and epoch: stem, trainable_stem (bool), epoch, train_loss,
    val_loss (MSE on tanh-scaled targets), seconds (the stem's total time, features and
    evaluations included); with ``test`` also score, corrected_score, sigma, vertex_mean_mm,
    albedo_mean (means over the test set; NaN at epochs not scored)
    """
    base = settings or B.BPRNSettings()
    stops = sorted({int(e) for e in (eval_at or [epochs]) if 0 < int(e) <= epochs} | {int(epochs)})
    if test is not None and embeddings is None and (recognition or "dlib" in stems):
        embeddings = input_embeddings(test, n_jobs, progress)
    frames = []
    for stem in stems:
        t0, scores = time.perf_counter(), {}
        feats = None
        if test is not None and stem not in ("cnn", "dlib"):
            feats = test_features(test, stem, n_jobs, base.weights_path)
        with tempfile.TemporaryDirectory(prefix="stem_experiment_") as ck:
            for stop in stops:
                patience = base.early_stopping if eval_at is None else None  # stops at eval_at need all epochs
                s = B.BPRNSettings(**{**asdict(base), "stem": stem, "epochs": stop, "early_stopping": patience})
                m = B.BPRN.from_settings(s, seed, progress=progress, n_jobs=n_jobs, checkpoint_dir=ck).fit(dataset)
                if test is not None and (eval_at is None or stop in {int(e) for e in eval_at}):
                    # early stopping may end before `stop`: the scores belong to the last epoch run
                    scores[int(m.history_["epoch"].iloc[-1]) if len(m.history_) else stop] = evaluate(m, test, model=model, embeddings=embeddings, n_jobs=n_jobs,
                                            features=feats, recognition=recognition).summary()
        h = m.history_.copy()
        h.insert(0, "trainable_stem", stem == "cnn")
        h.insert(0, "stem", stem)
        h["seconds"] = round(time.perf_counter() - t0, 3)
        if test is not None:
            for k in ("score", "corrected_score", "sigma", "vertex_mean_mm", "albedo_mean"):
                h[k] = [scores.get(int(e), {}).get(k, np.nan) for e in h["epoch"]]
        frames.append(h)
    return pd.concat(frames, ignore_index=True)
