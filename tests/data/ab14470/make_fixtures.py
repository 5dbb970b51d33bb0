"""Make the files of tests/data/ab14470/ with the code of commit ab14470 (the flat layout).

They prove that what thesislib 0.1 wrote still loads and resumes after the package moved into
one folder per stage (tests/test_compatibility.py). Run from a checkout of ab14470:

    git worktree add /tmp/ab14470 ab14470
    cd /tmp/ab14470 && PYTHONPATH=. /path/to/.venv/bin/python <this file> <out dir>

The inputs are rebuilt by the test with :func:`inputs`, so they are defined once, here.
"""
import json
import sys
from pathlib import Path

import numpy as np

GMM_SETTINGS = dict(n_components=2, covariance_type="diag", seed=0)
GEN = dict(n_faces=3, images_per_face=2, seed=7, n_shape=4, n_color=3, chunk_size=2, progress=False)
GAN_SETTINGS = dict(batch_size=50, hidden=(16, 16), progress=False, seed=0, checkpoint_every=1)


def inputs():
    """(GMM training rows (60, 7), GAN rows (200, 3), ages (200,), sexes (200,))."""
    rng = np.random.default_rng(2026)
    X = rng.standard_normal((60, GEN["n_shape"] + GEN["n_color"]))
    sex = rng.integers(0, 2, 200).astype(float)
    age = rng.uniform(18, 80, 200)
    G = 0.5 * rng.standard_normal((200, 3))
    G[:, 0] += 2.0 * (2 * sex - 1)
    G[:, 1] += (age - 49) / 15
    return X, G, age, sex


def main(out: Path):
    from thesislib.datasets import generate
    from thesislib.gan import CVGAN1
    from thesislib.gmm import GMMSampler

    X, G, age, sex = inputs()
    out.mkdir(parents=True, exist_ok=True)
    # a finished dataset, and one stopped by an error after its first chunk (what a kill leaves)
    done, cut = out / "gmm_dataset", out / "gmm_dataset_cut"
    generate(done, GMMSampler(**GMM_SETTINGS).fit(X), **GEN)
    import thesislib.dataset_exec as e

    real = e._run_chunk

    def first_only(chunk, ctx):
        if chunk.number > 0:
            raise KeyboardInterrupt("stopped after the first chunk")
        return real(chunk, ctx)

    e._run_chunk = first_only
    try:
        generate(cut, GMMSampler(**GMM_SETTINGS).fit(X), **GEN)
    except KeyboardInterrupt:
        pass
    e._run_chunk = real
    # a GAN checkpoint folder after 2 of 4 epochs, and a saved model
    gan = CVGAN1(epochs=2, checkpoint_dir=out / "gan_checkpoints", **GAN_SETTINGS).fit(G, age, sex)
    gan.save(out / "gan.pt")
    expected = {"gan_sample": gan.sample(3, np.random.default_rng(0)).tolist(),
                "card_sampler": json.loads((done / "card.json").read_text())["settings"]["sampler"]}
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
