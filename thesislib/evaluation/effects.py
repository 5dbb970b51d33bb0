"""How far age, sex and identity move a face: in 3D, in colour, and in a frontal render.

One function measures the distance between two parameter vectors three ways:

* ``mm``: mean per-vertex Euclidean distance of the shapes (no alignment: a face that
  grows or shifts is a different face);
* ``color``: mean absolute RGB difference over vertices and channels, in 0..255 units;
* ``landmark_px``: mean 2D displacement of the 68 landmarks in the frontal default-scene
  render (227 px), the part of the change a camera sees.

:func:`population_effects` compares the mean faces of a population's young and old
(below 30 / above 65 years) and female and male halves with the typical distance
between two of its identities; :func:`conditional_effects` does the same for a
generator that takes age and sex (a conditional GAN), for one latent vector.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

YOUNG_BELOW, OLD_ABOVE = 30.0, 65.0
COLUMNS = ["comparison", "mm", "color", "landmark_px"]


def _landmark_pixels(model, vertices: np.ndarray) -> np.ndarray:
    """(L, 2) screen positions of the model's landmarks in the frontal default scene."""
    from thesislib.imaging import project
    from thesislib.imaging import IMAGE_SIZE, default_scene

    ids = model.landmark_ids
    if ids is None:
        return np.zeros((0, 2))
    s = default_scene()
    v = np.ascontiguousarray(vertices[np.asarray(ids)], dtype=np.float32)
    screen = np.zeros((len(v), 2))
    inv_depth = np.zeros(len(v))
    project(v, s.rotation, s.translation.astype(np.float64), float(s.distance), float(s.focal),
            IMAGE_SIZE / 2.0, screen, inv_depth)
    return screen


def face_difference(model, a, b) -> dict:
    """Distances between the faces of parameter vectors ``a`` and ``b`` ([shape | color]).

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout
    a, b : (n_shape + n_color,) parameter vectors in sd

    Returns
    -------
    dict with ``mm`` (mean vertex distance), ``color`` (mean |RGB| difference, 0..255)
    and ``landmark_px`` (mean landmark displacement in the frontal render, px; NaN when
    the model has no landmarks)
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    n_shape, n_color = model.n_shape, model.n_color
    va = model.vertices(a[:n_shape]).reshape(-1, 3)
    vb = model.vertices(b[:n_shape]).reshape(-1, 3)
    ca = model.colors(a[n_shape:n_shape + n_color])
    cb = model.colors(b[n_shape:n_shape + n_color])
    la, lb = _landmark_pixels(model, va), _landmark_pixels(model, vb)
    px = float(np.linalg.norm(la - lb, axis=1).mean()) if len(la) else float("nan")
    return {"mm": float(np.linalg.norm(va - vb, axis=1).mean()),
            "color": float(255.0 * np.abs(ca - cb).mean()), "landmark_px": px}


def identity_distance(model, params, rng: np.random.Generator, pairs: int = 50) -> dict:
    """Mean :func:`face_difference` over ``pairs`` random pairs of rows of ``params`` (``model``:
    truncated MorphableModel; its n_shape/n_color decide the parameter layout)."""
    params = np.asarray(params, float)
    i = rng.integers(0, len(params), size=(pairs, 2))
    i = i[i[:, 0] != i[:, 1]]
    rows = [face_difference(model, params[p], params[q]) for p, q in i]
    return {k: float(np.mean([r[k] for r in rows])) for k in ("mm", "color", "landmark_px")}


def population_effects(model, population, rng: np.random.Generator, pairs: int = 50) -> pd.DataFrame:
    """Young-vs-old and female-vs-male mean faces beside the between-identity distance.

    Parameters
    ----------
    model : the morphable model; it is truncated to the population's n_shape/n_color
    population : :class:`thesislib.facemodel.population.Population` with age and sex labels
    rng : numpy Generator (picks the identity pairs)
    pairs : number of random identity pairs averaged

    Returns
    -------
    DataFrame with one row per comparison (``young vs old``, ``female vs male``,
    ``two identities``), columns ``mm``, ``color``, ``landmark_px``, ``faces`` (rows
    that entered) and the ratio of each distance to the identity row (``*_x_identity``)
    """
    X, age, sex = population.params, population.age, population.sex
    model = model.truncated(population.n_shape, population.n_color)
    young, old = age < YOUNG_BELOW, age > OLD_ABOVE
    female, male = sex == 0, sex == 1
    rows = []
    for name, g0, g1 in (("young vs old", young, old), ("female vs male", female, male)):
        if g0.sum() == 0 or g1.sum() == 0:
            continue
        d = face_difference(model, X[g0].mean(0), X[g1].mean(0))
        rows.append({"comparison": name, **d, "faces": int(g0.sum() + g1.sum())})
    rows.append({"comparison": "two identities", **identity_distance(model, X, rng, pairs),
                 "faces": 2 * pairs})
    return _with_ratios(pd.DataFrame(rows))


def conditional_effects(generate, model, z: np.ndarray, z_other: np.ndarray, young: float = 18.0, old: float = 80.0) -> pd.DataFrame:
    """Age and sex effects of a conditional generator for one latent vector ``z``.

    Parameters
    ----------
    generate : callable ``(z (n, k), age (n,), sex (n,)) -> (n, d)`` parameter vectors,
        e.g. ``ConditionalGAN.generate``
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout
    z, z_other : (k,) latent vectors; ``z_other`` gives the between-identity row
    young, old : the two ages compared

    Returns
    -------
    DataFrame like :func:`population_effects`: ``young vs old`` at sex 0 and at sex 1,
    ``female vs male`` at both ages, and ``two identities`` (z vs z_other, age 45, sex 0.5)
    """
    cases = [("young vs old, female", (young, 0.0), (old, 0.0)),
             ("young vs old, male", (young, 1.0), (old, 1.0)),
             (f"female vs male, {young:.0f} y", (young, 0.0), (young, 1.0)),
             (f"female vs male, {old:.0f} y", (old, 0.0), (old, 1.0))]
    rows = []
    for name, (a0, s0), (a1, s1) in cases:
        p = generate(np.stack([z, z]), np.array([a0, a1]), np.array([s0, s1]))
        rows.append({"comparison": name, **face_difference(model, p[0], p[1])})
    p = generate(np.stack([z, z_other]), np.array([45.0, 45.0]), np.array([0.5, 0.5]))
    rows.append({"comparison": "two identities", **face_difference(model, p[0], p[1])})
    return _with_ratios(pd.DataFrame(rows))


def _with_ratios(df: pd.DataFrame) -> pd.DataFrame:
    ident = df[df.comparison == "two identities"].iloc[-1]
    for k in ("mm", "color", "landmark_px"):
        df[f"{k}_x_identity"] = df[k] / ident[k]
    return df.reset_index(drop=True)


def effects_frame(tables: dict) -> pd.DataFrame:
    """One table from several :func:`population_effects` / :func:`conditional_effects`
    results: ``{source name: table}`` -> rows with a leading ``source`` column."""
    return pd.concat([t.assign(source=name) for name, t in tables.items()], ignore_index=True)[
        ["source"] + [c for c in next(iter(tables.values())).columns]]
