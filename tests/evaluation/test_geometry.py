"""Rigid alignment and vertex errors (evaluation.geometry)."""


def test_mean_vertex_errors_equal_the_mean_of_vertex_error():
    import numpy as np

    from thesislib.evaluation.geometry import mean_vertex_errors, vertex_error

    rng = np.random.default_rng(0)
    T = rng.normal(size=(5, 300, 3))
    a = rng.normal(size=(5, 3, 3))
    Q, _ = np.linalg.qr(a)
    P = T @ Q + rng.normal(size=(5, 1, 3)) + rng.normal(0, 0.1, size=T.shape)  # moved, rotated (or reflected), noisy
    np.testing.assert_allclose(mean_vertex_errors(P, T), vertex_error(P, T).mean(1), rtol=1e-12)
    assert mean_vertex_errors(T, T).max() < 1e-12


def test_float32_vertices_give_the_numbers_of_their_float64_copy():
    """mean_vertex_errors reads a model's float32 vertices as they are: the same numbers."""
    import numpy as np

    from thesislib.evaluation.geometry import mean_vertex_errors

    rng = np.random.default_rng(1)
    T = (50 * rng.normal(size=(4, 500, 3))).astype(np.float32)
    P = T + rng.normal(size=T.shape).astype(np.float32)
    want = mean_vertex_errors(P.astype(np.float64), T.astype(np.float64))
    np.testing.assert_array_equal(mean_vertex_errors(P, T), want)
    np.testing.assert_array_equal(mean_vertex_errors(P, T.astype(np.float64)), want)


def test_mean_errors_are_the_per_prediction_errors(face_model):
    """mean_errors (the truth rendered once for several prediction sets) gives mean_shape_errors
    and albedo_errors(...).mean(1) of each set, bit for bit, batches of unequal size included."""
    import numpy as np

    from thesislib.evaluation import albedo_errors, mean_errors, mean_shape_errors
    from thesislib.evaluation.geometry import mean_vertex_errors

    m = face_model.truncated(50, 50, 0)
    rng = np.random.default_rng(2)
    T = rng.normal(size=(37, 100))
    Ps = [T + s * rng.normal(size=T.shape) for s in (0.2, 1.0)] + [np.zeros_like(T)]
    got = mean_errors(Ps, T, m, batch=16)
    for P, (v, a) in zip(Ps, got):
        np.testing.assert_array_equal(v, mean_shape_errors(P, T, m, batch=16))
        np.testing.assert_array_equal(v, np.concatenate([mean_vertex_errors(
            m.vertices(P[i:i + 16, :50]).astype(np.float64), m.vertices(T[i:i + 16, :50]).astype(np.float64))
            for i in range(0, len(T), 16)]))  # the float64 copies of fresh vertices: the former way
        np.testing.assert_array_equal(a, albedo_errors(P, T, m).mean(1))
    d = albedo_errors(Ps[0], T, m)
    C, D = m.colors(Ps[0][:, 50:]), m.colors(T[:, 50:])
    np.testing.assert_array_equal(d, 255.0 * np.linalg.norm(C - D, axis=-1))  # numpy's norm, as before
