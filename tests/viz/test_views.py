"""pyvista face views: heatmap colours that follow the error, differences, extremes, reconstructions."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyvista")

from thesislib.viz import views as V  # noqa: E402


def _silhouette(image, background=255, threshold=40):
    return np.abs(image.astype(np.int16) - background).max(-1) > threshold


@pytest.fixture(scope="module")
def mean_face(face_model):
    return face_model.instance()


def test_error_colours_follow_the_error(mean_face):
    """Unlit heatmap of an error that grows left to right: every face pixel's colour maps back,
    through the colour map, to an error that grows with the column (monotone mapping)."""
    x = mean_face.vertices[:, 0].astype(np.float64)
    error = x - x.min()  # mm, 0 at the left edge of the face
    view = V.error_view(mean_face, mean_face, error, "front", size=300, zoom=1.0, lighting=False)
    half = view.image[:, 300:]  # the error panel
    levels = np.linspace(0, error.max(), 256)
    lut = V.error_colors(levels, (0.0, error.max())).astype(np.float64)
    band = half[40:250, 20:250].astype(np.float64)  # face rows, left of the scalar bar
    mask = _silhouette(band.astype(np.uint8))
    inner = mask.copy()  # 3 px inside the outline: anti-aliased rim pixels blend with the background
    for axis in (0, 1):
        for shift in (-3, 3):
            inner &= np.roll(mask, shift, axis=axis)
    mask = inner
    d = ((band[mask][:, None, :] - lut[None]) ** 2).sum(-1)
    assert np.median(np.sqrt(d.min(1))) < 3, "face pixels are not colour-map colours"
    value = np.full(band.shape[:2], np.nan)
    value[mask] = levels[d.argmin(1)]
    cols = [c for c in range(band.shape[1]) if mask[:, c].sum() > 20]
    med = np.array([np.nanmedian(value[:, c]) for c in cols])
    assert np.all(np.diff(med) >= -0.02 * error.max()), "colour does not grow with the error"
    assert np.corrcoef(cols, med)[0, 1] > 0.99
    # and error_colors itself: brighter with larger error for the default map
    lum = V.error_colors(levels) @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(lum) >= -1.0) and lum[-1] - lum[0] > 200  # within one 8-bit step


def test_pca_extremes_and_label_extremes(face_model, tmp_path):
    view = V.pca_extremes_view(face_model, components=(0, 1), size=120, png=tmp_path / "pca.png")
    assert view.image.shape == (240, 360, 3)
    panels = view.image.reshape(2, 120, 3, 120, 3).transpose(0, 2, 1, 3, 4)
    assert np.abs(panels[0, 0].astype(int) - panels[0, 2]).mean() > 1, "-3 sd and +3 sd look the same"
    m = face_model.instance()
    v = V.label_extremes_view([m, m], ["female, 18", "male, 80"], size=100)
    assert v.image.shape == (100, 200, 3)
    with pytest.raises(ValueError, match="labels"):
        V.label_extremes_view([m], ["a", "b"])


def test_reconstruction_extremes_orders_by_error_and_writes_files(face_model, tmp_path):
    rng = np.random.default_rng(0)
    d = face_model.shape.n_components + face_model.color.n_components
    truth = rng.standard_normal((5, d))
    noise = np.array([0.05, 1.0, 0.2, 2.0, 0.5])[:, None]
    predicted = truth + noise * rng.standard_normal((5, d))
    cases = V.reconstruction_extremes(face_model, predicted, truth, n=1, folder=tmp_path, size=120)
    assert [(c.kind, c.index) for c in cases] == [("best", 0), ("worst", 3)]
    assert cases[0].mean_error < cases[1].mean_error
    for name in ("best_0.png", "best_0_truth.ply", "best_0_prediction.ply", "worst_3.png"):
        assert (tmp_path / name).exists(), name


def test_difference_view_is_symmetric_diverging(face_model):
    a = face_model.instance()
    b = face_model.instance(shape=np.eye(face_model.shape.n_components)[0] * 2)
    img = V.difference_view(a, b, size=200).image
    assert _silhouette(img).mean() > 0.05


def test_colour_difference_view_shows_where_the_face_got_darker(face_model):
    """Ageing along colour component 1 (grey hair, wrinkle lines): the colour measure paints
    the change; identical colours give a flat (single-colour) map, a bad measure is refused."""
    a = face_model.instance()
    b = face_model.instance(color=np.eye(face_model.color.n_components)[1] * 3)
    img = V.difference_view(a, b, size=200, measure="color").image
    face = _silhouette(img)
    assert face.mean() > 0.05
    assert img[face].std(0).max() > 10          # not one flat colour: the change varies over the face
    with pytest.raises(ValueError, match="measure"):
        V.difference_view(a, b, measure="depth")
