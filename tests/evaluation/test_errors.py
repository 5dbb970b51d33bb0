"""Shape and albedo errors of predicted parameters against the truth (evaluation.errors)."""


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
