"""Chapter 07's study: tables, the order of the samplers and the head gaps, checked against scipy."""
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from thesislib import bprn as B
from thesislib import studies


def _errors(seed=0, faces=30):
    """Per-face errors of three samplers x two heads x two sizes on two test sets; sampler "b"
    is 0.5 mm better than "a" at 1000 images and 0.5 mm worse at 100 (the order flips)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in ("held-out", "shifted"):
        face = rng.normal(4.0, 0.5, faces)
        rows += [dict(test_set=t, sampler="mean face", n_images=0, head="baseline", face=i, vertex_mm=f + 1.5)
                 for i, f in enumerate(face)]
        for n in (100, 1000):
            for s, shift in (("a", 0.0), ("b", 0.5 if n == 100 else -0.5), ("c", 1.0)):
                for h, extra in (("ridge", 0.0), ("thesis", 0.3 if n == 100 else -0.2), ("bprn", 0.0)):
                    e = face + shift + extra + rng.normal(0, 0.05, faces)
                    rows += [dict(test_set=t, sampler=s, n_images=n, head=h, face=i, vertex_mm=v)
                             for i, v in enumerate(e)]
    return pd.DataFrame(rows)


def test_scale_table_is_a_t_interval_over_faces():
    err = _errors()
    table = studies.scale_table(err)
    row = table[(table.test_set == "held-out") & (table.sampler == "b") & (table["head"] == "thesis")
                & (table.n_images == 1000)].iloc[0]
    x = err[(err.test_set == "held-out") & (err.sampler == "b") & (err["head"] == "thesis") & (err.n_images == 1000)]
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.vertex_mm.mean(), scale=stats.sem(x.vertex_mm))
    assert row.faces == 30 and row.vertex_mm == pytest.approx(x.vertex_mm.mean())
    assert (row.lo, row.hi) == pytest.approx((lo, hi))


def test_sampler_order_and_its_change():
    err = _errors()
    order = studies.sampler_order(err, "bprn")
    first = order[(order.test_set == "held-out") & (order.n_images == 100)].set_index("sampler")
    last = order[(order.test_set == "held-out") & (order.n_images == 1000)].set_index("sampler")
    assert first["rank"].to_dict() == {"a": 1, "b": 2, "c": 3}
    assert last["rank"].to_dict() == {"b": 1, "a": 2, "c": 3}
    # a - b, paired over the same faces: scipy's one-sample t test of the differences
    pick = lambda s: err[(err.test_set == "held-out") & (err.n_images == 1000) & (err["head"] == "bprn")  # noqa: E731
                         & (err.sampler == s)].sort_values("face").vertex_mm.to_numpy()
    d = pick("a") - pick("b")
    assert last.loc["a", "minus_best"] == pytest.approx(d.mean())
    assert last.loc["a", "p"] == pytest.approx(stats.ttest_1samp(d, 0).pvalue)
    assert last.loc["a", "lo"] > 0  # 0.5 mm with 0.07 mm noise: shown worse than the best
    change = studies.order_change(order).set_index("test_set")
    assert change.loc["held-out", "kendall_tau"] == pytest.approx(stats.kendalltau([1, 2, 3], [2, 1, 3]).statistic)
    assert (change.loc["held-out", "best_first"], change.loc["held-out", "best_last"]) == ("a", "b")


def test_head_gaps_and_answer():
    err = _errors()
    gaps = studies.head_gaps(err, "thesis", "ridge")
    assert len(gaps) == 2 * 3 * 2  # test sets x samplers x sizes; the baseline has no heads
    small, large = gaps[gaps.n_images == 100], gaps[gaps.n_images == 1000]
    assert (small.lo > 0).all() and (large.hi < 0).all()
    assert small.gap_mm.mean() == pytest.approx(0.3, abs=0.03) and large.gap_mm.mean() == pytest.approx(-0.2, abs=0.03)
    text = studies.scale_answer(studies.sampler_order(err, "bprn"), gaps, {"a": "A", "b": "B"})
    assert "best at 100 images A, at 1,000 B" in text
    assert re.search(r"1,000: -0\.(19|2|18)\d? mm \(3/3 samplers better\)", text)
    assert re.search(r"100: \+0\.(29|3|31)\d? mm \(0/3 samplers better\)", text)


def test_answer_says_where_the_cap_stopped_improving_networks():
    err = _errors()
    costs = pd.DataFrame({"dataset": ["a", "a", "b", "a"], "n_images": [1000, 1000, 1000, 100],
                          "head": ["bprn", "thesis", "thesis", "thesis"], "seed": 0,
                          "seconds": 1.0, "epochs": [6, 6, 6, 60], "best_epoch": [6, 4, 6, 12]})
    text = studies.scale_answer(studies.sampler_order(err, "bprn"), studies.head_gaps(err), None, costs)
    assert text.endswith("still improving at their last epoch: 2 of 3 networks at 1,000 images (6 epochs) "
                         "(a larger `epoch_images` would train them further)")


def test_curve_epochs_caps_images_seen():
    s = B.BPRNSettings(epochs=60)
    assert studies.curve_epochs(s, 1000, None) == 60
    assert studies.curve_epochs(s, 1000, 600_000) == 60
    assert studies.curve_epochs(s, 30_000, 600_000) == 20
    assert studies.curve_epochs(s, 100_000, 600_000) == 6
    assert studies.curve_epochs(s, 7_000_000, 600_000) == 1


def test_scale_datasets_refuse_gans(tmp_path):
    from thesislib.facemodel import Population

    fitted = Population(params=np.zeros((10, 4)), age=np.full(10, 30.0), sex=np.zeros(10), n_shape=2, n_color=2,
                        source="test")
    with pytest.raises(ValueError, match="saved model"):
        studies.scale_datasets(["cvgan2"], fitted, lambda s: tmp_path / s, 4, 1, 0, {})
