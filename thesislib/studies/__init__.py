"""One module per chapter that needs more than calls: the loops, selections and tables that
chapters 03-06 run (the GMM grid's choice and KS comparison, GAN variants and their tables,
BPRN samplers, sweeps, learning curves and result tables, data variety).
A study computes and returns; :mod:`thesislib.viz` draws.
"""
from ._bprn_results import (
    BestModels, best_models, bprn_geometry, learning_curve_table, learning_curves, model_outputs,
    per_model_scores, photo_reconstructions, photo_test_sets, prediction_means, ridge_evaluations,
    sample_efficiency, score_models, stem_summary, sweep_histories, test_inputs)
from .bprn import (
    generate_datasets, learning_curve, ridge_reference, stem_experiment, study_samplers, train_sweep)
from .gan import (
    age_sex_corners, best_variant, conditioning_table, gan_effects, gan_ks_table, train_variants,
    training_labels, variant_metrics)
from .gmm import (
    chosen_mixture, criterion_table, grid_counts, ks_per_coefficient, mixture_draws, mixture_name,
    sampler_comparison)
from .variety import (
    AGE_GROUPS, age_groups, draw_datasets, gan_draws, has_age_sex, sex_accuracy_table,
    sex_in_leading_dims, sex_names, sex_pca_panels)

__all__ = [
    "AGE_GROUPS", "BestModels", "age_groups", "age_sex_corners", "best_models", "best_variant",
    "bprn_geometry", "chosen_mixture", "conditioning_table", "criterion_table", "draw_datasets",
    "gan_draws", "gan_effects", "gan_ks_table", "generate_datasets", "grid_counts", "has_age_sex",
    "ks_per_coefficient", "learning_curve", "learning_curve_table", "learning_curves",
    "mixture_draws", "mixture_name", "model_outputs", "per_model_scores", "photo_reconstructions",
    "photo_test_sets", "prediction_means", "ridge_evaluations", "ridge_reference",
    "sample_efficiency", "sampler_comparison", "score_models", "sex_accuracy_table",
    "sex_in_leading_dims", "sex_names", "sex_pca_panels", "stem_experiment", "stem_summary",
    "study_samplers", "sweep_histories", "test_inputs", "train_sweep", "train_variants",
    "training_labels", "variant_metrics",
]
