"""IMDB-WIKI ``wiki.mat``: the thesis' real photos with age and sex labels.

Public as :func:`thesislib.datasets.generation.load_wiki` (DESIGN.md); it lives here to keep
:mod:`thesislib.datasets.generation` about generated datasets.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd

WIKI_FIELDS = ("dob", "photo_taken", "full_path", "gender", "face_location", "face_score",
               "second_face_score")
SKIP_REASONS = ("no_face", "low_face_score", "second_face", "unknown_gender", "invalid_dob",
                "implausible_age", "missing_file")
AGE_RANGE = (18, 80)


def _cell_strings(a) -> list:
    out = []
    for x in np.asarray(a, dtype=object).ravel():
        x = np.asarray(x).ravel() if isinstance(x, np.ndarray) else np.asarray([x])
        out.append(str(x[0]) if x.size else "")
    return out


def _birth_date(dob: float):
    try:
        if not np.isfinite(dob) or dob < 367:
            return None
        return _dt.date.fromordinal(int(dob) - 366)
    except (ValueError, OverflowError):
        return None


def load_wiki(mat_path, min_face_score: float = 1.0, root=None, age_range: tuple = AGE_RANGE,
              check_files: bool = True) -> pd.DataFrame:
    """Read IMDB-WIKI's ``wiki.mat`` into a filtered label table.

    Parameters
    ----------
    mat_path : path of ``wiki.mat`` (a struct ``wiki`` with fields dob, photo_taken,
        full_path, gender, name, face_location, face_score, second_face_score; ``imdb.mat``
        with struct ``imdb`` works too)
    min_face_score : float, keep faces with ``face_score >= min_face_score``
    root : folder the ``full_path`` entries are relative to; None: the folder of
        ``mat_path`` (IMDB-WIKI's layout: ``wiki.mat`` sits at the root of its image
        folders). ``path`` is absolute, and rows whose file is missing are dropped
        (counted as ``missing_file``).
    age_range : (low, high) years, inclusive; other ages count as implausible
    check_files : bool, False: labels only, ``path`` as the file has it (relative) and no
        row dropped for a missing image

    Returns
    -------
    DataFrame with columns path, name, age (int, completed years on 1 July of
    photo_taken), sex (1 male, 0 female), face_x0, face_y0, face_x1, face_y1 (px),
    face_score, second_face_score (NaN: none). ``df.attrs["skipped"]`` maps each reason
    in :data:`SKIP_REASONS` to the number of rows dropped for it (first failing reason
    counts); ``df.attrs["n_total"]`` is the number of rows in the file.

    Raises
    ------
    FileNotFoundError, ValueError (unreadable file, missing struct or field; the
    message names the field and the file)
    """
    mat_path = Path(mat_path)
    root = mat_path.resolve().parent if root is None else Path(root)
    fields = _read_struct(mat_path)
    n = len(fields["full_path"])
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    rows = []
    for i in range(n):
        reason, row = _row(fields, i, min_face_score, age_range, root if check_files else None)
        if reason is not None:
            skipped[reason] += 1
            continue
        rows.append(row)
    df = pd.DataFrame(rows, columns=["path", "name", "age", "sex", "face_x0", "face_y0", "face_x1", "face_y1",
                                     "face_score", "second_face_score"])
    df = df.astype({"age": np.int64, "sex": np.int64})
    df.attrs["skipped"] = skipped
    df.attrs["n_total"] = n
    return df


def _read_struct(mat_path: Path) -> dict:
    """The fields of a ``wiki.mat`` as arrays and lists of equal length (checked)."""
    from scipy.io import loadmat

    if not mat_path.is_file():
        raise FileNotFoundError(f"{mat_path} does not exist; download wiki_crop.tar from IMDB-WIKI "
                                "and point the params entry at its wiki.mat")
    try:
        mat = loadmat(str(mat_path))
    except Exception as e:  # scipy raises several types for broken files
        raise ValueError(f"{mat_path}: not a readable .mat file ({e})") from e
    keys = [k for k in ("wiki", "imdb") if k in mat] or [k for k in mat if not k.startswith("__")]
    if not keys:
        raise ValueError(f"{mat_path}: no struct 'wiki' in the file")
    s = mat[keys[0]]
    if not (isinstance(s, np.ndarray) and s.dtype.names):
        raise ValueError(f"{mat_path}: '{keys[0]}' is not a struct")
    s = s.ravel()[0]
    for name in WIKI_FIELDS:
        if name not in s.dtype.names:
            raise ValueError(f"{mat_path}: struct '{keys[0]}' has no field '{name}'")

    def num(name):
        try:
            return np.asarray(s[name], dtype=np.float64).ravel()
        except (TypeError, ValueError) as e:
            raise ValueError(f"{mat_path}: field '{name}' is not numeric") from e

    fields = {name: num(name) for name in ("dob", "photo_taken", "gender", "face_score", "second_face_score")}
    fields["full_path"] = _cell_strings(s["full_path"])
    n = len(fields["full_path"])
    fields["name"] = _cell_strings(s["name"]) if "name" in s.dtype.names else [""] * n
    boxes = []
    for b in np.asarray(s["face_location"], dtype=object).ravel():
        b = np.asarray(b, np.float64).ravel()
        boxes.append(b if b.size == 4 else np.full(4, np.nan))
    fields["face_location"] = boxes
    for name in ("dob", "photo_taken", "gender", "face_score", "second_face_score", "face_location", "name"):
        if len(fields[name]) != n:
            raise ValueError(f"{mat_path}: field '{name}' has {len(fields[name])} entries but full_path has {n}")
    fields["face_location"] = np.array(boxes).reshape(n, 4)
    return fields


def _row(fields: dict, i: int, min_face_score: float, age_range: tuple, root) -> tuple:
    """(reason the row is dropped or None, the row's values); ``root`` None: no file check."""
    score, second, gender = fields["face_score"][i], fields["second_face_score"][i], fields["gender"][i]
    if not np.isfinite(score):
        return "no_face", None
    if score < min_face_score:
        return "low_face_score", None
    if np.isfinite(second):
        return "second_face", None
    if gender not in (0.0, 1.0):
        return "unknown_gender", None
    born, taken = _birth_date(fields["dob"][i]), fields["photo_taken"][i]
    if born is None or not np.isfinite(taken):
        return "invalid_dob", None
    age = int(taken) - born.year - (1 if (born.month, born.day) > (7, 1) else 0)
    if not age_range[0] <= age <= age_range[1]:
        return "implausible_age", None
    path = fields["full_path"][i]
    if root is not None:
        path = str(root / path)
        if not Path(path).is_file():
            return "missing_file", None
    return None, (path, fields["name"][i], age, int(gender), *fields["face_location"][i], float(score),
                  float(second))
