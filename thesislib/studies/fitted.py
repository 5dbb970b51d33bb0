"""The fitted set of a run: face parameters *estimated from images*, as in the thesis.

The thesis fitted its GMMs and GANs on BFM parameters that BPRNs trained on random data
predicted for Wikipedia photos (the "ensemble fit"): an estimate, noisy and shrunk towards
what the networks learned, never the truth. :func:`estimated_fitted_set` does the same
with the synthetic population standing in for the photos:

1. draw ``n`` faces of the reference population under a seed that no test set uses (the
   *fit split*; the test sets of chapter 05 draw theirs under other seeds);
2. render them real-like (:func:`thesislib.datasets.population_test_set`: near-frontal
   poses, another light and background draw), as photos of people would be;
3. train a BPRN on a dataset of each naive sampler named (default N(0, 1) alone);
4. predict the renders. With one sampler the predictions are the fitted set; with several,
   each image keeps the prediction whose render the face-recognition judge finds most
   similar to it (the thesis' ensemble, :func:`thesislib.evaluation.ensemble_fit`; a render
   where no prediction could be scored is dropped, as a photo would be).

Age and sex stay the faces' labels (the photo metadata of the thesis). The population's
true parameters are used only to render the images and to measure the estimate's own error,
which the card records. The result is cached in ``folder`` with a card that says how it was
made; a later chapter (or a rerun) with the same recipe loads it instead of making it again.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Added to the run's seed for the fit split's faces and scenes; no test set uses it.
FIT_SEED_OFFSET = 104_729
CARD, TABLE = "fitted_set.json", "fitted_set.parquet"


@dataclass(frozen=True)
class FitRecipe:
    """How a fitted set is estimated (the params file's ``population.estimate``).

    Attributes
    ----------
    n : faces of the fit split
    seed : the run's seed
    samplers : naive samplers whose BPRNs predict the renders (several: the ensemble)
    faces, images_per_face : size of each sampler's training dataset
    stem, epochs, early_stopping : the BPRNs' frozen stem and training
    """

    n: int
    seed: int
    samplers: tuple = ("naive_normal_1",)
    faces: int = 1000
    images_per_face: int = 2
    stem: str = "facemesh"
    epochs: int = 60
    early_stopping: int | None = 15
    extra: dict = field(default_factory=dict)

    def key(self, model) -> dict:
        """What decides the result: the recipe and the model's fingerprint."""
        return {**asdict(self), "samplers": list(self.samplers), "model": model.fingerprint}


def _fit_split(model, recipe: FitRecipe):
    from thesislib.facemodel import reference_population

    return reference_population(model, int(recipe.n), np.random.default_rng([recipe.seed + FIT_SEED_OFFSET, 0]))


def _train(name: str, model, recipe: FitRecipe, folder: Path, scene_sampler, workers, scheduler, weights_path,
           progress):
    """A BPRN trained on a dataset of the naive sampler ``name`` (cached in ``folder``)."""
    from thesislib.bprn import BPRN
    from thesislib.datasets import generate, remove_dataset
    from thesislib.samplers import ready_sampler

    path = folder / "models" / f"{name}.pt"
    if path.is_file():
        return BPRN.load(path)
    sampler = ready_sampler(name, model.n_params)
    ds = generate(folder / "datasets" / name, sampler, recipe.faces, recipe.images_per_face,
                  recipe.seed + FIT_SEED_OFFSET + 1, model=model, scene_sampler=scene_sampler, workers=workers,
                  scheduler=scheduler, progress=progress,
                  store="features" if recipe.stem == "facemesh" else "png")
    checkpoints = folder / "models" / "checkpoints" / name
    m = BPRN(stem=recipe.stem, n_params=model.n_params, epochs=recipe.epochs, early_stopping=recipe.early_stopping,
             seed=0, weights_path=weights_path, n_jobs=workers, progress=progress,
             checkpoint_dir=checkpoints).fit(ds.path)
    m.save(path)
    shutil.rmtree(checkpoints, ignore_errors=True)  # the model file is what a rerun needs now,
    remove_dataset(ds.path)  # not its checkpoints or its training data (13 MB in the default profile)
    if not any(Path(ds.path).parent.iterdir()):
        Path(ds.path).parent.rmdir()
    return m


def fit_quality(estimate, truth, model) -> dict:
    """How far an estimated fitted set is from the truth of its faces.

    Returns
    -------
    dict: vertex_mm (mean per-vertex error after rigid alignment, :func:`thesislib.evaluation.mean_shape_errors`),
    mean_face_vertex_mm (the same for the model's mean face), param_rmse (sd units),
    correlation (mean over parameters of the correlation between estimate and truth),
    variance_ratio (mean over parameters of var(estimate) / var(truth): below 1 is shrinkage),
    mean_distance (distance between the estimate's and the truth's mean vectors, sd units)
    """
    from thesislib.evaluation import mean_shape_errors

    E, T = np.asarray(estimate, float), np.asarray(truth, float)
    corr = [np.corrcoef(E[:, j], T[:, j])[0, 1] for j in range(T.shape[1]) if E[:, j].std() > 0]
    return {"vertex_mm": round(float(mean_shape_errors(E, T, model).mean()), 4),
            "mean_face_vertex_mm": round(float(mean_shape_errors(np.zeros_like(T), T, model).mean()), 4),
            "param_rmse": round(float(np.sqrt(((E - T) ** 2).mean())), 4),
            "correlation": round(float(np.mean(corr)), 4),
            "variance_ratio": round(float(np.mean(E.var(0) / T.var(0))), 4),
            "mean_distance": round(float(np.linalg.norm(E.mean(0) - T.mean(0))), 4)}


def load_estimated(folder, model, recipe: FitRecipe | None = None):
    """The cached fitted set in ``folder`` as (Population, card), or None when absent or made
    by another recipe (``recipe`` None: any recipe of this model)."""
    from thesislib.facemodel import load_fitted_set

    folder = Path(folder)
    if not (folder / CARD).is_file() or not (folder / TABLE).is_file():
        return None
    card = json.loads((folder / CARD).read_text())
    if card.get("key", {}).get("model") != model.fingerprint or (
            recipe is not None and card.get("key") != json.loads(json.dumps(recipe.key(model)))):
        return None
    pop = load_fitted_set(folder / TABLE, model)
    return type(pop)(pop.params, pop.age, pop.sex, pop.n_shape, pop.n_color, card["source"]), card


def quality_table(folder, model) -> pd.DataFrame:
    """The cached fitted set's error against the truth of its faces (:func:`fit_quality`, from its
    card) as a one-column table; empty when ``folder`` holds no estimate for ``model`` (a run
    whose params name ``data.fitted_set``)."""
    cached = load_estimated(folder, model)
    if cached is None:
        return pd.DataFrame(columns=["the fitted set against the truth of its faces"])
    return pd.Series(cached[1]["quality"], name="the fitted set against the truth of its faces").to_frame()


def estimated_fitted_set(model, recipe: FitRecipe, folder, scene_sampler=None, weights_path=None, workers: int = 1,
                         scheduler=None, progress: bool = True):
    """The run's fitted set, estimated from real-like renders (see the module docstring).

    Parameters
    ----------
    model : truncated MorphableModel
    recipe : :class:`FitRecipe`
    folder : cache folder (the table, its card, the training datasets and BPRNs)
    scene_sampler : scenes of the training datasets (the run's environment)
    weights_path : weights of a stem that needs them
    workers, scheduler : where datasets and features are computed

    Returns
    -------
    population : :class:`thesislib.facemodel.population.Population` of the estimates, with the
        fit split's age and sex; its ``source`` says how it was made
    card : dict (``key``, ``source``, ``quality`` (:func:`fit_quality`), ``models`` (images won
        per sampler), ``seconds``)
    """
    import time

    from thesislib.common import atomic_write, atomic_write_text
    from thesislib.datasets import population_test_set
    from thesislib.evaluation import ensemble_fit, evaluate, test_features
    from thesislib.facemodel import Population, param_columns

    folder = Path(folder)
    cached = load_estimated(folder, model, recipe)
    if cached is not None:
        return cached
    t0 = time.perf_counter()
    truth = _fit_split(model, recipe)
    images = population_test_set(truth, recipe.seed + FIT_SEED_OFFSET, model, name="fit split", progress=progress)
    feats = test_features(images, recipe.stem, workers, weights_path, progress=progress, scheduler=scheduler)
    nets = {name: _train(name, model, recipe, folder, scene_sampler, workers, scheduler, weights_path, progress)
            for name in recipe.samplers}
    if len(nets) == 1:
        name, net = next(iter(nets.items()))
        P, won = net.predict(feats), {name: len(truth)}
    else:  # the thesis' ensemble: per image, the prediction the face-recognition judge prefers
        evs = {k: evaluate(m, images, model=model, n_jobs=workers, features=feats) for k, m in nets.items()}
        ens = ensemble_fit({k: e.predictions for k, e in evs.items()},
                           {k: e.per_image.score.to_numpy() for k, e in evs.items()},
                           ids=range(len(truth)), age=truth.age, sex=truth.sex, model=model)
        keep = ens["id"].astype(int).to_numpy()  # renders no model's prediction was scored on are dropped
        truth = Population(truth.params[keep], truth.age[keep], truth.sex[keep], truth.n_shape, truth.n_color,
                           truth.source)
        P, won = ens[param_columns(model)].to_numpy(np.float64), ens.model.value_counts().to_dict()
    what = " + ".join(recipe.samplers)
    source = (f"estimated from {len(P)} real-like renders by a BPRN trained on {what} "
              f"({recipe.faces * recipe.images_per_face} images each, {recipe.stem} stem)")
    card = {"key": recipe.key(model), "source": source, "quality": fit_quality(P, truth.params, model),
            "models": {k: int(v) for k, v in won.items()}, "seconds": round(time.perf_counter() - t0, 1)}
    df = pd.DataFrame(P, columns=param_columns(model))
    df["age"], df["sex"] = truth.age, truth.sex
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / TABLE, lambda fh: df.to_parquet(fh, index=False))
    atomic_write_text(folder / CARD, json.dumps(card, indent=2))  # the card last: it marks the table done
    return Population(P, truth.age.copy(), truth.sex.copy(), model.n_shape, model.n_color, source), card
