"""Unit tests of thesislib.faces.recognition (dlib detection, crop, embeddings, similarity)."""
import importlib.util

import numpy as np
import pytest

pytest.importorskip("dlib")
if importlib.util.find_spec("face_recognition_models") is None:  # pragma: no cover
    pytest.skip("face-recognition-models is not installed", allow_module_level=True)

from thesislib.faces import recognition as faces  # noqa: E402
from thesislib.facemodel import default_model  # noqa: E402
from thesislib.imaging import render  # noqa: E402
from thesislib.imaging import Scene  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return default_model()


@pytest.fixture(scope="module")
def frontal(model):
    return render(model.instance(), Scene())


@pytest.fixture(scope="module")
def turned(model):
    return render(model.instance(shape=np.full(5, 0.5)), Scene(yaw=15, pitch=5))


def test_model_files_found():
    for name in (faces.PREDICTOR_FILE, faces.RECOGNITION_FILE):
        assert faces.model_file(name).is_file()


def test_missing_model_files_name_the_package(monkeypatch):
    monkeypatch.setattr(faces.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="face-recognition-models"):
        faces.model_file(faces.PREDICTOR_FILE)


def test_detect_finds_the_mean_face_and_nothing_on_grey(frontal):
    boxes = faces.detect(frontal.image)
    assert len(boxes) == 1
    x0, y0, x1, y1 = boxes[0]
    assert all(isinstance(v, int) for v in boxes[0])
    # the box covers the eyes and the mouth landmarks
    lm = frontal.landmarks
    for i in (36, 45, 48, 54):
        assert x0 <= lm[i, 0] <= x1 and y0 <= lm[i, 1] <= y1
    assert faces.detect(np.full((227, 227, 3), 128, np.uint8)) == []


def test_detect_accepts_non_contiguous_and_float_images(frontal):
    flipped = frontal.image[:, ::-1]  # a view with negative strides
    assert len(faces.detect(flipped)) == 1
    assert len(faces.detect(frontal.image.astype(np.float32) / 255.0)) == 1
    with pytest.raises(ValueError, match="RGB"):
        faces.detect(np.zeros((10, 10, 5), np.uint8))


def test_crop_methods(frontal):
    c = faces.crop(frontal.image)
    assert c.method == "detector" and c.image.shape == (224, 224, 3) and c.image.dtype == np.uint8
    x0, y0, x1, y1 = c.box
    assert x1 - x0 == y1 - y0
    grey = np.full((227, 227, 3), 128, np.uint8)
    c2 = faces.crop(grey, landmarks=frontal.landmarks)
    assert c2.method == "landmarks" and c2.image.shape == (224, 224, 3)
    lm = frontal.landmarks
    bx0, by0, bx1, by1 = c2.box
    assert bx0 < lm[:, 0].min() and bx1 > lm[:, 0].max() and by0 < lm[:, 1].min() and by1 > lm[:, 1].max()
    c3 = faces.crop(grey)
    assert c3.method == "center" and c3.box == (0, 0, 227, 227)
    c4 = faces.crop(frontal.image, box=(60, 60, 160, 160), size=100)
    assert c4.method == "detector" and c4.image.shape == (100, 100, 3)
    with pytest.raises(Exception):
        c.method = "x"  # frozen


def test_crop_outside_the_image_is_padded():
    img = np.zeros((50, 50, 3), np.uint8)
    img[:, :, 0] = 200
    c = faces.crop(img, landmarks=np.array([[0.0, 0.0], [49.0, 49.0]]), size=32)
    assert c.box[0] < 0 and c.box[2] > 50
    assert c.image.shape == (32, 32, 3) and np.all(c.image[:, :, 0] == 200)


def test_embed_shape_and_identity(frontal, turned):
    a = faces.embed(frontal.image)
    assert a.shape == (128,) and a.dtype == np.float32 and np.all(np.isfinite(a))
    np.testing.assert_allclose(faces.embed(np.ascontiguousarray(frontal.image)), a, atol=1e-6)
    # landmark fallback when nothing is detected: a box from the landmarks
    box, how = faces.face_box(np.full((227, 227, 3), 128, np.uint8), landmarks68=frontal.landmarks)
    assert how == "landmarks" and box is not None
    b = faces.embed(turned.image, landmarks68=turned.landmarks)
    assert faces.similarity(a, a) == pytest.approx(1.0, abs=1e-6)
    assert -1.0 <= faces.similarity(a, b) < 1.0
    assert np.all(np.isnan(faces.embed(np.full((227, 227, 3), 128, np.uint8))))


def test_embed_many_matches_embed(frontal, turned):
    imgs = [frontal.image, turned.image, frontal.image[:, ::-1], turned.image]
    one = np.stack([faces.embed(im) for im in imgs])
    many = faces.embed_many(imgs)
    assert many.shape == (4, 128) and many.dtype == np.float32
    np.testing.assert_allclose(many, one, atol=1e-6)
    par = faces.embed_many(imgs, n_jobs=2)
    np.testing.assert_allclose(par, one, atol=1e-5)
    assert faces.embed_many([]).shape == (0, 128)
    with pytest.raises(ValueError):
        faces.embed_many(imgs, boxes=[None])


def test_similarity_shapes_and_values():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 128)), rng.normal(size=(5, 128))
    s = faces.similarity(a, b)
    assert s.shape == (3, 5)
    expect = np.array([[x @ y / np.linalg.norm(x) / np.linalg.norm(y) for y in b] for x in a])
    np.testing.assert_allclose(s, expect, atol=1e-12)
    np.testing.assert_allclose(faces.similarity(a, b[:3], pairwise=True), np.diag(expect[:, :3]), atol=1e-12)
    assert faces.similarity(a[0], b).shape == (5,)
    assert faces.similarity(a, b[0]).shape == (3,)
    assert faces.similarity(a[0], 2 * a[0]) == pytest.approx(1.0)
    assert faces.similarity(a[0], -a[0]) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        faces.similarity(a, b, pairwise=True)
    with pytest.raises(ValueError):
        faces.similarity(a, b[:, :64])
