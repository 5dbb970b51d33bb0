"""Scores of trained models and their ranks (thesis chapter 6, Table 6.6, Fig 6.13).

* :func:`corrected_score` -- eq. 6.2, vectorised;
* :func:`ranks`, :func:`group_mean_ci`, :func:`mean_rank_ci` -- ranks among models and
  95 % intervals;
* :func:`metric_correlations` -- a per-sampler result (e.g. chapter 05's vertex error) correlated
  with the dataset metrics of :func:`thesislib.evaluation.metrics.variety_table`.

Pure functions on arrays and tables; importable from :mod:`thesislib.evaluation.metrics` too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["corrected_score", "ranks", "GroupCI", "group_mean_ci", "mean_rank_ci", "metric_correlations"]


# --------------------------------------------------------------------------- scores

def corrected_score(sigma, score, n: float = 30):
    """Similarity score penalised for exaggerated faces (thesis eq. 6.2).

    ``f(sigma, s, n) = s`` if ``sigma < 1`` else ``s / sigma ** (1 / n)``.

    Parameters
    ----------
    sigma : float or array_like
        Standard deviation of each predicted parameter vector (per instance, over
        its parameters), > 0.
    score : float or array_like
        Raw face-recognition similarity score, broadcastable with ``sigma``.
    n : float
        Strength of the penalty (thesis: 30; 10-40 are candidates).

    Returns
    -------
    float or ndarray
        Corrected scores, broadcast shape of the inputs.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    safe = np.where(sigma < 1, 1.0, sigma)
    out = np.where(sigma < 1, score, score / safe ** (1.0 / n))
    return out[()] if out.ndim == 0 else out


def ranks(scores, higher_is_better: bool = True) -> np.ndarray:
    """Rank of each model among all (1 = best), ties get their average rank.

    Parameters
    ----------
    scores : array_like, shape (m,)
    higher_is_better : bool

    Returns
    -------
    ndarray, shape (m,), float
    """
    scores = np.asarray(scores, dtype=np.float64)
    return stats.rankdata(-scores if higher_is_better else scores, method="average")


@dataclass(frozen=True)
class GroupCI:
    """Mean and confidence interval per group; arrays of shape (g,), groups sorted."""

    groups: np.ndarray
    count: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


def group_mean_ci(values, groups, confidence: float = 0.95) -> GroupCI:
    """Mean and two-sided Student-t confidence interval of ``values`` per group.

    The interval is ``mean +- t_{(1+confidence)/2, m-1} * sd / sqrt(m)`` with the
    sample standard deviation (ddof=1) of the group's ``m`` values; it is NaN for
    groups with a single value. Used for scores and ranks of models trained on
    the same dataset with different seeds (thesis Fig 6.13).

    Parameters
    ----------
    values : array_like, shape (m,)
    groups : array_like, shape (m,)
        Group label of each value (e.g. the sampler name).
    confidence : float

    Returns
    -------
    GroupCI
    """
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups)
    if values.shape != groups.shape or values.ndim != 1:
        raise ValueError("values and groups must have the same shape (m,)")
    names, inv = np.unique(groups, return_inverse=True)
    count = np.bincount(inv, minlength=len(names))
    mean = np.bincount(inv, weights=values, minlength=len(names)) / count
    ss = np.bincount(inv, weights=(values - mean[inv]) ** 2, minlength=len(names))
    with np.errstate(divide="ignore", invalid="ignore"):
        sem = np.sqrt(ss / (count - 1)) / np.sqrt(count)
        half = stats.t.ppf(0.5 + confidence / 2, count - 1) * sem
    half = np.where(count > 1, half, np.nan)
    return GroupCI(names, count, mean, mean - half, mean + half)


def mean_rank_ci(scores, groups, confidence: float = 0.95,
                 higher_is_better: bool = True) -> GroupCI:
    """Rank all models together (:func:`ranks`), then mean rank and CI per group."""
    return group_mean_ci(ranks(scores, higher_is_better), groups, confidence)


# --------------------------------------------------------------------------- chapter 06 tables
def metric_correlations(table, score, metrics=None):
    """Pearson correlation of each dataset metric with a score, over shared datasets.

    Parameters
    ----------
    table : pandas.DataFrame
        Metrics per dataset (e.g. :func:`variety_table`), indexed by sampler name.
    score : pandas.Series
        Score per sampler (e.g. chapter 05's vertex error per sampler, :func:`thesislib.studies.sampler_errors`).
    metrics : list of str or None
        Columns to correlate; None uses every numeric column except ``n``.

    Returns
    -------
    pandas.DataFrame
        Index: metric; columns ``r``, ``p`` (two-sided) and ``n`` (datasets used);
        r and p are NaN with fewer than 3 datasets or a constant column.
    """
    import pandas as pd

    joined = table.join(score.rename("__score__"), how="inner")
    if metrics is None:
        metrics = [c for c in table.select_dtypes("number").columns if c != "n"]
    rows = {}
    for m in metrics:
        pair = joined[[m, "__score__"]].dropna()
        r = p = np.nan
        if len(pair) >= 3 and pair[m].std() > 0 and pair["__score__"].std() > 0:
            res = stats.pearsonr(pair[m], pair["__score__"])
            r, p = float(res.statistic), float(res.pvalue)
        rows[m] = {"r": r, "p": p, "n": len(pair)}
    return pd.DataFrame.from_dict(rows, orient="index")
