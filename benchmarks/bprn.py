"""BPRN throughput: cached frozen-stem features vs recomputing them every epoch; stem speed.

Run ``python benchmarks/bprn.py [--stem facemesh|dlib] [--n 40] [--epochs 3] [--jobs 2]``.
On a small dataset rendered here (``n`` face crops of the default model) it prints

(a) the time to train a BPRN on a frozen stem for ``epochs`` epochs
    * baseline: every epoch recomputes the stem features of all images, then runs
      one head epoch (what training costs without a cache);
    * cached: the feature cache already exists (one extraction per dataset, paid once
      and printed separately), so fitting reads it and trains only the head;
    and their ratio (target >= 20x), plus the ratio with the one-off extraction included;
(b) images/s of the stem (facemesh: MediaPipe's 478 landmarks + colour patches; dlib:
    detector + 68 landmarks + ResNet 128-D) in 1 process and in ``jobs`` worker processes
    (each call starts its workers, and that start is in the time: caches warmed up first);

Wall-clock times; the machine may be shared, so compare ratios measured in one run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

import numpy as np  # noqa: E402

from thesislib import bprn as B  # noqa: E402
from thesislib.datasets import generate, load_dataset  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stem", default="facemesh", choices=["facemesh", "dlib"], help="frozen stem")
    ap.add_argument("--n", type=int, default=32, help="images in the dataset")
    ap.add_argument("--epochs", type=int, default=2, help="epochs for the cached/uncached comparison")
    ap.add_argument("--jobs", type=int, default=2, help="processes for the parallel embedding")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_bprn_"))
    try:
        t = time.perf_counter()
        generate(tmp / "ds", "naive_normal_1", n_faces=a.n, images_per_face=1, seed=1, crop="landmarks",
                 progress=False)
        ds = load_dataset(tmp / "ds")
        paths = [ds.image_path(i) for i in ds.ids]
        Y = ds.parameters()
        print(f"dataset: {a.n} crops of the default model rendered in {time.perf_counter() - t:.1f} s")
        B.frozen_features(paths[:2], a.stem)  # load the stem's models once

        # (b) embedding throughput
        t, c = time.perf_counter(), time.process_time()
        B.frozen_features(paths, a.stem, n_jobs=1)
        one = a.n / (time.perf_counter() - t)
        per_core = a.n / (time.process_time() - c)
        B.frozen_features(paths[: 2 * a.jobs], a.stem, n_jobs=a.jobs)  # warm the caches (numba, model files)
        t = time.perf_counter()
        B.frozen_features(paths, a.stem, n_jobs=a.jobs)
        many = a.n / (time.perf_counter() - t)

        # (a) cached vs recomputed features
        kw = dict(stem=a.stem, n_params=Y.shape[1], seed=0, progress=False)
        t = time.perf_counter()
        for _ in range(a.epochs):
            X = B.frozen_features(paths, a.stem, n_jobs=1)
            B.BPRN(epochs=1, **kw).fit(X, Y)
        uncached = time.perf_counter() - t
        t = time.perf_counter()
        f = B.dataset_features(ds, a.stem, n_jobs=1)
        extract = time.perf_counter() - t
        assert f.n_computed == a.n
        t = time.perf_counter()
        m = B.BPRN(epochs=a.epochs, **kw).fit(ds)
        cached = time.perf_counter() - t
        assert len(m.history_) == a.epochs

        print(f"(a) {a.epochs} epochs on {a.n} images, 1 process")
        print(f"    recompute {a.stem} features every epoch (baseline): {uncached:8.2f} s")
        print(f"    cached features (cache hit, head only):          {cached:8.3f} s")
        print(f"    speed-up: {uncached / cached:.0f}x (target >= 20x); including the one-off extraction "
              f"({extract:.1f} s): {uncached / (cached + extract):.1f}x, which tends to the epoch count")
        print(f"(b) {a.stem} features: {one:.1f} images/s in 1 process (wall; "
              f"{per_core:.1f} images/s per core by process CPU time), {many:.1f} images/s with "
              f"n_jobs={a.jobs} ({many / one:.2f}x; below {a.jobs}x when other work shares the cores, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
