"""Tables of the calibrated judge: per-model summaries with intervals, the judge checked against
geometry on synthetic truth, and the verdict on photos.

All take the long table of :func:`thesislib.evaluation.judges.judge_scores` (several test sets,
judges and renderings may be concatenated).

* :func:`judge_summary` -- per model: mean raw score, mean gain over the mean face and the
  calibrated score of the means ``mean(s - m) / mean(o - m)``, each with an interval counting
  draws and faces (:func:`thesislib.evaluation.draw_interval`). The calibrated interval is the
  gain's divided by the mean gap ``mean(o - m)``, which every model on the test set shares.
  (The mean of the per-image ratios is not used: on an image where the oracle barely beats the
  mean face its ratio explodes.)
* :func:`judge_validation` -- does the judge agree with geometry? (``data/05_judges.csv``)
* :func:`photo_summary`, :func:`photo_verdict` -- photos, where there is no oracle.

Second judges tried (2026-12-04, the setting of :mod:`thesislib.evaluation.judges`' measurements,
posed renders; score = minus the mean landmark distance between input and render after a 2D
similarity alignment, over the outer-eye distance):

* dlib's 51 inner landmarks: the truth beats the mean face on 86 % of images (d = 0.96),
  Spearman per image 0.46, Kendall tau 0.79 [0.64, 0.86];
* MediaPipe's 468 face-mesh points: 84 % (d = 0.89), 0.60, tau 0.50 [0.36, 0.57]: it ranks the
  ridge head on face-mesh features (4.7 mm) above noisy truth at 1.6 mm -- it rewards the
  default stem's own features;
* the residual of the pose fit (face mesh against the predicted mesh's vertices): the mean face
  fits better than the truth (on 84 % of images), as dlib's 68 points against the model's did.

None is better than the descriptor judge (posed: 0.80, tau 0.93 [0.86, 1.00], d = 2.3) on any of
these, so the descriptor stays the only judge, and the only one on photos.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .intervals import draw_interval

#: Columns of :func:`judge_validation` (and of ``data/05_judges.csv``).
VALIDATION_COLUMNS = ["test_set", "judge", "rendering", "spearman_per_image", "kendall_tau", "tau_low", "tau_high",
                      "oracle", "mean_face"]
_GROUP = ["test_set", "judge", "rendering"]


def _matrix(frame: pd.DataFrame, column: str) -> np.ndarray:
    """(draws, faces) array of one model's ``column`` (faces in index order)."""
    return frame.pivot_table(index="draw", columns="face", values=column, aggfunc="first", dropna=False).to_numpy()


def _interval(x: np.ndarray, fixed: bool, level: float) -> tuple[float, float]:
    """draw_interval's (low, high), NaN where it cannot count draws (one draw of a sampler)."""
    if not fixed and len(x) < 2:
        return np.nan, np.nan
    iv = draw_interval(x, level, fixed=fixed)
    return iv.low, iv.high


