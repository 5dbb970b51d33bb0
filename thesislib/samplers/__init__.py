"""Ways of sampling face parameters (thesis ch. 4-5): the registry that turns a sampler name
into a ready sampler (:func:`make_sampler`, :data:`SAMPLERS`), Table 5.1's naive samplers,
Gaussian mixtures and their AIC/BIC grid, the Gaussian copula and, in :mod:`.gan`, the
conditional GAN steered by age and sex. Every sampler draws with ``.sample(n, rng)``.
"""
from .copula import GaussianCopulaSampler
from .gan.checkpoint import latest_checkpoint
from .gan.conditioning import conditioning_report
from .gan.estimator import ConditionalGAN, CVGAN1, CVGAN2
from .gan.networks import AGE_MAX, AGE_MIN
from .gmm import GMMSampler
from .naive import (
    CompositeNormalUniform, FittedGaussian, FittedMeanNormal, FittedNormal, FittedRows, FittedUniform, MetaNormal,
    MetaUniformStd, NaiveNormal, NaiveUniform, ReplacementComposite, Sampler)
from .registry import (
    canonical_class_path, draw_samplers, LEGACY_CLASS_PATHS, make_sampler, ready_sampler,
    registered_name, resolve_class, sampler_identity, sampler_label, SAMPLERS, samplers_needing_fit)
from .selection import fit_grid

__all__ = [
    "AGE_MAX", "AGE_MIN", "canonical_class_path", "CompositeNormalUniform", "ConditionalGAN",
    "conditioning_report", "CVGAN1", "CVGAN2", "draw_samplers", "fit_grid", "FittedGaussian",
    "FittedMeanNormal", "FittedNormal",
    "FittedRows", "FittedUniform", "GaussianCopulaSampler", "GMMSampler", "latest_checkpoint",
    "LEGACY_CLASS_PATHS", "make_sampler", "MetaNormal", "MetaUniformStd", "NaiveNormal", "NaiveUniform",
    "ready_sampler", "registered_name", "ReplacementComposite", "resolve_class", "Sampler",
    "sampler_identity", "sampler_label", "SAMPLERS", "samplers_needing_fit",
]
