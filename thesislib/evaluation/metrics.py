"""Dataset and model metrics of thesis chapter 6, plus a geometric error.

Distribution and variety metrics live here; scores and ranks in :mod:`thesislib.evaluation.scores`,
the geometric error in :mod:`thesislib.evaluation.geometry`. Every name below imports from here.

Pure functions on arrays (numpy / scipy / scikit-learn):

* :func:`ks_table`, :func:`ks_summary` -- two-sample Kolmogorov-Smirnov per parameter (Table 6.3);
  :func:`ks_quality_table` -- those per sampler, with a sex-axis KS and the valid fraction;
* :func:`draw_summary` -- size and spread of each sampler's draws (chapter 02);
* :func:`kmeans_distortion` -- mean distance to the k-means centroid (Table 6.4);
* :func:`distance_quartiles` -- cosine / L2 distances of random pairs (Table 6.5);
* :func:`nearest_centroid_accuracy` -- sex classifier of eq. 6.1 in PCA space;
* :func:`corrected_score`, :func:`ranks`, :func:`group_mean_ci`, :func:`mean_rank_ci`
  -- eq. 6.2, ranks among models and 95 % intervals (Table 6.6, Fig 6.13);
* :func:`rigid_align`, :func:`vertex_error`, :func:`vertex_error_summary` -- per-vertex
  error in mm after rigid alignment (NoW-style; beyond the thesis).
"""
from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA


__all__ = [
    "ks_table", "ks_summary", "ks_quality_table", "draw_summary", "kmeans_distortion",
    "distance_quartiles", "nearest_centroid_accuracy", "variety_table", "transfer_centroid_accuracy",
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


def ks_quality_table(draws: dict, reference, sex_axis=None, validity=None, kinds=None):
    """One row per sampler: how its draws compare with held-out faces (chapters 03 and 04).

    Parameters
    ----------
    draws : dict name -> (n, d) samples
    reference : (m, d) held-out faces
    sex_axis : (d,) direction or None; adds ``ks_sex_axis``, the KS statistic of the
        projections on it (a joint property that single coefficients miss)
    validity : object with ``valid_fraction(X) -> float`` (e.g. a fitted
        :class:`thesislib.facemodel.population.Validity`) or None; adds ``valid_fraction``
    kinds : dict name -> str or None; adds a ``kind`` column (e.g. "GMM", "baseline")

    Returns
    -------
    pandas.DataFrame with columns ``sampler``, [``kind``], ``ks_sum``, ``mean_p``,
    [``ks_sex_axis``], [``valid_fraction``], rows in the order of ``draws``
    """
    import pandas as pd

    reference = _2d(reference, "reference")
    rows = []
    for name, X in draws.items():
        X = _2d(X, str(name))
        row = {"sampler": name}
        if kinds is not None:
            row["kind"] = kinds.get(name)
        row["ks_sum"], row["mean_p"] = ks_summary(X, reference)
        if sex_axis is not None:
            axis = np.asarray(sex_axis, dtype=np.float64)
            row["ks_sex_axis"] = ks_summary((X @ axis)[:, None], (reference @ axis)[:, None])[0]
        if validity is not None:
            row["valid_fraction"] = validity.valid_fraction(X)
        rows.append(row)
    return pd.DataFrame(rows)


def draw_summary(draws: dict, validity=None, labels=None):
    """One row per sampler: the size and spread of its draws (chapter 02).

    Parameters
    ----------
    draws : dict name -> (n, d) samples in sd
    validity : object with ``valid_fraction(X) -> float`` (e.g. a fitted
        :class:`thesislib.facemodel.population.Validity`) or None; adds ``valid_fraction``
    labels : dict name -> str, a function name -> str (e.g.
        :func:`thesislib.samplers.registry.sampler_label`) or None; adds a ``label`` column

    Returns
    -------
    pandas.DataFrame, rows in the order of ``draws``: ``sampler``, [``label``],
    ``median_norm`` (median L2 norm of a face vector), ``mean_abs`` (mean absolute
    coefficient), ``std`` (of all coefficients), ``per_face_std`` (mean over faces of the
    std of one face's coefficients), ``max_abs``, [``valid_fraction``]
    """
    import pandas as pd

    rows = []
    for name, X in draws.items():
        X = _2d(X, str(name))
        row = {"sampler": name}
        if labels is not None:
            row["label"] = labels(name) if callable(labels) else labels[name]
        row.update(median_norm=float(np.median(np.linalg.norm(X, axis=1))), mean_abs=float(np.abs(X).mean()),
                   std=float(X.std()), per_face_std=float(X.std(axis=1).mean()), max_abs=float(np.abs(X).max()))
        if validity is not None:
            row["valid_fraction"] = validity.valid_fraction(X)
        rows.append(row)
    return pd.DataFrame(rows)


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
    validity : fitted :class:`thesislib.facemodel.population.Validity` or None
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
