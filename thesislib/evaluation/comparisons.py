"""Families of comparisons between samplers with replicated draws (chapter 05's tables).

* :func:`holm` -- Holm's step-down adjustment of a family of p-values;
* :func:`pairwise_comparisons` -- every pair of samplers per test set (``data/05_comparisons.csv``),
  each a :func:`thesislib.evaluation.intervals.paired_difference`;
* :func:`sampler_intervals` -- per-sampler means, intervals
  (:func:`thesislib.evaluation.intervals.draw_interval`), ranks and rank intervals.

The model behind the intervals, and what they count, is in :mod:`thesislib.evaluation.intervals`.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from .intervals import draw_interval, paired_difference

__all__ = ["COMPARISON_COLUMNS", "holm", "pairwise_comparisons", "sampler_intervals"]

#: the columns of :func:`pairwise_comparisons` (and of ``data/05_comparisons.csv``)
COMPARISON_COLUMNS = ["test_set", "metric", "sampler_a", "sampler_b", "mean", "low", "high", "p_value",
                      "p_adjusted"]


# --------------------------------------------------------------------------- families

def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (controls the family-wise error rate).

    With the ``m`` non-missing p-values sorted ascending, ``p_(1) <= ... <= p_(m)``,
    ``adjusted_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``. Rejecting where the adjusted
    value is below ``alpha`` is Holm's procedure at level ``alpha``. Same as statsmodels'
    ``multipletests(p, method="holm")[1]``.

    Parameters
    ----------
    p_values : array_like
        Any shape; NaN entries stay NaN and do not count in the family.

    Returns
    -------
    ndarray, the shape of ``p_values``
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    flat, valid = p.ravel(), ~np.isnan(p.ravel())
    if (flat[valid] < 0).any() or (flat[valid] > 1).any():
        raise ValueError("p-values must lie in [0, 1]")
    idx = np.flatnonzero(valid)
    order = idx[np.argsort(flat[idx], kind="stable")]
    m = len(order)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * flat[order]))
    res = out.ravel()
    res[order] = adjusted
    return res.reshape(p.shape)


def _check_sets(errors: dict, fixed) -> None:
    if not isinstance(errors, dict) or not all(isinstance(v, dict) for v in errors.values()):
        raise ValueError("errors must be {test_set: {sampler: (draws, faces) array}}")
    unknown = set(fixed) - {s for v in errors.values() for s in v}
    if unknown:
        raise ValueError(f"fixed names samplers that no test set has: {sorted(unknown)}")


def pairwise_comparisons(errors: dict, metric: str = "vertex_mm", level: float = 0.95, *,
                         fixed=()) -> pd.DataFrame:
    """Every unordered pair of samplers on every test set, with Holm-adjusted p-values.

    Each row is :func:`paired_difference` of ``sampler_a - sampler_b`` (samplers in the order the
    dict gives them, ``a`` before ``b``). The family for Holm's adjustment (:func:`holm`) is all
    pairs of one test set and one metric: ``k (k - 1) / 2`` comparisons for ``k`` samplers (a
    call handles one metric; tables of several metrics are concatenated, each keeping its own
    families). Test sets are separate questions (held-out, shifted population, ...), so they are
    not pooled into one family.

    Parameters
    ----------
    errors : dict
        ``{test_set: {sampler: (draws, faces) array}}``; within a test set every array has the
        same faces in the same order. Baselines without draws are (1, faces) arrays named in
        ``fixed``.
    metric : str
        Label of the error in the ``metric`` column (e.g. ``"vertex_mm"``).
    level : float
        Confidence level of each interval (not simultaneous; the adjusted p-values are).
    fixed : collection of str
        Sampler names whose errors are deterministic (e.g. ``"mean face"``).

    Returns
    -------
    pandas.DataFrame
        Columns exactly ``test_set, metric, sampler_a, sampler_b, mean, low, high, p_value,
        p_adjusted`` (:data:`COMPARISON_COLUMNS`), one row per pair and test set; meant for
        ``data/05_comparisons.csv``.
    """
    _check_sets(errors, fixed)
    fixed = set(fixed)
    frames = []
    for test_set, samplers in errors.items():
        rows = []
        for sa, sb in combinations(samplers, 2):
            try:
                r = paired_difference(samplers[sa], samplers[sb], level, fixed_a=sa in fixed, fixed_b=sb in fixed)
            except ValueError as e:
                raise ValueError(f"{test_set}: {sa} - {sb}: {e}") from e
            rows.append((test_set, metric, sa, sb, r.mean, r.low, r.high, r.p_value))
        frame = pd.DataFrame(rows, columns=COMPARISON_COLUMNS[:-1])
        frame["p_adjusted"] = holm(frame["p_value"].to_numpy()) if len(frame) else []
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    return pd.concat(frames, ignore_index=True)[COMPARISON_COLUMNS]


def sampler_intervals(errors: dict, metric: str = "vertex_mm", level: float = 0.95, *,
                      fixed=()) -> pd.DataFrame:
    """Per-sampler mean error, its interval, its rank and a rank interval, per test set.

    The mean and interval are :func:`draw_interval` (draws and faces counted, no
    pseudo-replication). ``rank`` orders the means (1 = lowest error, ties averaged). The rank
    interval comes from the pairwise comparisons of the same test set (:func:`pairwise_comparisons`,
    Holm-adjusted): ``rank_low = 1 + #samplers significantly lower``, ``rank_high = k -
    #samplers significantly higher`` at ``alpha = 1 - level``. Holm controls the family-wise
    error, so with probability about ``level`` no difference is wrongly called and every
    sampler's true rank lies in its interval, simultaneously (Klein, Wright & Wieczorek 2020,
    "A joint confidence region for an overall ranking of populations", JRSS C). A hierarchical
    bootstrap over draws and faces was not used: with 3 draws a bootstrap understates the draw
    variance (the percentile bootstrap's shortfall measured in the tests).

    Parameters
    ----------
    errors : dict
        ``{test_set: {sampler: (draws, faces) array}}`` as for :func:`pairwise_comparisons`.
    metric : str
        Label in the ``metric`` column.
    level : float
    fixed : collection of str
        Deterministic baselines (no draws).

    Returns
    -------
    pandas.DataFrame
        Columns ``test_set, metric, sampler, mean, low, high, se, n_draws, n_faces, rank,
        rank_low, rank_high``, one row per sampler and test set, in the order given.
    """
    _check_sets(errors, fixed)
    fixed = set(fixed)
    pairs = pairwise_comparisons(errors, metric, level, fixed=fixed)
    alpha = 1 - level
    rows = []
    for test_set, samplers in errors.items():
        names = list(samplers)
        sig = pairs[(pairs["test_set"] == test_set) & (pairs["p_adjusted"] < alpha)]
        lower = {s: 0 for s in names}  # how many samplers are significantly lower (better) than s
        higher = {s: 0 for s in names}
        for sa, sb, diff in zip(sig["sampler_a"], sig["sampler_b"], sig["mean"]):
            better, worse = (sa, sb) if diff < 0 else (sb, sa)
            lower[worse] += 1
            higher[better] += 1
        intervals = {}
        for s in names:
            try:
                intervals[s] = draw_interval(samplers[s], level, fixed=s in fixed)
            except ValueError as e:
                raise ValueError(f"{test_set}: {s}: {e}") from e
        rank = stats.rankdata([intervals[s].mean for s in names], method="average")
        for s, rk in zip(names, rank):
            r = intervals[s]
            rows.append((test_set, metric, s, r.mean, r.low, r.high, r.se, r.n_draws, r.n_faces, float(rk),
                         1 + lower[s], len(names) - higher[s]))
    return pd.DataFrame(rows, columns=["test_set", "metric", "sampler", "mean", "low", "high", "se", "n_draws",
                                       "n_faces", "rank", "rank_low", "rank_high"])
