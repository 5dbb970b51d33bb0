"""Dataset pipeline throughput: ``thesislib.datasets.generation.generate`` against the render alone.

Run ``python benchmarks/pipeline.py [--n 300] [--per-face 1]``. Prints milliseconds of
process CPU time per image, one worker, in a warm process (imports, numba compilation,
the model cache, dlib's detector and the background bank are paid by a small warm-up
run of each configuration first; start-up is excluded), each dataset in a temporary
folder, for

(a) the render alone: :func:`thesislib.imaging.mesh_render.render` of prepared meshes and scenes,
    reusing a Workspace (instances and scenes made before the clock starts);
(b) the old configuration, as far as it can still be chosen: ``crop="detect"`` (dlib
    HOG detector) and ``SceneSampler(background="procedural")`` (a fresh procedural
    background per image);
(b0) closer to the pipeline before: (b) with the two stages that are no longer options
    put back by this script (monkeypatched, in this process only): one ``model.instance``
    per image and PIL's PNG encoder at compress_level 1 (smaller changes stay: the
    render Workspace, pyarrow label parts, cheaper scalar draws in SceneSampler);
(c) the new default: ``generate(...)`` with no crop or scene arguments (landmark crop,
    background bank, batched instances, the package's PNG encoder);

and the ratios (b)/(c), (b0)/(c) (target >= 5x) and (c)/(a) (target <= 2.5x).
Every dataset uses ``n_faces = n / per_face`` faces of ``naive_normal_1`` (N(0, 1)
coefficients, 50 shape + 50 colour) and the same seed.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import numpy as np

from thesislib.datasets import chunks as dataset_exec
from thesislib.datasets import store as dataset_store
from thesislib.datasets import generate
from thesislib.facemodel import default_model
from thesislib.imaging import Workspace, render
from thesislib.imaging import SceneSampler

SEED = 5


def _old_meshes(model, chunk, ctx, exprs):
    """One ``model.instance`` (matrix-vector products) per image, as before batching."""
    for k, index in enumerate(range(chunk.start, chunk.stop)):
        p = chunk.params[index // ctx.images_per_face - chunk.face_start]
        yield model.instance(p[:ctx.n_shape], p[ctx.n_shape:], None if exprs is None else exprs[k])


def _old_png(image) -> bytes:
    """PIL's encoder at compress_level 1, as before."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


@contextlib.contextmanager
def old_stages():
    # where the worker looks them up: meshes in dataset_exec, PNG bytes in dataset_store
    saved = dataset_exec._chunk_meshes, dataset_store._png_bytes
    dataset_exec._chunk_meshes, dataset_store._png_bytes = _old_meshes, _old_png
    try:
        yield
    finally:
        dataset_exec._chunk_meshes, dataset_store._png_bytes = saved


def bench_render(n: int, per_face: int) -> float:
    """ms of CPU per render of prepared meshes and default scenes (warm)."""
    from thesislib.facemodel import Mesh

    model = default_model().truncated(50, 50, 0)
    n_faces = -(-n // per_face)
    X = np.random.default_rng([SEED, 0]).normal(size=(n_faces, 100))
    V, C = model.instances(shape=X[:, :50], color=X[:, 50:])
    ids = model.landmark_ids
    meshes = [Mesh(V[i // per_face], C[i // per_face], model.triangles, ids) for i in range(n)]
    sampler = SceneSampler()
    scenes = [sampler.sample(np.random.default_rng([SEED, 1, i])) for i in range(n)]
    ws = Workspace()
    for m, s in zip(meshes[:3], scenes[:3]):
        render(m, s, workspace=ws)
    t0 = time.process_time()
    for m, s in zip(meshes, scenes):
        r = render(m, s, workspace=ws)
    dt = time.process_time() - t0
    assert r.image.shape == (227, 227, 3)
    return 1e3 * dt / n


def bench_generate(root: Path, name: str, n: int, per_face: int, **kwargs) -> float:
    """(ms of CPU per image of ``generate``, its card); warm: a 4-image run of the same settings first."""
    generate(root / f"{name}-warm", "naive_normal_1", 4, 1, SEED + 1, progress=False, **kwargs)
    t0 = time.process_time()
    card = generate(root / name, "naive_normal_1", n // per_face, per_face, SEED, workers=1, progress=False,
                    **kwargs)
    dt = time.process_time() - t0
    assert card.n_images == n // per_face * per_face
    return 1e3 * dt / card.n_images, card


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="images per configuration")
    ap.add_argument("--per-face", type=int, default=1, help="images per face")
    args = ap.parse_args(argv)
    n = args.n // args.per_face * args.per_face
    print(f"{n} images ({n // args.per_face} faces x {args.per_face}), 1 worker, warm process, "
          "ms of process CPU time per image")
    old = dict(crop="detect", scene_sampler=SceneSampler(background="procedural"))
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        root = Path(tmp)
        a = bench_render(n, args.per_face)
        print(f"(a)  render alone (prepared meshes and scenes, Workspace):        {a:6.2f} ms")
        b, card_b = bench_generate(root, "b", n, args.per_face, **old)
        print(f"(b)  old configuration (crop='detect', procedural backgrounds):   {b:6.2f} ms "
              f"(crops: {card_b.counts['crop_methods']})")
        with old_stages():
            b0, _ = bench_generate(root, "b0", n, args.per_face, **old)
        print(f"(b0) (b) + per-image instance + PIL PNG encoder put back:        {b0:6.2f} ms")
        c, card_c = bench_generate(root, "c", n, args.per_face)
        size_c = np.mean([p.stat().st_size for p in (root / "c" / "images").glob("*.png")]) / 1e3
        print(f"(c)  new default (landmark crop, background bank, batched):      {c:6.2f} ms "
              f"(PNG {size_c:.1f} kB)")
    print(f"ratio (b)/(c):  {b / c:5.2f}x   (b0)/(c): {b0 / c:5.2f}x   (target >= 5x)")
    print(f"ratio (c)/(a):  {c / a:5.2f}x   (target <= 2.5x)")


if __name__ == "__main__":
    main()
