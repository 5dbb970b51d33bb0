"""The face model: a 3D morphable model (:class:`MorphableModel`) turns a parameter vector in
standard deviations into a :class:`Mesh`. Loads the Basel Face Model 2017 or builds the
embedded procedural stand-in, reads and writes mesh files, and draws the synthetic "real"
population (faces with age and sex) that plays the part of real people in the study.
"""
from .meshio import Mesh, load_mesh, mesh_from_params, safe_name, save_parameter_meshes, to_polydata
from .model import MorphableModel, default_model, load_bfm2017, load_model
from .population import (
    Population, Validity, load_fitted_set, param_columns, reference_population, semantic_direction,
    shifted_population, validity_by_distance)

__all__ = [
    "Mesh", "MorphableModel", "Population", "Validity", "default_model", "load_bfm2017", "load_fitted_set",
    "load_mesh", "load_model", "mesh_from_params", "param_columns", "reference_population",
    "safe_name", "save_parameter_meshes", "semantic_direction", "shifted_population", "to_polydata",
    "validity_by_distance",
]
