"""Chapter 07's figures draw what the scale study computed."""
import numpy as np
import pandas as pd

from thesislib import viz


def _table():
    rows = []
    for t in ("held-out", "shifted"):
        rows.append(dict(test_set=t, sampler="mean face", head="baseline", n_images=0, faces=5, vertex_mm=6.0,
                         lo=5.8, hi=6.2))
        for s in ("a", "b"):
            for h in ("ridge", "thesis", "bprn"):
                for n in (1000, 100000):
                    rows.append(dict(test_set=t, sampler=s, head=h, n_images=n, faces=5, vertex_mm=4.0, lo=3.9, hi=4.1))
    return pd.DataFrame(rows)


def test_scale_figure_has_a_panel_per_test_set_and_a_line_per_sampler_and_head():
    fig = viz.scale_figure(_table(), {"a": "A"})
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert len(lines) == 2 * 2 * 3  # test sets x samplers x heads
    assert {t.name for t in lines if t.showlegend} == {f"{s}, {h}" for s in ("A", "b") for h in (
        "ridge head", "thesis head alone", "BPRN (head + linear path)")}
    assert [a.text for a in fig.layout.annotations[:2]] == ["held-out", "shifted"]
    assert fig.layout.xaxis.type == "log"


def test_head_gap_figure_labels_each_size_with_its_epochs():
    gaps = pd.DataFrame({"test_set": "held-out", "sampler": ["a", "a"], "n_images": [1000, 100000],
                         "gap_mm": [0.5, 0.3], "lo": [0.4, 0.2], "hi": [0.6, 0.4], "p": [0.0, 0.0]})
    fig = viz.head_gap_figure(gaps, epochs={1000: 33, 100000: 6})
    assert list(fig.layout.xaxis.ticktext) == ["1,000<br>33 epochs", "100,000<br>6 epochs"]
    np.testing.assert_allclose(fig.data[0].y, [0.5, 0.3])
