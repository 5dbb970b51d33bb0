"""Pictures: plotly figures (chapter figures of the studies among them), pyvista 3D views and the
ipywidgets explorers of the notebooks.
A figure draws what a study or the evaluation computed; it never computes a result.
"""
from .comparisons import comparison_matrix, sampler_intervals_figure
from .figures import (
    criterion_heatmap, effect_bars, face_images, histogram_overlay, image_grid, labelled_grid,
    loss_curves, mesh_figure, pca_scatter, score_ci_figure, setup_notebook, sigma_score_figure,
    slider_figure, spectrum_figure)
from .judges import calibrated_figure, judge_gallery_figure, judge_table_figure
from .offscreen import show
from .replicates import decomposition_figure, study_geometry_figure
from .scale import head_gap_figure, scale_figure
from .samplers import gallery_rows, gallery_slider, moments_figure, parameter_histogram, sampler_galleries
from .studies import (
    age_sex_grid, geometry_bars, ks_coefficient_figure, learning_curve_figure, parameter_means_figure,
    photo_gallery, prediction_gallery, stem_curves_figure, update_times, validation_curves)
from .variety import concept_matrix, distortion_figure, metric_score_figure, pca_panels, quartile_figure
from .views import difference_view, face_view, label_extremes_view, pca_extremes_view, reconstruction_extremes
from .widgets import AgeSexExplorer, FaceExplorer, SamplerComparison, age_sex_frames, pca_slider_frames

__all__ = [
    "AgeSexExplorer", "FaceExplorer", "SamplerComparison", "age_sex_frames", "age_sex_grid",
    "comparison_matrix", "concept_matrix", "criterion_heatmap", "decomposition_figure", "difference_view", "distortion_figure", "effect_bars",
    "face_images", "face_view", "gallery_rows", "gallery_slider", "geometry_bars",
    "histogram_overlay", "image_grid", "ks_coefficient_figure", "label_extremes_view",
    "labelled_grid", "learning_curve_figure", "loss_curves", "mesh_figure", "metric_score_figure",
    "moments_figure", "parameter_histogram", "parameter_means_figure", "pca_extremes_view",
    "pca_panels", "pca_scatter", "pca_slider_frames", "photo_gallery", "prediction_gallery",
    "quartile_figure", "reconstruction_extremes", "sampler_galleries", "sampler_intervals_figure",
    "score_ci_figure",
    "setup_notebook", "show", "sigma_score_figure", "slider_figure", "spectrum_figure",
    "stem_curves_figure", "study_geometry_figure", "update_times", "validation_curves",
    "calibrated_figure", "judge_gallery_figure", "judge_table_figure", "head_gap_figure", "scale_figure",
]
