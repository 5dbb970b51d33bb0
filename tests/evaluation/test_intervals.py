"""Tests of thesislib.evaluation.intervals: one sampler and two samplers with replicated draws.

The coverage tests simulate whole studies from the two-way model of the module docstring,
e[s, d, f] = mu[s] + alpha[f] + beta[s, f] + delta[s, d] + eps[s, d, f], with fresh faces, draws
and noise per study, so the true difference is mu[a] - mu[b].
"""
import numpy as np
import pytest
from scipy import stats

from thesislib.evaluation import draw_interval, paired_difference

N_STUDIES = 1000


def simulate(rng, n, draws=(3, 3), faces=200, mu=(0.2, 0.0), s_face=1.0, s_beta=0.2, s_draw=0.3, s_eps=0.2):
    """``n`` simulated studies: one (n, draws, faces) error array per sampler. Defaults: the
    spread between draws (sd 0.3 mm) is far larger than the face noise of a mean over 200 faces.
    ``s_draw`` may be a pair, one per sampler (0 for a deterministic baseline)."""
    alpha = rng.normal(0, s_face, (n, 1, faces))
    out = []
    for d, m, s_draw in zip(draws, mu, np.broadcast_to(s_draw, 2)):
        beta = rng.normal(0, s_beta, (n, 1, faces))
        delta = rng.normal(0, s_draw, (n, d, 1))
        eps = rng.normal(0, s_eps, (n, d, faces))
        out.append(5.0 + m + alpha + beta + delta + eps)
    return out


def rates(a, b, true, **kw):
    """Coverage of the true difference and the share called significant (p < 0.05)."""
    res = [paired_difference(x, y, **kw) for x, y in zip(a, b)]
    covered = np.mean([r.low <= true <= r.high for r in res])
    significant = np.mean([r.p_value < 0.05 for r in res])
    return covered, significant


def percentile_bootstrap(a, b, rng, n_boot=200, level=0.95):
    """The percentile bootstrap the issue warns about: resample each sampler's draws and the
    shared faces (a hierarchical bootstrap), take the quantiles of the difference of means."""
    da, db, f = len(a), len(b), a.shape[1]
    ia, ib = rng.integers(0, da, (n_boot, da)), rng.integers(0, db, (n_boot, db))
    jf = rng.integers(0, f, (n_boot, 1, f))
    diff = (np.take_along_axis(a[ia], jf, 2).mean((1, 2)) - np.take_along_axis(b[ib], jf, 2).mean((1, 2)))
    return np.quantile(diff, [(1 - level) / 2, (1 + level) / 2])


# --------------------------------------------------------------------------- coverage (issue 21, item 6)

def test_coverage_with_three_draws_when_draws_dominate():
    """3 draws per sampler, draw spread >> face noise: the 95 % interval covers the true difference
    in >= 90 % of studies and a zero difference is called significant in <= 10 %.
    Measured (seed 0, 1000 studies): coverage 0.962, false positives 0.028 (Welch-Satterthwaite with
    3 + 3 draws of equal spread is slightly conservative)."""
    rng = np.random.default_rng(0)
    a, b = simulate(rng, N_STUDIES)
    covered, _ = rates(a, b, 0.2)
    a, b = simulate(rng, N_STUDIES, mu=(0.0, 0.0))
    _, false_positive = rates(a, b, 0.0)
    assert covered >= 0.90 and false_positive <= 0.10, (covered, false_positive)
    assert covered <= 0.995  # an honest interval, not an infinitely wide one


def test_percentile_bootstrap_over_three_draws_falls_short():
    """The issue's claim, measured: a (hierarchical) percentile bootstrap over 3 draws covers the
    true difference in about 0.82 of studies and calls a zero difference significant in about 20 %
    (seed 0, 400 studies: 0.82 and 0.22; 1000 studies of another seed: 0.82 and 0.19);
    paired_difference on the same studies: 0.96 and 0.045. For scale: a t interval over the
    3 x 200 cells as independent rows (pseudo-replication) covers in 0.15."""
    rng = np.random.default_rng(0)
    a, b = simulate(rng, 400)
    a0, b0 = simulate(rng, 400, mu=(0.0, 0.0))
    boot = [percentile_bootstrap(x, y, rng) for x, y in zip(a, b)]
    boot0 = [percentile_bootstrap(x, y, rng) for x, y in zip(a0, b0)]
    covered = np.mean([lo <= 0.2 <= hi for lo, hi in boot])
    false_positive = np.mean([not lo <= 0 <= hi for lo, hi in boot0])
    assert covered < 0.88 and false_positive > 0.12, (covered, false_positive)
    ours = rates(a, b, 0.2)[0], rates(a0, b0, 0.0)[1]
    assert ours[0] >= 0.9 and ours[1] <= 0.1, ours


