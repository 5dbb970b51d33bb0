"""One module per chapter that needs more than calls: the loops, selections and tables that
chapters 02-06 run (the fitted set every chapter fits on, estimated from images; the GMM grid's
choice and KS comparison; GAN variants and their tables; chapter 05's test sets, baselines,
replicated draws, their scores, comparisons and decomposition, sweeps and learning curves; data
variety; chapter 07's learning curves to 100k images). A study computes and returns; :mod:`thesislib.viz` draws.
"""
from ._bprn_results import (
    best_and_worst, first_draw, learning_curve_table, learning_curves, photo_predictions, photo_test_sets,
    prediction_means, reconstruction_gallery, sample_efficiency, stem_summary, sweep_histories)
from .bprn import (
    curve_epochs, curve_predictions, generate_datasets, learning_curve, ridge_reference, stem_experiment, train_sweep)
from .design import (
    DATASET_SEED, FIT_SEED, TEST_SEEDS, baseline_predictions, draw_sampler, population_mean, ridge_path,
    study_test_sets, train_draws)
from .fitted import FitRecipe, estimated_fitted_set, fit_quality, load_estimated, quality_table
from .gan import (
    age_sex_corners, best_variant, conditioning_table, gan_effects, gan_ks_table, train_variants,
    training_labels, variant_metrics)
from .gmm import (
    chosen_mixture, criterion_table, grid_counts, ks_per_coefficient, mixture_draws, mixture_name,
    sampler_comparison)
from .replicates import (
    METRICS, STEPS, DrawScores, baseline_names, comparisons, decomposition, error_arrays, geometry_summary,
    sampler_errors, score_draws, study_answer)
from .scale import (
    SCALE_SEED, head_gaps, order_change, sampler_order, scale_answer, scale_datasets, scale_errors, scale_mixture,
    scale_table)
from .variety import (
    AGE_GROUPS, age_groups, draw_datasets, gan_draws, has_age_sex, sex_accuracy_table,
    sex_in_leading_dims, sex_names, sex_pca_panels)

__all__ = [
    "DATASET_SEED", "DrawScores", "best_and_worst", "first_draw", "reconstruction_gallery", "FIT_SEED", "METRICS", "STEPS", "TEST_SEEDS", "baseline_names",
    "baseline_predictions", "comparisons", "decomposition", "draw_sampler", "error_arrays", "geometry_summary",
    "population_mean", "ridge_path", "sampler_errors", "score_draws", "study_answer", "study_test_sets", "train_draws",
    "AGE_GROUPS", "FitRecipe", "age_groups", "age_sex_corners", "best_variant",
    "chosen_mixture", "conditioning_table", "criterion_table", "draw_datasets",
    "estimated_fitted_set", "fit_quality", "gan_draws", "gan_effects", "gan_ks_table", "generate_datasets", "grid_counts", "has_age_sex",
    "ks_per_coefficient", "learning_curve", "learning_curve_table", "learning_curves",
    "load_estimated", "quality_table", "mixture_draws", "mixture_name", "photo_predictions",
    "photo_test_sets", "prediction_means", "ridge_reference",
    "sample_efficiency", "sampler_comparison", "sex_accuracy_table",
    "sex_in_leading_dims", "sex_names", "sex_pca_panels", "stem_experiment", "stem_summary",
    "sweep_histories", "train_sweep", "train_variants",
    "training_labels", "variant_metrics", "curve_epochs", "curve_predictions",
    "SCALE_SEED", "head_gaps", "order_change", "sampler_order", "scale_answer", "scale_datasets", "scale_errors",
    "scale_mixture", "scale_table",
]
