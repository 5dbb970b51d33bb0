"""Judging predictions and data: vertex and albedo errors, the face-recognition score and its
correction (thesis eq. 6.2), distribution metrics (KS, k-means distortion, distances),
intervals and ranks, samplers compared with replicated draws (paired differences, Holm), the
ensemble fit, age/sex effects and the realism of renders; the face-recognition judge calibrated
between the mean face and the truth, with renders frontal or posed like the input, checked
against geometry and applied to photos.
"""
from .comparisons import COMPARISON_COLUMNS, holm, pairwise_comparisons, sampler_intervals
from .effects import conditional_effects, effects_frame, population_effects
from .ensemble import ensemble_fit
from .errors import albedo_errors, mean_errors, mean_shape_errors, shape_errors
from .geometry import rigid_align, vertex_error
from .intervals import DrawInterval, PairedDifference, draw_interval, paired_difference
from .judge_tables import VALIDATION_COLUMNS, judge_summary, judge_validation, photo_summary, photo_verdict
from .judges import SCORE_COLUMNS, JudgeGallery, judge_gallery, judge_scores, judge_test_sets
from .judging import RENDERINGS, JudgeInputs, judge_inputs
from .metrics import (
    distance_quartiles, draw_summary, kmeans_distortion, ks_quality_table, ks_summary, ks_table,
    nearest_centroid_accuracy, transfer_centroid_accuracy, variety_table)
from .pose_fit import Pose, fit_pose
from .posed import PosedRenders, estimate_light, landmark_vertices, posed_renders
from .predictions import (
    evaluate, evaluate_sweep, geometry_table, input_embeddings, long_scores, parameter_means,
    render_predictions, score_table, test_features)
from .scores import corrected_score, metric_correlations

__all__ = [
    "COMPARISON_COLUMNS", "DrawInterval", "PairedDifference", "draw_interval", "holm", "paired_difference",
    "pairwise_comparisons", "sampler_intervals",
    "albedo_errors", "conditional_effects", "corrected_score", "distance_quartiles", "draw_summary",
    "effects_frame", "ensemble_fit", "evaluate", "evaluate_sweep", "geometry_table",
    "input_embeddings", "kmeans_distortion", "ks_quality_table", "ks_summary", "ks_table",
    "long_scores", "mean_errors", "mean_shape_errors", "metric_correlations", "nearest_centroid_accuracy", "parameter_means",
    "population_effects",
    "render_predictions", "rigid_align", "score_table", "test_features",
    "transfer_centroid_accuracy", "variety_table", "vertex_error", "shape_errors",
    "JudgeGallery", "JudgeInputs", "Pose", "PosedRenders", "RENDERINGS", "SCORE_COLUMNS", "VALIDATION_COLUMNS",
    "estimate_light", "fit_pose", "judge_gallery", "judge_inputs", "judge_scores", "judge_summary", "judge_test_sets",
    "judge_validation", "landmark_vertices", "photo_summary", "photo_verdict", "posed_renders",
]
