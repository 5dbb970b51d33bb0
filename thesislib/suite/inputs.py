"""What a run's params build for the chapters: the scene distribution of its training data and
the fitted set every chapter fits on (validation is :mod:`thesislib.suite.params`)."""
from __future__ import annotations

from .params import SuiteParams


def scene_sampler(params: SuiteParams, max_yaw: float = 90.0):
    """The environment distribution of a run: the user's backgrounds and light when given."""
    from thesislib.imaging import SceneSampler, load_backgrounds, load_illumination_prior

    kwargs = {"max_yaw": max_yaw}
    if params.data.backgrounds:
        kwargs.update(background="images", background_images=load_backgrounds(params.data.backgrounds))
    if params.data.illumination:
        kwargs.update(illumination="empirical",
                      illumination_prior=load_illumination_prior(params.data.illumination))
    return SceneSampler(**kwargs)


def fitted_set(params: SuiteParams, model, out_dir, progress: bool = True):
    """The fitted set of a run, the same for every chapter.

    ``data.fitted_set`` when given (a parquet of parameters estimated elsewhere, e.g. from
    photos); else the estimate from real-like renders of :mod:`thesislib.studies.fitted`,
    made by the first chapter that asks and cached under the output folder. Never the
    population's true parameters.
    """
    from thesislib.facemodel import load_fitted_set
    from thesislib.studies import FitRecipe, estimated_fitted_set

    from .outputs import output_path

    if params.data.fitted_set:
        return load_fitted_set(params.data.fitted_set, model)
    e = params.population.estimate
    recipe = FitRecipe(n=params.population.n, seed=params.seed, samplers=tuple(e.samplers), faces=e.faces,
                       images_per_face=e.images_per_face, stem=e.stem, epochs=e.epochs,
                       early_stopping=e.early_stopping, extra={"max_yaw": e.max_yaw,
                                                               "backgrounds": params.data.backgrounds,
                                                               "illumination": params.data.illumination})
    pop, _ = estimated_fitted_set(model, recipe, output_path(out_dir, "run", "fitted_set"),
                                  scene_sampler(params, e.max_yaw), params.data.stem_weights, e.workers,
                                  e.scheduler, progress)
    return pop
