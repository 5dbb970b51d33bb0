"""Dataset and model metrics of thesis chapter 6, plus a geometric error.

Pure functions on arrays (numpy / scipy / scikit-learn):

* :func:`ks_table`, :func:`ks_summary` -- two-sample Kolmogorov-Smirnov per parameter (Table 6.3);
* :func:`kmeans_distortion` -- mean distance to the k-means centroid (Table 6.4);
* :func:`distance_quartiles` -- cosine / L2 distances of random pairs (Table 6.5);
* :func:`nearest_centroid_accuracy` -- sex classifier of eq. 6.1 in PCA space;
* :func:`corrected_score`, :func:`ranks`, :func:`group_mean_ci`, :func:`mean_rank_ci`
  -- eq. 6.2, ranks among models and 95 % intervals (Table 6.6, Fig 6.13);
* :func:`rigid_align`, :func:`vertex_error`, :func:`vertex_error_summary` -- per-vertex
  error in mm after rigid alignment (NoW-style; beyond the thesis).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

__all__ = [
    "ks_table", "ks_summary", "kmeans_distortion", "distance_quartiles", "corrected_score",
    "ranks", "GroupCI", "group_mean_ci", "mean_rank_ci", "rigid_align", "vertex_error",
    "vertex_error_summary", "nearest_centroid_accuracy", "variety_table",
    "transfer_centroid_accuracy", "score_by_sampler", "metric_correlations",
]


def _seed(rng: np.random.Generator) -> int:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator")
    return int(rng.integers(0, 2**31 - 1))


def _2d(X, name="X") -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {X.shape}")
    return X


# --------------------------------------------------------------------------- distributions

def ks_table(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Two-sample KS test per column, as :func:`scipy.stats.ks_2samp` on each column.

    Parameters
    ----------
    a : array_like, shape (n_a, d)
    b : array_like, shape (n_b, d)
        Samples with the same number of columns (e.g. a dataset and the fitted set).

    Returns
    -------
    statistic : ndarray, shape (d,)
    pvalue : ndarray, shape (d,)
    """
    a, b = _2d(a, "a"), _2d(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"column counts differ: {a.shape[1]} vs {b.shape[1]}")
    res = stats.ks_2samp(a, b, axis=0)
    return np.asarray(res.statistic, dtype=np.float64), np.asarray(res.pvalue, dtype=np.float64)


def ks_summary(a, b) -> tuple[float, float]:
    """Sum of the per-column KS statistics and their mean p-value (thesis Table 6.3).

    Parameters
    ----------
    a, b : array_like, shapes (n_a, d) and (n_b, d)

    Returns
    -------
    (float, float)
        ``(sum of statistics over d columns, mean p-value)``.
    """
    stat, p = ks_table(a, b)
    return float(stat.sum()), float(p.mean())


# --------------------------------------------------------------------------- variety

def kmeans_distortion(X, k: int, rng: np.random.Generator, n_init: int = 1,
                      max_iter: int = 300) -> float:
    """Mean Euclidean distance of points to their k-means centroid on standardised ``X``.

    Columns are scaled to zero mean and unit variance (ddof=0; constant columns are
    left at zero) before :class:`sklearn.cluster.KMeans` (k-means++, ``n_init``
    restarts, seeded from ``rng``). For 10k points of 100-dim N(0, 1) this is about
    9.94 for k=2 and 9.36 for k=200 (thesis Table 6.4).

    Parameters
    ----------
    X : array_like, shape (n, d)
    k : int
        Number of clusters, ``1 <= k <= n``.
    rng : numpy.random.Generator
    n_init, max_iter : int
        Passed to KMeans.

    Returns
    -------
    float
        Distortion in units of (scaled) standard deviations.
    """
    X = _2d(X)
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    km = KMeans(n_clusters=int(k), n_init=n_init, max_iter=max_iter,
                random_state=_seed(rng)).fit(Z)
    return float(np.linalg.norm(Z - km.cluster_centers_[km.labels_], axis=1).mean())


def distance_quartiles(X, metric: str, rng: np.random.Generator,
                       n_pairs: int = 20000) -> tuple[float, float, float]:
    """Quartiles of distances between random pairs of distinct rows (thesis Table 6.5).

    Parameters
    ----------
    X : array_like, shape (n, d), n >= 2
    metric : {"cosine", "l2"}
        ``"cosine"``: ``1 - cos(x, y)`` in [0, 2]; ``"l2"``: Euclidean norm of ``x - y``.
    rng : numpy.random.Generator
        Draws the pairs (uniform, with replacement across pairs, ``i != j``).
    n_pairs : int

    Returns
    -------
    (q1, median, q3) : tuple of float
    """
    X = _2d(X)
    n = X.shape[0]
    if n < 2:
        raise ValueError("need at least 2 rows")
    i = rng.integers(0, n, size=n_pairs)
    j = (i + rng.integers(1, n, size=n_pairs)) % n  # uniform over j != i
    a, b = X[i], X[j]
    if metric == "l2":
        dist = np.linalg.norm(a - b, axis=1)
    elif metric == "cosine":
        denom = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        dist = 1.0 - np.einsum("ij,ij->i", a, b) / np.where(denom > 0, denom, np.nan)
    else:
        raise ValueError(f"metric must be 'cosine' or 'l2', got {metric!r}")
    q1, q2, q3 = np.nanpercentile(dist, [25, 50, 75])
    return float(q1), float(q2), float(q3)


