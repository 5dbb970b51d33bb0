"""Tests of thesislib.bprn.stems: the face-mesh stem's cached, deterministic features."""
import numpy as np
import pytest

pytest.importorskip("mediapipe")

from thesislib.bprn import stems  # noqa: E402


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from thesislib.datasets import generate

    out = tmp_path_factory.mktemp("stems") / "ds"
    generate(out, "naive_normal_1", n_faces=6, images_per_face=1, seed=5, progress=False)
    return out


def test_facemesh_features_are_cached_and_deterministic(dataset, monkeypatch):
    f1 = stems.dataset_features(dataset, "facemesh")
    assert f1.X.shape == (6, stems.FEATURE_DIMS["facemesh"]) and f1.n_computed == 6
    assert np.isfinite(f1.X).all(), "a face is found in every frontal-ish render"
    # a second call reads the cache: the stem is not called again
    monkeypatch.setattr(stems, "facemesh_features", lambda image: pytest.fail("recomputed"))
    f2 = stems.dataset_features(dataset, "facemesh")
    assert f2.n_computed == 0
    np.testing.assert_array_equal(f1.X, f2.X)


def test_facemesh_features_same_in_processes(dataset):
    from thesislib.datasets import load_dataset

    paths = [str(load_dataset(dataset).image_path(i)) for i in range(6)]
    one = stems.frozen_features(paths, "facemesh", n_jobs=1)
    two = stems.frozen_features(paths, "facemesh", n_jobs=2)
    np.testing.assert_array_equal(one, two)


def test_unknown_and_unfrozen_stems():
    with pytest.raises(ValueError, match="unknown stem"):
        stems.check_stem("resnet")
    with pytest.raises(ValueError, match="not a frozen stem"):
        stems.frozen_features(np.zeros((1, 224, 224, 3), np.uint8), "cnn")


def test_extraction_on_a_dask_cluster_gives_the_same_features(dataset, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from thesislib.datasets import load_dataset

    def fake(image):  # in-process (thread) workers see the patched stem
        img = np.asarray(image, np.float32)
        return np.resize(img.mean(axis=(0, 1)), 128) + np.arange(128, dtype=np.float32) * img.std() / 1e3

    monkeypatch.setattr(stems, "dlib_features", fake)
    paths = [str(load_dataset(dataset).image_path(i)) for i in range(6)]
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = stems.frozen_features(paths, "dlib", scheduler=client)
    np.testing.assert_array_equal(on_dask, stems.frozen_features(paths, "dlib", n_jobs=1))
