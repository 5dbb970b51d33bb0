"""Backgrounds behind the rendered face: user photos, procedural images, a cached bank.

Three sources, chosen by :class:`thesislib.imaging.scene.SceneSampler` ``background``:

* ``"bank"`` (default): :func:`background_bank` builds :data:`BANK_IMAGES` procedural
  backgrounds of :data:`BANK_SIDE` px once per process, deterministically from
  :data:`BANK_SEED`; each render draws one of them, a random square crop (position and
  scale, :func:`random_crop`) and a horizontal flip with its own scene ``rng``. A draw
  costs ~0.3 ms instead of ~5-7 ms for a fresh :func:`procedural_background`, and
  depends only on that ``rng``, so images stay independent of the worker count.
* ``"procedural"``: a fresh :func:`procedural_background` per render (the old default).
* ``"images"``: random crops and flips of photos from :func:`load_backgrounds`.

Images are (H, W, 3) uint8 RGB. :mod:`thesislib.imaging.scene` re-exports every name here
(``thesislib.imaging.scene.load_backgrounds`` and the others lived there before).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Side of a render and of its background, px (re-exported as ``thesislib.imaging.scene.IMAGE_SIZE``).
IMAGE_SIZE = 227
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
#: Images in the procedural background bank, their side in px and the seed they come
#: from (bank image ``i`` is ``procedural_background(default_rng([BANK_SEED, i]), BANK_SIDE)``,
#: so a bank's first images do not depend on its size). 64 x 256 px is 12.6 MB per process
#: and ~0.5 s to build; crops of half to all of the side (128-256 px, resized to 227) give
#: the scale variety, a flip and the position the rest.
BANK_IMAGES = 64
BANK_SIDE = 256
BANK_SEED = 20170


def load_backgrounds(folder, max_images: int | None = None) -> list:
    """Read background images from a folder.

    Parameters
    ----------
    folder : path of a folder of images (e.g. Places205 test images)
    max_images : read at most this many (files sorted by name)

    Returns
    -------
    list of (H, W, 3) uint8 RGB arrays. Unreadable files are skipped; a warning
    counts and names them.
    """
    from PIL import Image

    folder = Path(folder)
    hint = "put background photos there (.jpg/.png, e.g. the Places205 test images)"
    if not folder.is_dir():
        raise FileNotFoundError(f"background folder {folder} does not exist; {hint}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"background folder {folder} has no image files; {hint}")
    images, bad = [], []
    for f in files:
        if max_images is not None and len(images) >= max_images:
            break
        try:
            with Image.open(f) as im:
                images.append(np.asarray(im.convert("RGB"), dtype=np.uint8).copy())
        except Exception:  # PIL raises many types for broken files
            bad.append(f.name)
    if bad:
        shown = ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else "")
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) in {folder}: {shown}", stacklevel=2)
    if not images:
        raise ValueError(f"no readable images in {folder}; {hint}")
    return images


#: Face-free colour photos that installed packages ship (scikit-image's sample images;
#: matplotlib's sample photo), file name -> package. Backgrounds no training scene uses:
#: the training scenes draw from the procedural bank or the user's folder.
PACKAGE_BACKGROUNDS = {"coffee.png": "skimage", "chelsea.png": "skimage", "rocket.jpg": "skimage",
                       "hubble_deep_field.jpg": "skimage", "motorcycle_left.png": "skimage",
                       "retina.jpg": "skimage", "ihc.png": "skimage", "color.png": "skimage",
                       "Minduka_Present_Blue_Pack.png": "matplotlib"}


def package_backgrounds() -> list:
    """The photos of :data:`PACKAGE_BACKGROUNDS` that are installed, as (H, W, 3) uint8 RGB.

    Raises
    ------
    FileNotFoundError
        None of them is installed (scikit-image is a thesislib dependency).
    """
    import importlib.util

    from PIL import Image

    folders = {}
    for pkg in set(PACKAGE_BACKGROUNDS.values()):
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        folders[pkg] = root / "data" if pkg == "skimage" else root / "mpl-data" / "sample_data"
    images = []
    for name, pkg in PACKAGE_BACKGROUNDS.items():
        f = folders.get(pkg, Path("/nonexistent")) / name
        if f.is_file():
            with Image.open(f) as im:
                images.append(np.asarray(im.convert("RGB"), dtype=np.uint8).copy())
    if not images:
        raise FileNotFoundError("none of the sample photos of scikit-image or matplotlib is installed "
                                f"({', '.join(PACKAGE_BACKGROUNDS)}); pip install scikit-image")
    return images


def procedural_background(rng: np.random.Generator, size: int = IMAGE_SIZE, kind: str | None = None):
    """A smooth random background: ``(image (size, size, 3) uint8, kind)``.

    ``kind`` is "gradient" (linear ramp between two colours), "blobs" (soft coloured
    discs on a base colour) or "stripes" (soft or hard stripes); random when None.
    """
    kinds = ("gradient", "blobs", "stripes")
    kind = kinds[int(rng.integers(3))] if kind is None else kind
    if kind not in kinds:
        raise ValueError(f"unknown procedural background kind {kind!r}; use one of {kinds}")
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    c1, c2 = rng.uniform(0.0, 1.0, (2, 3)).astype(np.float32)
    if kind == "blobs":
        img = np.broadcast_to(c1, (size, size, 3)).copy()
        for _ in range(int(rng.integers(3, 9))):
            cx, cy = rng.uniform(-0.1, 1.1, 2)
            s = rng.uniform(0.05, 0.3)
            alpha = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))[..., None]
            img = img * (1 - alpha) + rng.uniform(0, 1, 3).astype(np.float32) * alpha
    else:
        a = rng.uniform(0, 2 * np.pi)
        u = np.cos(a) * xx + np.sin(a) * yy
        if kind == "gradient":
            t = (u - u.min()) / max(float(u.max() - u.min()), 1e-6)
        else:
            t = 0.5 + 0.5 * np.sin(2 * np.pi * u / rng.uniform(0.04, 0.3))
            t = (t > 0.5).astype(np.float32) if rng.random() < 0.5 else t
        img = c1 * (1 - t[..., None]) + c2 * t[..., None]
    img = img * 255 + rng.normal(0.0, 2.0, (size, size, 1))
    return np.clip(img, 0, 255).astype(np.uint8), kind


def _draw_box(h: int, w: int, rng: np.random.Generator, flip: bool):
    """A random square (half to all of the short side) in an h x w image and whether to
    mirror it (probability 1/2 when ``flip``): ((x0, y0, x1, y1), flipped)."""
    side = max(1, int(round(min(h, w) * rng.uniform(0.5, 1.0))))
    y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    return (x0, y0, x0 + side, y0 + side), bool(flip and rng.random() < 0.5)


def _crop_flip(image: np.ndarray, rng: np.random.Generator, size: int, flip: bool):
    """Random square crop, optionally mirrored, resized to (size, size, 3) uint8 (Pillow's
    bilinear filter, :func:`thesislib.imaging.crops.resample`): (image, flipped)."""
    from .crops import resample

    box, flipped = _draw_box(image.shape[0], image.shape[1], rng, flip)
    return resample(np.asarray(image, np.uint8), box, size, flip=flipped), flipped


def random_crop(image: np.ndarray, rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """A random square crop (half to all of the short side) resized to (size, size, 3) uint8."""
    return _crop_flip(image, rng, size, flip=False)[0]


def random_crop_flip(image: np.ndarray, rng: np.random.Generator, size: int = IMAGE_SIZE):
    """:func:`random_crop`, then a horizontal flip with probability 1/2 (one more ``rng``
    draw): ``(image (size, size, 3) uint8, flipped bool)``."""
    return _crop_flip(image, rng, size, flip=True)


@dataclass(frozen=True, eq=False)
class BackgroundBank:
    """Procedural backgrounds made once, drawn from many times.

    Attributes
    ----------
    images : (n, side, side, 3) uint8, read-only
    kinds : tuple of n str, the :func:`procedural_background` kind of each image
    seed : int, image ``i`` comes from ``default_rng([seed, i])``
    """

    images: np.ndarray
    kinds: tuple
    seed: int

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, rng: np.random.Generator, size: int = IMAGE_SIZE):
        """One background: a random image, crop and flip drawn with ``rng``.

        Returns
        -------
        (image (size, size, 3) uint8, id str) with id ``"bank:<i>"``, ``":flip"`` appended
        when mirrored
        """
        k = int(rng.integers(len(self.images)))
        img, flipped = random_crop_flip(self.images[k], rng, size)
        return img, f"bank:{k}" + (":flip" if flipped else "")


@functools.lru_cache(maxsize=4)
def background_bank(n: int = BANK_IMAGES, side: int = BANK_SIDE, seed: int = BANK_SEED) -> BackgroundBank:
    """The bank of ``n`` procedural backgrounds of ``side`` px from ``seed``.

    Built on first use and kept for the life of the process (each worker process
    builds its own, with the same bytes), so it is never pickled or shipped.
    """
    n, side, seed = int(n), int(side), int(seed)
    if n < 1 or side < 2:
        raise ValueError(f"a background bank needs n >= 1 images of side >= 2 px, got n={n}, side={side}")
    images = np.empty((n, side, side, 3), np.uint8)
    kinds = []
    for i in range(n):
        images[i], kind = procedural_background(np.random.default_rng([seed, i]), side)
        kinds.append(kind)
    images.setflags(write=False)
    return BackgroundBank(images, tuple(kinds), seed)
