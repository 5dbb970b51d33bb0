"""A dataset folder on disk: its layout, crash-safe writing, completeness checks, reading.

Layout::

    images/<id>.png            224 x 224 uint8 RGB crops, id = 7-digit image index
                               (``store="png"`` or ``"both"``)
    stem_features/part-<chunk>.npy  the face-mesh stem's features of the chunk's crops, (n, F)
                               in image order, computed in the worker from the crop in memory
                               (``store="features"`` or ``"both"``; see :data:`STORES`); stored
                               as float16 (:data:`FEATURES_DTYPE`), read back as float32
    labels/part-<chunk>.parquet  labels per chunk; kept after the merge where images are
                               stored, removed once the card is written for ``store="features"``
                               (a repair then takes the other chunks' rows from labels.parquet)
    labels.parquet             every image: id, index, instance_id, [age, sex],
                               shape_000.., color_000.., [expression_000..], pose
                               (yaw, pitch, roll in degrees), camera, 27 SH numbers
                               sh<i>_<r|g|b>, background_id, crop method and box
    request.json               the settings of a generation under way (removed at the end)
    card.json                  settings, counts, versions, times
                               (:class:`thesislib.datasets.card.DatasetCard`); written last,
                               so its presence means the dataset is complete

Crash safety: every file is written to ``<name>.<random>.tmp`` (:mod:`thesislib.common.atomic`) and
moved into place with :func:`os.replace`. Images and the features part are written before the
label part of their chunk; a chunk counts as done when its label part exists, all its PNGs exist
and end with the IEND chunk, and its features part exists (what its store holds; :func:`chunk_done`). A rerun after a kill removes stale temporary files and
redoes only unfinished chunks; a rerun of a finished dataset checks the same
(:func:`check_request`) and repairs missing or truncated images. ``card.json`` holds times,
so it is the one file that differs between a resumed and an uninterrupted run.

PNGs are encoded by :mod:`thesislib.imaging.png` (Paeth filter, Huffman coding in numba), ~8x faster
than PIL.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from thesislib import imaging
from thesislib.common import atomic_write_bytes
from .card import DatasetCard, current_settings

CROP_SIZE = 224
ID_DIGITS = 7
#: PNGs: :func:`thesislib.imaging.png.png_bytes`, ~0.4 ms / 44 kB per 224 px crop (Up + zlib 1 RLE before:
#: 1.4 ms / 51 kB; PIL at compress_level 1: 3.3 ms / 50 kB; measurements in thesislib.imaging.png).
PNG_FILTER = imaging.PNG_FILTER
CARD_FILE, LABELS_FILE, PARTS_DIR, IMAGES_DIR, REQUEST_FILE = "card.json", "labels.parquet", "labels", "images", "request.json"
FEATURES_DIR = "stem_features"
#: What a dataset stores besides labels and card: PNG crops (the default), the face-mesh stem's
#: features of the crops (no PNG: ~12 kB instead of ~44 kB per image, and no PNG to write and read
#: back), or both.
STORES = ("png", "features", "both")


def has_images(store: str) -> bool:
    return store in ("png", "both")


def has_features(store: str) -> bool:
    return store in ("features", "both")


# ----------------------------------------------------------------- atomic files
def write_file(path: Path, data: bytes) -> None:
    # no fsync per image: the rename alone makes a kill leave whole files only
    atomic_write_bytes(path, data, fsync=False)


_png_bytes = imaging.png_bytes  # 8-bit RGB PNG of an (H, W, 3) uint8 image


def save_png(path: Path, image: np.ndarray) -> None:
    write_file(path, _png_bytes(image))


def features_path(out: Path, number: int) -> Path:
    return Path(out) / FEATURES_DIR / f"part-{number:05d}.npy"


#: On-disk type of the stem features. The face-mesh features are crop-normalised coordinates and
#: colours within +-2, where float16 rounds by at most 4.9e-4 (0.03 px of a 224 px crop) and halves
#: the files (11.5 -> 5.7 MB per 1,000 images). Measured on chapter 05's default datasets (a BPRN
#: trained from the same seed on both, scored on 1,000 images of another draw): GMM 2.1064 -> 2.1052
#: mm, N(0, 1) 3.9127 -> 3.9127 mm; per face the paired difference is -0.001 +- 0.016 mm.
FEATURES_DTYPE = np.float16


def save_features(path: Path, X: np.ndarray) -> None:
    """An ``.npy`` file of ``X`` (n, F) as :data:`FEATURES_DTYPE`, written atomically."""
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(X, FEATURES_DTYPE), allow_pickle=False)
    write_file(path, buf.getvalue())


def parquet_bytes(data) -> bytes:
    """Parquet file of a pyarrow Table or a list of row dicts (no pandas in between: ~3x faster)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(data) if isinstance(data, list) else data, buf)
    return buf.getvalue().to_pybytes()


def remove_stale_tmp(out: Path) -> int:
    n = 0
    for folder in (out, out / IMAGES_DIR, out / PARTS_DIR, out / FEATURES_DIR):
        if folder.is_dir():
            for p in folder.glob("*.tmp"):
                p.unlink(missing_ok=True)
                n += 1
    return n


