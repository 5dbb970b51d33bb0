"""Tests of thesislib.viz.judges: the calibrated-score figure, the judge table and the photo gallery draw their inputs."""
import numpy as np
import pandas as pd
import pytest

from thesislib import evaluation, viz


def _scores(rng, n_faces=20):
    rows = []
    for test_set in ("held-out", "shifted"):
        for r in ("frontal", "posed"):
            mean_face = rng.normal(0.93, 0.01, n_faces)
            oracle = mean_face + rng.uniform(0.02, 0.06, n_faces)
            for s, q, draws in (("gmm", 0.7, 3), ("normal", 0.5, 3), ("model mean face", 0.0, 1)):
                for d in range(draws):
                    score = mean_face + q * (oracle - mean_face) + (rng.normal(0, 0.01, n_faces) if q else 0)
                    rows.append(pd.DataFrame({
                        "test_set": test_set, "judge": "dlib", "rendering": r, "sampler": s, "draw": d,
                        "fixed": draws == 1, "face": np.arange(n_faces), "id": "x", "score": score, "oracle": oracle,
                        "mean_face": mean_face, "gain": score - mean_face,
                        "calibrated": (score - mean_face) / (oracle - mean_face),
                        "vertex_mm": 5 - 2 * q + rng.normal(0, 0.3, n_faces)}))
    return pd.concat(rows, ignore_index=True)


def test_calibrated_figure_has_a_panel_per_test_set_and_a_trace_per_rendering():
    summary = evaluation.judge_summary(_scores(np.random.default_rng(0)))
    fig = viz.calibrated_figure(summary)
    assert [(t.name, t.xaxis) for t in fig.data] == [("frontal", "x"), ("posed", "x"), ("frontal", "x2"), ("posed", "x2")]
    first = fig.data[0]
    rows = summary[(summary["test_set"] == "held-out") & (summary["rendering"] == "frontal")]
    np.testing.assert_allclose(first.x, rows["calibrated"])
    np.testing.assert_allclose(np.array(first.x) + np.array(first.error_x.array), rows["calibrated_high"])
    assert list(first.marker.symbol) == ["circle", "circle", "diamond"]
    assert list(fig.data[1].marker.symbol) == ["square", "square", "diamond"]
    assert list(fig.layout.yaxis.categoryarray) == ["gmm", "normal", "model mean face"]
    assert {s.x0 for s in fig.layout.shapes} == {0, 1}  # mean face and truth lines
    assert "0 = the mean face" in fig.layout.title.text
    gain = viz.calibrated_figure(summary, value="gain")
    assert not gain.layout.shapes and "gain" in gain.layout.title.text
    with pytest.raises(ValueError, match="empty"):
        viz.calibrated_figure(summary.iloc[:0])


def test_judge_table_figure_shows_every_row():
    v = evaluation.judge_validation(_scores(np.random.default_rng(1)), n_boot=50)
    fig = viz.judge_table_figure(v)
    cells = fig.data[0].cells.values
    assert len(cells) == 8 and list(cells[0]) == list(v["test_set"]) and list(cells[2]) == list(v["rendering"])
    assert cells[4][0].startswith(f"{v['kendall_tau'].iloc[0]:.2f} [")
    assert "agree with geometry" in fig.layout.title.text


def test_judge_gallery_figure_puts_input_best_and_mean_face_in_a_row():
    img = np.zeros((224, 224, 3), np.uint8)
    g = evaluation.JudgeGallery("gmm", "posed", ["a", "b"], np.stack([img, img]), np.stack([img, img]),
                                np.stack([img, img]), np.array([0.95, 0.9]), np.array([0.93, 0.91]))
    fig = viz.judge_gallery_figure(g)
    assert len(fig.data) == 6
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:3] == ["a", "gmm: 0.950", "mean face: 0.930"]
