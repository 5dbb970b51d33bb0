"""Unit tests of thesislib.faces.descriptors (batched landmarks and descriptors; dlib's network in torch)."""
import importlib.util

import numpy as np
import pytest

pytest.importorskip("dlib")
pytest.importorskip("torch")
if importlib.util.find_spec("face_recognition_models") is None:  # pragma: no cover
    pytest.skip("face-recognition-models is not installed", allow_module_level=True)

from thesislib import faces  # noqa: E402
from thesislib.faces import descriptors  # noqa: E402
from thesislib.imaging import Scene, landmark_crop, render  # noqa: E402

BOX = (26, 26, 198, 198)


@pytest.fixture(scope="module")
def crops(face_model):
    rng = np.random.default_rng(4)
    out = []
    for yaw in (0.0, 12.0, -18.0):
        p = rng.normal(0, 1, 20)
        r = render(face_model.instance(p[:10], p[10:]), Scene(yaw=yaw, pitch=5.0))
        out.append(landmark_crop(r.image, r.landmarks, r.landmark_visible).image)
    return np.stack(out)


def test_weights_are_dlibs_resnet():
    w = descriptors.read_weights(faces.model_file(faces.RECOGNITION_FILE))
    assert len(w["convs"]) == 29 and len(w["affines"]) == 29
    assert w["convs"][0][0].shape == (32, 3, 7, 7) and w["convs"][0][2:] == (2, 0)
    assert w["convs"][-1][0].shape == (256, 256, 3, 3)
    assert w["fc"].shape == (256, 128)
    np.testing.assert_allclose(w["mean"], [122.782, 117.001, 104.298], atol=1e-3)


def test_torch_network_gives_dlibs_descriptors(crops):
    a = faces.describe_many(crops, fallback_box=BOX, backend="torch")
    b = faces.describe_many(crops, fallback_box=BOX, backend="dlib")
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    np.testing.assert_allclose(a.descriptors, b.descriptors, atol=1e-5)
    e = np.stack([faces.embed(im, box=tuple(bx)) for im, bx in zip(crops, b.boxes)])
    np.testing.assert_array_equal(b.descriptors, e)  # batching changes nothing


def test_shapes_methods_and_fallback(crops):
    blank = np.full((1, 224, 224, 3), 128, np.uint8)
    d = faces.describe_many(np.concatenate([crops[:1], blank]), fallback_box=BOX)
    assert d.descriptors.shape == (2, 128) and d.landmarks.shape == (2, 68, 2) and d.boxes.shape == (2, 4)
    assert d.methods[1] == "fallback" and tuple(d.boxes[1]) == BOX
    assert np.isfinite(d.descriptors).all()
    none = faces.describe_many(blank)
    assert none.methods[0] == "none" and np.isnan(none.descriptors).all() and np.isnan(none.landmarks).all()
    empty = faces.describe_many([])
    assert empty.descriptors.shape == (0, 128)
    with pytest.raises(ValueError, match="backend"):
        faces.describe_many(crops, backend="cuda")


def test_network_threads_are_restored_and_change_nothing(crops):
    import torch

    chips = np.stack([np.asarray(crops[i, 37:187, 37:187]) for i in range(len(crops))])
    path = faces.model_file(faces.RECOGNITION_FILE)
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        one = descriptors.network_descriptors(chips, path)  # one thread by default
        assert torch.get_num_threads() == 2
        two = descriptors.network_descriptors(chips, path, threads=None)
    finally:
        torch.set_num_threads(saved)
    np.testing.assert_allclose(one, two, atol=1e-6)
