"""Scoring chapter 05's draws: summaries, comparisons and the decomposition from per-face errors."""
import numpy as np
import pandas as pd
import pytest

from thesislib import studies


def _errors(effects: dict, draws: int = 3, faces: int = 60, draw_sd: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Per-face vertex errors: a face effect shared by every sampler, a sampler effect, draw noise."""
    rng = np.random.default_rng(seed)
    face = rng.gamma(5.0, 1.0, faces)
    rows = []
    for test_set in ("held-out", "shifted"):
        for sampler, effect in effects.items():
            n = 1 if sampler.endswith("face") else draws
            for d in range(n):
                shift = 0.0 if n == 1 else rng.normal(0, draw_sd)
                v = face + effect + shift + rng.normal(0, 0.02, faces)
                rows.append(pd.DataFrame({"test_set": test_set, "sampler": sampler,
                                          "head": "baseline" if n == 1 else "bprn", "draw": d,
                                          "face": np.arange(faces), "vertex_mm": v, "albedo": 10 + v}))
    return pd.concat(rows, ignore_index=True)


EFFECTS = {"naive_normal_1": 1.0, "fitted_mean_normal": 0.6, "fitted_normal": 0.3, "fitted_gaussian": 0.3,
           "gmm": 0.3, "model mean face": 1.5}


def test_summary_counts_draws_and_baselines_have_one():
    from thesislib.evaluation import draw_interval

    e = _errors(EFFECTS)
    g = studies.geometry_summary(e)
    row = g[(g.test_set == "held-out") & (g.sampler == "gmm")].iloc[0]
    assert (row.draws, row.faces) == (3, 60)
    arr = studies.error_arrays(e)["held-out"]["gmm"]
    ci = draw_interval(arr)
    assert row.vertex_mm == pytest.approx(ci.mean) and row.vertex_low == pytest.approx(ci.low)
    held = g[(g.test_set == "held-out") & (g["head"] == "bprn")].set_index("sampler")
    assert held.loc["naive_normal_1", "rank_low"] > held.loc["gmm", "rank_high"]  # 0.7 mm apart: ranks apart
    base = g[g.sampler == "model mean face"].iloc[0]
    assert base.draws == 1 and base["head"] == "baseline"
    assert list(g.test_set.unique()) == ["held-out", "shifted"]
    assert g[g.test_set == "held-out"].vertex_mm.is_monotonic_increasing


def test_comparisons_and_answer_find_the_real_differences():
    e = _errors(EFFECTS)
    pairs = studies.comparisons(e)
    assert set(pairs.metric) == {"vertex_mm", "albedo"}
    one = pairs[(pairs.test_set == "held-out") & (pairs.metric == "vertex_mm")]
    k = len(EFFECTS)
    assert len(one) == k * (k - 1) // 2
    big = one[(one.sampler_a == "naive_normal_1") & (one.sampler_b == "gmm")].iloc[0]
    assert big["mean"] == pytest.approx(0.7, abs=0.1) and big.p_adjusted < 0.05
    same = one[(one.sampler_a == "fitted_normal") & (one.sampler_b == "gmm")].iloc[0]
    assert same.low < 0 < same.high
    text = studies.study_answer(studies.geometry_summary(e), pairs)
    assert "**held-out** (3 draws x 60 faces)" in text and "`naive_normal_1`" in text
    # as the report renders it: every test set opens its own paragraph, none is glued to a list item
    import mistune

    html = mistune.html(text)
    assert html.count("<p><strong>") == 2 and "<li>" in html and "<strong>shifted" not in html.split("<p>")[1]


def test_decomposition_splits_the_gain_into_steps():
    dec = studies.decomposition(_errors(EFFECTS))
    held = dec[dec.test_set == "held-out"].set_index("step")
    assert list(held.index) == ["mean", "scale", "covariance", "structure (GMM)"]  # no copula, no GAN here
    assert held.loc["mean", "gain"] == pytest.approx(0.4, abs=0.08)
    assert held.loc["scale", "gain"] == pytest.approx(0.3, abs=0.08)
    assert held.loc["covariance", "low"] < 0 < held.loc["covariance", "high"]
    # the steps add up to the whole gain of the GMM over N(0, 1)
    total = held.gain.sum()
    arr = studies.error_arrays(_errors(EFFECTS))["held-out"]
    assert total == pytest.approx(arr["naive_normal_1"].mean() - arr["gmm"].mean())


def test_sampler_errors_reads_the_geometry_table():
    g = studies.geometry_summary(_errors(EFFECTS))
    s = studies.sampler_errors(g)
    assert "model mean face" not in s.index and s.idxmin() in {"fitted_normal", "fitted_gaussian", "gmm"}
    assert s.name == "vertex error (mm), held-out"