def image_id(index: int) -> str:
    """File stem of image ``index``: zero-padded to 7 digits."""
    return f"{int(index):0{ID_DIGITS}d}"

# ----------------------------------------------------------------- completeness and resume
_PNG_END = b"IEND\xaeB`\x82"


def _png_ok(path: Path) -> bool:
    """The file exists and ends with PNG's IEND chunk (not truncated)."""
    try:
        with open(path, "rb") as f:
            f.seek(-len(_PNG_END), os.SEEK_END)
            return f.read() == _PNG_END
    except OSError:
        return False


def merged_rows(out: Path, n: int) -> np.ndarray:
    """(n,) bool: which image indices the merged ``labels.parquet`` of ``out`` holds (none without one)."""
    rows = np.zeros(n, bool)
    if (Path(out) / LABELS_FILE).is_file():
        index = pd.read_parquet(Path(out) / LABELS_FILE, columns=["index"])["index"].to_numpy()
        rows[index[(index >= 0) & (index < n)]] = True
    return rows


def chunk_done(out: Path, number: int, start: int, stop: int, store: str = "png", merged=None) -> bool:
    """Whether chunk ``number`` (images ``start..stop-1``) is complete on disk: its labels (its part,
    or rows of the merged table, ``merged`` from :func:`merged_rows`), and what ``store`` keeps."""
    labelled = (out / PARTS_DIR / f"part-{number:05d}.parquet").is_file() or (
        merged is not None and bool(merged[start:stop].all()))
    if not labelled:
        return False
    if has_features(store) and not features_path(out, number).is_file():
        return False
    return not has_images(store) or all(_png_ok(out / IMAGES_DIR / f"{image_id(i)}.png") for i in range(start, stop))


