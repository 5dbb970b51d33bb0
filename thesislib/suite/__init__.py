"""Running the study: the params file (schema and path checks), the papermill runner that
executes and exports the six chapters, and the ``thesislib`` command.
"""
from .cli import main
from .inputs import fitted_set, scene_sampler
from .outputs import OUTPUTS, output_name, output_names, output_path
from .params import check_notebook_values, params_schema

__all__ = [
    "OUTPUTS", "check_notebook_values", "fitted_set", "main", "output_name", "output_names",
    "output_path", "params_schema", "scene_sampler",
]
