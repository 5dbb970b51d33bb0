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
import torch

from thesislib import bprn as B
from thesislib.common import run_tasks
from thesislib.datasets import remove_dataset
from thesislib.evaluation import evaluate, input_embeddings, mean_errors, test_features


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


def _truth_errors(Ps, test, model) -> list:
    """Mean and standard error of the vertex and albedo errors of each prediction set of ``Ps``
    (:func:`thesislib.evaluation.mean_errors`: the truth rendered once for all)."""
    out = []
    for v, a in mean_errors(Ps, test.params, _test_model(model, test)):
        out.append({"vertex_mean_mm": float(v.mean()), "vertex_sem_mm": float(v.std(ddof=1) / np.sqrt(len(v))),
                    "albedo_mean": float(a.mean()), "albedo_sem": float(a.std(ddof=1) / np.sqrt(len(a)))})
    return out


def _fit_predict(job: tuple, shared: tuple) -> tuple:
    """Predictions of the test features ``T`` by one head trained on the first ``n`` images of a
    dataset, and the training's cost; ``job = (dataset, n, head, seed, epochs)``, ``shared =
    (settings, T, {dataset: (X, Y, groups)})`` (groups: a face id per image, or None). Networks
    split off their validation rows by face, as :meth:`thesislib.bprn.BPRN.fit` does on a dataset.
    Returns (predictions, {"seconds", "epochs", "best_epoch"})."""
    (name, n, head, seed, epochs), (settings, T, data) = job, shared
    X, Y, G = (None if a is None else a[:n] for a in data[name])
    t0 = time.perf_counter()
    if head == "ridge":
        P = B.RidgeHead().fit(X, Y).predict(T)
        return P, {"seconds": time.perf_counter() - t0, "epochs": 0, "best_epoch": 0}
    over = {"epochs": int(epochs)}
    if head == "thesis":  # the thesis head alone, without the linear path
        over["linear_skip"] = False
    m = B.BPRN.from_settings(B.BPRNSettings(**{**asdict(settings), **over}), seed, progress=False).fit(X, Y, G)
    return m.predict(T), {"seconds": time.perf_counter() - t0, "epochs": int(m.history_["epoch"].max()),
                          "best_epoch": int(m.best_epoch_)}


def _reusable(model, settings: B.BPRNSettings, X) -> bool:
    """Whether ``model`` is what the learning curve would train on all of ``X`` with ``settings``
    (head "bprn"): the same settings (device aside), and the feature standardisation of ``X``
    (which a network takes from every input row: it was trained on these features)."""
    s = model.settings
    if (s.identity(), s.epochs, s.early_stopping) != (settings.identity(), settings.epochs, settings.early_stopping):
        return False
    from thesislib.bprn import feature_stats

    net = model.network_
    if net.mu.numel() != X.shape[1]:
        return False
    mu, sd = (torch.from_numpy(a).to(net.mu.dtype) for a in feature_stats(X))
    return bool(torch.equal(net.mu.cpu(), mu) and torch.equal(net.sd.cpu(), sd))


#: Datasets whose features together stay below this share one pool of workers (one context
#: sent once); a larger one (100k face-mesh images: 1.2 GB) is alone in memory with its points.
GROUP_BYTES = 1 << 30


