"""Scoring chapter 05's replicated draws: per-face errors, intervals, comparisons, the decomposition.

Every BPRN of :func:`thesislib.studies.design.train_draws` and the ridge head of its dataset
predict every synthetic test set; the baselines' predictions stand beside them. The per-face
errors (one row per test set, sampler, head, draw and face) are the data of every table of the
chapter, so intervals and comparisons count training draws and test faces
(:func:`thesislib.evaluation.draw_interval`, :func:`thesislib.evaluation.paired_difference`)
instead of treating faces x draws as independent rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The steps from N(0, 1) to a learned sampler: each adds one thing the fitted set teaches
#: (step name, from sampler, to sampler). The gain of a step is error(from) - error(to).
STEPS = (("mean", "naive_normal_1", "fitted_mean_normal"),
         ("scale", "fitted_mean_normal", "fitted_normal"),
         ("covariance", "fitted_normal", "fitted_gaussian"),
         ("structure (GMM)", "fitted_gaussian", "gmm"),
         ("structure (copula)", "fitted_gaussian", "copula"),
         ("structure (CVGAN2)", "fitted_gaussian", "cvgan2"),
         ("structure (CVGAN1)", "fitted_gaussian", "cvgan1"))
METRICS = {"vertex_mm": "vertex error (mm)", "albedo": "albedo error (RGB 0-255)"}


#: Models whose errors :func:`score_draws` computes together (one truth render per chunk).
ERROR_CHUNK = 12


@dataclass(frozen=True)
class DrawScores:
    """Per-face errors of every model and baseline on every test set.

    Attributes
    ----------
    errors : DataFrame, one row per (test_set, sampler, head, draw, face): vertex_mm (mean
        per-vertex error after rigid alignment) and albedo; head is "bprn", "ridge" or "baseline"
    predictions : dict (test_set, sampler, head) -> (draws, faces, n_params) predictions in sd
    """

    errors: pd.DataFrame
    predictions: dict


def score_draws(sweep: pd.DataFrame, tests: dict, baselines: dict, model, stem: str, weights_path=None,
                n_jobs: int = 1, progress: bool = True) -> DrawScores:
    """Every BPRN of ``sweep``, the ridge head of its dataset and the baselines on every test set.

    Each ridge head is its BPRN's linear path, or the file that
    :func:`thesislib.studies.design.train_draws` saved where the BPRN has none (``sweep["ridge"]``);
    none with the trainable stem.

    Parameters
    ----------
    sweep : :func:`thesislib.studies.design.train_draws`
    tests : dict name -> TestSet with true parameters
    baselines : :func:`thesislib.studies.design.baseline_predictions`
    model : the truncated MorphableModel of the test sets
    stem : the BPRNs' frozen stem (its features of the test crops are computed once per set)
    """
    from tqdm.auto import tqdm

    from thesislib.bprn import BPRN, RidgeHead
    from thesislib.evaluation import mean_errors, test_features

    rows, preds = [], {}
    nets = {(r.sampler, r.draw): BPRN.load(r.path) for r in sweep.itertuples()}
    ridges = {}
    for r in sweep.itertuples():  # the saved file, else the BPRN's linear path (None: no ridge head)
        k = (r.sampler, r.draw)
        head = RidgeHead.load(r.ridge) if isinstance(r.ridge, str) else RidgeHead.from_network(nets[k].network_)
        if head is not None:
            ridges[k] = head
    bar = tqdm(total=len(tests) * (len(nets) + len(ridges) + len(next(iter(baselines.values()), {}))), disable=not progress,
               desc="scoring draws", unit="model")
    for name, test in tests.items():
        T = test_features(test, stem, n_jobs, weights_path, progress=False)
        faces = np.arange(len(test))
        keys = []
        for head, models in (("bprn", nets), ("ridge", ridges)):
            for (sampler, draw), m in models.items():
                preds.setdefault((name, sampler, head), {})[draw] = m.predict(T)
                keys.append((sampler, head, draw))
        for sampler, P in baselines[name].items():
            preds[(name, sampler, "baseline")] = {0: P}
            keys.append((sampler, "baseline", 0))
        # the truth's vertices and colours once per chunk of models (mean_errors), not per model
        for a in range(0, len(keys), ERROR_CHUNK):
            part = keys[a:a + ERROR_CHUNK]
            errors = mean_errors([preds[(name, s, h)][d] for s, h, d in part], test.params, model)
            for (sampler, head, draw), (v, alb) in zip(part, errors):
                rows.append(pd.DataFrame({"test_set": name, "sampler": sampler, "head": head, "draw": draw,
                                          "face": faces, "vertex_mm": v, "albedo": alb}))
            bar.update(len(part))
    bar.close()
    stacked = {k: np.stack([v[d] for d in sorted(v)]) for k, v in preds.items()}
    return DrawScores(pd.concat(rows, ignore_index=True), stacked)


def error_arrays(errors: pd.DataFrame, head: str = "bprn", metric: str = "vertex_mm",
                 baselines: bool = True) -> dict:
    """``{test_set: {sampler: (draws, faces) array}}`` of one head's errors (and the baselines',
    as (1, faces) arrays, when ``baselines``): the input of :func:`thesislib.evaluation.pairwise_comparisons`."""
    keep = errors["head"].isin([head, "baseline"] if baselines else [head])
    out = {}
    for (test_set, sampler), g in errors[keep].groupby(["test_set", "sampler"], sort=False):
        out.setdefault(test_set, {})[sampler] = g.pivot(index="draw", columns="face", values=metric).to_numpy()
    return out


def baseline_names(errors: pd.DataFrame) -> list:
    """The samplers of ``errors`` that are baselines (one fixed prediction, no draws)."""
    return list(dict.fromkeys(errors.loc[errors["head"] == "baseline", "sampler"]))


def geometry_summary(errors: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean error with an interval that counts draws and faces, per test set, sampler and head.

    Returns
    -------
    DataFrame: test_set, sampler, head, draws, faces, vertex_mm, vertex_low, vertex_high,
    albedo, albedo_low, albedo_high, and for the BPRNs and baselines rank, rank_low, rank_high
    (rank by vertex error among them, with simultaneous bounds from the Holm-adjusted pairwise
    comparisons, :func:`thesislib.evaluation.sampler_intervals`); sorted by test set, then vertex
    error (:func:`thesislib.evaluation.draw_interval`; a baseline is one fixed prediction, so its
    interval counts faces only)
    """
    from thesislib.evaluation import draw_interval, sampler_intervals

    rows = []
    for (test_set, sampler, head), g in errors.groupby(["test_set", "sampler", "head"], sort=False):
        row = {"test_set": test_set, "sampler": sampler, "head": head, "draws": g["draw"].nunique(),
               "faces": g["face"].nunique()}
        for metric, short in (("vertex_mm", "vertex"), ("albedo", "albedo")):
            E = g.pivot(index="draw", columns="face", values=metric).to_numpy()
            ci = draw_interval(E, level, fixed=(head == "baseline" or len(E) == 1))
            row.update({f"{short}_mm" if short == "vertex" else short: ci.mean, f"{short}_low": ci.low,
                        f"{short}_high": ci.high})
        rows.append(row)
    df = pd.DataFrame(rows)
    ranks = sampler_intervals(error_arrays(errors, "bprn"), "vertex_mm", level, fixed=baseline_names(errors))
    ranks = ranks[["test_set", "sampler", "rank", "rank_low", "rank_high"]].assign(head=lambda r: np.where(
        r["sampler"].isin(baseline_names(errors)), "baseline", "bprn"))
    df = df.merge(ranks, on=["test_set", "sampler", "head"], how="left")
    order = list(dict.fromkeys(errors["test_set"]))
    df["_t"] = df["test_set"].map(order.index)
    return df.sort_values(["_t", "vertex_mm"], kind="stable").drop(columns="_t").reset_index(drop=True)


