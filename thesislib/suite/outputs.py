"""The names of every chapter's output files, in one table.

A chapter writes its results under the run's output folder; later chapters and the
headlines read them. Both sides take the names from :data:`OUTPUTS` (chapter -> key ->
path relative to the output folder), never from string literals of their own.
A name may hold ``{fields}`` (e.g. ``{variant}``) that the caller fills in.

The stages before ``suite`` cannot import it: a notebook or the suite's runner looks the
paths up here and passes them to studies and report functions.
"""
from __future__ import annotations

from pathlib import Path

#: chapter -> key -> path relative to the run's output folder
OUTPUTS: dict[str, dict[str, str]] = {
    "run": {  # shared by every chapter
        "fitted_set": "fitted_set",
    },
    "01": {
        "validity": "data/01_validity.csv",
        "mean_face_png": "mean_face.png",
        "pca_shape_png": "views/01_pca_shape.png",
        "pca_shape_html": "views/01_pca_shape.html",
        "pca_color_png": "views/01_pca_color.png",
        "mean_face_view": "views/01_mean_face.png",
        "meshes": "meshes/01_event_space",
    },
    "02": {
        "samplers": "data/02_samplers.csv",
        "dataset": "data/datasets/{sampler}",
        "dataset_card": "data/datasets/{sampler}/card.json",
    },
    "03": {
        "grid": "data/03_gmm_grid.csv",
        "ks": "data/03_ks.csv",
        "summary": "data/03_gmm_summary.json",
        "cells": "models/03_gmm_cells",
    },
    "04": {
        "ks": "data/04_ks.csv",
        "effects": "data/04_effects.csv",
        "metrics": "data/04_gan_metrics.json",
        "gan": "models/04_{variant}.pt",
        "checkpoints": "models/04_{variant}",
        "age_sex_png": "views/04_age_sex.png",
        "age_sex_html": "views/04_age_sex.html",
        "age_difference_png": "views/04_age_difference_{who}_{measure}.png",
        "meshes": "meshes/04_gan",
    },
    "05": {
        "dataset": "data/datasets/05_{sampler}",
        "stem_dataset": "data/datasets/05_stem_{sampler}",
        "models": "models/bprn",
        "geometry": "data/05_geometry.csv",
        "errors": "data/05_errors.parquet",
        "comparisons": "data/05_comparisons.csv",
        "decomposition": "data/05_decomposition.csv",
        "judge_inputs": "data/05_judge_inputs",
        "judge_scores": "data/05_judge_scores.parquet",
        "judges": "data/05_judges.csv",
        "learning_curves": "data/05_learning_curves.csv",
        "stem_experiment": "data/05_stem_experiment.csv",
        "meshes": "meshes/05_bprn",
    },
    "06": {
        "variety": "data/06_variety.csv",
    },
    "07": {
        "dataset": "data/datasets/07_{sampler}",
        "errors": "data/07_errors.parquet",
        "curves": "data/07_learning_curves.csv",
        "costs": "data/07_costs.csv",
        "order": "data/07_order.csv",
        "head_gaps": "data/07_head_gaps.csv",
    },
}


def output_name(chapter: str, key: str, **fields) -> str:
    """The path of one output file relative to the output folder, e.g. ``"data/03_ks.csv"``.

    Parameters
    ----------
    chapter : "01".."07"
    key : a key of ``OUTPUTS[chapter]``
    fields : values of the name's ``{fields}``

    Raises
    ------
    KeyError
        Unknown chapter or key, or a field the name needs is missing.
    """
    try:
        name = OUTPUTS[str(chapter).zfill(2)][key]
    except KeyError:
        known = ", ".join(sorted(OUTPUTS.get(str(chapter).zfill(2), {}))) or "none"
        raise KeyError(f"no output {key!r} in chapter {chapter!r}; known: {known}") from None
    return name.format(**fields)


def output_path(out_dir, chapter: str, key: str, **fields) -> Path:
    """``out_dir / output_name(chapter, key, **fields)``."""
    return Path(out_dir) / output_name(chapter, key, **fields)


def output_names(chapter: str) -> dict[str, str]:
    """Every output name of one chapter (key -> path relative to the output folder, fields unfilled)."""
    return dict(OUTPUTS[str(chapter).zfill(2)])