def curve_epochs(settings: B.BPRNSettings, n: int, epoch_images: int | None) -> int:
    """Epochs of a network trained on ``n`` images: ``settings.epochs``, capped at
    ``ceil(epoch_images / n)`` (at least 1) when ``epoch_images`` is set (the same number of
    images seen, not epochs, bounds a training at every size)."""
    if epoch_images is None:
        return int(settings.epochs)
    return int(max(1, min(settings.epochs, -(-int(epoch_images) // int(n)))))


def curve_predictions(datasets: dict, tests: dict, sizes, settings: B.BPRNSettings, seeds=(0,),
                      heads=("bprn", "ridge"), features: dict | None = None, n_jobs: int = 1, scheduler=None,
                      epoch_images: int | None = None, progress: bool = True,
                      trained: dict | None = None) -> tuple:
    """Every learning-curve point's predictions of every test set.

    Each point trains a head on the first ``n`` images of a dataset (whole faces, in dataset
    order; sizes beyond the dataset are left out) from its frozen-stem features, and predicts
    the test sets' features. A network's validation rows are whole faces (the dataset's
    ``instance_id``), as :meth:`thesislib.bprn.BPRN.fit` splits a dataset. Datasets go in groups
    whose features stay below :data:`GROUP_BYTES` (100k images of the face-mesh stem, 1.2 GB,
    are a group alone); a group's points run in ``n_jobs`` processes or on the Dask cluster
    ``scheduler``, the largest first.

    ``trained`` : dict dataset name -> BPRN (or its file) trained on that whole dataset (e.g.
    :func:`train_sweep`'s): the "bprn" point of its seed at the dataset's size is that model's
    prediction instead of a training, when its settings are ``settings`` (with the point's
    epochs) and its feature standardisation is the dataset's (:func:`_reusable`); the same
    seed and data train the same network, so the numbers are those of a training here.

    Returns
    -------
    predictions : dict (dataset, n, head, seed) -> {test set name: (n_faces, n_params)}
    costs : DataFrame, one row per point: dataset, n_images, head, seed, seconds, epochs, best_epoch
        (a reused model: the seconds of its prediction)
    """
    from thesislib.datasets import load_dataset

    unknown = set(heads) - {"bprn", "ridge", "thesis"}
    if unknown:
        raise ValueError(f"unknown head(s) {sorted(unknown)}; use 'bprn', 'ridge' or 'thesis'")
    if settings.stem == "cnn":
        raise ValueError("learning_curve needs a frozen stem (facemesh, dlib, wide_resnet50_2), not 'cnn'")
    feats = {name: (np.asarray(features[name]) if features is not None and name in features
                    else test_features(t, settings.stem, n_jobs, settings.weights_path)) for name, t in tests.items()}
    T = np.concatenate(list(feats.values()))
    edges = np.cumsum([0] + [len(f) for f in feats.values()])
    predictions, costs, group = {}, [], {}
    names = list(datasets)
    for i, name in enumerate(names):
        ds = load_dataset(datasets[name])
        group[name] = (B.dataset_features(ds, settings.stem, n_jobs, settings.weights_path, progress).X,
                       ds.parameters(), B.BPRN._groups(ds))
        if i + 1 < len(names) and sum(x.nbytes for x, _, _ in group.values()) < GROUP_BYTES:
            continue
        jobs = sorted(((d, n, h, seed, curve_epochs(settings, n, epoch_images)) for d, (x, _, _) in group.items()
                       for n in sorted(int(k) for k in sizes if int(k) <= len(x))
                       for h in heads for seed in (seeds if h != "ridge" else (0,))), key=lambda j: -j[1])
        for d in (trained or {}).keys() & group.keys():
            t0, x = time.perf_counter(), group[d][0]
            m = trained[d] if isinstance(trained[d], B.BPRN) else B.BPRN.load(trained[d])
            job = (d, len(x), "bprn", m.seed, curve_epochs(settings, len(x), epoch_images))
            if job in jobs and _reusable(m, B.BPRNSettings(**{**asdict(settings), "epochs": job[4]}), x):
                jobs.remove(job)
                P = m.predict(T)
                predictions[job[:4]] = {t: P[edges[k]:edges[k + 1]] for k, t in enumerate(feats)}
                costs.append({"dataset": d, "n_images": len(x), "head": "bprn", "seed": m.seed,
                              "seconds": time.perf_counter() - t0, "epochs": int(m.history_["epoch"].max()),
                              "best_epoch": int(m.best_epoch_)})
        out = run_tasks(_fit_predict, jobs, context=(settings, T, group), workers=n_jobs, scheduler=scheduler,
                        progress=progress, desc=f"learning curve {', '.join(group)}", unit="head")
        group = {}
        for (d, n, head, seed, _), (P, cost) in zip(jobs, out):
            predictions[(d, n, head, int(seed))] = {t: P[edges[k]:edges[k + 1]] for k, t in enumerate(feats)}
            costs.append({"dataset": d, "n_images": n, "head": head, "seed": int(seed), **cost})
    return predictions, pd.DataFrame(costs)


def curve_settings(settings: B.BPRNSettings | dict | None) -> B.BPRNSettings:
    """``settings`` of :func:`learning_curve` as :class:`thesislib.bprn.BPRNSettings` (None: defaults)."""
    if settings is None or isinstance(settings, B.BPRNSettings):
        return B.BPRNSettings() if settings is None else settings
    return B.BPRNSettings(**{**settings, "hidden": tuple(settings.get("hidden", (200, 200, 200)))})


def learning_curve(datasets: dict, test, sizes=(250, 500, 1000, 2000), settings: B.BPRNSettings | dict | None = None,
                   seeds=(0,), heads=("bprn", "ridge"), features=None, model=None, n_jobs: int = 1,
                   progress: bool = True, scheduler=None, epoch_images: int | None = None,
                   trained: dict | None = None) -> pd.DataFrame:
    """Vertex and albedo error against the number of training images, per dataset and head.

    Each point trains a head on the first ``n`` images of a dataset (whole faces, in
    dataset order; sizes beyond the dataset are left out) from its cached frozen-stem
    features and predicts the test set, whose truth must be known
    (:func:`curve_predictions`). The mean face is added as ``head="mean face"`` at every size.

    Parameters
    ----------
    datasets : dict name -> dataset folder
    test : :class:`thesislib.evaluation.predictions.TestSet` with params, or a dict name -> test set
    sizes : training-set sizes in images
    settings : BPRN settings (its ``stem`` names the frozen stem; "cnn" is not supported)
    seeds : BPRN seeds per point (ridge is deterministic: one row)
    heads : any of "bprn" (:class:`thesislib.bprn.estimator.BPRN`), "ridge" (:class:`thesislib.bprn.estimator.RidgeHead`)
        and "thesis" (a BPRN without the linear path: the thesis head alone)
    features : (n_test, F) stem features of the test crops (a dict by test set name when ``test``
        is a dict), or None to compute them
    n_jobs : processes for the stem features and the head trainings
    scheduler : Dask scheduler address or client for the head trainings (instead of processes)
    epoch_images : cap on the images a network sees (:func:`curve_epochs`), or None
    trained : dict dataset name -> BPRN or model file trained on the whole dataset, whose
        "bprn" point it predicts instead of a training (see :func:`curve_predictions`)

    Returns
    -------
    DataFrame: test_set, dataset, n_images, head, seed, vertex_mean_mm, vertex_sem_mm, albedo_mean,
    albedo_sem (sem: standard error of the mean over test faces), seconds, epochs, best_epoch
    """
    tests = dict(test) if isinstance(test, dict) else {test.name: test}
    if not isinstance(test, dict) and features is not None:
        features = {test.name: features}
    missing = [name for name, t in tests.items() if t.params is None]
    if missing:
        raise ValueError(f"test set(s) {missing} have no true parameters: a learning curve needs them")
    s = curve_settings(settings)
    preds, costs = curve_predictions(datasets, tests, sizes, s, seeds, heads, features, n_jobs, scheduler,
                                     epoch_images, progress, trained)
    rows = []
    for t, test_set in tests.items():
        mean, *errors = _truth_errors([np.zeros_like(test_set.params)] + [P[t] for P in preds.values()], test_set,
                                      model)
        for (name, n, head, seed), e in zip(preds, errors):
            rows.append({"test_set": t, "dataset": name, "n_images": n, "head": head, "seed": seed, **e})
        for name, n in dict.fromkeys((k[0], k[1]) for k in preds):
            rows.append({"test_set": t, "dataset": name, "n_images": n, "head": "mean face", "seed": 0, **mean})
    df = pd.DataFrame(rows)
    if len(costs):
        df = df.merge(costs, on=["dataset", "n_images", "head", "seed"], how="left")
    keys = ["test_set", "dataset", "head", "n_images", "seed"]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------- stem experiment
def stem_experiment(dataset, epochs: int = 30, seed: int = 0, stems=("facemesh", "dlib", "cnn"),
                    settings: B.BPRNSettings | None = None, n_jobs: int = 1, progress: bool = True,
                    test=None, eval_at=None, model=None, embeddings=None, recognition: bool = True,
                    remove: bool = False) -> pd.DataFrame:
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
    remove : delete the dataset once the curves are made (:func:`thesislib.datasets.remove_dataset`)

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
    if remove:
        remove_dataset(dataset)
    return pd.concat(frames, ignore_index=True)
