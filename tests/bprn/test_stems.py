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

    monkeypatch.setattr(stems, "dlib_features_many", lambda images: np.stack([fake(im) for im in images]))
    paths = [str(load_dataset(dataset).image_path(i)) for i in range(6)]
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = stems.frozen_features(paths, "dlib", scheduler=client)
    np.testing.assert_array_equal(on_dask, stems.frozen_features(paths, "dlib", n_jobs=1))


def test_dlib_stem_is_dlibs_descriptor_batched(dataset):
    """The dlib stem's features (the network in torch on a batch) are dlib's own descriptors of
    the detector's box, or of the crop's face region where it finds none, within 1e-6."""
    from thesislib import faces
    from thesislib.datasets import load_dataset

    images = [stems._read_png(load_dataset(dataset).image_path(i)) for i in range(4)]
    images.append(np.full((224, 224, 3), 128, np.uint8))  # no face: the fallback box
    got = stems.frozen_features(images, "dlib")
    own = []
    for im in images:
        found = faces.detect(im)
        own.append(faces.embed(im, box=found[0] if found else stems.CROP_FACE_BOX))
    assert not faces.detect(images[-1])
    np.testing.assert_allclose(got, np.stack(own), atol=1e-6, rtol=0)


def test_stem_version_invalidates_old_caches(monkeypatch):
    """Features cached by version 1 of the face-mesh or dlib stem (keys without a version) are not
    reused; version-1 stems (wide_resnet50_2) keep their keys."""
    import hashlib
    import json

    import thesislib.faces

    card = {"settings": {"seed": 1}, "created": "2026-01-01T00:00:00+00:00"}

    def old_key(stem):
        parts = {"settings": card["settings"], "created": card["created"], "stem": stem}
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]

    assert stems.stem_version("facemesh") == thesislib.faces.FEATURES_VERSION >= 2
    assert stems._cache_key(card, "facemesh") != old_key("facemesh")
    assert stems.stem_version("dlib") == stems.DLIB_VERSION >= 2
    assert stems._cache_key(card, "dlib") != old_key("dlib")
    assert stems._cache_key(card, "wide_resnet50_2") == old_key("wide_resnet50_2")
    monkeypatch.setattr(thesislib.faces, "FEATURES_VERSION", 1)
    assert stems._cache_key(card, "facemesh") == old_key("facemesh")


@pytest.fixture(scope="module")
def features_only(tmp_path_factory):
    from thesislib.datasets import generate

    root = tmp_path_factory.mktemp("stored")
    kw = dict(sampler="naive_normal_1", n_faces=6, images_per_face=1, seed=5, progress=False)
    return generate(root / "features", **kw, store="features").path, generate(root / "both", **kw, store="both").path


def test_dataset_features_reads_a_features_only_dataset(features_only, dataset, monkeypatch):
    feat, both = features_only
    monkeypatch.setattr(stems, "facemesh_features", lambda image: pytest.fail("recomputed"))
    f = stems.dataset_features(feat, "facemesh")
    assert f.n_computed == 0 and f.X.shape == (6, stems.FEATURE_DIMS["facemesh"])
    assert not (f.path.parent / "features").exists()  # nothing cached beside what the dataset holds
    np.testing.assert_array_equal(f.X, stems.dataset_features(both, "facemesh").X)
    monkeypatch.undo()
    # the same features as the stem on the PNGs of the same dataset generated with store="png" (`dataset`),
    # as the store keeps them (float16)
    from_png = stems.dataset_features(dataset, "facemesh").X
    np.testing.assert_array_equal(f.X, from_png.astype(np.float16).astype(np.float32))
    with pytest.raises(FileNotFoundError, match=r"stores no images.*stem 'dlib'.*store='png'"):
        stems.dataset_features(feat, "dlib")


def test_a_bprn_fits_from_a_features_only_dataset(features_only):
    from thesislib.bprn import BPRN
    from thesislib.datasets import load_dataset

    feat, _ = features_only
    ds = load_dataset(feat)
    m = BPRN(epochs=2, seed=0, progress=False).fit(feat)
    assert m.predict(ds.stem_features()).shape == (6, 100)
    with pytest.raises(FileNotFoundError, match="stores no images"):
        BPRN(stem="cnn", epochs=1, seed=0, progress=False).fit(feat)