def judge_summary(scores: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per test set, judge, rendering and model: raw score, gain and calibrated score with intervals.

    Parameters
    ----------
    scores : :func:`thesislib.evaluation.judges.judge_scores` rows
    level : interval level

    Returns
    -------
    DataFrame, one row per (test_set, judge, rendering, sampler), in input order: fixed, draws,
    faces, score, gain, gain_low, gain_high, calibrated, calibrated_low, calibrated_high (NaN
    without oracle), oracle, mean_face (mean reference scores on the same faces), vertex_mm
    (mean vertex error; NaN without truth). Intervals are NaN for a sampler with one draw.
    """
    rows = []
    for key, f in scores.groupby(_GROUP + ["sampler"], sort=False):
        fixed = bool(f["fixed"].iloc[0])
        gain = _matrix(f, "gain")
        ref = f.drop_duplicates("face")
        gap = float((ref["oracle"] - ref["mean_face"]).mean())
        lo, hi = _interval(gain, fixed, level)
        g = float(np.nanmean(gain))
        rows.append(dict(zip(_GROUP + ["sampler"], key), fixed=fixed, draws=gain.shape[0], faces=gain.shape[1],
                         score=float(f["score"].mean()), gain=g, gain_low=lo, gain_high=hi,
                         calibrated=g / gap, calibrated_low=lo / gap, calibrated_high=hi / gap,
                         oracle=float(ref["oracle"].mean()), mean_face=float(ref["mean_face"].mean()),
                         vertex_mm=float(f["vertex_mm"].mean())))
    return pd.DataFrame(rows)


def _spearman_per_image(f: pd.DataFrame) -> float:
    """Mean over faces of the Spearman correlation, across a face's predictions, between the
    score and minus the vertex error (ties get average ranks, as scipy's spearmanr)."""
    r = f[["face"]].copy()
    r["a"] = f.groupby("face")["score"].rank()
    r["b"] = (-f["vertex_mm"]).groupby(f["face"]).rank()
    rho = []
    for _, g in r.groupby("face"):
        a, b = g["a"].to_numpy() - g["a"].mean(), g["b"].to_numpy() - g["b"].mean()
        den = np.sqrt((a * a).sum() * (b * b).sum())
        if len(g) >= 3 and den > 0:
            rho.append(float((a * b).sum() / den))
    return float(np.mean(rho)) if rho else np.nan


def _kendall(s: np.ndarray, v: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(s, -v).statistic) if len(s) >= 2 else np.nan


def judge_validation(scores: pd.DataFrame, n_boot: int = 1000, level: float = 0.95,
                     rng: np.random.Generator | None = None, baselines: bool = False) -> pd.DataFrame:
    """How far a judge agrees with geometry, on test sets with known truth.

    Parameters
    ----------
    scores : :func:`thesislib.evaluation.judges.judge_scores` rows with ``vertex_mm``
        (synthetic test sets); groups without truth are left out
    n_boot : bootstrap resamples of the faces for the Kendall interval
    level : interval level
    rng : numpy Generator for the bootstrap (None: ``default_rng(0)``)
    baselines : also count the fixed baselines (``fixed`` rows: mean faces, ...) in both
        correlations; by default only the samplers' models are (a mean face, ranked last by
        judge and geometry alike, would make any judge look better)

    Returns
    -------
    DataFrame with :data:`VALIDATION_COLUMNS`, one row per (test_set, judge, rendering):

    * ``spearman_per_image`` -- per image, Spearman's rho across every scored prediction of
      that image (all samplers' models and draws) between the judge's score and minus the vertex error
      (+1: the judge orders an image's reconstructions as geometry does), averaged over images;
    * ``kendall_tau`` -- Kendall's tau-b between the models' order by mean score and by mean
      vertex error (+1: the same ranking), ``tau_low``/``tau_high`` its percentile bootstrap
      interval over faces (faces resampled with replacement, models' means recomputed);
    * ``oracle``, ``mean_face`` -- the judge's mean raw score of the true faces' and the mean
      face's renders (how far apart the judge puts the truth and knowing nothing).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    rows = []
    for key, everything in scores.groupby(_GROUP, sort=False):
        if not everything["vertex_mm"].notna().all():
            continue
        f = everything if baselines else everything[~everything["fixed"].astype(bool)]
        per_face = f.groupby(["sampler", "face"], sort=False)[["score", "vertex_mm"]].mean()
        S = per_face["score"].unstack("face").to_numpy()
        V = per_face["vertex_mm"].unstack("face").to_numpy()
        tau = _kendall(np.nanmean(S, 1), np.nanmean(V, 1))
        boot = np.empty(n_boot)
        for b in range(n_boot):
            cols = rng.integers(0, S.shape[1], S.shape[1])
            boot[b] = _kendall(np.nanmean(S[:, cols], 1), np.nanmean(V[:, cols], 1))
        a = (1 - level) / 2
        lo, hi = (np.nanquantile(boot, [a, 1 - a]) if np.isfinite(boot).any() else (np.nan, np.nan))
        ref = everything.drop_duplicates("face")
        rows.append(dict(zip(_GROUP, key), spearman_per_image=_spearman_per_image(f), kendall_tau=tau,
                         tau_low=float(lo), tau_high=float(hi), oracle=float(ref["oracle"].mean()),
                         mean_face=float(ref["mean_face"].mean())))
    return pd.DataFrame(rows, columns=VALIDATION_COLUMNS)


def photo_summary(scores: pd.DataFrame, synthetic: pd.DataFrame | None = None, level: float = 0.95,
                  min_faces: int = 5) -> pd.DataFrame:
    """Each model's gain over the mean face on photos (no oracle there).

    Parameters
    ----------
    scores : :func:`thesislib.evaluation.judges.judge_scores` rows of a photo test set
    synthetic : optional :func:`judge_scores` rows of a synthetic test set (same judge and
        rendering): its mean gap ``mean(oracle - mean_face)`` scales the photo gains, so that 1
        reads "as far above the mean face as the truth is on synthetic faces" (a yardstick
        borrowed from renders, not a calibration of the photos)
    level : interval level
    min_faces : fewer photos than this give no interval

    Returns
    -------
    DataFrame per (test_set, judge, rendering, sampler), sorted by gain within each group:
    fixed, draws, faces, score, mean_face, gain, gain_low, gain_high, scaled, scaled_low,
    scaled_high (NaN without ``synthetic``), beats_mean_face ("yes": interval above 0, "no":
    interval below or at 0 or the mean gain <= 0, "undecided": interval straddles 0 or none,
    "reference": the mean face itself, gain 0 on every photo)
    """
    gaps = {}
    if synthetic is not None:
        ref = synthetic.drop_duplicates(["test_set", "judge", "rendering", "face"])
        gaps = (ref["oracle"] - ref["mean_face"]).groupby([ref["judge"], ref["rendering"]]).mean().to_dict()
    rows = []
    for key, f in scores.groupby(_GROUP + ["sampler"], sort=False):
        fixed = bool(f["fixed"].iloc[0])
        gain = _matrix(f, "gain")
        lo, hi = _interval(gain, fixed, level) if gain.shape[1] >= min_faces else (np.nan, np.nan)
        g = float(np.nanmean(gain))
        gap = gaps.get((key[1], key[2]), np.nan)
        verdict = ("reference" if fixed and np.all(gain == 0) else "yes" if lo > 0
                   else "no" if (hi <= 0 or g <= 0) else "undecided")
        rows.append(dict(zip(_GROUP + ["sampler"], key), fixed=fixed, draws=gain.shape[0], faces=gain.shape[1],
                         score=float(f["score"].mean()), mean_face=float(f.drop_duplicates("face")["mean_face"].mean()),
                         gain=g, gain_low=lo, gain_high=hi, scaled=g / gap, scaled_low=lo / gap, scaled_high=hi / gap,
                         beats_mean_face=verdict))
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(_GROUP + ["gain"], ascending=[True, True, True, False], kind="stable").reset_index(drop=True)


def photo_verdict(summary: pd.DataFrame, rendering: str | None = None) -> str:
    """Plain sentences, one per photo test set: does any model beat the mean face there?

    ``summary``: :func:`photo_summary`; one rendering is judged (``rendering`` or the first
    in the table). A model beats the mean face when its gain's interval lies above 0; with
    fewer photos than an interval needs, no model is shown to.
    """
    if summary.empty:
        return "No photos were scored."
    rendering = summary["rendering"].iloc[0] if rendering is None else rendering
    lines = []
    for test_set, s in summary[summary["rendering"] == rendering].groupby("test_set", sort=False):
        lines.append(f"{test_set}: {_verdict(s, rendering)}")
    return "\n".join(lines) if lines else f"No {rendering} photo scores."


def _verdict(s: pd.DataFrame, rendering: str) -> str:
    s = s[s["gain"].notna() & (s["beats_mean_face"] != "reference")].sort_values("gain", ascending=False)
    if s.empty:
        return "no scores."
    n, best = int(s["faces"].max()), s.iloc[0]
    winners = s[s["beats_mean_face"] == "yes"]
    where = f"on {n} photo{'s' if n != 1 else ''} ({rendering} renders)"
    if len(winners):
        w = winners.iloc[0]
        return (f"{len(winners)} model{'s' if len(winners) != 1 else ''} beat{'s' if len(winners) == 1 else ''} the "
                f"mean face {where}: best {w['sampler']}, gain {w['gain']:+.4f} [{w['gain_low']:+.4f}, "
                f"{w['gain_high']:+.4f}] in cosine similarity.")
    if s["gain_low"].notna().any():
        return (f"no model beats the mean face {where}: the best, {best['sampler']}, gains {best['gain']:+.4f} "
                f"[{best['gain_low']:+.4f}, {best['gain_high']:+.4f}] in cosine similarity.")
    return (f"no model is shown to beat the mean face {where}: too few photos for an interval; the best, "
            f"{best['sampler']}, gains {best['gain']:+.4f} in cosine similarity"
            f"{', and no model scores above the mean face' if best['gain'] <= 0 else ''}.")
