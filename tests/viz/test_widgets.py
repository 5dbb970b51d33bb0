import numpy as np

from thesislib.viz import figures as viz
from thesislib.viz import widgets


def test_face_explorer_updates_figure_in_place(face_model):
    m = face_model.truncated(10, 10, 0)
    e = widgets.FaceExplorer(m, max_components=5)
    x0 = np.array(e.figure.data[0].x)
    img0 = e.image.value
    e.value.value = 2.0                      # the slider drives the update
    assert e.coefficients["shape"][0] == 2.0
    assert not np.allclose(np.array(e.figure.data[0].x), x0)
    assert e.image.value != img0
    assert 0 < e.last_update_seconds < 5
    e.part.value = "color"
    assert e.value.value == 0.0              # shows the selected component's own value
    c0 = list(e.figure.data[0].vertexcolor)
    e.value.value = -2.0
    assert list(e.figure.data[0].vertexcolor) != c0
    e.reset_coefficients()
    np.testing.assert_allclose(np.array(e.figure.data[0].x), x0, atol=1e-4)


def test_vertex_color_strings():
    assert viz.vertex_color_strings(np.array([[0, 0.5, 1.0], [1, 1, 1]])) == ["#0080ff", "#ffffff"]


def test_static_twin_has_one_step_per_frame(face_model):
    m = face_model.truncated(3, 3, 0)
    groups = widgets.pca_slider_frames(m, "shape", [0, 1], [-1, 0, 1])
    fig = viz.slider_figure(None, groups=groups, label="σ")
    assert len(fig.layout.sliders[0].steps) == 3
    assert len(fig.layout.updatemenus[0].buttons) == 2
    srcs = {s.args[0]["source"][0] for s in fig.layout.sliders[0].steps}
    assert len(srcs) == 3                    # three different images


def test_sampler_comparison_draws_new_faces(face_model, rng):
    m = face_model.truncated(5, 5, 0)
    draws = {"a": rng.normal(size=(3, 10)), "b": rng.uniform(-3, 3, size=(3, 10))}
    w = widgets.SamplerComparison(m, draws)
    before = [b.value for b in w.images]
    w.next()
    assert [b.value for b in w.images] != before