def sampler_errors(summary: pd.DataFrame, test_set: str = "held-out", head: str = "bprn") -> pd.Series:
    """Mean vertex error per sampler on one test set (:func:`geometry_summary`, or chapter 05's
    ``05_geometry.csv``), named ``"vertex error (mm), <test_set>"``."""
    part = summary[(summary["test_set"] == test_set) & (summary["head"] == head)]
    return part.set_index("sampler")["vertex_mm"].rename(f"vertex error (mm), {test_set}")


def comparisons(errors: pd.DataFrame, head: str = "bprn", level: float = 0.95) -> pd.DataFrame:
    """Every pair of samplers and baselines on every test set, for the vertex and albedo errors,
    with Holm-adjusted p-values (:func:`thesislib.evaluation.pairwise_comparisons`; one family
    per test set and metric). The rows of ``data/05_comparisons.csv``."""
    from thesislib.evaluation import pairwise_comparisons

    fixed = baseline_names(errors)
    return pd.concat([pairwise_comparisons(error_arrays(errors, head, m), m, level, fixed=fixed) for m in METRICS],
                     ignore_index=True)


def decomposition(errors: pd.DataFrame, head: str = "bprn", metric: str = "vertex_mm",
                  level: float = 0.95) -> pd.DataFrame:
    """Each learned sampler's gain over N(0, 1), split into the steps of :data:`STEPS`.

    Mean, scale and covariance come from the control samplers fitted on the fitted set
    (``fitted_mean_normal``, ``fitted_normal``, ``fitted_gaussian``); what a GMM, copula or GAN
    gains beyond the full-covariance Gaussian is its structure. A step whose samplers are not
    in the study is left out.

    Returns
    -------
    DataFrame: test_set, step, from_sampler, to_sampler, gain (error(from) - error(to), in the
    metric's unit; positive: the step helps), low, high, p_value (:func:`thesislib.evaluation.paired_difference`)
    """
    from thesislib.evaluation import paired_difference

    arrays, rows = error_arrays(errors, head, metric, baselines=False), []
    for test_set, by in arrays.items():
        for step, a, b in STEPS:
            if a in by and b in by:
                d = paired_difference(by[a], by[b], level, fixed_a=len(by[a]) == 1, fixed_b=len(by[b]) == 1)
                rows.append({"test_set": test_set, "step": step, "from_sampler": a, "to_sampler": b,
                             "gain": d.mean, "low": d.low, "high": d.high, "p_value": d.p_value})
    return pd.DataFrame(rows, columns=["test_set", "step", "from_sampler", "to_sampler", "gain", "low", "high",
                                       "p_value"])


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def study_answer(summary: pd.DataFrame, pairs: pd.DataFrame, head: str = "bprn", alpha: float = 0.05) -> str:
    """The chapter's answer in a few Markdown lines per test set: the best and worst sampler,
    which pairs differ after Holm's adjustment and by how much, and where the baselines land."""
    lines = []
    base = summary[summary["head"] == "baseline"]
    for test_set, g in summary[summary["head"] == head].groupby("test_set", sort=False):
        g = g.sort_values("vertex_mm")
        best, worst = g.iloc[0], g.iloc[-1]
        b = base[base["test_set"] == test_set].set_index("sampler")["vertex_mm"]
        p = pairs[(pairs["test_set"] == test_set) & (pairs["metric"] == "vertex_mm")
                  & pairs["sampler_a"].isin(g["sampler"]) & pairs["sampler_b"].isin(g["sampler"])]
        sig = p[p["p_adjusted"] < alpha]
        if lines:  # a blank line ends the list above: the next set's paragraph is not its last item's
            lines.append("")
        lines.append(f"**{test_set}** ({int(best.draws)} draws x {int(best.faces)} faces): best "
                     f"`{best.sampler}` {_fmt(best.vertex_mm)} mm [{_fmt(best.vertex_low)}, {_fmt(best.vertex_high)}], "
                     f"worst `{worst.sampler}` {_fmt(worst.vertex_mm)} mm; "
                     f"{len(sig)} of {len(p)} sampler pairs differ (Holm, {alpha:g})"
                     + ("" if not len(b) else "; baselines " + ", ".join(f"{k} {_fmt(v)}" for k, v in b.items()))
                     + ".")
        for r in sig.reindex(sig["mean"].abs().sort_values(ascending=False).index).head(4).itertuples():
            lo, hi = (r.sampler_b, r.sampler_a) if r.mean > 0 else (r.sampler_a, r.sampler_b)
            lines.append(f"  - `{lo}` beats `{hi}` by {_fmt(abs(r.mean))} mm "
                         f"[{_fmt(min(abs(r.low), abs(r.high)))}, {_fmt(max(abs(r.low), abs(r.high)))}], "
                         f"p_adj {r.p_adjusted:.2g}")
    return "\n".join(lines)
