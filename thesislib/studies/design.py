"""Chapter 05's study design: test sets no sampler was built from, baselines, replicated draws.

* :func:`study_test_sets` -- the synthetic test sets, each reported on its own: held-out faces of
  the reference population, a shifted population (:func:`thesislib.facemodel.shifted_population`)
  and held-out faces in front of photos no training scene uses
  (:func:`thesislib.imaging.package_backgrounds`).
* :func:`baseline_predictions` -- what a network has to beat on each: the model's mean face,
  the fitted set's mean face and the test population's mean face (an oracle that knows the
  prior's mean).
* :func:`train_draws` -- ``draws`` independent replications per sampler: a new training
  dataset (seed) and, for samplers that learn from the fitted set, a new fit (seed), then a
  BPRN per draw (its seed is the draw's). The BPRN's seed alone is not a draw.

Scoring the draws is :mod:`thesislib.studies.replicates`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: Seed offsets (added to the run's seed) of the test sets: none is used by any training
#: dataset, the fit split (:data:`thesislib.studies.fitted.FIT_SEED_OFFSET`) or another test set.
TEST_SEEDS = {"held-out": 7919, "shifted": 7927, "new backgrounds": 7933}
#: Seed offset of draw ``d``'s datasets: ``seed + DATASET_SEED + d`` (the same for every
#: sampler within a draw, so samplers are compared on common scenes).
DATASET_SEED = 100
#: Seed offset of draw ``d``'s fits: ``seed + FIT_SEED + d``.
FIT_SEED = 500


def study_test_sets(model, n: int, seed: int, sets=("held-out", "shifted", "new backgrounds"),
                    progress: bool = False) -> dict:
    """The synthetic test sets of chapter 05, by name (all with known truth).

    Parameters
    ----------
    model : truncated MorphableModel
    n : faces per test set
    seed : the run's seed (each set adds its :data:`TEST_SEEDS` offset)
    sets : which of "held-out", "shifted" and "new backgrounds"

    Returns
    -------
    dict name -> :class:`thesislib.datasets.TestSet`
    """
    from thesislib.datasets import population_test_set, realistic_scenes, realistic_test_set
    from thesislib.facemodel import reference_population, shifted_population
    from thesislib.imaging import package_backgrounds

    unknown = [name for name in sets if name not in TEST_SEEDS]
    if unknown:
        raise ValueError(f"unknown test set(s) {unknown}; choose from {list(TEST_SEEDS)}")
    out = {}
    for name in sets:
        s = int(seed) + TEST_SEEDS[name]
        if name == "held-out":
            out[name] = realistic_test_set(n, s, model, name=name, progress=progress)
        elif name == "shifted":
            pop = shifted_population(model, int(n), np.random.default_rng([s, 0]))
            out[name] = population_test_set(pop, s, model, name=name, progress=progress)
        else:  # new backgrounds
            pop = reference_population(model, int(n), np.random.default_rng([s, 0]))
            scenes = realistic_scenes(background_images=package_backgrounds())
            out[name] = population_test_set(pop, s, model, scenes, name=name, progress=progress)
    return out


def population_mean(model, test_set: str, n: int = 20_000, seed: int = 0) -> np.ndarray:
    """The mean parameter vector of the population a test set's faces come from, estimated
    from ``n`` fresh faces (not the test faces): the oracle baseline's prediction."""
    from thesislib.facemodel import reference_population, shifted_population

    draw = shifted_population if test_set == "shifted" else reference_population
    return draw(model, int(n), np.random.default_rng([int(seed), 99])).params.mean(0)


def baseline_predictions(model, fitted, tests: dict) -> dict:
    """The baselines' predictions per test set: ``{test_set: {name: (n_faces, n_params)}}``.

    ``"model mean face"`` (all zeros), ``"fitted-set mean face"`` (what a sampler fitted on the
    fitted set knows at least) and ``"population mean face (oracle)"`` (the mean of the test
    faces' own population, which no honest method knows).
    """
    out = {}
    for name, test in tests.items():
        n = len(test)
        out[name] = {"model mean face": np.zeros((n, model.n_params)),
                     "fitted-set mean face": np.tile(np.asarray(fitted.params).mean(0), (n, 1)),
                     "population mean face (oracle)": np.tile(population_mean(model, name), (n, 1))}
    return out


# ----------------------------------------------------------------- replicated draws
def draw_sampler(name: str, draw: int, fitted, seed: int, saved: dict | None = None, settings: dict | None = None,
                 holdout: float = 0.25, gan_folder=None, progress: bool = False):
    """Sampler ``name`` of draw ``draw``, ready to sample (a new fit per draw where it learns).

    Draw 0 of a saved class (the GANs) loads chapter 04's model from ``saved[name]``; later
    draws train the same variant with the same settings under the draw's seed on the same
    training split (``holdout`` of the fitted set kept aside under the run's seed, as chapter 04
    does), saved in ``gan_folder`` so a rerun loads them. Other fitted samplers are fitted on
    the whole fitted set with ``seed=`` the draw's fit seed where the class takes one.

    Returns
    -------
    the sampler, or None when a saved class has no model from chapter 04
    """
    import inspect

    from thesislib.samplers import ready_sampler, resolve_class

    cls, saved, settings = resolve_class(name), dict(saved or {}), dict(settings or {})
    X = np.asarray(fitted.params, np.float64)
    fit_seed = int(seed) + FIT_SEED + int(draw)
    if hasattr(cls, "load"):
        path = saved.get(name)
        if path is None or not Path(path).is_file():
            return None
        first = ready_sampler(name, X.shape[1], saved=path)
        if draw == 0:
            return first
        target = Path(gan_folder) / f"05_{name}_d{int(draw)}.pt"
        if target.is_file():
            return ready_sampler(name, X.shape[1], saved=target)
        _, train = fitted.split(holdout, np.random.default_rng(seed))
        kw = {**first.get_params(), "seed": fit_seed, "progress": progress, "checkpoint_dir": None, "resume": False}
        if "variant" not in inspect.signature(type(first).__init__).parameters:  # CVGAN1/CVGAN2 fix it
            kw.pop("variant", None)
        gan = type(first)(**kw)
        gan.fit(train.params, train.age, train.sex)
        gan.save(target)
        return ready_sampler(name, X.shape[1], saved=target)  # as a rerun gets it: the same dataset card
    kw = dict(settings.get(name, {}))
    if "seed" in inspect.signature(cls.__init__).parameters:
        kw["seed"] = fit_seed
    return ready_sampler(name, X.shape[1], X, age=fitted.age, sex=fitted.sex, **kw)


