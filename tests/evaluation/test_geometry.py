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
