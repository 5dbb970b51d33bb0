"""Training image + face-mesh features: the old path against features on the fly (issue 23).

Run ``python benchmarks/features.py [--n 300] [--max-yaw 30] [--repeat 3] [--per-face 1]``. Prints
milliseconds of process CPU time per image, one worker (``workers=1``: everything runs in this
process), warm (a small run of each configuration first pays imports, numba compilation, model loads
and the background bank), the median of ``--repeat`` runs that alternate between the paths (so that
other load on the machine hits them alike), for

(old) the path before: ``generate(..., store="png")`` (instance, scene, render, landmark crop, PNG
      write, labels), then every PNG read back and decoded, then the face-mesh stem version 1,
      ``faces.features(image, detector=True)`` (MediaPipe's ``FaceMesh`` graph with its face
      detector on every crop);
(new) ``generate(..., store="features")``: the same images, the stem version 2 (the landmark
      network on the crop's known face region, :mod:`thesislib.faces.meshnet`) in the worker
      on the crop in memory, features stored instead of PNGs;
(new, coarse mesh) the same with ``mesh="coarse"``: the images rendered from
      :func:`thesislib.imaging.coarse_model` (every second grid row and column of the embedded model);

with the parts of each (the images alone; the stem alone on the same crops) and the ratios
old / new (targets: new <= 5 ms per image and ratio >= 3x). The images of the old and the first new
path come from the same renderer, so a faster renderer speeds up both.

``--quality`` instead measures what the faster paths cost in accuracy, on chapter 05's default
setting: a BPRN (60 epochs, early stopping 15, seeds 0 and 1) and the ridge head trained on
``--train`` renders of N(0, 1) faces (yaw <= 30°, 2 per face) with the features of ``--variants``
(``v1``: stem version 1 on the full mesh's crops; ``v2``: version 2 on them; ``v2-coarse``: version 2
on the coarse mesh's crops of the same faces and scenes), scored on
``datasets.realistic_test_set(200, seed=7919)`` (full-mesh renders, as chapter 05's test sets) by the
mean vertex error after rigid alignment (``evaluation.shape_errors``); the variants share faces, scenes,
seeds and test faces, and the differences to the first variant come with a 95 % interval over test faces.
Takes a few minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from thesislib import faces
from thesislib.datasets import generate, load_dataset
from thesislib.datasets.store import FEATURES_DTYPE
from thesislib.imaging import SceneSampler

SEED = 5


def _cpu_ms(fn, n: int) -> tuple[float, object]:
    t0 = time.process_time()
    out = fn()
    return 1e3 * (time.process_time() - t0) / n, out


def _read_all(ds) -> list:
    from PIL import Image

    out = []
    for i in ds.ids:
        with Image.open(ds.image_path(i)) as im:
            out.append(np.asarray(im.convert("RGB")))
    return out


def old_path(root: Path, n: int, scenes, per_face: int = 1) -> dict:
    """ms per image: PNG dataset, PNG reads, version 1 features."""
    image, card = _cpu_ms(lambda: generate(root, "naive_normal_1", n // per_face, per_face, SEED, scene_sampler=scenes,
                                           progress=False), n)
    read, crops = _cpu_ms(lambda: _read_all(load_dataset(card.path)), n)
    feats, X = _cpu_ms(lambda: np.stack([faces.features(im, detector=True) for im in crops]), n)
    return {"image": image, "read": read, "features": feats, "total": image + read + feats,
            "found": int(np.isfinite(X).all(1).sum()), "crops": crops}


def new_path(root: Path, n: int, scenes, crops, per_face: int = 1, mesh: str = "full") -> dict:
    """ms per image: features dataset (images and version 2 features in the worker); the stem alone."""
    total, card = _cpu_ms(lambda: generate(root, "naive_normal_1", n // per_face, per_face, SEED, scene_sampler=scenes,
                                           progress=False, store="features", mesh=mesh), n)
    ds = load_dataset(card.path)
    feats, X = _cpu_ms(lambda: np.stack([faces.features(im) for im in crops]), n)
    stored = X.astype(FEATURES_DTYPE).astype(np.float32)  # the dataset keeps them in float16
    same = np.array_equal(stored, ds.stem_features(), equal_nan=True)
    return {"total": total, "features": feats, "image": total - feats, "found": int(np.isfinite(X).all(1).sum()),
            "same": same}


def cost(n: int, max_yaw: float, repeat: int, per_face: int) -> None:
    import os

    print(f"{n} images of N(0, 1) faces ({per_face} per face), yaw <= {max_yaw:g}°, 1 worker, warm process, ms of "
          f"process CPU per image, median of {repeat} alternating runs; load average {os.getloadavg()[0]:.2f}")
    scenes = SceneSampler(max_yaw=max_yaw)
    runs = []
    with tempfile.TemporaryDirectory(prefix="features-bench-") as tmp:
        root = Path(tmp)
        warm = old_path(root / "warm-old", 4, scenes, per_face=1)  # imports, numba, model loads, both networks
        new_path(root / "warm-new", 4, scenes, warm["crops"])
        # the coarse mesh's crops (untimed), for timing the stem on them
        coarse_crops = load_dataset(generate(root / "coarse-crops", "naive_normal_1", n // per_face, per_face, SEED,
                                             scene_sampler=scenes, progress=False, store="both", mesh="coarse").path).images()
        for r in range(repeat):
            old = old_path(root / f"old{r}", n, scenes, per_face)
            runs.append((old, new_path(root / f"new{r}", n, scenes, old.pop("crops"), per_face),
                         new_path(root / f"coarse{r}", n, scenes, coarse_crops, per_face, mesh="coarse")))
    old, new, coarse = ({k: float(np.median([run[j][k] for run in runs])) for k in runs[0][j]} for j in range(3))
    print(f"(old) image + PNG (generate, store='png'):               {old['image']:6.2f}")
    print(f"      PNG read and decode:                               {old['read']:6.2f}")
    print(f"      features v1 (FaceMesh + detector):                 {old['features']:6.2f}  "
          f"(face found in {old['found']:.0f}/{n})")
    print(f"      total:                                             {old['total']:6.2f}")
    for name, r in (("(new) image + features v2 (generate, store='features')", new),
                    ("(new) the same, mesh='coarse'                         ", coarse)):
        print(f"{name}: {r['total']:6.2f}")
        print(f"      of which features v2 (the stem alone, same crops):  {r['features']:6.2f}  "
              f"(found in {r['found']:.0f}/{n}; stored = stem on the crops in float16: {bool(r['same'])})")
        print(f"      of which the image (the rest):                     {r['image']:6.2f}")
    for name, r in (("full mesh", new), ("coarse mesh", coarse)):
        print(f"{name:12s} ratio old / new: {old['total'] / r['total']:5.2f}x (target >= 3x); new {r['total']:.2f} ms "
              f"per image (target <= 5)")
    print(f"features v1 / v2: {old['features'] / new['features']:5.2f}x (target v2 <= 4 ms); load average now "
          f"{os.getloadavg()[0]:.2f}")


def quality(n_train: int, n_test: int, workers: int, variants: list) -> None:
    import torch

    from thesislib import bprn
    from thesislib.datasets import realistic_test_set
    from thesislib.evaluation import shape_errors
    from thesislib.facemodel import default_model

    torch.set_num_threads(1)
    model = default_model().truncated(50, 50)
    with tempfile.TemporaryDirectory(prefix="features-quality-") as tmp:
        t0 = time.perf_counter()
        kw = dict(sampler="naive_normal_1", n_faces=n_train // 2, images_per_face=2, seed=100, model=model,
                  scene_sampler=SceneSampler(max_yaw=30), workers=workers, progress=False)
        full = load_dataset(generate(Path(tmp) / "train", **kw, store="both").path)
        test = realistic_test_set(n_test, seed=7919, model=model)
        Y, groups = full.parameters(), full.labels["instance_id"].to_numpy()
        v2_test = np.stack([faces.features(im) for im in test.images])

        def features(name):
            if name == "v1":
                return (np.stack([faces.features(im, detector=True) for im in full.images()]),
                        np.stack([faces.features(im, detector=True) for im in test.images]))
            if name == "v2":
                return full.stem_features(), v2_test
            if name == "v2-coarse":
                ds = load_dataset(generate(Path(tmp) / "coarse", **kw, store="features", mesh="coarse").path)
                assert np.array_equal(ds.parameters(), Y)
                return ds.stem_features(), v2_test
            raise ValueError(f"unknown variant {name!r}: v1, v2 or v2-coarse")

        print(f"{len(full)} training renders, {len(test)} test faces (full mesh); mean face: "
              f"{shape_errors(np.zeros_like(test.params), test.params, model).mean():.4f} mm")
        rows = {}
        for name in variants:
            X, T = features(name)
            ridge = shape_errors(bprn.RidgeHead().fit(X, Y).predict(T), test.params, model).mean(1)
            nets = []
            for seed in (0, 1):
                m = bprn.BPRN(n_params=100, epochs=60, early_stopping=15, seed=seed, progress=False)
                nets.append(shape_errors(m.fit(X, Y, groups=groups).predict(T), test.params, model).mean(1))
            rows[name] = (ridge, np.mean(nets, axis=0))
            print(f"{name:10s} ridge {ridge.mean():.4f} mm   BPRN (2 seeds) {rows[name][1].mean():.4f} mm   "
                  f"(rows without a face: train {int(np.isnan(X).any(1).sum())}, test {int(np.isnan(T).any(1).sum())})")
        first, (r1, b1) = variants[0], rows[variants[0]]
        for name in variants[1:]:
            r2, b2 = rows[name]
            d = b2 - b1
            half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
            print(f"{name} - {first}: BPRN {d.mean():+.4f} mm (95 % over test faces: {d.mean() - half:+.4f} .. "
                  f"{d.mean() + half:+.4f}), ridge {(r2 - r1).mean():+.4f} mm (limit: BPRN +0.05 mm)")
        print(f"{time.perf_counter() - t0:.0f} s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="images per configuration")
    ap.add_argument("--max-yaw", type=float, default=30.0, help="scenes' largest |yaw| (chapter 05: 30)")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs of each path (medians printed)")
    ap.add_argument("--per-face", type=int, default=1, help="renders per face (chapter 05: 2)")
    ap.add_argument("--quality", action="store_true", help="the BPRN error of the variants instead")
    ap.add_argument("--variants", default="v2,v2-coarse", help="--quality: comma-separated, of v1, v2, v2-coarse")
    ap.add_argument("--train", type=int, default=2000, help="--quality: training renders")
    ap.add_argument("--test", type=int, default=200, help="--quality: test faces")
    ap.add_argument("--workers", type=int, default=2, help="--quality: processes for the training renders")
    args = ap.parse_args(argv)
    if args.quality:
        quality(args.train, args.test, args.workers, args.variants.split(","))
    else:
        cost(args.n, args.max_yaw, args.repeat, args.per_face)


if __name__ == "__main__":
    main()