def _complete(out: Path, settings: dict) -> bool:
    n = settings["n_faces"] * settings["images_per_face"]
    store, size = settings.get("store", "png"), settings.get("chunk_size", 1)
    if has_features(store) and not all(features_path(out, k).is_file() for k in range(-(-n // size))):
        return False
    return (out / LABELS_FILE).is_file() and (not has_images(store) or all(
        _png_ok(out / IMAGES_DIR / f"{image_id(i)}.png") for i in range(n)))


def check_request(out: Path, settings: dict, overwrite: bool) -> bool:
    """True when ``out`` already holds the finished dataset; clears it when ``overwrite``."""
    for name in (CARD_FILE, REQUEST_FILE):
        f = out / name
        if f.is_file():
            held = json.loads(f.read_text())
            held = current_settings(held.get("settings", held))
            if held == settings:
                if name == CARD_FILE and not _complete(out, settings):
                    (out / CARD_FILE).unlink()  # files were removed: finish it again
                    return False
                return name == CARD_FILE
            if not overwrite:
                diff = sorted(k for k in set(held) | set(settings) if held.get(k) != settings.get(k))
                raise ValueError(f"{out} holds a {'finished' if name == CARD_FILE else 'partial'} dataset with "
                                 f"other settings (differ in: {', '.join(diff)}); use another folder or "
                                 "overwrite=True")
            for sub in (IMAGES_DIR, PARTS_DIR, FEATURES_DIR):
                shutil.rmtree(out / sub, ignore_errors=True)
            for n in (CARD_FILE, REQUEST_FILE, LABELS_FILE):
                (out / n).unlink(missing_ok=True)
            return False
    leftovers = [sub for sub, pattern in ((IMAGES_DIR, "*.png"), (FEATURES_DIR, "*.npy"))
            if (out / sub).is_dir() and any((out / sub).glob(pattern))]
    if leftovers:
        if not overwrite:
            raise ValueError(f"{out}/{leftovers[0]} holds files but no card.json or request.json; use another "
                             "folder or overwrite=True")
        for sub in (IMAGES_DIR, PARTS_DIR, FEATURES_DIR):
            shutil.rmtree(out / sub, ignore_errors=True)
        (out / LABELS_FILE).unlink(missing_ok=True)
    return False

# ----------------------------------------------------------------- reading datasets
def load_card(path) -> DatasetCard:
    """The :class:`DatasetCard` of a finished dataset folder."""
    f = Path(path) / CARD_FILE
    if not f.is_file():
        hint = " (generation was interrupted: rerun generate with the same settings to finish it)" \
            if (Path(path) / REQUEST_FILE).is_file() else ""
        raise FileNotFoundError(f"{f} does not exist: {path} is not a finished dataset{hint}")
    return DatasetCard.from_dict(json.loads(f.read_text()), path)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A finished dataset on disk.

    Attributes
    ----------
    path : Path, the folder
    card : dict, the content of ``card.json``
    labels : DataFrame, one row per image (see the module docstring)
    """

    path: Path
    card: dict
    labels: pd.DataFrame

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def ids(self) -> list:
        return self.labels["id"].tolist()

    @property
    def store(self) -> str:
        """What the dataset stores besides labels: "png", "features" or "both" (:data:`STORES`)."""
        return self.card["settings"].get("store", "png")

    @property
    def stem(self) -> dict | None:
        """The stem whose features the dataset stores: {"name", "version", "n_features"}, or None."""
        return self.card["settings"].get("stem")

    def image_path(self, image: str | int) -> Path:
        """Path of an image given its id (str) or index (int)."""
        return self.path / IMAGES_DIR / f"{image if isinstance(image, str) else image_id(image)}.png"

    def _need_images(self):
        if not has_images(self.store):
            raise FileNotFoundError(
                f"dataset {self.path} stores no images (store={self.store!r}: labels and "
                f"{(self.stem or {}).get('name', 'stem')} features only); regenerate it with "
                "thesislib.datasets.generate(..., store='png') or store='both' to have the images")

    def images(self, ids=None) -> np.ndarray:
        """Images as (n, 224, 224, 3) uint8; ``ids`` (ids or indices) or None for all.

        Raises FileNotFoundError for a dataset that stores features only."""
        from PIL import Image

        self._need_images()
        ids = self.ids if ids is None else list(ids)
        out = np.empty((len(ids), CROP_SIZE, CROP_SIZE, 3), np.uint8)
        for k, i in enumerate(ids):
            with Image.open(self.image_path(i)) as im:
                out[k] = np.asarray(im.convert("RGB"))
        return out

    def stem_features(self) -> np.ndarray:
        """The stored stem features of every image (dataset order), (n, F) float32 (:attr:`stem`
        says which stem and version). Raises FileNotFoundError for a dataset that stores none."""
        if not has_features(self.store):
            raise FileNotFoundError(f"dataset {self.path} stores no stem features (store={self.store!r}); "
                                    "generate it with store='features' or 'both', or compute them "
                                    "with thesislib.bprn.dataset_features")
        n, size = len(self), int(self.card["settings"]["chunk_size"])
        X = np.concatenate([np.load(features_path(self.path, k), allow_pickle=False)
                            for k in range(-(-n // size))]).astype(np.float32) if n else np.zeros((0, 0), np.float32)
        if len(X) != n:
            raise RuntimeError(f"{self.path / FEATURES_DIR} holds {len(X)} feature rows for {n} images")
        return X

    def parameters(self) -> np.ndarray:
        """Shape and color coefficients per image, (n, n_shape + n_color) float64."""
        cols = [c for c in self.labels.columns if c.startswith(("shape_", "color_"))]
        return self.labels[cols].to_numpy(np.float64)


def load_dataset(path) -> Dataset:
    """Open a finished dataset folder (raises FileNotFoundError when card.json is missing)."""
    path = Path(path)
    card = load_card(path)
    return Dataset(path, card.to_dict(), pd.read_parquet(path / LABELS_FILE))


def remove_dataset(path) -> int:
    """Delete a dataset folder that :func:`thesislib.datasets.generate` made, finished or partial;
    returns the bytes freed (0 when there is no such folder). ``path``: the folder or its :class:`Dataset`.

    The folder is first renamed to a hidden sibling (``.<name>.removing``), so a deletion killed
    midway leaves no half-deleted dataset under its name: a later ``generate`` there starts afresh.
    A folder without ``card.json`` or ``request.json`` is refused untouched: it is not a dataset.
    """
    path = Path(path.path if isinstance(path, Dataset) else path)
    if not path.exists():
        return 0
    if not ((path / CARD_FILE).is_file() or (path / REQUEST_FILE).is_file()):
        raise ValueError(f"{path} holds no {CARD_FILE} or {REQUEST_FILE}: it is not a dataset folder, so "
                         "nothing was deleted")
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    doomed = path.with_name(f".{path.name}.removing")
    shutil.rmtree(doomed, ignore_errors=True)  # the leftover of a deletion killed before
    os.replace(path, doomed)
    shutil.rmtree(doomed)
    return size


def dataset_gallery(dataset, k: int = 16, cols: int | None = None, pad: int = 2,
                    scale: float = 1.0) -> np.ndarray:
    """A grid of the first ``k`` images for notebooks.

    Parameters
    ----------
    dataset : :class:`Dataset` or path
    k : int, number of images (at most the dataset size)
    cols : int or None, images per row (default ~sqrt(k))
    pad : int, white pixels between images
    scale : float, resize factor per image

    Returns
    -------
    (H, W, 3) uint8 RGB
    """
    from PIL import Image

    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    k = max(1, min(int(k), len(ds)))
    imgs = ds.images(ds.ids[:k])
    side = max(1, int(round(CROP_SIZE * scale)))
    if side != CROP_SIZE:
        imgs = np.stack([np.asarray(Image.fromarray(im).resize((side, side), Image.BILINEAR)) for im in imgs])
    cols = int(cols) if cols else int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    grid = np.full((rows * side + (rows + 1) * pad, cols * side + (cols + 1) * pad, 3), 255, np.uint8)
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        y, x = pad + r * (side + pad), pad + c * (side + pad)
        grid[y:y + side, x:x + side] = im
    return grid
