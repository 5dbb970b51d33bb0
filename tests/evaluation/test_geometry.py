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
