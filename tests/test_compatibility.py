"""What thesislib 0.1 (commit ab14470, the flat layout) wrote still loads and resumes.

tests/data/ab14470/ holds a dataset folder stopped after its first chunk, the same dataset
finished, a GAN checkpoint folder after 2 of 4 epochs and a saved GAN, all written by that
commit's code (tests/data/ab14470/make_fixtures.py says how). Its cards name the sampler class by
its old module (``thesislib.gmm.GMMSampler``).
"""
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from thesislib.datasets import generate, load_dataset
from thesislib.facemodel import default_model
from thesislib.samplers import CVGAN1, ConditionalGAN, GMMSampler

DATA = Path(__file__).resolve().parent / "data" / "ab14470"


def _fixtures():
    spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


F = _fixtures()
X, G, AGE, SEX = F.inputs()
# ab14470's generate took n_shape/n_color (F.GEN); today the truncated model carries them
GEN = {k: v for k, v in F.GEN.items() if k not in ("n_shape", "n_color")}
GEN["model"] = default_model().truncated(F.GEN["n_shape"], F.GEN["n_color"])


def _copy(name, tmp_path):
    return Path(shutil.copytree(DATA / name, tmp_path / name))


def test_old_cards_name_the_old_module():
    held = json.loads((DATA / "gmm_dataset_cut" / "request.json").read_text())
    assert held["settings"]["sampler"]["class"] == "thesislib.gmm.GMMSampler"


def test_a_dataset_stopped_by_the_old_code_resumes_to_the_old_bytes(tmp_path):
    out = _copy("gmm_dataset_cut", tmp_path)
    card = generate(out, GMMSampler(**F.GMM_SETTINGS).fit(X), **GEN)
    assert card.run["images_rendered"] == F.GEN["n_faces"] * F.GEN["images_per_face"] - F.GEN["chunk_size"]
    old = DATA / "gmm_dataset"
    for png in sorted((old / "images").glob("*.png")):
        assert (out / "images" / png.name).read_bytes() == png.read_bytes(), png.name
    pd.testing.assert_frame_equal(pd.read_parquet(out / "labels.parquet"), pd.read_parquet(old / "labels.parquet"))
    new_settings = json.loads((out / "card.json").read_text())["settings"]
    old_settings = json.loads((old / "card.json").read_text())["settings"]
    assert new_settings["sampler"]["class"] == "thesislib.samplers.GMMSampler"
    old_settings["sampler"]["class"] = "thesislib.samplers.GMMSampler"
    assert new_settings == old_settings


def test_a_finished_old_dataset_loads_and_is_not_rendered_again(tmp_path):
    out = _copy("gmm_dataset", tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "images").iterdir()}
    ds = load_dataset(out)
    assert len(ds.labels) == F.GEN["n_faces"] * F.GEN["images_per_face"]
    generate(out, GMMSampler(**F.GMM_SETTINGS).fit(X), **GEN)  # the same request: nothing to do
    assert {p.name: p.stat().st_mtime_ns for p in (out / "images").iterdir()} == before
    with pytest.raises(ValueError, match="other settings"):
        generate(out, GMMSampler(**{**F.GMM_SETTINGS, "seed": 1}).fit(X), **GEN)


def test_an_old_saved_gan_loads_and_samples_as_it_did():
    gan = ConditionalGAN.load(DATA / "gan.pt")
    assert type(gan) is CVGAN1
    expected = json.loads((DATA / "expected.json").read_text())["gan_sample"]
    np.testing.assert_allclose(gan.sample(3, np.random.default_rng(0)), expected, rtol=0, atol=1e-12)


def test_old_gan_checkpoints_resume_like_an_unbroken_run(tmp_path, one_torch_thread, monkeypatch):
    from thesislib.samplers.gan import estimator

    monkeypatch.setattr(estimator, "prune_checkpoints", lambda *a: 0)  # keep every epoch's file to compare
    folder = _copy("gan_checkpoints", tmp_path)
    old = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    resumed = CVGAN1(epochs=4, checkpoint_dir=folder, resume=True, **F.GAN_SETTINGS).fit(G, AGE, SEX)
    straight = CVGAN1(epochs=4, checkpoint_dir=tmp_path / "straight", **F.GAN_SETTINGS).fit(G, AGE, SEX)
    now = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert sorted(now) == [f"checkpoint_00000{e}.pt" for e in (1, 2, 3, 4)]
    assert all(now[name] == t for name, t in old.items()), "the old epochs were trained again"
    a, b = resumed.generator_.state_dict(), straight.generator_.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
