"""Intervals for samplers with replicated draws (chapter 05's statistics): one sampler, two samplers.

Each sampler is trained several times: a *draw* is an independently drawn training dataset
(and, for fitted samplers, a new fit seed) with a BPRN trained on it. Every draw is scored on
the same test faces, so one sampler's errors are a (draws, faces) array. An interval or a test
that treats the draws x faces cells as independent rows is pseudo-replication: the draws of one
sampler share its expected error, and the faces are shared by every sampler.

* :func:`draw_interval` -- one sampler's mean error with an interval that counts draws and faces;
* :func:`paired_difference` -- two samplers (or a sampler and a fixed baseline) on the same faces.

Families of comparisons (every pair, Holm, ranks) are :mod:`thesislib.evaluation.comparisons`.

The model behind all of them
----------------------------
The error of draw ``d`` of sampler ``s`` on test face ``f`` is a two-way random-effects layout

    e[s, d, f] = mu[s] + alpha[f] + beta[s, f] + delta[s, d] + eps[s, d, f],

with a face effect ``alpha`` shared by all samplers (hard faces are hard for all), a
sampler x face interaction ``beta`` (variance ``s2_beta``), a draw effect ``delta`` (variance
``s2_draw[s]``) and the rest ``eps`` (variance ``s2_eps[s]``). The estimand is ``mu[s]``, the
error expected over new draws *and* new faces from the test population; it is estimated by the
grand mean of the (D, F) array (every draw weighted equally). With row means ``r_d``, column
means ``c_f`` and the two-way residual mean square ``MSR = sum (e - r_d - c_f + g)^2 /
((D - 1)(F - 1))``, method-of-moments (ANOVA) estimates give

    Var(grand mean) = s2_draw / D + (s2_alpha + s2_beta + s2_eps / D) / F
                  ~= max(var(r) - MSR / F, 0) / D  +  var(c) / F,

because ``E var(r) = s2_draw + s2_eps / F``, ``E MSR = s2_eps`` and ``E var(c) = s2_alpha +
s2_beta + s2_eps / D`` (sample variances with ddof=1). For a difference of two samplers on the
same faces the face effect ``alpha`` cancels and ``var(c)`` becomes the variance of the per-face
differences of column means, ``var(c_a - c_b)``, whose expectation is ``2 s2_beta + s2_eps_a / D_a
+ s2_eps_b / D_b``. The draw component is truncated at zero (a negative estimate means the draws
differ no more than face noise explains); the interval is a Student t interval with
Welch-Satterthwaite degrees of freedom over the mean squares used (``D - 1`` for each ``var(r)``,
``(D - 1)(F - 1)`` for each ``MSR``, ``F - 1`` for ``var(c)``).

With 3 draws the draw component has few degrees of freedom, and a t quantile with few degrees
of freedom is what keeps the interval honest; a percentile bootstrap over 3 draws cannot widen
that way and falls short. Measured by simulation (tests/evaluation/test_comparisons.py), 3 draws
per sampler, draws dominating: the 95 % interval of :func:`paired_difference` covers the true
difference in 0.96 of studies and calls a zero difference significant in 3 %; a hierarchical
percentile bootstrap covers in 0.82 with 20 % false positives; a t interval over the draws x
faces cells as independent rows covers in 0.15. Welch-Satterthwaite is slightly conservative when
both samplers' draws vary alike and slightly liberal (coverage 0.93-0.94) when one low-df term
carries nearly all the variance (one sampler's draws, or one sampler alone in :func:`draw_interval`).

One draw and fixed baselines
----------------------------
With a single draw the between-draw variance cannot be estimated, and leaving it out would
claim that a sampler's second dataset gives the same result: every function here raises a
``ValueError`` then, unless the argument is declared *fixed*. A fixed argument is a deterministic
prediction (the model mean face, a population's mean face): it has no draws, its draw variance
is zero by construction, and it is passed as a (1, faces) or (faces,) array.

Missing predictions
-------------------
NaN marks a face on which a model produced no prediction. A draw that is NaN on every face is
dropped (it is reported in ``n_draws``); a face that is NaN in any remaining draw of a sampler
(of either sampler, for a difference) is dropped from all, so the layout stays balanced and the
comparison stays paired. ``n_faces_dropped`` reports how many.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["DrawInterval", "PairedDifference", "draw_interval", "paired_difference"]


@dataclass(frozen=True)
class DrawInterval:
    """One sampler's mean error with its interval (:func:`draw_interval`).

    Attributes
    ----------
    mean, low, high : float
        Grand mean over the used draws and faces and its two-sided ``level`` interval.
    se : float
        Standard error of ``mean``.
    df : float
        Welch-Satterthwaite degrees of freedom of the t interval.
    level : float
    n_draws, n_faces : int
        Draws and faces used (after dropping missing predictions).
    n_faces_dropped : int
        Faces left out because some draw had no prediction on them.
    draw_var, face_var : float
        The two components of ``se ** 2``: between draws (zero when fixed or truncated) and
        between faces.
    fixed : bool
        Whether the errors were declared a deterministic baseline.
    """

    mean: float
    low: float
    high: float
    se: float
    df: float
    level: float
    n_draws: int
    n_faces: int
    n_faces_dropped: int
    draw_var: float
    face_var: float
    fixed: bool


@dataclass(frozen=True)
class PairedDifference:
    """The difference a - b of two samplers' mean errors on the same faces (:func:`paired_difference`).

    Attributes
    ----------
    mean, low, high : float
        Estimated difference (negative: ``a`` has the lower error) and its ``level`` interval.
    p_value : float
        Two-sided p-value of "no difference" (t test with ``df`` degrees of freedom).
    se, df : float
        Standard error and Welch-Satterthwaite degrees of freedom.
    level : float
    n_draws_a, n_draws_b, n_faces : int
        Draws of each sampler and shared faces used.
    n_faces_dropped : int
        Faces left out because a draw of either sampler had no prediction on them.
    draw_var_a, draw_var_b, face_var : float
        The components of ``se ** 2``: each sampler's between-draw part and the per-face part.
    fixed_a, fixed_b : bool
        Whether each argument was declared a deterministic baseline.
    """

    mean: float
    low: float
    high: float
    p_value: float
    se: float
    df: float
    level: float
    n_draws_a: int
    n_draws_b: int
    n_faces: int
    n_faces_dropped: int
    draw_var_a: float
    draw_var_b: float
    face_var: float
    fixed_a: bool
    fixed_b: bool


# --------------------------------------------------------------------------- helpers

def _as_draws(errors, name: str, fixed: bool) -> np.ndarray:
    """(draws, faces) float array; all-NaN draws dropped; a fixed one collapsed to one row."""
    x = np.asarray(errors, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a (draws, faces) array, got shape {np.shape(errors)}")
    x = x[~np.isnan(x).all(axis=1)]
    if len(x) == 0:
        raise ValueError(f"{name} has no prediction at all (every value is NaN)")
    if fixed:
        if not all(np.array_equal(x[0], row, equal_nan=True) for row in x[1:]):
            raise ValueError(f"{name} is declared fixed (a deterministic baseline) but its {len(x)} rows differ")
        return x[:1]
    if len(x) < 2:
        raise ValueError(
            f"{name} has a single draw: its between-draw variance cannot be estimated, and leaving it out "
            "would treat one training dataset as the sampler. Give >= 2 draws, or declare the errors "
            "fixed if they come from a deterministic prediction (a mean-face baseline).")
    return x


def _keep_faces(*arrays: np.ndarray) -> tuple[np.ndarray, int]:
    """Boolean mask of faces with a value in every row of every array, and how many were dropped."""
    keep = np.logical_and.reduce([~np.isnan(x).any(axis=0) for x in arrays])
    if keep.sum() < 2:
        raise ValueError(f"{int(keep.sum())} face(s) have a prediction from every draw; need >= 2 to "
                         "estimate the variance between faces")
    return keep, int((~keep).sum())


def _draw_terms(x: np.ndarray) -> list[tuple[float, float]]:
    """The between-draw component of Var(grand mean) of a (D, F) array as Satterthwaite terms
    ``(c_i * MS_i, df_i)``: ``var(r) / D - MSR / (D F)``, or no term if that is negative."""
    d, f = x.shape
    if d < 2:
        return []
    r = x.mean(axis=1)
    c = x.mean(axis=0)
    var_r = r.var(ddof=1)
    msr = ((x - r[:, None] - c[None, :] + x.mean()) ** 2).sum() / ((d - 1) * (f - 1))
    if var_r - msr / f <= 0:
        return []
    return [(var_r / d, d - 1.0), (-msr / (d * f), (d - 1.0) * (f - 1.0))]


def _t_interval(mean: float, terms: list[tuple[float, float]], level: float) -> tuple[float, ...]:
    """se, df, low, high, p from Satterthwaite terms ``(c_i * MS_i, df_i)`` whose sum is Var(mean)."""
    var = float(sum(t for t, _ in terms))
    if var <= 0:
        p = 1.0 if mean == 0 else 0.0
        return 0.0, float("inf"), mean, mean, p
    df = var ** 2 / sum(t ** 2 / k for t, k in terms)
    se = np.sqrt(var)
    half = stats.t.ppf(0.5 + level / 2, df) * se
    p = 2 * stats.t.sf(abs(mean) / se, df)
    return float(se), float(df), float(mean - half), float(mean + half), float(p)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")


# --------------------------------------------------------------------------- one sampler, two samplers

def draw_interval(errors, level: float = 0.95, *, fixed: bool = False) -> DrawInterval:
    """One sampler's mean error over draws and faces, with an interval that counts both.

    ``Var(mean) ~= max(var(r) - MSR / F, 0) / D + var(c) / F`` with the row (draw) means ``r``,
    the column (face) means ``c`` and the two-way residual mean square ``MSR`` of the (D, F)
    array (module docstring); the interval is ``mean +- t_{(1 + level) / 2, df} * se`` with
    Welch-Satterthwaite ``df``.

    Parameters
    ----------
    errors : array_like, shape (draws, faces) or (faces,)
        Per-face errors (e.g. mean vertex error, mm) of each draw of one sampler; NaN where a
        draw made no prediction.
    level : float
        Confidence level of the two-sided interval.
    fixed : bool
        The errors come from a deterministic prediction (a baseline with no draws): one row (or
        identical rows), zero draw variance, a t interval over faces.

    Returns
    -------
    DrawInterval

    Raises
    ------
    ValueError
        A single draw that is not declared fixed, fewer than two faces with every prediction,
        or a bad shape or level.
    """
    _check_level(level)
    x = _as_draws(errors, "errors", fixed)
    keep, dropped = _keep_faces(x)
    x = x[:, keep]
    d, f = x.shape
    draw = _draw_terms(x)
    face = [(x.mean(axis=0).var(ddof=1) / f, f - 1.0)]
    mean = float(x.mean())
    se, df, low, high, _ = _t_interval(mean, draw + face, level)
    return DrawInterval(mean, low, high, se, df, level, d, f, dropped, float(sum(t for t, _ in draw)),
                        face[0][0], fixed)


def paired_difference(errors_a, errors_b, level: float = 0.95, rng: np.random.Generator | None = None, *,
                      fixed_a: bool = False, fixed_b: bool = False) -> PairedDifference:
    """Difference of two samplers' mean errors, a - b, on the same test faces, counting draws and faces.

    The estimate is ``mean(a) - mean(b)`` (grand means over draws and the shared faces) and

        Var = max(var(r_a) - MSR_a / F, 0) / D_a + max(var(r_b) - MSR_b / F, 0) / D_b
              + var(c_a - c_b) / F,

    with each sampler's row (draw) means ``r``, column (face) means ``c`` and two-way residual mean
    square ``MSR`` (module docstring: the faces are shared, so their main effect cancels in
    ``c_a - c_b``). The interval is ``mean +- t_{(1 + level) / 2, df} * se``, the p-value two-sided,
    ``df`` by Welch-Satterthwaite over the mean squares used. A sampler's draw term is zero when
    it is fixed, or when its draws differ no more than face noise explains (the estimate is
    truncated at zero).

    Parameters
    ----------
    errors_a, errors_b : array_like, shape (draws_a, faces) and (draws_b, faces)
        Per-face errors of each draw (a dataset draw and fit seed with its own BPRN) of two
        samplers on the same faces in the same order; NaN where a draw made no prediction (such
        faces are dropped from both).
    level : float
        Confidence level of the two-sided interval.
    rng : numpy.random.Generator or None
        Unused: the method is analytic, so the result is the same for every ``rng``; accepted
        so the signature matches DESIGN.md.
    fixed_a, fixed_b : bool
        Declare an argument a deterministic baseline (one row, zero draw variance). Without it a
        single draw raises: its draw variance cannot be estimated.

    Returns
    -------
    PairedDifference
        ``.mean``, ``.low``, ``.high``, ``.p_value``, ``.se``, ``.df``, the counts used and the
        variance components.

    Raises
    ------
    ValueError
        Different face counts, a single draw not declared fixed, fewer than two usable faces.
    """
    del rng  # analytic; see the docstring
    _check_level(level)
    a = _as_draws(errors_a, "errors_a", fixed_a)
    b = _as_draws(errors_b, "errors_b", fixed_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"errors_a has {a.shape[1]} faces, errors_b {b.shape[1]}: they must be scored "
                         "on the same faces")
    keep, dropped = _keep_faces(a, b)
    a, b = a[:, keep], b[:, keep]
    f = a.shape[1]
    draw_a, draw_b = _draw_terms(a), _draw_terms(b)
    face = [((a.mean(axis=0) - b.mean(axis=0)).var(ddof=1) / f, f - 1.0)]
    mean = float(a.mean() - b.mean())
    se, df, low, high, p = _t_interval(mean, draw_a + draw_b + face, level)
    return PairedDifference(mean, low, high, p, se, df, level, len(a), len(b), f, dropped,
                            float(sum(t for t, _ in draw_a)), float(sum(t for t, _ in draw_b)), face[0][0],
                            fixed_a, fixed_b)
