"""Tests of the landmark crop, the numba resampler and the synthetic-render crops of evaluation."""
import numpy as np
import pytest

from thesislib.imaging import crops
from thesislib.datasets import generation as datasets
from thesislib.imaging import LANDMARK_CROP_MARGIN, LANDMARK_CROP_SHIFT, landmark_crop, landmark_crop_box
from thesislib.imaging.crops import resample


def pil_resample(img, box, size):
    """The reference: edge padding, crop and PIL's bilinear resize (thesislib.faces.recognition)."""
    from thesislib.faces.recognition import _resample

    return _resample(img, box, size)


def test_resample_matches_pil_bytes_inside_and_outside_the_image():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (227, 227, 3), dtype=np.uint8)
    for _ in range(300):
        size = int(rng.choice([224, 227, 64]))
        side = int(rng.integers(20, 400)) if rng.random() < 0.9 else size
        x0, y0 = (int(v) for v in rng.integers(-80, 227, 2))
        box = (x0, y0, x0 + side, y0 + side)
        out = resample(img, box, size)
        np.testing.assert_array_equal(out, pil_resample(img, box, size))
        np.testing.assert_array_equal(resample(img, box, size, flip=True), out[:, ::-1])
    with pytest.raises(ValueError, match="square"):
        resample(img, (0, 0, 10, 20), 8)
    with pytest.raises(ValueError, match="uint8"):
        resample(img.astype(float), (0, 0, 10, 10), 8)


def test_landmark_crop_box_margin_and_shift():
    pts = np.array([[100.0, 80.0], [160.0, 80.0], [130.0, 180.0]])  # 60 x 100 px, centre (130, 130)
    x0, y0, x1, y1 = landmark_crop_box(pts)
    side = x1 - x0
    assert side == y1 - y0 and abs(side - 100 * (1 + 2 * LANDMARK_CROP_MARGIN)) <= 1
    assert abs((x0 + x1) / 2 - 130) <= 1
    assert abs((y0 + y1) / 2 - (130 + LANDMARK_CROP_SHIFT * side)) <= 1
    assert landmark_crop_box(pts, margin=0.0, shift=0.0) == (80, 80, 180, 180)
    # hidden landmarks are left out when at least 3 are visible
    more = np.vstack([pts, [[0.0, 0.0]]])
    assert landmark_crop_box(more, np.array([1, 1, 1, 0], bool)) == landmark_crop_box(pts)


def test_landmark_crop_box_is_faces_landmark_box_shifted():
    from thesislib.faces.recognition import landmark_box

    rng = np.random.default_rng(7)
    for _ in range(500):
        n = int(rng.integers(1, 70))
        pts = (rng.normal(113, 40, (n, 2)) * rng.choice([1, 0.01])).astype(np.float32)
        vis = rng.random(n) < rng.random() if rng.random() < 0.8 else None
        x0, y0, x1, y1 = landmark_box(pts, margin=LANDMARK_CROP_MARGIN, visible=vis)
        dy = int(round(LANDMARK_CROP_SHIFT * (y1 - y0)))
        assert landmark_crop_box(pts, vis) == (x0, y0 + dy, x1, y1 + dy)
    with pytest.raises(ValueError, match="at least one"):
        landmark_crop_box(np.zeros((0, 2)))


def test_landmark_crop_is_the_generate_default_and_reexported():
    import inspect

    assert inspect.signature(datasets.generate).parameters["crop"].default == "landmarks"
    assert datasets.CROPS["landmarks"] is landmark_crop is datasets.landmark_crop
    assert datasets.center_crop is crops.center_crop and crops.SimpleCrop is crops.SimpleCrop
    img = np.random.default_rng(1).integers(0, 256, (227, 227, 3), dtype=np.uint8)
    c = landmark_crop(img, np.array([[90.0, 90.0], [140.0, 150.0]]))
    assert c.method == "landmarks" and c.image.shape == (224, 224, 3) and c.image.dtype == np.uint8
    np.testing.assert_array_equal(c.image, pil_resample(img, c.box, 224))
    assert landmark_crop(img, np.zeros((0, 2))).method == "center"


@pytest.fixture(scope="module")
def renders(face_model):
    """40 renders of N(0, 1) faces under SceneSampler(max_yaw=30), as the margin was fitted."""
    from thesislib.imaging import Workspace, render
    from thesislib.imaging import SceneSampler

    model = face_model.truncated(50, 50, 0)
    X = np.random.default_rng(21).normal(size=(40, 100))
    sampler, ws = SceneSampler(max_yaw=30), Workspace()
    scenes = [sampler.sample(np.random.default_rng([22, i])) for i in range(len(X))]
    return [render(model.instance(x[:50], x[50:]), s, workspace=ws) for x, s in zip(X, scenes)]


def test_landmark_crops_are_framed_like_detector_crops_on_average(renders):
    pytest.importorskip("dlib")
    from thesislib.faces import recognition as faces

    ratio, dx, dy = [], [], []
    for r in renders:
        c = faces.crop(r.image, landmarks=r.landmarks, landmark_visible=r.landmark_visible)
        if c.method != "detector":
            continue
        d, lm = c.box, landmark_crop_box(r.landmarks, r.landmark_visible)
        side = d[2] - d[0]
        ratio.append((lm[2] - lm[0]) / side)
        dx.append(((lm[0] + lm[2]) - (d[0] + d[2])) / 2 / side)
        dy.append(((lm[1] + lm[3]) - (d[1] + d[3])) / 2 / side)
    assert len(ratio) >= 15
    assert 0.95 < np.mean(ratio) < 1.05
    assert abs(np.mean(dx)) < 0.03 and abs(np.mean(dy)) < 0.03


def test_evaluation_crops_synthetic_renders_from_landmarks(face_model):
    from thesislib.evaluation import render_predictions
    from thesislib.imaging import render

    P = np.random.default_rng(4).normal(size=(2, 100))
    out = render_predictions(P, face_model.truncated(50, 50, 0))
    base = face_model.truncated(50, 50, 0)
    for p, img in zip(P, out):
        r = render(base.instance(p[:50], p[50:]))
        np.testing.assert_array_equal(img, landmark_crop(r.image, r.landmarks, r.landmark_visible).image)
