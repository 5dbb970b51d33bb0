"""The judge's per-image work: renders and dlib descriptors of predictions, and what a test set
needs once (:class:`JudgeInputs`); :mod:`thesislib.evaluation.judges` scores and calibrates.

What a test set needs once, for every model (input descriptors and landmarks, oracle and
mean-face descriptors per rendering), is a :class:`JudgeInputs` (:func:`judge_inputs`), kept in
memory or in an ``.npz`` file. Descriptors come from :func:`thesislib.faces.describe_many` (dlib's
network run by torch). Cost per image on one core: an input ~16 ms (face-mesh landmarks ~2 ms,
dlib's detector, 68 landmarks and descriptor ~14 ms), a frontal prediction ~18 ms (render and
crop ~4 ms), a posed one ~30 ms (render ~4 ms, pose fit ~3 ms, light ~8 ms); predictions that are
all zero reuse the mean face's descriptors. Every task runs BLAS, OpenMP and torch on one thread
(parallelism is ``n_jobs`` processes: more threads per process cost several times over on busy
cores), and every :func:`thesislib.common.run_tasks` call of one model passes the same context, so
its worker pool (and what the workers loaded) serves every test set. Measured 2026-12-04 on a
2-core machine that others loaded (load 2-6): chapter 05's smoke-sized call (3 sets x 4 faces,
11 prediction sets, both renderings, ``n_jobs=1``) took 74-78 s (55 s of CPU) before these
choices and 9-17 s (9 s of CPU) after; a default-sized test set (40 faces, 30 prediction sets,
``n_jobs=2``) 48 s (>= 84 s of CPU) before, 34 s (65 s of CPU) after.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .posed import posed_renders
from .predictions import FACE_BOX, render_predictions

#: How a prediction (and its references) is rendered before the judge sees it.
RENDERINGS = ("frontal", "posed")
_VERSION = 1
#: What the inputs' numbers are made by, part of :class:`JudgeInputs`' key (a file made otherwise is
#: recomputed): 1 -- face-mesh landmarks by MediaPipe's detector graph; 2 -- by the face-mesh network
#: on the crop's fixed region (:func:`thesislib.faces.facemesh_landmarks` with ``detector=False``).
_INPUTS = 2


@dataclass(frozen=True, eq=False)
class JudgeInputs:
    """What the judge needs of one test set, computed once for every model (:func:`judge_inputs`).

    Attributes
    ----------
    test_set : str, the test set's name
    faces : (k,) int, indices of the scored faces in the test set
    ids : list of k str, their ids
    key : str, fingerprint of the test images, truth, model and faces (a file is reused only
        for the same key)
    descriptors : (k, 128) float32, dlib descriptors of the input crops
    landmarks : (k, 478, 3) float64, MediaPipe face-mesh landmarks of the inputs, px (the network
        on the crop's fixed region, ``facemesh_landmarks(detector=False)``); they pose the "posed"
        renders (NaN rows: no face found; that face's renders are then frontal)
    dlib_landmarks : (k, 68, 2) float32, dlib's 68 points of the inputs, px
    oracle : dict rendering -> (k, 128) descriptors of the true faces' renders (empty for photos)
    mean_face : dict rendering -> (k, 128) descriptors of the mean face's renders
    """

    test_set: str
    faces: np.ndarray
    ids: list
    key: str
    descriptors: np.ndarray
    landmarks: np.ndarray
    dlib_landmarks: np.ndarray
    oracle: dict = field(default_factory=dict)
    mean_face: dict = field(default_factory=dict)

    @property
    def renderings(self) -> tuple:
        return tuple(self.mean_face)

    def save(self, path) -> Path:
        """Write an ``.npz`` file (atomically); :meth:`load` reads it back."""
        from thesislib.common import atomic_write

        arrays = {"version": np.array(_VERSION), "test_set": np.array(self.test_set), "faces": self.faces,
                  "ids": np.array(self.ids, dtype=str), "key": np.array(self.key),
                  "descriptors": self.descriptors, "landmarks": self.landmarks,
                  "dlib_landmarks": self.dlib_landmarks}
        arrays.update({f"oracle_{k}": v for k, v in self.oracle.items()})
        arrays.update({f"mean_face_{k}": v for k, v in self.mean_face.items()})
        return atomic_write(Path(path), lambda fh: np.savez(fh, **arrays))

    @classmethod
    def load(cls, path) -> "JudgeInputs":
        with np.load(Path(path), allow_pickle=False) as z:
            if int(z["version"]) != _VERSION:
                raise ValueError(f"{path}: judge inputs of version {int(z['version'])}, this is {_VERSION}")
            refs = {p: {k[len(p) + 1:]: z[k] for k in z.files if k.startswith(p + "_")} for p in ("oracle", "mean_face")}
            return cls(str(z["test_set"]), z["faces"], list(z["ids"]), str(z["key"]), z["descriptors"],
                       z["landmarks"], z["dlib_landmarks"], refs["oracle"], refs["mean_face"])


def _face_indices(test, faces) -> np.ndarray:
    """``faces`` as sorted unique indices into ``test``: None = all, an int k = the first k
    (test faces are drawn at random, so the first k are a random subset), else indices."""
    n = len(test)
    if faces is None:
        return np.arange(n)
    if np.ndim(faces) == 0:
        return np.arange(min(int(faces), n))
    idx = np.unique(np.asarray(faces, np.int64))
    if len(idx) and (idx[0] < 0 or idx[-1] >= n):
        raise ValueError(f"face indices must lie in 0..{n - 1}")
    return idx


def _key(test, model, idx) -> str:
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(test.images[idx]), idx,
              np.zeros(0) if test.params is None else np.ascontiguousarray(test.params[idx], np.float64)):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(model.fingerprint.encode())
    h.update(f"inputs {_INPUTS}".encode())
    return h.hexdigest()[:24]


def _model(model, test):
    from thesislib.facemodel import default_model

    return (default_model() if model is None else model).truncated(test.n_shape, test.n_color, 0)


# ----------------------------------------------------------------- rendering and describing
def _one_thread():
    """Context manager: BLAS and OpenMP on one thread. A task's products are small (a face's
    20-100 coefficients times its 28.6k vertices, pose and light fits): more threads gain nothing
    and on busy cores cost up to 10x (a face instance: 0.9 ms of CPU on one thread, 5-11 ms on two
    of a loaded 2-core machine). Parallelism comes from run_tasks' processes."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _inputs_chunk(images, _context=None):
    """Face-mesh landmarks and dlib's view of input crops (a worker task). The landmarks come
    from the face-mesh network run on the crop's fixed region (``detector=False``, LiteRT, ~2 ms;
    no MediaPipe graph to start, nothing printed), as the face-mesh stem reads test crops."""
    from thesislib.faces import describe_many, facemesh_landmarks

    with _one_thread():
        marks = []
        for im in images:
            pts = facemesh_landmarks(im, detector=False)
            marks.append(np.full((478, 3), np.nan) if pts is None else pts)
        d = describe_many(images, fallback_box=FACE_BOX)
    return d.descriptors, d.landmarks, np.stack(marks)


def _render(P, rendering, model, images=None, landmarks=None) -> np.ndarray:
    """(m, 224, 224, 3) uint8 renders of predictions P (m, n_params) in ``rendering``."""
    if rendering == "frontal":
        return render_predictions(P, model)
    if rendering == "posed":
        return posed_renders(P, model, landmarks, images, light=True).images
    raise ValueError(f"unknown rendering {rendering!r}; choose from {RENDERINGS}")


def _describe_task(task, model):
    """dlib descriptors (m, 128) of predictions rendered as asked (a worker task:
    ``task = (P, rendering, input images or None, landmarks or None)``)."""
    from thesislib.faces import describe_many

    P, rendering, images, landmarks = task
    with _one_thread():
        return describe_many(_render(P, rendering, model, images, landmarks), fallback_box=FACE_BOX).descriptors


def _describe_predictions(jobs, test, inputs: JudgeInputs, model, n_jobs, progress, chunk: int = 16) -> list:
    """Descriptors of many prediction sets: ``jobs`` is a list of (P (k, n_params) for the scored
    faces, rendering); returns one (k, 128) array per job. Work is cut into chunks of ``chunk``
    images across jobs, run by :func:`thesislib.common.run_tasks`."""
    from thesislib.common import run_tasks

    k = len(inputs.faces)
    tasks, where = [], []
    for j, (P, rendering) in enumerate(jobs):
        for a in range(0, k, chunk):
            rows = np.arange(a, min(a + chunk, k))
            posed = rendering == "posed"
            tasks.append((np.asarray(P, np.float64)[rows], rendering,
                          test.images[inputs.faces[rows]] if posed else None,
                          inputs.landmarks[rows, :, :2] if posed else None))
            where.append(j)
    out = run_tasks(_describe_task, tasks, context=model, workers=n_jobs, progress=progress,
                    desc=f"judge {test.name}", unit="img", sizes=[len(t[0]) for t in tasks])
    return [np.concatenate([o for o, w in zip(out, where) if w == j]) if k else np.zeros((0, 128), np.float32)
            for j in range(len(jobs))]


# ----------------------------------------------------------------- the inputs of a test set
def judge_inputs(test, model=None, renderings=RENDERINGS, faces=None, n_jobs: int = 1, path=None,
                 progress: bool = False) -> JudgeInputs:
    """Descriptors and landmarks of a test set's inputs, and of its oracle and mean-face renders.

    Parameters
    ----------
    test : :class:`thesislib.datasets.TestSet` (with ``params``: oracles are rendered; without: none)
    model : MorphableModel (None: the embedded default), truncated to the test set's layout
    renderings : renderings to prepare references for (:data:`RENDERINGS`)
    faces : None (all), an int k (the first k faces) or indices: the faces to score
    n_jobs : worker processes (:func:`thesislib.common.run_tasks`)
    path : an ``.npz`` file: read when it holds the same key and renderings, else computed and
        written there (what it lacks is added); None: memory only
    progress : tqdm bars

    Returns
    -------
    :class:`JudgeInputs`
    """
    from thesislib.common import run_tasks

    m = _model(model, test)
    idx = _face_indices(test, faces)
    key = _key(test, m, idx)
    renderings = tuple(renderings)
    have = None
    if path is not None and Path(path).is_file():
        have = JudgeInputs.load(path)
        if have.key != key:
            have = None
        elif all(r in have.mean_face for r in renderings):
            return have
    if have is None:
        parts = [test.images[idx[a:a + 16]] for a in range(0, len(idx), 16)]
        out = run_tasks(_inputs_chunk, parts, context=m, workers=n_jobs, progress=progress,
                        desc=f"inputs of {test.name}", unit="img", sizes=[len(p) for p in parts])
        desc, dl, fm = (np.concatenate([o[i] for o in out]) if out else np.zeros((0,) + s)
                        for i, s in enumerate([(128,), (68, 2), (478, 3)]))
        have = JudgeInputs(test.name, idx, [test.ids[i] for i in idx], key, desc, fm, dl)
    todo = [r for r in renderings if r not in have.mean_face]
    zeros = np.zeros((len(idx), m.n_params))
    jobs = [(zeros, r) for r in todo]
    if test.params is not None:
        jobs += [(np.asarray(test.params, np.float64)[idx], r) for r in todo]
    got = _describe_predictions(jobs, test, have, m, n_jobs, progress)
    mean_face = {**have.mean_face, **dict(zip(todo, got[:len(todo)]))}
    oracle = {**have.oracle, **dict(zip(todo, got[len(todo):]))}
    result = JudgeInputs(have.test_set, have.faces, have.ids, have.key, have.descriptors, have.landmarks,
                         have.dlib_landmarks, oracle, mean_face)
    if path is not None:
        result.save(path)
    return result