def nearest_centroid_accuracy(X, labels, n_dims: int | None = None) -> float:
    """In-sample accuracy of the nearest-centroid classifier of thesis eq. 6.1.

    PCA is fit on ``X``; rows are projected on the first ``n_dims`` components, one
    centroid per label is computed there and each row gets the label of its nearest
    centroid (Euclidean). The thesis reports 82.8 % (2 dims) and 87.6 % (all 100)
    for sex on its fitted set.

    Parameters
    ----------
    X : array_like, shape (n, d)
    labels : array_like, shape (n,)
        Any hashable labels (e.g. "male"/"female"); two or more classes.
    n_dims : int or None
        Number of leading components; None uses all ``min(n, d)``.

    Returns
    -------
    float
        Fraction of rows classified correctly, in [0, 1].
    """
    X = _2d(X)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError("labels must have shape (n,)")
    Z = PCA(n_components=n_dims, svd_solver="full").fit_transform(X)
    classes, y = np.unique(labels, return_inverse=True)
    centroids = np.stack([Z[y == c].mean(axis=0) for c in range(len(classes))])
    d2 = ((Z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(d2.argmin(axis=1) == y))


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


# --------------------------------------------------------------------------- geometry

def rigid_align(pred, true, scale: bool = False) -> np.ndarray:
    """Align ``pred`` to ``true`` by the least-squares rotation and translation (Kabsch).

    With ``scale=True`` a uniform scale is fitted as well (Umeyama). Reflections are
    excluded.

    Parameters
    ----------
    pred, true : array_like, shape (N, 3) or (B, N, 3)
        Corresponding vertices, mm.
    scale : bool

    Returns
    -------
    ndarray, same shape as ``pred``
        ``pred`` after the transform, mm.
    """
    P = np.asarray(pred, dtype=np.float64)
    T = np.asarray(true, dtype=np.float64)
    if P.shape != T.shape or P.shape[-1] != 3 or P.ndim not in (2, 3):
        raise ValueError(f"pred and true must both be (N, 3) or (B, N, 3); got {P.shape}, {T.shape}")
    single = P.ndim == 2
    if single:
        P, T = P[None], T[None]
    mp, mt = P.mean(axis=1, keepdims=True), T.mean(axis=1, keepdims=True)
    Pc, Tc = P - mp, T - mt
    H = np.einsum("bni,bnj->bij", Pc, Tc)  # (B, 3, 3)
    U, S, Vt = np.linalg.svd(H)
    sign = np.sign(np.linalg.det(np.einsum("bij,bjk->bik", U, Vt)))
    sign = np.where(sign == 0, 1.0, sign)
    D = np.ones((P.shape[0], 3))
    D[:, 2] = sign
    R = np.einsum("bij,bj,bjk->bik", U, D, Vt)  # row-vector convention: x @ R
    s = np.ones((P.shape[0], 1, 1))
    if scale:
        var = (Pc ** 2).sum(axis=(1, 2))
        s = ((S * D).sum(axis=1) / np.where(var > 0, var, 1.0))[:, None, None]
    out = s * np.einsum("bni,bij->bnj", Pc, R) + mt
    return out[0] if single else out


def vertex_error(pred, true, scale: bool = False) -> np.ndarray:
    """Per-vertex Euclidean error after rigid alignment of ``pred`` onto ``true``.

    Parameters
    ----------
    pred, true : array_like, shape (N, 3) or (B, N, 3)
        Corresponding vertices of the predicted and true meshes, mm.
    scale : bool
        Also fit a uniform scale (similarity alignment).

    Returns
    -------
    ndarray, shape (N,) or (B, N)
        Distances in mm; zero everywhere when ``pred`` is a rigid motion of ``true``.
    """
    aligned = rigid_align(pred, true, scale=scale)
    return np.linalg.norm(aligned - np.asarray(true, dtype=np.float64), axis=-1)


def vertex_error_summary(errors) -> dict[str, float]:
    """NoW-style summary of per-vertex errors pooled over all vertices (and meshes).

    Parameters
    ----------
    errors : array_like, any shape
        Distances in mm, e.g. the output of :func:`vertex_error`.

    Returns
    -------
    dict
        ``{"median": ..., "mean": ..., "std": ...}`` in mm.
    """
    e = np.asarray(errors, dtype=np.float64).ravel()
    return {"median": float(np.median(e)), "mean": float(e.mean()), "std": float(e.std())}


# --------------------------------------------------------------------------- chapter 06 tables

def variety_table(datasets: dict, reference, rng: np.random.Generator,
                  clusters=(2, 10, 25, 100, 200), n_pairs: int = 20000, validity=None,
                  n_init: int = 1, n_threads: int | None = 1):
    """All variety metrics of thesis 6.2-6.3, one row per dataset.

    Parameters
    ----------
    datasets : dict
        ``{name: (n_i, d) array}`` of parameter vectors, e.g. one sample per sampler.
    reference : array_like, shape (m, d)
        Held-out fitted set the KS statistics compare against.
    rng : numpy.random.Generator
        Seeds k-means and draws the random pairs (datasets in dict order).
    clusters : sequence of int
        Cluster counts of the k-means distortion (Table 6.4); counts above ``n_i``
        give NaN.
    n_pairs : int
        Random pairs for the distance quartiles (Table 6.5).
    validity : fitted :class:`thesislib.population.Validity` or None
        If given, adds the fraction of valid faces.
    n_init : int
        k-means restarts per cluster count.
    n_threads : int or None
        Limit of OpenMP/BLAS threads while clustering (None: library default). One
        thread is faster on small, shared machines, where k-means threads oversubscribe.

    Returns
    -------
    pandas.DataFrame
        Index: dataset name. Columns ``n``, ``ks_sum``, ``ks_p``,
        ``distortion_<k>`` per cluster count, ``distortion_drop`` (first minus last
        count, with two or more counts), ``cos_q1..q3``, ``l2_q1..q3`` and
        ``valid_fraction`` when ``validity`` is given.
    """
    import pandas as pd
    from threadpoolctl import threadpool_limits

    reference = _2d(reference, "reference")
    rows = {}
    with threadpool_limits(limits=n_threads):
        for name, X in datasets.items():
            X = _2d(X, str(name))
            if X.shape[1] != reference.shape[1]:
                raise ValueError(f"dataset {name!r} has {X.shape[1]} columns, the reference {reference.shape[1]}")
            row = {"n": X.shape[0]}
            row["ks_sum"], row["ks_p"] = ks_summary(X, reference)
            for k in clusters:
                row[f"distortion_{k}"] = (kmeans_distortion(X, k, rng, n_init=n_init)
                                          if k <= X.shape[0] else np.nan)
            if len(clusters) > 1:
                row["distortion_drop"] = row[f"distortion_{clusters[0]}"] - row[f"distortion_{clusters[-1]}"]
            for metric, short in (("cosine", "cos"), ("l2", "l2")):
                q = distance_quartiles(X, metric, rng, n_pairs=n_pairs)
                row.update({f"{short}_q{i + 1}": v for i, v in enumerate(q)})
            if validity is not None:
                row["valid_fraction"] = validity.valid_fraction(X)
            rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def transfer_centroid_accuracy(reference, reference_labels, X, labels, n_dims: int | None = None) -> float:
    """Nearest-centroid accuracy of ``X`` against centroids learned on ``reference``.

    PCA and the per-class centroids come from ``reference`` (as in
    :func:`nearest_centroid_accuracy`); the rows of ``X`` (e.g. generated faces) are
    projected into that space and classified. High accuracy means samples generated
    for a label land where real faces of that label are (thesis Fig 6.10).

    Parameters
    ----------
    reference : array_like, shape (m, d)
    reference_labels : array_like, shape (m,)
    X : array_like, shape (n, d)
    labels : array_like, shape (n,), values among ``reference_labels``
    n_dims : int or None
        Leading components; None uses all ``min(m, d)``.

    Returns
    -------
    float in [0, 1]
    """
    R, X = _2d(reference, "reference"), _2d(X)
    ref_labels, labels = np.asarray(reference_labels), np.asarray(labels)
    if ref_labels.shape != (R.shape[0],) or labels.shape != (X.shape[0],):
        raise ValueError("labels must have one entry per row")
    pca = PCA(n_components=n_dims, svd_solver="full").fit(R)
    classes, y = np.unique(ref_labels, return_inverse=True)
    Zr = pca.transform(R)
    centroids = np.stack([Zr[y == c].mean(axis=0) for c in range(len(classes))])
    Z = pca.transform(X)
    d2 = ((Z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(classes[d2.argmin(axis=1)] == labels))


def score_by_sampler(scores, column: str | None = None):
    """Mean score per sampler from a scores table (chapter 05's ``05_scores.csv``).

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per trained model with a ``sampler`` column.
    column : str or None
        Score column; None picks ``mean_corrected_score`` if present, else the first
        column whose name contains "corrected".

    Returns
    -------
    pandas.Series indexed by sampler, named after the column used.
    """
    if "sampler" not in scores.columns:
        raise ValueError("scores table needs a 'sampler' column")
    if column is None:
        candidates = [c for c in scores.columns if "corrected" in str(c).lower()]
        preferred = [c for c in candidates if str(c).lower().replace(" ", "_") == "mean_corrected_score"]
        if not candidates:
            raise ValueError(f"no corrected-score column among {list(scores.columns)}")
        column = (preferred or candidates)[0]
    return scores.groupby("sampler")[column].mean().rename(column)


def metric_correlations(table, score, metrics=None):
    """Pearson correlation of each dataset metric with a score, over shared datasets.

    Parameters
    ----------
    table : pandas.DataFrame
        Metrics per dataset (e.g. :func:`variety_table`), indexed by sampler name.
    score : pandas.Series
        Score per sampler (e.g. :func:`score_by_sampler`).
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
