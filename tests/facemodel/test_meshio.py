"""Mesh files: PLY/OBJ/VTP round trips, errors for bad paths and suffixes, parameter batches."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyvista")

from thesislib.facemodel.meshio import SUFFIXES
from thesislib.facemodel import load_mesh, save_parameter_meshes  # noqa: E402


@pytest.fixture(scope="module")
def face(face_model):
    rng = np.random.default_rng(3)
    return face_model.instance(shape=rng.standard_normal(face_model.shape.n_components),
                               color=rng.standard_normal(face_model.color.n_components))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_keeps_vertices_triangles_colours(face, tmp_path, suffix):
    path = face.save(tmp_path / f"face{suffix}")
    back = load_mesh(path)
    assert back.vertices.dtype == np.float32 and back.triangles.dtype == np.int32
    np.testing.assert_array_equal(back.vertices, face.vertices.astype(np.float32))
    np.testing.assert_array_equal(back.triangles, face.triangles)
    if suffix == ".vtp":  # lossless, landmarks included
        np.testing.assert_array_equal(back.colors, face.colors.astype(np.float32))
        np.testing.assert_array_equal(back.landmarks, face.landmarks)
    else:  # 8-bit colours, as mesh viewers read them
        eight = np.rint(np.clip(face.colors.astype(np.float64), 0, 1) * 255) / 255
        np.testing.assert_allclose(back.colors, eight, atol=1e-6)
        # a second trip is exact
        again = load_mesh(back.save(tmp_path / f"again{suffix}"))
        np.testing.assert_array_equal(again.colors, back.colors)


def test_ply_is_a_standard_binary_ply_with_vertex_colours(face, tmp_path):
    path = face.save(tmp_path / "face.ply")
    header = path.read_bytes()[:400].split(b"end_header")[0].decode()
    assert header.startswith("ply\nformat binary_little_endian 1.0")
    assert f"element vertex {len(face.vertices)}" in header
    assert f"element face {len(face.triangles)}" in header
    for channel in ("red", "green", "blue"):
        assert f"property uchar {channel}" in header


def test_unknown_suffix_names_the_supported_ones(face, tmp_path):
    with pytest.raises(ValueError, match=r"\.ply, \.obj, \.vtp"):
        face.save(tmp_path / "face.stl")
    with pytest.raises(ValueError, match="supported suffixes"):
        load_mesh(tmp_path / "face.glb")


def test_missing_folder_and_missing_file_are_clear(face, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        face.save(tmp_path / "nowhere" / "face.ply")
    with pytest.raises(FileNotFoundError, match="no mesh file"):
        load_mesh(tmp_path / "absent.ply")


def test_parameter_batch_writes_one_ply_per_face(face_model, tmp_path):
    d = face_model.shape.n_components + face_model.color.n_components
    params = np.random.default_rng(0).standard_normal((3, d))
    paths = save_parameter_meshes(face_model, params, tmp_path / "meshes" / "samples")
    assert [p.name for p in paths] == ["face_000.ply", "face_001.ply", "face_002.ply"]
    back = load_mesh(paths[1])
    ns = face_model.shape.n_components
    want = face_model.instance(shape=params[1, :ns], color=params[1, ns:])
    np.testing.assert_array_equal(back.vertices, want.vertices)
    with pytest.raises(ValueError, match="names"):
        save_parameter_meshes(face_model, params, tmp_path, names=["a"])


def test_suite_index_links_the_meshes_folder_when_it_exists(face, tmp_path):
    from thesislib.suite.runner import render_index

    assert "meshes/" not in render_index([], "smoke", tmp_path)
    (tmp_path / "meshes" / "05_bprn").mkdir(parents=True)
    face.save(tmp_path / "meshes" / "05_bprn" / "photo_1.ply")
    page = render_index([], "smoke", tmp_path)
    assert 'href="meshes/"' in page and 'href="meshes/05_bprn/"' in page and "(1 files)" in page


def test_batch_names_become_safe_file_names(face_model, tmp_path):
    d = face_model.shape.n_components + face_model.color.n_components
    paths = save_parameter_meshes(face_model, np.zeros((2, d)), tmp_path, names=["a/b c.jpg", "../"])
    assert [p.name for p in paths] == ["a_b_c.jpg.ply", "face_001.ply"]
    assert all(p.parent == tmp_path for p in paths)
