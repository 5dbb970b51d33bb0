"""Tests of the dataset folder: layout names, PNG and parquet writing, completeness and resume
checks, and reading (thesislib.datasets.store)."""
import json

import numpy as np
import pandas as pd
import pytest

from thesislib.datasets import store
from thesislib.datasets.card import DatasetCard


def write_dataset(out, n=3, settings=None, card=True):
    """A finished dataset written by hand: n random crops, their labels, a card."""
    rng = np.random.default_rng(7)
    (out / "images").mkdir(parents=True)
    (out / "labels").mkdir()
    images = rng.integers(0, 256, (n, store.CROP_SIZE, store.CROP_SIZE, 3), dtype=np.uint8)
    for i, img in enumerate(images):
        store.save_png(out / "images" / f"{store.image_id(i)}.png", img)
    rows = [{"id": store.image_id(i), "index": i, "instance_id": i, "shape_000": 0.5 * i,
             "color_000": -float(i), "yaw": 10.0} for i in range(n)]
    store.write_file(out / "labels" / "part-00000.parquet", store.parquet_bytes(rows))
    store.write_file(out / "labels.parquet", store.parquet_bytes(rows))
    settings = settings or {"seed": 1, "n_faces": n, "images_per_face": 1}
    if card:
        c = DatasetCard(str(out), settings, {"n_images": n}, {"numpy": np.__version__}, "2026-01-01T00:00:00+00:00", 0.1)
        (out / "card.json").write_text(json.dumps(c.to_dict()))
    return images, settings


def test_image_ids_are_zero_padded():
    assert store.image_id(0) == "0000000" and store.image_id(1234567) == "1234567"
    assert len(store.image_id(42)) == store.ID_DIGITS


def test_reading_a_finished_dataset(tmp_path):
    images, settings = write_dataset(tmp_path / "ds")
    ds = store.load_dataset(tmp_path / "ds")
    assert len(ds) == 3 and ds.ids == ["0000000", "0000001", "0000002"]
    assert ds.card["settings"] == settings and ds.card["format"] == "thesislib.dataset/1"
    np.testing.assert_array_equal(ds.images(), images)
    np.testing.assert_array_equal(ds.images([2]), images[2:])
    assert ds.image_path(1) == ds.image_path("0000001") == tmp_path / "ds" / "images" / "0000001.png"
    np.testing.assert_array_equal(ds.parameters(), [[0.0, 0.0], [0.5, -1.0], [1.0, -2.0]])
    assert store.load_card(tmp_path / "ds").n_images == 3
    grid = store.dataset_gallery(tmp_path / "ds", k=2, cols=2, pad=1, scale=0.5)
    assert grid.shape == (112 + 2, 2 * 112 + 3, 3) and (grid[0] == 255).all()


