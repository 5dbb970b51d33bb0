"""Tests of what a worker does with a chunk and where chunks run (thesislib.datasets.chunks)."""
import threading

import numpy as np
import pytest

from thesislib.datasets import chunks as ex


def _ctx(**kw):
    base = dict(out_dir="", seed=0, images_per_face=2, n_shape=10, n_color=10, n_expression=0, model=None,
                model_fingerprint="", scene_sampler=None, crop=None, expression=None)
    return ex.ChunkContext(**{**base, **kw})


def test_chunk_instances_are_one_batch_equal_to_model_instances(face_model):
    model = ex.compact_model(face_model.truncated(10, 10, 3))
    P = np.random.default_rng(1).normal(size=(3, 20))
    E = np.random.default_rng(2).normal(size=(6, 3))
    chunk = ex.Chunk(0, 4, 10, 2, P, {})  # images 4..9 of faces 2..4, two per face
    ctx = _ctx(n_expression=3)
    V, C = model.instances(shape=P[:, :10], color=P[:, 10:])
    for k, mesh in enumerate(ex._chunk_meshes(model, chunk, ctx, None)):
        np.testing.assert_array_equal(mesh.vertices, V[k // 2])
        np.testing.assert_array_equal(mesh.colors, C[k // 2])
        single = model.instance(P[k // 2, :10], P[k // 2, 10:])
        np.testing.assert_allclose(mesh.vertices, single.vertices, atol=1e-3)
        np.testing.assert_array_equal(mesh.landmarks, single.landmarks)
    Vx, _ = model.instances(shape=np.repeat(P[:, :10], 2, 0), color=np.repeat(P[:, 10:], 2, 0), expression=E)
    for k, mesh in enumerate(ex._chunk_meshes(model, chunk, ctx, E)):
        np.testing.assert_allclose(mesh.vertices, Vx[k], atol=1e-4)


def test_chunk_instances_in_batches_of_reused_buffers(face_model, monkeypatch):
    model = ex.compact_model(face_model.truncated(10, 10, 0))
    P = np.random.default_rng(5).normal(size=(6, 20))
    chunk = ex.Chunk(0, 3, 13, 1, P, {})  # images 3..12 of faces 1..6 (two per face, face 1 once)
    ctx = _ctx()
    V, C = model.instances(shape=P[:, :10], color=P[:, 10:])
    monkeypatch.setattr(ex, "INSTANCE_BATCH", 2)
    monkeypatch.setattr(ex, "_BUFFERS", threading.local())
    seen = []
    for index, mesh in zip(range(3, 13), ex._chunk_meshes(model, chunk, ctx, None)):
        local = index // 2 - 1
        np.testing.assert_allclose(mesh.vertices, V[local], atol=1e-5)
        np.testing.assert_allclose(mesh.colors, C[local], atol=1e-6)
        seen.append(mesh.vertices)
    assert np.shares_memory(seen[0], seen[-2])  # faces 1 and 5: row 0 of one reused buffer


def test_label_table_columns_per_image():
    P = np.arange(2 * 3, dtype=float).reshape(2, 3)  # faces 1 and 2, three parameters
    chunk = ex.Chunk(0, 3, 6, 1, P, {"age": np.array([30.0, 40.0]), "sex": np.array([1.0, 0.0])})
    ctx = _ctx(images_per_face=2)
    scenes = [{"yaw": float(i), "background_id": f"bank:{i}"} for i in range(3)]
    crops = [("landmarks", 1, 2, 3, 4), ("center", 0, 0, 224, 224), ("landmarks", 5, 6, 7, 8)]
    t = ex._label_table(chunk, ctx, ["p0", "p1", "p2"], None, scenes, crops).to_pydict()
    assert t["id"] == ["0000003", "0000004", "0000005"] and t["index"] == [3, 4, 5]
    assert t["instance_id"] == [1, 2, 2] and t["age"] == [30.0, 40.0, 40.0] and t["sex"] == [1.0, 0.0, 0.0]
    assert t["p2"] == [2.0, 5.0, 5.0] and t["yaw"] == [0.0, 1.0, 2.0]
    assert t["crop_method"] == ["landmarks", "center", "landmarks"] and t["crop_x1"] == [3, 224, 7]
    E3 = np.full((3, 2), 0.25)
    t = ex._label_table(chunk, ctx, ["p0", "p1", "p2", "e0", "e1"], E3, scenes, crops).to_pydict()
    assert t["e1"] == [0.25] * 3 and t["p0"] == [0.0, 3.0, 3.0]


def test_worker_model_refuses_another_default_model(monkeypatch):
    model = object()
    monkeypatch.setitem(ex._MODELS, (10, 10, 0), (model, "abc"))
    assert ex._worker_model(_ctx(model_fingerprint="abc")) is model
    shipped = object()
    assert ex._worker_model(_ctx(model=shipped, model_fingerprint="zzz")) is shipped
    with pytest.raises(RuntimeError, match="differs from the coordinator's"):
        ex._worker_model(_ctx(model_fingerprint="other"))


def test_compact_model_has_column_major_bases_and_the_same_fingerprint(face_model):
    small = face_model.truncated(5, 5, 0)
    compact = ex.compact_model(small)
    assert compact.shape.basis.flags.f_contiguous and compact.color.basis.flags.f_contiguous
    assert compact.fingerprint == small.fingerprint


def test_execute_in_process_sums_cpu_and_passes_the_context(monkeypatch):
    seen = []

    def fake(chunk, ctx):
        seen.append((chunk.number, ctx.seed))
        return {"number": chunk.number, "n": chunk.stop - chunk.start, "cpu_s": 0.5}

    monkeypatch.setattr(ex, "_run_chunk", fake)
    chunks = [ex.Chunk(k, 2 * k, 2 * k + 2, k, np.zeros((1, 20)), {}) for k in range(3)]
    assert ex.run_chunks(chunks, _ctx(seed=9), 1, None, False, 0) == 1.5
    assert seen == [(0, 9), (1, 9), (2, 9)]
    assert ex.run_chunks([], _ctx(), 4, None, False, 0) == 0.0


def test_one_thread_limits_blas_inside_only():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [p["num_threads"] for p in threadpoolctl.threadpool_info()]
    with ex._OneThread():
        assert all(p["num_threads"] == 1 for p in threadpoolctl.threadpool_info())
    assert [p["num_threads"] for p in threadpoolctl.threadpool_info()] == before


def landmark_crop_after_render(image, landmarks, visible, size=224):
    """The landmark crop through the generic path (a full render, then the crop function)."""
    from thesislib.imaging import landmark_crop

    return landmark_crop(image, landmarks, visible, size)


@pytest.mark.parametrize("expression", [False, {"per": "face", "n_expression": 4}, {"per": "image", "n_expression": 4}])
def test_default_crop_renders_straight_to_it_with_the_same_bytes(tmp_path, expression):
    """The default crop takes imaging.render_crop (normals once per face unless each image has its own
    expression); any other crop function renders whole images first: the same crops."""
    from thesislib.datasets import generate, load_dataset

    kw = dict(sampler="naive_normal_1", n_faces=3, images_per_face=2, seed=4, chunk_size=4, progress=False,
              expression=expression)
    direct = load_dataset(generate(tmp_path / "direct", **kw).path)
    generic = load_dataset(generate(tmp_path / "generic", crop=landmark_crop_after_render, **kw).path)
    np.testing.assert_array_equal(direct.images(), generic.images())
    cols = [c for c in direct.labels.columns if c.startswith("crop_")]
    assert direct.labels[cols].equals(generic.labels[cols])
