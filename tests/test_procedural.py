import numpy as np

from thesislib import procedural
from thesislib.model import default_model


def test_default_model_contract(face_model):
    m = face_model
    assert 20_000 <= m.n_vertices <= 40_000
    assert (m.shape.n_components, m.color.n_components, m.expression.n_components) == (199, 199, 100)
    assert m.triangles.dtype == np.int32 and m.triangles.max() < m.n_vertices
    for part, k95 in (("shape", 31), ("color", 116)):
        var = getattr(m, part).variance.astype(float)
        assert np.all(np.diff(var) <= 0), "variances must decay"
        cum = np.cumsum(var) / var.sum()
        assert cum[k95 - 1] >= 0.95 > cum[k95 - 2]
    B = m.shape.basis[:, :50].astype(float)
    np.testing.assert_allclose(B.T @ B, np.eye(50), atol=1e-4)
    ids = m.ibug68
    assert ids is not None and len(set(ids.tolist())) == 68
    # colours of the mean face are valid and the face is not one flat colour
    assert 0 <= m.color.mean.min() and m.color.mean.max() <= 1 and m.color.mean.std() > 0.05


def test_semantic_directions_spread_over_leading_components(face_model):
    for name in ("sex", "age"):
        w = face_model.directions[name]["shape"]
        assert abs(np.linalg.norm(w) - 1) < 1e-5
        lead = np.abs(w[:10]) ** 2
        assert lead.sum() > 0.9             # lives in the first ten components ...
        assert (lead > 0.02).sum() >= 3      # ... spread over several of them


def test_illumination_leak_in_color_components(face_model):
    """Colour components 2 and 3 brighten one side of the face: light-like gradients."""
    m = face_model
    v = m.shape.mean.reshape(-1, 3)
    for k, direction in ((2, v[:, 0] + v[:, 1]), (3, v[:, 1] - v[:, 0])):
        delta = m.color.basis[:, k].reshape(-1, 3).mean(1)
        assert np.corrcoef(delta, direction)[0, 1] > 0.5


def test_build_is_deterministic_and_cached(tmp_path, monkeypatch, face_model):
    monkeypatch.setenv("THESISLIB_CACHE", str(tmp_path))
    procedural.build_cached.cache_clear()
    try:
        # default_model.__wrapped__: the model around build_cached's arrays, without its memo
        built = default_model.__wrapped__()
        (cached,) = tmp_path.glob(f"default_model_v{procedural.VERSION}_*.npz")
        assert built.fingerprint == face_model.fingerprint
        cached.write_bytes(b"damaged")
        procedural.build_cached.cache_clear()
        assert default_model.__wrapped__().fingerprint == face_model.fingerprint  # rebuilt, not trusted
    finally:
        procedural.build_cached.cache_clear()


def test_procedural_does_not_import_model():
    """The factory's dependency points one way: model -> procedural, never back."""
    import ast
    from pathlib import Path

    for mod in (procedural, procedural.procedural_fields):
        tree = ast.parse(Path(mod.__file__).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "model" not in imported and "thesislib.model" not in imported
