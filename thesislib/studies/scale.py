"""Chapter 07: the study at the thesis' scale of 100k training images per sampler.

The thesis trained every BPRN on 100,000 images and found uniform data beat normal data there;
chapter 05 stops at a thousand per draw. This chapter asks two questions of learning curves to
100k images, on chapter 05's test sets:

1. does the order of the samplers change with the number of training images?
2. does the thesis' 3 x 200 head start to beat the ridge head on the same features?

* :func:`scale_mixture` -- the BIC (or AIC) mixture of the fitted set's training split (the grid of
  chapter 03, from its cache when chapter 03 ran in the same folder);
* :func:`scale_datasets` -- one features-only dataset per sampler, as large as the largest size;
* :func:`scale_errors` -- per-face errors of every point's predictions (one draw per sampler:
  intervals count test faces only);
* :func:`scale_table`, :func:`sampler_order`, :func:`head_gaps`, :func:`scale_answer` -- the table,
  the two questions in numbers, and the lines that answer them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

#: Seed offset of the chapter's datasets (added to the run's seed): no draw of chapter 05
#: (:data:`thesislib.studies.design.DATASET_SEED` + draw), fit split or test set uses it.
SCALE_SEED = 900


def scale_mixture(fitted, holdout: float, seed: int, components, covariance_types, criterion: str = "bic",
                  n_jobs: int = 1, cache_dir=None) -> dict:
    """The mixture the criterion picks on the fitted set's training split, as chapter 03 fits it
    (same split, seed and cell cache: free when chapter 03 ran in the same output folder).

    Returns
    -------
    dict ``n_components``, ``covariance_type`` (:func:`thesislib.studies.chosen_mixture`)
    """
    from thesislib.samplers import fit_grid

    from .gmm import chosen_mixture

    _, train = fitted.split(holdout, np.random.default_rng(seed))
    grid = fit_grid(train.params, list(components), list(covariance_types), seed=seed, n_jobs=n_jobs,
                    cache_dir=cache_dir)
    return chosen_mixture(grid.table, criterion)


def scale_datasets(names, fitted, folder, n_images: int, images_per_face: int, seed: int, generation: dict,
                   gmm: dict | None = None, holdout: float = 0.25, workers: int = 1, scheduler=None,
                   progress: bool = True) -> dict:
    """One dataset of ``n_images`` per sampler, features only (resumable; the same scenes for
    every sampler).

    Parameters
    ----------
    names : sampler registry names (no saved GANs: their fits belong to chapter 04)
    fitted : the run's fitted set (what the fitted samplers learn from)
    folder : callable ``name -> dataset folder``
    generation : further keyword arguments of :func:`thesislib.datasets.generate` (``model``,
        ``scene_sampler``, ``mesh``, ...)
    gmm : the mixture of the ``gmm`` sampler (:func:`scale_mixture`)

    Returns
    -------
    dict name -> dataset folder (str)
    """
    from thesislib.datasets import generate

    from .design import draw_sampler

    out = {}
    faces = -(-int(n_images) // int(images_per_face))
    for name in names:
        sampler = draw_sampler(name, 0, fitted, seed, None, {"gmm": dict(gmm or {})}, holdout)
        if sampler is None:
            raise ValueError(f"sampler {name!r} needs a saved model (a GAN of chapter 04); the scale study "
                             "fits only samplers that learn in seconds")
        generate(folder(name), sampler, faces, images_per_face, seed=int(seed) + SCALE_SEED, workers=workers,
                 scheduler=scheduler, progress=progress, **{"store": "features", **generation})
        out[name] = str(folder(name))
    return out


def scale_errors(predictions: dict, tests: dict, model) -> pd.DataFrame:
    """Per-face vertex errors (mm, after rigid alignment) of every learning-curve point and of
    the model's mean face.

    Parameters
    ----------
    predictions : :func:`thesislib.studies.bprn.curve_predictions`' first result
    tests : dict name -> test set with true parameters

    Returns
    -------
    DataFrame: test_set, sampler, n_images, head ("ridge", "thesis", "bprn"), face, vertex_mm;
    the mean face as sampler "mean face", head "baseline", n_images 0
    """
    from thesislib.evaluation import mean_shape_errors

    frames = []
    for t, test in tests.items():
        zero = mean_shape_errors(np.zeros_like(test.params), test.params, model)
        frames.append(pd.DataFrame({"test_set": t, "sampler": "mean face", "n_images": 0, "head": "baseline",
                                    "face": np.arange(len(zero)), "vertex_mm": zero}))
        for (name, n, head, _), P in predictions.items():
            v = mean_shape_errors(P[t], test.params, model)
            frames.append(pd.DataFrame({"test_set": t, "sampler": name, "n_images": n, "head": head,
                                        "face": np.arange(len(v)), "vertex_mm": v}))
    return pd.concat(frames, ignore_index=True)


def _t_interval(x, level: float = 0.95) -> tuple:
    x = np.asarray(x, np.float64)
    m, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.nan
    h = float(stats.t.ppf((1 + level) / 2, len(x) - 1) * se) if len(x) > 1 else np.nan
    return m, m - h, m + h


def scale_table(errors: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean vertex error per test set, sampler, head and size, with a t interval over test faces
    (one training draw per point: the draw's own variance is not in it)."""
    rows = []
    for (t, s, h, n), g in errors.groupby(["test_set", "sampler", "head", "n_images"], sort=True):
        m, lo, hi = _t_interval(g["vertex_mm"], level)
        rows.append({"test_set": t, "sampler": s, "head": h, "n_images": int(n), "faces": len(g),
                     "vertex_mm": m, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def _paired(errors: pd.DataFrame, a: dict, b: dict, level: float) -> tuple:
    """Mean of a - b over the shared faces, a t interval, the two-sided p-value."""
    pick = lambda sel: errors.loc[np.logical_and.reduce([errors[k] == v for k, v in sel.items()])]  # noqa: E731
    ea, eb = (pick(s).set_index(["test_set", "face"])["vertex_mm"] for s in (a, b))
    d = (ea - eb).dropna().to_numpy()
    m, lo, hi = _t_interval(d, level)
    p = float(stats.ttest_1samp(d, 0.0).pvalue) if len(d) > 1 else np.nan
    return m, lo, hi, p


def sampler_order(errors: pd.DataFrame, head: str = "bprn", level: float = 0.95) -> pd.DataFrame:
    """The samplers' order at every size for one head, per test set: rank by mean error, and
    each sampler's paired difference to the best one at that size (interval over faces).

    Returns
    -------
    DataFrame: test_set, n_images, sampler, vertex_mm, rank (1 = best), minus_best, lo, hi, p
    """
    rows = []
    part = errors[errors["head"] == head]
    for (t, n), g in part.groupby(["test_set", "n_images"], sort=True):
        means = g.groupby("sampler")["vertex_mm"].mean().sort_values()
        best = means.index[0]
        for rank, (s, m) in enumerate(means.items(), 1):
            d = _paired(g, {"sampler": s}, {"sampler": best}, level) if s != best else (0.0, 0.0, 0.0, 1.0)
            rows.append({"test_set": t, "n_images": int(n), "sampler": s, "vertex_mm": float(m), "rank": rank,
                         "minus_best": d[0], "lo": d[1], "hi": d[2], "p": d[3]})
    return pd.DataFrame(rows)


def head_gaps(errors: pd.DataFrame, head: str = "thesis", reference: str = "ridge",
              level: float = 0.95) -> pd.DataFrame:
    """``head`` minus ``reference`` per test set, sampler and size: paired over the test faces
    (negative: ``head`` errs less), with the t interval and p-value.

    Returns
    -------
    DataFrame: test_set, sampler, n_images, gap_mm, lo, hi, p
    """
    rows = []
    for (t, s, n), g in errors[errors["head"].isin([head, reference])].groupby(
            ["test_set", "sampler", "n_images"], sort=True):
        if set(g["head"]) != {head, reference}:
            continue
        m, lo, hi, p = _paired(g, {"head": head}, {"head": reference}, level)
        rows.append({"test_set": t, "sampler": s, "n_images": int(n), "gap_mm": m, "lo": lo, "hi": hi, "p": p})
    return pd.DataFrame(rows)


def order_change(order: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau between the samplers' order at the smallest and at the largest size, per
    test set (1: the same order), with the best sampler at each end."""
    rows = []
    for t, g in order.groupby("test_set", sort=True):
        first, last = int(g["n_images"].min()), int(g["n_images"].max())
        a = g[g["n_images"] == first].set_index("sampler")["rank"]
        b = g[g["n_images"] == last].set_index("sampler")["rank"].reindex(a.index)
        tau = float(stats.kendalltau(a, b).statistic) if len(a) > 1 else np.nan
        rows.append({"test_set": t, "first": first, "last": last, "best_first": a.idxmin(),
                     "best_last": b.idxmin(), "kendall_tau": tau})
    return pd.DataFrame(rows)


def scale_answer(order: pd.DataFrame, gaps: pd.DataFrame, labels: dict | None = None,
                 costs: pd.DataFrame | None = None) -> str:
    """The chapter's answer to its two questions, as markdown lines (from :func:`sampler_order`
    and :func:`head_gaps`; a difference counts when its 95 % interval excludes zero). With the
    trainings' ``costs`` (:func:`thesislib.studies.bprn.curve_predictions`), a last line says at
    which sizes the networks' best epoch was their last (still improving when the cap stopped them)."""
    label = (lambda s: (labels or {}).get(s, s))
    lines = []
    for _, r in order_change(order).iterrows():
        g = order[(order["test_set"] == r["test_set"]) & (order["n_images"] == r["last"])]
        tied = g[(g["rank"] > 1) & (g["lo"] <= 0)]["sampler"].tolist()
        lines.append(
            f"- **{r['test_set']}**: best at {r['first']:,} images {label(r['best_first'])}, at {r['last']:,} "
            f"{label(r['best_last'])}; Kendall's tau between the two orders {r['kendall_tau']:.2f}"
            + (f"; at {r['last']:,}, {', '.join(map(label, tied))} not shown worse than the best" if tied
               else f"; at {r['last']:,} every other sampler is worse than the best (95 % interval over faces)"))
    for t, g in gaps.groupby("test_set", sort=True):
        parts = []
        for n, h in g.groupby("n_images", sort=True):
            better = int((h["hi"] < 0).sum())
            parts.append(f"{n:,}: {h['gap_mm'].mean():+.2f} mm ({better}/{len(h)} samplers better)")
        lines.append(f"- **{t}**, thesis head minus ridge (mean over samplers; better: interval below 0): "
                     + "; ".join(parts))
    if costs is not None and len(costs):
        nets = costs[costs["head"] != "ridge"]
        last = nets[nets["best_epoch"] >= nets["epochs"]].groupby("n_images").size()
        if len(last):
            lines.append("- still improving at their last epoch: " + "; ".join(
                f"{int(k)} of {int((nets.n_images == n).sum())} networks at {n:,} images "
                f"({int(nets[nets.n_images == n].epochs.max())} epochs)" for n, k in last.items())
                + " (a larger `epoch_images` would train them further)")
    return "\n".join(lines)
