"""Tests of chapter 02's figures (thesislib.viz.samplers)."""
import numpy as np
import pytest

from thesislib.viz import samplers as VS


@pytest.fixture
def draws():
    rng = np.random.default_rng(3)
    return {"a": rng.normal(size=(40, 8)), "b": rng.uniform(-3, 3, size=(30, 8)) + 1.0}


def test_parameter_histogram_one_trace_per_sampler(draws):
    fig = VS.parameter_histogram(draws, {"a": "A", "b": "B"}, index=2)
    assert [t.name for t in fig.data] == ["A", "B"]
    np.testing.assert_array_equal(fig.data[1].x, draws["b"][:, 2])
    assert "parameter 2" in fig.layout.title.text


def test_moments_figure_means_stds_and_split(draws):
    fig = VS.moments_figure(draws, str.upper, split=5)
    assert [t.name for t in fig.data] == ["A mean", "A std", "B mean", "B std"]
    np.testing.assert_allclose(fig.data[2].y, draws["b"].mean(0))
    np.testing.assert_allclose(fig.data[3].y, draws["b"].std(0))
    assert fig.data[3].line.dash == "dot" and fig.layout.shapes[0].x0 == 4.5
    assert not VS.moments_figure(draws).layout.shapes  # no split, no line


def test_sampler_galleries_share_scenes(face_model):
    from thesislib.imaging import SceneSampler

    model = face_model.truncated(5, 5, 0)
    rng = np.random.default_rng(0)
    faces = rng.normal(size=(3, 10))
    draws = {"x": faces, "y": np.vstack([faces[:1], -faces[1:]])}  # first face shared
    scenes = SceneSampler(background="procedural").sample_many(2, np.random.default_rng(1))
    g = VS.sampler_galleries(model, draws, scenes)
    assert list(g) == ["x", "y"] and [len(v) for v in g.values()] == [2, 2]
    assert g["x"][0].shape == (227, 227, 3) and g["x"][0].dtype == np.uint8
    np.testing.assert_array_equal(g["x"][0], g["y"][0])  # same face, same scene: same image
    assert not np.array_equal(g["x"][1], g["y"][1])
    with pytest.raises(ValueError, match="needs 2"):
        VS.sampler_galleries(model, {"z": faces[:1]}, scenes)


def test_gallery_rows_and_slider():
    img = np.zeros((8, 8, 3), np.uint8)
    galleries = {"a": [img, img + 50, img + 100], "b": [img + 200, img + 250]}
    fig = VS.gallery_rows(galleries, {"a": "A", "b": "B"}, title="t")
    assert len(fig.data) == 6  # a short row is padded with white
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["A", "B"]
    slider = VS.gallery_slider(galleries, str.upper)
    assert [b.label for b in slider.layout.updatemenus[0].buttons] == ["A", "B"]
