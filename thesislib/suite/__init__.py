"""Running the study: the params file (schema and path checks), the papermill runner that
executes and exports the six chapters, and the ``thesislib`` command.
"""
from .cli import main
from .params import check_notebook_values, fitted_set, scene_sampler

__all__ = [
    "check_notebook_values", "fitted_set", "main", "scene_sampler",
]
