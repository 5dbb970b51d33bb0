"""The paths of a params file (``model.path`` and ``data.*``): what each must be, and checks.

:func:`path_problems` is what :func:`thesislib.suite.params.load_params` runs before any
chapter starts, so a missing file or a folder given for a file is one clear message
(the key, the path, the fix) instead of a FileNotFoundError deep inside a kernel.
"""
from __future__ import annotations

import os
from pathlib import Path

# key -> (kind, what it is and how to fix it)
BFM_URL = "https://faces.dmi.unibas.ch/bfm/bfm2017.html"
PATH_KEYS = {
    "model.path": ("file", f"the Basel Face Model 2017 .h5 (e.g. model2017-1_face12_nomouth.h5 from {BFM_URL})"),
    "data.wiki": ("file", "IMDB-WIKI's wiki.mat (in wiki_crop.tar), or null"),
    "data.stem_weights": ("file", "a torchvision wide_resnet50_2 state_dict (.pth), or null"),
    "data.fitted_set": ("file", "a parquet of fitted parameters (shape_000.., color_000.., [age, sex]), or null"),
    "data.backgrounds": ("folder", "a folder of background images (e.g. Places205), or null"),
    "data.illumination": ("folder", "a folder of Basel illumination prior .rps files, or null"),
    "data.wiki_images": ("folder", "the folder wiki.mat's full_path entries are relative to (wiki_crop), or null"),
    "data.photos": ("folder", "a folder of your own face photos, or null"),
}


def _path_problem(key: str, value: str) -> tuple[Path, str | None]:
    kind, what = PATH_KEYS[key]
    path = Path(value).expanduser()
    path = path if path.is_absolute() else Path.cwd() / path
    fix = f"set {key} to {what}"
    where = "" if Path(value).is_absolute() else f" (relative to {Path.cwd()})"
    if not path.exists():
        return path, f"{key}: {value}{where} does not exist; {fix}"
    if kind == "file" and path.is_dir():
        return path, f"{key}: {value} is a folder, expected a file; {fix}"
    if kind == "folder" and not path.is_dir():
        return path, f"{key}: {value} is a file, expected a folder; {fix}"
    if not os.access(path, os.R_OK | (os.X_OK if kind == "folder" else 0)):
        return path, f"{key}: {value} is not readable (permissions); make it readable or {fix}"
    if key == "model.path":
        import h5py

        if not h5py.is_hdf5(str(path)):
            return path, (f"{key}: {value} is not an HDF5 file (no HDF5 signature: another format, or a "
                          f"saved download page); {fix}")
    return path, None


def path_problems(params) -> tuple[list[str], dict, dict]:
    """Check the paths of validated params (a :class:`thesislib.suite.params.SuiteParams`).

    ``model.path`` is checked only when ``model.kind`` is bfm2017; null paths are skipped.
    Relative paths are taken from the current folder.

    Returns
    -------
    problems : list of str, one line per bad key (key, path, fix); empty when all are good
    model, data : dict key -> absolute path, for ``model_copy(update=...)`` of each section
    """
    problems, model, data = [], {}, {}
    for key in PATH_KEYS:
        section, name = key.split(".")
        if section == "model" and params.model.kind != "bfm2017":
            continue
        value = getattr(getattr(params, section), name)
        if value is None:
            continue
        path, problem = _path_problem(key, value)
        if problem:
            problems.append(problem)
        (model if section == "model" else data)[name] = str(path)
    return problems, model, data
