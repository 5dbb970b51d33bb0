"""Tests of thesislib.faces.meshnet: MediaPipe's attention face mesh run by LiteRT, custom ops in numba."""
import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
pytest.importorskip("mediapipe")

from thesislib.faces import facemesh as F  # noqa: E402
from thesislib.faces import meshnet as M  # noqa: E402


@pytest.fixture(scope="module")
def crop():
    from thesislib.facemodel import default_model
    from thesislib.imaging import landmark_crop, render

    r = render(default_model().truncated(50, 50, 0).mean_mesh)
    return landmark_crop(r.image, r.landmarks, r.landmark_visible).image


def _box(size=224):
    side = F.CROP_ROI[2] * size
    return F.CROP_ROI[0] * size - side / 2, F.CROP_ROI[1] * size - side / 2, side


def test_the_model_is_cut_at_its_custom_ops():
    net = M.network()
    kinds = [s[0] for s in net.steps if s[0] != "skip"]
    assert kinds.count("op") == 11 and kinds[0] == "tflite"  # 3 matrices, 3 feature crops, 5 landmark maps
    assert M.network() is net  # one per thread


def test_same_landmarks_as_mediapipes_graph_on_the_same_region(crop):
    """MediaPipe's own FaceLandmarkCpu graph (with its custom ops) given the same region."""
    from google.protobuf import text_format
    from mediapipe.framework import calculator_pb2
    from mediapipe.framework.formats import rect_pb2
    from mediapipe.python.solution_base import SolutionBase

    F.mediapipe_solutions()
    cfg = text_format.Parse(
        'input_stream: "IMAGE:image" input_stream: "ROI:roi" input_side_packet: "WITH_ATTENTION:with_attention" '
        'output_stream: "LANDMARKS:face_landmarks" node { calculator: "FaceLandmarkCpu" input_stream: "IMAGE:image" '
        'input_stream: "ROI:roi" output_stream: "LANDMARKS:face_landmarks" '
        'input_side_packet: "WITH_ATTENTION:with_attention" }', calculator_pb2.CalculatorGraphConfig())
    cx, cy, s = F.CROP_ROI
    with F.quiet_stderr():
        graph = SolutionBase(graph_config=cfg, side_inputs={"with_attention": True}, outputs=["face_landmarks"])
        res = graph.process({"image": np.ascontiguousarray(crop),
                             "roi": rect_pb2.NormalizedRect(x_center=cx, y_center=cy, width=s, height=s)})
        graph.close()
    want = np.array([(p.x, p.y, p.z) for p in res.face_landmarks.landmark]) * 224
    got = F.landmarks(crop, detector=False)
    assert got.shape == want.shape == (478, 3)
    d = np.abs(got - want)
    assert d[:, :2].mean() < 0.1 and d[:, :2].max() < 1.5, (d[:, :2].mean(), d[:, :2].max())
    assert d[:, 2].mean() < 0.1


def test_region_resamples_like_warp_affine():
    """Column j of the region samples source x0 + j * side / 192 (bilinear, border replicated)."""
    img = np.random.default_rng(0).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    x0, y0, side = -3.0, 5.5, 96.0  # 0.5 px per output pixel, partly outside
    got = M.region(img, (x0, y0, side))[0]
    for i, j in [(0, 0), (7, 11), (100, 3), (191, 191), (60, 130)]:
        sx, sy = x0 + j * side / M.SIZE, y0 + i * side / M.SIZE
        xa, ya = int(np.floor(sx)), int(np.floor(sy))
        fx, fy = sx - xa, sy - ya
        px = lambda y, x: img[min(max(y, 0), 49), min(max(x, 0), 59)].astype(float)  # noqa: E731
        want = ((1 - fy) * ((1 - fx) * px(ya, xa) + fx * px(ya, xa + 1))
                + fy * ((1 - fx) * px(ya + 1, xa) + fx * px(ya + 1, xa + 1))) / 255
        np.testing.assert_allclose(got[i, j], want, atol=1e-5)


def test_custom_ops_against_their_definitions():
    rng = np.random.default_rng(1)
    # TransformLandmarks: x' = m00 x + m01 y + m03, y' = m10 x + m11 y + m13
    m = np.eye(4, dtype=np.float32)[None].copy()
    m[0, :2, :2] = [[2, 0.5], [-0.5, 2]]
    m[0, :2, 3] = [3, -1]
    pts = rng.normal(size=(1, 7, 2)).astype(np.float32)
    np.testing.assert_allclose(M._transform_landmarks(pts, m)[0], pts[0] @ m[0, :2, :2].T + m[0, :2, 3], rtol=1e-6)
    # TransformTensorBilinear with a shift by whole pixels (after the half-pixel correction) copies the map
    x = rng.normal(size=(1, 8, 8, 4)).astype(np.float32)
    shift = np.eye(4, dtype=np.float32)[None].copy()
    shift[0, :2, 3] = [2, 1]
    out = M._transform_tensor(x, shift, 4, 4)
    np.testing.assert_allclose(out[0], x[0, 1:5, 2:6], atol=1e-6)
    assert (M._transform_tensor(x, shift * 0 + np.eye(4, dtype=np.float32) * 100, 4, 4)[0, 1:] == 0).all()
    # Landmarks2TransformMatrix: an unrotated box maps the out grid's centre to the box centre
    mesh = np.zeros((1, 468, 3), np.float32)
    mesh[0, [1, 2, 3, 4], :2] = [[10, 20], [30, 20], [10, 40], [30, 40]]
    t = M._transform_matrix(mesh, 1, 2, np.array([1, 2, 3, 4]), 1.5, 1.5, 16.0, 16.0, 0.0)[0]
    np.testing.assert_allclose(t[:2] @ [8, 8, 0, 1], [20, 30], atol=1e-5)
    np.testing.assert_allclose(np.diag(t)[:2], [1.5 * 20 / 16] * 2, rtol=1e-6)


def test_missing_litert_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    with pytest.raises(ImportError, match="pip install ai-edge-litert"):
        M.check()