def ridge_path(models_dir, sampler: str, draw: int) -> Path:
    """The ridge head of a draw's dataset where its BPRN has no linear path to hold it
    (``linear_skip=False``): ``models_dir/ridge/<sampler>__d<draw>.npz``."""
    return Path(models_dir) / "ridge" / f"{sampler}__d{int(draw)}.npz"


def train_draws(names, draws: int, fitted, folder, models_dir, n_faces: int, seed: int, bprn_settings: dict,
                generation: dict, saved: dict | None = None, settings: dict | None = None, holdout: float = 0.25,
                workers: int = 1, scheduler=None, progress: bool = True, keep_datasets: int | None = 1) -> pd.DataFrame:
    """Datasets, BPRNs and ridge heads of ``draws`` independent draws per sampler; resumable.

    Each draw's dataset trains a BPRN. With a frozen stem, the ridge head on the same features is
    the BPRN's linear path (:meth:`thesislib.bprn.RidgeHead.from_network`); a BPRN without one
    (``linear_skip=False``) gets it fitted and saved as :func:`ridge_path`. The datasets of draws
    ``keep_datasets`` and later are deleted once these are saved (6.4 MB each in the default
    profile); a rerun that finds them skips the draw. Draw 0's stay for the learning curves
    (chapter 05 deletes them once made: ``learning_curves(remove=True)``).

    Parameters
    ----------
    names : sampler registry names
    draws : int >= 1
    fitted : the run's fitted set (:class:`thesislib.facemodel.Population`)
    folder : callable ``(name, draw) -> dataset folder``
    models_dir : folder of the BPRNs (``<name>__d<draw>__seed<draw>.pt``) and the refitted GANs
    n_faces : faces per dataset (``generation["images_per_face"]`` images each)
    seed : the run's seed
    bprn_settings : :class:`thesislib.bprn.BPRNSettings` fields
    generation : further keyword arguments of :func:`thesislib.datasets.generate` (``store`` defaults
        to "features" for the face-mesh stem: no PNGs, the features computed while rendering)
    saved, settings, holdout : see :func:`draw_sampler`
    keep_datasets : how many first draws keep their datasets (None: every draw)

    Returns
    -------
    DataFrame, one row per (sampler, draw): sampler, draw, dataset (folder; gone for a deleted
    draw), path (the BPRN), ridge (the ridge head's file; None where the BPRN's linear path holds it
    or the stem is trained), status,
    epochs, best_epoch, train_loss, val_loss, seconds; samplers without a saved model are left out
    (``df.attrs["skipped"]`` names them)
    """
    from thesislib.datasets import generate, remove_dataset

    from .bprn import curve_settings, model_path, ridge_reference, train_sweep

    net = curve_settings(bprn_settings)  # the networks' settings, with the defaults the dict leaves out
    stem, ridge_file = net.stem, net.stem != "cnn" and not net.linear_skip
    # the face-mesh stem's features are computed while rendering and stored instead of PNGs
    generation = {"store": "features" if stem == "facemesh" else "png", **generation}
    frames, skipped = [], []
    for d in range(int(draws)):
        datasets, drop = {}, keep_datasets is not None and d >= int(keep_datasets)
        for name in names:
            if name in skipped:
                continue
            sampler = draw_sampler(name, d, fitted, seed, saved, settings, holdout, models_dir, progress)
            if sampler is None:
                skipped.append(name)
                continue
            key, ridge = f"{name}__d{d}", ridge_path(models_dir, name, d) if ridge_file else None
            done = model_path(models_dir, key, d).is_file() and (ridge is None or ridge.is_file())
            if not (drop and done):
                generate(folder(name, d), sampler, n_faces, seed=int(seed) + DATASET_SEED + d, workers=workers,
                         scheduler=scheduler, progress=progress, **generation)
            datasets[key] = str(folder(name, d))
        sweep = train_sweep(datasets, [d], bprn_settings, models_dir=models_dir, workers=workers,
                            scheduler=scheduler, n_jobs=workers, progress=progress)
        sweep.insert(0, "draw", d)
        sweep.insert(0, "sampler", sweep.pop("dataset").str.rsplit("__d", n=1).str[0])
        sweep["dataset"] = [datasets[f"{s}__d{d}"] for s in sweep["sampler"]]
        sweep["ridge"] = [str(ridge_path(models_dir, s, d)) for s in sweep["sampler"]] if ridge_file else None
        for name, folder_d, ridge in zip(sweep["sampler"], sweep["dataset"], sweep["ridge"]):
            if ridge is not None and not Path(ridge).is_file():
                ridge_reference(folder_d, stem, workers, bprn_settings.get("weights_path")).save(ridge)
            if drop:
                remove_dataset(folder_d)
        frames.append(sweep.drop(columns="seed"))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    df.attrs["skipped"] = skipped
    return df