@pytest.mark.parametrize("regime", [
    dict(s_draw=0.005, s_beta=0.5, s_eps=0.5),  # faces dominate, draws barely matter
    dict(s_draw=0.0, s_beta=0.0, s_eps=0.5),    # no draw effect at all, no shared face structure
    dict(s_draw=0.03, s_beta=0.3, s_eps=0.3),   # draws and faces comparable
    dict(draws=(3, 5)),                         # unequal draws
    dict(draws=(2, 2)),                         # the fewest draws that allow an estimate
    dict(s_draw=(0.3, 0.03)),                   # one sampler's draws dominate the variance
])
def test_coverage_in_other_regimes(regime):
    """Measured (seed 1, 800 + 800 studies per regime), coverage / false positives: faces dominate
    0.954 / 0.039, no draw effect 0.985 / 0.020, comparable 0.951 / 0.043, 3 vs 5 draws 0.946 / 0.056,
    2 + 2 draws 0.956 / 0.029, one sampler's draws dominate 0.94 / 0.055 (0.93 / 0.07 in 2000 studies
    of another seed: Welch-Satterthwaite is slightly liberal when one low-df term carries the variance)."""
    rng = np.random.default_rng(1)
    a, b = simulate(rng, 800, **regime)
    a0, b0 = simulate(rng, 800, **{**regime, "mu": (0.0, 0.0)})
    covered, false_positive = rates(a, b, 0.2)[0], rates(a0, b0, 0.0)[1]
    assert covered >= 0.90 and false_positive <= 0.10, (covered, false_positive)


def test_face_dominated_interval_is_as_narrow_as_a_paired_t_test():
    """Draws that do not differ cost nothing: the interval is close to a paired t test over faces
    of the per-face means."""
    rng = np.random.default_rng(2)
    a, b = simulate(rng, 1, s_draw=0.0, s_beta=0.5, s_eps=0.05)
    r = paired_difference(a[0], b[0])
    t = stats.ttest_rel(a[0].mean(0), b[0].mean(0))
    ci = t.confidence_interval(0.95)
    assert r.high - r.low == pytest.approx(ci.high - ci.low, rel=0.05)
    assert r.p_value == pytest.approx(t.pvalue, rel=0.2, abs=1e-6)


def test_coverage_against_a_fixed_baseline():
    """A sampler with 3 draws against a deterministic baseline (one fixed prediction: no draw
    effect). Measured: coverage 0.938, false positives 0.054."""
    rng = np.random.default_rng(3)
    a, b = simulate(rng, 500, draws=(3, 1), s_draw=(0.3, 0.0))
    covered, _ = rates(a, b, 0.2, fixed_b=True)
    a0, b0 = simulate(rng, 500, draws=(3, 1), s_draw=(0.3, 0.0), mu=(0.0, 0.0))
    _, false_positive = rates(a0, b0, 0.0, fixed_b=True)
    assert covered >= 0.9 and false_positive <= 0.1, (covered, false_positive)


def test_draw_interval_covers_the_sampler_mean():
    """One sampler: the interval counts the face effect too (it does not cancel). Measured: 0.928
    here, 0.927-0.942 in 3000 studies of several regimes (Satterthwaite df is slightly liberal when
    the draw term dominates)."""
    rng = np.random.default_rng(4)
    a, _ = simulate(rng, 500, s_face=0.2)
    covered = np.mean([(r := draw_interval(x)).low <= 5.2 <= r.high for x in a])
    assert 0.9 <= covered <= 0.995, covered


# --------------------------------------------------------------------------- exact special cases

