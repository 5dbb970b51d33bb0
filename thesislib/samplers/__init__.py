"""Ways of sampling face parameters (thesis ch. 4-5): the registry that turns a sampler name
into a ready sampler (:func:`make_sampler`, :data:`SAMPLERS`), Table 5.1's naive samplers,
Gaussian mixtures and their AIC/BIC grid, the Gaussian copula and, in :mod:`.gan`, the
conditional GAN steered by age and sex. Every sampler draws with ``.sample(n, rng)``.
"""
from .copula import GaussianCopulaSampler
from .gan.checkpoint import latest_checkpoint
from .gan.conditioning import conditioning_report
from .gan.estimator import ConditionalGAN
from .gan.networks import AGE_MAX, AGE_MIN
from .gmm import GMMSampler
from .naive import (
    CompositeNormalUniform, FittedNormal, FittedRows, FittedUniform, MetaNormal, MetaUniformStd, NaiveNormal,
    NaiveUniform, ReplacementComposite, Sampler)
from .registry import (
    SAMPLERS, draw_samplers, make_sampler, ready_sampler, resolve_class, sampler_label,
    samplers_needing_fit)
from .selection import fit_grid

__all__ = [
    "CompositeNormalUniform", "FittedNormal", "FittedRows", "FittedUniform", "MetaNormal", "MetaUniformStd",
    "NaiveNormal", "NaiveUniform", "ReplacementComposite", "Sampler",
    "AGE_MAX", "AGE_MIN", "ConditionalGAN", "GMMSampler", "GaussianCopulaSampler", "SAMPLERS",
    "conditioning_report", "draw_samplers", "fit_grid", "latest_checkpoint", "make_sampler",
    "ready_sampler", "resolve_class", "sampler_label", "samplers_needing_fit",
]