def test_unfinished_dataset_says_so(tmp_path):
    write_dataset(tmp_path / "ds", card=False)
    with pytest.raises(FileNotFoundError, match="not a finished dataset") as e:
        store.load_dataset(tmp_path / "ds")
    assert "interrupted" not in str(e.value)
    (tmp_path / "ds" / "request.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="interrupted"):
        store.load_card(tmp_path / "ds")


def test_png_ok_and_chunk_done_see_missing_and_truncated_images(tmp_path):
    write_dataset(tmp_path / "ds")
    out = tmp_path / "ds"
    assert store.chunk_done(out, 0, 0, 3) and store._complete(out, {"n_faces": 3, "images_per_face": 1})
    assert not store.chunk_done(out, 1, 0, 3)  # no part-00001
    png = out / "images" / "0000002.png"
    png.write_bytes(png.read_bytes()[:-5])
    assert not store._png_ok(png) and not store.chunk_done(out, 0, 0, 3)
    assert store.chunk_done(out, 0, 0, 2)
    png.unlink()
    assert not store._png_ok(png) and not store._complete(out, {"n_faces": 3, "images_per_face": 1})


def test_remove_stale_tmp_only_removes_temporary_files(tmp_path):
    write_dataset(tmp_path / "ds")
    out = tmp_path / "ds"
    for p in (out / "x.tmp", out / "images" / "0000001.png.ab12.tmp", out / "labels" / "part-00000.parquet.1.tmp"):
        p.write_bytes(b"half")
    assert store.remove_stale_tmp(out) == 3
    assert not list(out.rglob("*.tmp")) and len(list((out / "images").glob("*.png"))) == 3


def test_check_request_finished_other_settings_overwrite(tmp_path):
    out = tmp_path / "ds"
    _, settings = write_dataset(out)
    assert store.check_request(out, settings, overwrite=False) is True  # finished, same settings
    other = {**settings, "seed": 2}
    with pytest.raises(ValueError, match=r"finished dataset with other settings \(differ in: seed\)"):
        store.check_request(out, other, overwrite=False)
    assert store.check_request(out, other, overwrite=True) is False  # cleared
    assert not (out / "card.json").exists() and not (out / "images").exists()


def test_check_request_partial_and_damaged(tmp_path):
    out = tmp_path / "ds"
    _, settings = write_dataset(out, card=False)
    (out / "request.json").write_text(json.dumps({"settings": settings}))
    assert store.check_request(out, settings, overwrite=False) is False  # resume
    with pytest.raises(ValueError, match="partial dataset"):
        store.check_request(out, {**settings, "n_faces": 9}, overwrite=False)
    damaged = tmp_path / "damaged"
    write_dataset(damaged, settings=settings)
    (damaged / "images" / "0000001.png").unlink()
    assert store.check_request(damaged, settings, overwrite=False) is False  # finish it again
    assert not (damaged / "card.json").exists()
    loose = tmp_path / "loose"
    write_dataset(loose, card=False)
    with pytest.raises(ValueError, match="no card.json or request.json"):
        store.check_request(loose, settings, overwrite=False)


def test_parquet_bytes_of_rows_and_tables(tmp_path):
    import pyarrow as pa

    rows = [{"id": "0000000", "a": 1.5}, {"id": "0000001", "a": -2.0}]
    (tmp_path / "r.parquet").write_bytes(store.parquet_bytes(rows))
    (tmp_path / "t.parquet").write_bytes(store.parquet_bytes(pa.Table.from_pylist(rows)))
    for name in ("r", "t"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"), pd.DataFrame(rows))


def test_png_encoder_round_trips(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for shape in [(224, 224, 3), (1, 1, 3), (5, 17, 3)]:
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        data = store._png_bytes(img)
        assert data.endswith(store._PNG_END)
        (tmp_path / "x.png").write_bytes(data)
        with Image.open(tmp_path / "x.png") as im:
            im.load()
            assert im.mode == "RGB"
            np.testing.assert_array_equal(np.asarray(im), img)
    with pytest.raises(ValueError, match="H, W, 3"):
        store._png_bytes(np.zeros((4, 4), np.uint8))


def test_png_encoder_edge_cases_and_code_lengths(tmp_path):
    from PIL import Image

    from thesislib.imaging import png

    rng = np.random.default_rng(3)
    skewed = (rng.geometric(0.6, (120, 90, 3)) % 256).astype(np.uint8)  # Huffman tree deeper than 15
    ramp = np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None], (3, 256, 3))
    cases = [np.zeros((1, 1, 3), np.uint8), np.zeros((40, 30, 3), np.uint8), np.full((7, 3, 3), 200, np.uint8),
             skewed, ramp, rng.integers(0, 8, (64, 64, 3), dtype=np.uint8)]
    for img in cases:
        data = png.png_bytes(img)
        assert data == png.png_bytes(img.copy())  # same image, same bytes
        (tmp_path / "y.png").write_bytes(data)
        with Image.open(tmp_path / "y.png") as im:
            im.load()
            np.testing.assert_array_equal(np.asarray(im), img)
    # lengths: at most 15 bits, complete (Kraft sum 1), every used symbol coded, >= 2 codes
    freq = np.array([int(1.7 ** i) for i in range(40)] + [0] * 10, np.int64)
    lengths = png.huffman_lengths(freq, 15)
    assert lengths.max() == 15 and np.sum(2.0 ** -lengths[lengths > 0]) == 1.0
    assert np.all((lengths > 0) == (freq > 0))
    one = png.huffman_lengths(np.array([0, 0, 9], np.int64), 15)
    assert (one > 0).sum() == 2 and np.sum(2.0 ** -one[one > 0]) == 1.0


def test_remove_dataset_deletes_datasets_only(tmp_path):
    """A finished or partial dataset goes whole (bytes freed reported); a folder that is not a
    dataset, or the leftover of a deletion killed midway, is handled without touching the rest."""
    from thesislib.datasets import remove_dataset

    ds = tmp_path / "ds"
    write_dataset(ds)
    size = sum(f.stat().st_size for f in ds.rglob("*") if f.is_file())
    assert remove_dataset(ds) == size and not ds.exists()
    assert not list(tmp_path.iterdir())  # no hidden leftover
    assert remove_dataset(ds) == 0  # nothing there: nothing to do
    partial = tmp_path / "partial"
    write_dataset(partial, card=False)
    (partial / "request.json").write_text("{}")
    (tmp_path / ".partial.removing").mkdir()  # a deletion killed before it finished
    assert remove_dataset(partial) > 0 and not list(tmp_path.iterdir())
    other = tmp_path / "photos"
    other.mkdir()
    (other / "me.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a dataset folder"):
        remove_dataset(other)
    assert (other / "me.png").is_file()