def test_special_cases_are_the_textbook_tests():
    rng = np.random.default_rng(5)
    # rows constant over faces (no face variation): Welch's t test on the draw means
    ra, rb = rng.normal(1.0, 0.3, 4), rng.normal(0.5, 0.1, 3)
    r = paired_difference(np.repeat(ra[:, None], 10, 1), np.repeat(rb[:, None], 10, 1))
    w = stats.ttest_ind(ra, rb, equal_var=False)
    assert r.p_value == pytest.approx(w.pvalue) and r.df == pytest.approx(w.df)
    # two fixed baselines: the paired t test over faces
    fa, fb = rng.normal(2, 1, 30), rng.normal(2.3, 1, 30)
    r = paired_difference(fa[None], fb, fixed_a=True, fixed_b=True)
    t = stats.ttest_rel(fa, fb)
    ci = t.confidence_interval(0.9)
    r90 = paired_difference(fa, fb, 0.9, fixed_a=True, fixed_b=True)
    assert r.p_value == pytest.approx(t.pvalue) and r.df == 29 and r.draw_var_a == r.draw_var_b == 0
    assert (r90.low, r90.high) == pytest.approx((ci.low, ci.high))
    # a fixed sampler alone: the one-sample t interval over faces
    d = draw_interval(fa, fixed=True)
    ci = stats.ttest_1samp(fa, 0).confidence_interval(0.95)
    assert (d.low, d.high) == pytest.approx((ci.low, ci.high)) and d.n_draws == 1
    # identical samplers: no difference, p = 1
    x = rng.normal(size=(3, 20))
    r = paired_difference(x, x.copy())
    assert r.mean == 0 and r.p_value == pytest.approx(1.0)


def test_results_do_not_depend_on_rng_and_fields_are_consistent():
    rng = np.random.default_rng(6)
    a, b = simulate(rng, 1, draws=(3, 4), faces=50)
    r1 = paired_difference(a[0], b[0], rng=np.random.default_rng(1))
    r2 = paired_difference(a[0], b[0], rng=np.random.default_rng(2))
    assert r1 == r2
    assert (r1.n_draws_a, r1.n_draws_b, r1.n_faces, r1.n_faces_dropped) == (3, 4, 50, 0)
    assert r1.se ** 2 == pytest.approx(r1.draw_var_a + r1.draw_var_b + r1.face_var)
    assert r1.low < r1.mean < r1.high and r1.mean == pytest.approx(a[0].mean() - b[0].mean())
    flipped = paired_difference(b[0], a[0])
    assert flipped.mean == pytest.approx(-r1.mean) and flipped.p_value == pytest.approx(r1.p_value)
    with pytest.raises(AttributeError):
        r1.mean = 0  # frozen


def test_a_single_draw_is_refused_unless_declared_fixed():
    x, y = np.ones((1, 5)), np.random.default_rng(0).normal(size=(3, 5))
    with pytest.raises(ValueError, match="single draw"):
        paired_difference(x, y)
    with pytest.raises(ValueError, match="single draw"):
        draw_interval(x)
    assert paired_difference(x, y, fixed_a=True).draw_var_a == 0
    with pytest.raises(ValueError, match="rows differ"):
        paired_difference(y, x, fixed_a=True)
    with pytest.raises(ValueError, match="same faces"):
        paired_difference(y, np.ones((3, 4)))
    with pytest.raises(ValueError, match="level"):
        paired_difference(y, y, level=95)


def test_missing_predictions_drop_the_face_from_both_samplers():
    rng = np.random.default_rng(7)
    a, b = simulate(rng, 1, faces=40)
    a, b = a[0], b[0]
    a_nan, b_nan = a.copy(), b.copy()
    a_nan[1, 3] = np.nan
    b_nan[0, [3, 10]] = np.nan
    b_nan = np.vstack([b_nan, np.full((1, 40), np.nan)])  # a draw with no prediction at all
    keep = np.setdiff1d(np.arange(40), [3, 10])
    r = paired_difference(a_nan, b_nan)
    ref = paired_difference(a[:, keep], b[:, keep])
    assert (r.mean, r.low, r.high, r.p_value) == pytest.approx((ref.mean, ref.low, ref.high, ref.p_value))
    assert (r.n_faces, r.n_faces_dropped, r.n_draws_b) == (38, 2, 3)
    d = draw_interval(a_nan)
    assert d.n_faces_dropped == 1 and d.mean == pytest.approx(np.delete(a, 3, 1).mean())
    with pytest.raises(ValueError, match="face"):
        paired_difference(np.where(np.eye(3, 4, dtype=bool), np.nan, 1.0) + [[0, 0, 0, np.nan]], np.ones((3, 4)))


# --------------------------------------------------------------------------- families
