"""Off-screen pyvista views: the renderer's silhouette and framing, named cameras, an export that fetches nothing."""
from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("pyvista")

from tests.viz.test_views import _silhouette  # noqa: E402
from thesislib.imaging import Scene, render  # noqa: E402
from thesislib.viz import offscreen  # noqa: E402
from thesislib.viz import views as V  # noqa: E402


@pytest.fixture(scope="module")
def mean_face(face_model):
    return face_model.instance()


@pytest.mark.parametrize("yaw", [0.0, 35.0, 90.0])
def test_mean_face_view_matches_the_renderers_silhouette(mean_face, yaw, tmp_path):
    scene = Scene(yaw=yaw)
    view = V.face_view(mean_face, scene, size=227, zoom=1.0, culling=True, png=tmp_path / "face.png")
    assert view.image.shape == (227, 227, 3) and view.image.dtype == np.uint8
    assert view.png.stat().st_size > 1000
    mask = _silhouette(view.image)
    assert 0.05 < mask.mean() < 0.6, "view is blank or all face"
    assert view.image[mask].std() > 5, "face pixels are one flat colour"
    want = render(mean_face, scene).mask
    iou = (mask & want).sum() / (mask | want).sum()
    assert iou >= 0.95, f"IoU {iou:.3f} against thesislib.imaging.render at yaw {yaw}"  # measured 0.997/0.996/0.985


@pytest.mark.parametrize("camera", list(offscreen.CAMERAS))
def test_named_cameras_show_a_centred_face(mean_face, camera):
    image = V.face_view(mean_face, camera, size=200).image
    rows, cols = np.nonzero(_silhouette(image))
    assert len(rows) > 0.05 * 200 * 200
    assert abs((cols.min() + cols.max()) / 2 - 100) < 25 and abs((rows.min() + rows.max()) / 2 - 100) < 25


def test_unknown_camera_lists_the_names(mean_face):
    with pytest.raises(ValueError, match="front, three-quarter, profile"):
        V.face_view(mean_face, "top")


def test_html_export_never_downloads_vtk_wasm(monkeypatch, tmp_path):
    """pyvista's trame server loads trame-vtklocal, which fetches VTK's wasm viewer from the
    internet unless told a folder: the export tells it an empty one (nothing is fetched at run time)."""
    wasm = pytest.importorskip("trame_vtklocal.module.wasm")
    fetched = []
    monkeypatch.setattr(wasm, "setup_wasm_directory", lambda *a: fetched.append(a))
    monkeypatch.setattr(wasm, "run_async", lambda coro: coro)
    monkeypatch.delenv("VTK_WASM_DIR_OVERRIDE", raising=False)
    with offscreen._no_wasm_download():
        folder = os.environ["VTK_WASM_DIR_OVERRIDE"]
        wasm.register_wasm(tmp_path, wasm_bits="wasm32")
    assert not fetched and "VTK_WASM_DIR_OVERRIDE" not in os.environ and not os.path.exists(folder)
    wasm.register_wasm(tmp_path / "other", wasm_bits="wasm32")  # without it, the download would start
    assert fetched
