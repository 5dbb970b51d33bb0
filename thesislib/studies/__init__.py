"""One module per chapter that needs more than calls: the loops, selections and tables that
chapters 03-06 run (BPRN sweeps and learning curves, GAN variants, data variety).
A study computes and returns; :mod:`thesislib.viz` draws.
"""
from .bprn import learning_curve, ridge_reference, stem_experiment, study_sampler, train_sweep
from .gan import train_variants
from .variety import (
    AGE_GROUPS, age_groups, draw_datasets, gan_draws, has_age_sex, sex_accuracy_table,
    sex_in_leading_dims, sex_names, sex_pca_panels)

__all__ = [
    "AGE_GROUPS", "age_groups", "draw_datasets", "gan_draws", "has_age_sex", "learning_curve",
    "ridge_reference", "sex_accuracy_table", "sex_in_leading_dims", "sex_names", "sex_pca_panels",
    "stem_experiment", "study_sampler", "train_sweep", "train_variants",
]
