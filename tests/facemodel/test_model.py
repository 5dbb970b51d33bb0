import numpy as np
import pytest

from tests.bfm_fixture import write_bfm
from thesislib.facemodel import MorphableModel, load_bfm2017, load_model
from thesislib.facemodel.model import PcaPart


def test_loader_reads_statismo_layout(tmp_path):
    path = write_bfm(tmp_path / "bfm.h5")
    m = load_bfm2017(path)
    assert m.n_vertices == 40
    assert m.shape.basis.shape == (120, 6) and m.color.n_components == 5 and m.expression.n_components == 4
    assert m.triangles.shape == (38, 3) and m.triangles.dtype == np.int32
    assert m.landmarks == {"center.nose.tip": 3, "left.eye.corner_outer": 7}  # snapped to nearest vertex
    B = m.shape.basis.astype(float)
    np.testing.assert_allclose(B.T @ B, np.eye(6), atol=1e-5)
    small = load_bfm2017(path, n_shape=2, n_color=3, n_expression=0)
    assert (small.shape.n_components, small.color.n_components, small.expression.n_components) == (2, 3, 0)
    assert load_model({"kind": "bfm2017", "path": str(path), "n_shape": 2}).shape.n_components == 2


def _del(key):
    def f(h5):
        del h5[key]
    return f


def _set(key, value):
    def f(h5):
        del h5[key]
        h5[key] = value
    return f


BAD = [
    ("missing key", _del("shape/model/pcaBasis"), "/shape/model/pcaBasis: missing"),
    ("missing color mean", _del("color/model/mean"), "/color/model/mean: missing"),
    ("wrong mean shape", _set("shape/model/mean", np.zeros(10, np.float32)), "/shape/model/mean: expected shape (120,)"),
    ("wrong basis rows", _set("color/model/pcaBasis", np.zeros((7, 5), np.float32)), "/color/model/pcaBasis: expected shape"),
    ("variance length", _set("shape/model/pcaVariance", np.ones(3, np.float32)), "/shape/model/pcaVariance: expected shape (6,)"),
    ("negative variance", _set("expression/model/pcaVariance", -np.ones(4, np.float32)), "negative variance"),
    ("nan", _set("color/model/mean", np.full(120, np.nan, np.float32)), "/color/model/mean: contains NaN"),
    ("index out of range", _set("shape/representer/cells", np.full((3, 5), 99, np.int32)), "out of range"),
    ("cells not integer", _set("shape/representer/cells", np.zeros((3, 5), np.float32)), "expected integers"),
    ("points shape", _set("shape/representer/points", np.zeros((2, 40), np.float32)), "expected shape (3, N)"),
    ("landmarks json", _set("metadata/landmarks/json", "not json"), "/metadata/landmarks/json"),
]


@pytest.mark.parametrize("name,mutate,message", BAD, ids=[b[0] for b in BAD])
def test_loader_names_file_and_key(tmp_path, name, mutate, message):
    path = write_bfm(tmp_path / "bad.h5", mutate=mutate)
    with pytest.raises(ValueError) as err:
        load_bfm2017(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_loader_missing_not_hdf5_truncated(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such BFM 2017 file"):
        load_bfm2017(tmp_path / "nope.h5")
    text = tmp_path / "model.h5"
    text.write_text("this is not an HDF5 file")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        load_bfm2017(text)
    good = write_bfm(tmp_path / "good.h5", n_vertices=400, k=(60, 60, 40))
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=str(cut)):
        load_bfm2017(cut)
    with pytest.raises(ValueError, match="asked for 99 components"):
        load_bfm2017(good, n_shape=99)


def _toy(seed=0, n=30, k=5):
    rng = np.random.default_rng(seed)

    def part(scale):
        q, _ = np.linalg.qr(rng.normal(size=(3 * n, k)))
        return PcaPart(rng.normal(size=3 * n).astype(np.float32), q.astype(np.float32),
                       (scale * np.linspace(3, 1, k)).astype(np.float32))

    return MorphableModel(part(4.0), part(0.01), part(1.0), np.array([[0, 1, 2]], np.int32),
                          {"a": 0, "b": 5})


def test_instance_matches_direct_formula():
    m = _toy()
    rng = np.random.default_rng(1)
    a, b, g = rng.normal(size=5), rng.normal(size=3), rng.normal(size=2)
    mesh = m.instance(shape=a, color=b, expression=g)
    shape = m.shape.mean + m.shape.basis @ (np.sqrt(m.shape.variance) * a)
    shape = shape + m.expression.basis[:, :2] @ (np.sqrt(m.expression.variance[:2]) * g)
    color = m.color.mean + m.color.basis[:, :3] @ (np.sqrt(m.color.variance[:3]) * b)
    np.testing.assert_allclose(mesh.vertices, shape.reshape(-1, 3), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mesh.colors, np.clip(color, 0, 1).reshape(-1, 3), atol=1e-6)
    np.testing.assert_array_equal(mesh.landmarks, [0, 5])
    mean = m.instance()
    np.testing.assert_allclose(mean.vertices, m.shape.mean.reshape(-1, 3))


def test_batched_instances_equal_single_ones():
    m = _toy()
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(4, 5)), rng.normal(size=(4, 4))
    V, C = m.instances(shape=A, color=B)
    assert V.shape == (4, 30, 3) and C.shape == (4, 30, 3)
    for i in range(4):
        mesh = m.instance(shape=A[i], color=B[i])
        np.testing.assert_allclose(V[i], mesh.vertices, atol=1e-5)
        np.testing.assert_allclose(C[i], mesh.colors, atol=1e-6)
    out = (np.full((4, 30, 3), np.nan, np.float32), np.full((4, 30, 3), np.nan, np.float32))
    V2, C2 = m.instances(shape=A, color=B, out=out)
    assert np.shares_memory(V2, out[0]) and np.shares_memory(C2, out[1])  # summed into the buffers
    np.testing.assert_array_equal(V2, V)
    np.testing.assert_array_equal(C2, C)
    with pytest.raises(ValueError, match="batch sizes differ"):
        m.instances(shape=A, color=B[:2])
    with pytest.raises(ValueError, match="only 5 components"):
        m.instance(shape=np.zeros(6))


def test_fingerprint_is_stable_and_sensitive():
    assert _toy(0).fingerprint == _toy(0).fingerprint
    assert _toy(0).fingerprint != _toy(1).fingerprint
    assert _toy(0).truncated(n_shape=2).fingerprint != _toy(0).fingerprint


def test_save_bfm2017_roundtrip(tmp_path, face_model):
    from thesislib.facemodel.model import save_bfm2017

    m = face_model.truncated(8, 6, 3)
    path = save_bfm2017(m, tmp_path / "procedural_as_bfm.h5")
    back = load_bfm2017(path)
    for part in ("shape", "color", "expression"):
        a, b = getattr(m, part), getattr(back, part)
        np.testing.assert_allclose(b.mean, a.mean)
        np.testing.assert_allclose(b.basis, a.basis, atol=1e-6)
        np.testing.assert_allclose(b.variance, a.variance)
    np.testing.assert_array_equal(back.triangles, m.triangles)
    assert back.landmarks == m.landmarks and back.ibug68 is not None
    rng = np.random.default_rng(0)
    a = rng.normal(size=8)
    np.testing.assert_allclose(back.instance(shape=a).vertices, m.instance(shape=a).vertices, atol=1e-3)
