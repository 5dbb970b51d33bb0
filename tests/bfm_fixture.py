"""Write small HDF5 files in the exact Statismo layout of the Basel Face Model 2017."""
import json

import h5py
import numpy as np


def write_bfm(path, n_vertices=40, k=(6, 5, 4), seed=0, landmarks=True, mutate=None):
    """A tiny valid BFM 2017 file; ``mutate(f)`` may damage it before closing."""
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(3, n_vertices)) * 50
    tris = np.array([[i, (i + 1) % n_vertices, (i + 2) % n_vertices] for i in range(n_vertices - 2)]).T
    with h5py.File(path, "w") as f:
        for part, kk in zip(("shape", "color", "expression"), k):
            mean = pts.T.reshape(-1) if part == "shape" else (rng.random(3 * n_vertices) if part == "color"
                                                              else np.zeros(3 * n_vertices))
            q, _ = np.linalg.qr(rng.normal(size=(3 * n_vertices, kk)))
            g = f.create_group(f"{part}/model")
            g["mean"] = mean.astype(np.float32)
            g["pcaBasis"] = q.astype(np.float32)
            g["pcaVariance"] = np.linspace(10, 1, kk).astype(np.float32)
            g["noiseVariance"] = np.float32(0.0)
            r = f.create_group(f"{part}/representer")
            r["points"] = pts.astype(np.float32)
            r["cells"] = tris.astype(np.int32)
        if landmarks:
            items = [{"id": "center.nose.tip", "coordinates": (pts[:, 3] + 0.1).tolist()},
                     {"id": "left.eye.corner_outer", "coordinates": pts[:, 7].tolist()}]
            f["metadata/landmarks/json"] = json.dumps(items)
        if mutate:
            mutate(f)
    return path
