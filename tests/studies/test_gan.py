"""Tests of thesislib.studies.gan: chapter 04's training of the params' GAN variants."""
import numpy as np
import pytest
import torch

from thesislib.samplers import ConditionalGAN
from thesislib.studies.gan import resume_point, variant_epochs, variant_estimator
from thesislib.studies import train_variants
from thesislib.suite.sections import GanSection
from thesislib.suite import output_path


def _files(out):
    """Where chapter 04 keeps each variant's model and checkpoints under ``out`` (the suite's table)."""
    variants = ("cvgan1", "cvgan2")
    return dict(model_files={v: output_path(out, "04", "gan", variant=v) for v in variants},
                checkpoint_dirs={v: output_path(out, "04", "checkpoints", variant=v) for v in variants})


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def data(n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.uniform(18, 80, n), rng.integers(0, 2, n).astype(float)


def weights_equal(a, b):
    sa, sb = a.sampling_generator().state_dict(), b.sampling_generator().state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def cfg(**kw):
    settings = dict(variants=["cvgan2"], epochs=3, batch_size=30, device="cpu", ema=0.9, lr_schedule="cosine")
    settings.update(kw)
    return GanSection(**settings)


def test_epochs_and_estimator_settings_come_from_the_section(tmp_path):
    c = cfg(epochs=20, epochs_cvgan1=7, lr_d=1e-3, label_smoothing=0.1, instance_noise=0.05)
    assert variant_epochs(c, "cvgan1") == 7 and variant_epochs(c, "cvgan2") == 20
    gan = variant_estimator(c, "cvgan1", seed=4, checkpoint_dir=tmp_path, progress=False)
    p = gan.get_params()
    assert (p["variant"], p["epochs"], p["seed"], p["checkpoint_every"], p["resume"]) == ("cvgan1", 7, 4, 1, True)
    assert {k: p[k] for k in ("batch_size", "lr_d", "lr_schedule", "label_smoothing", "instance_noise", "ema")} == \
        dict(batch_size=30, lr_d=1e-3, lr_schedule="cosine", label_smoothing=0.1, instance_noise=0.05, ema=0.9)
    assert variant_estimator(c, "cvgan2", seed=0).checkpoint_every == 2 and not variant_estimator(c, "cvgan2", 0).resume


def test_train_variants_writes_models_resumes_and_equals_a_direct_fit(tmp_path):
    X, age, sex = data()
    c = cfg(variants=["cvgan1", "cvgan2"], epochs_cvgan1=2)
    lines = []
    gans, timing = train_variants(c, X, age, sex, **_files(tmp_path), seed=1, progress=False, log=lines.append)
    assert set(gans) == set(timing) == {"cvgan1", "cvgan2"}
    assert timing["cvgan1"]["epochs"] == timing["cvgan1"]["trained_epochs"] == 2
    assert timing["cvgan2"]["trained_epochs"] == 3 and timing["cvgan2"]["seconds_per_epoch"] > 0
    assert timing["cvgan2"]["generator"] == gans["cvgan2"].n_parameters()["generator"]
    for v in ("cvgan1", "cvgan2"):
        assert (tmp_path / "models" / f"04_{v}.pt").exists()
        # a finished variant keeps its model file only, without Adam states
        assert not list((tmp_path / "models" / f"04_{v}").glob("checkpoint_*.pt"))
        assert "opt_g" not in torch.load(tmp_path / "models" / f"04_{v}.pt", weights_only=True)
    direct = ConditionalGAN("cvgan2", epochs=3, batch_size=30, lr=c.lr, seed=1, ema=0.9, lr_schedule="cosine",
                            progress=False).fit(X, age, sex)
    assert weights_equal(gans["cvgan2"], direct)
    assert weights_equal(ConditionalGAN.load(tmp_path / "models" / "04_cvgan2.pt"), direct)

    # a second call loads the finished runs and trains nothing
    lines.clear()
    again, timing2 = train_variants(c, X, age, sex, **_files(tmp_path), seed=1, progress=False, log=lines.append)
    assert timing2["cvgan2"]["trained_epochs"] == 0 and np.isnan(timing2["cvgan2"]["seconds_per_epoch"])
    assert "cvgan2: loaded the finished model 04_cvgan2.pt" in lines
    assert weights_equal(again["cvgan2"], direct)
    np.testing.assert_array_equal(again["cvgan1"].sample(20, np.random.default_rng(2)),
                                  gans["cvgan1"].sample(20, np.random.default_rng(2)))


def test_a_finished_model_with_other_settings_or_fewer_epochs_is_retrained(tmp_path):
    X, age, sex = data()
    train_variants(cfg(epochs=2), X, age, sex, **_files(tmp_path), seed=0, progress=False, log=lambda s: None)
    lines = []
    _, timing = train_variants(cfg(epochs=3), X, age, sex, **_files(tmp_path), seed=0, progress=False,
                               log=lines.append)
    assert "cvgan2: 04_cvgan2.pt does not match the settings (2 epochs, 3 asked); training" in lines
    assert timing["cvgan2"]["trained_epochs"] == 3


def _killed_in_epoch_3(c, X, age, sex, out, monkeypatch):
    """Train into ``out`` and stop the run (as a kill would) once epoch 2's checkpoint is written."""
    keep = ConditionalGAN._checkpoint

    def checkpoint_then_kill(gan):
        keep(gan)
        if gan.epoch_ == 2:
            raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(ConditionalGAN, "_checkpoint", checkpoint_then_kill)
        with pytest.raises(KeyboardInterrupt):
            train_variants(c, X, age, sex, **_files(out), seed=0, progress=False, log=lambda s: None)
    folder = out / "models" / "04_cvgan2"
    assert [p.name for p in folder.glob("checkpoint_*.pt")] == ["checkpoint_000002.pt"]
    assert not (out / "models" / "04_cvgan2.pt").exists()
    return folder


def test_killed_run_resumes_and_other_settings_start_afresh(tmp_path, monkeypatch):
    X, age, sex = data()
    c = cfg(epochs=4)
    unbroken, _ = train_variants(c, X, age, sex, **_files(tmp_path / "a"), seed=0, progress=False, log=lambda s: None)
    _killed_in_epoch_3(c, X, age, sex, tmp_path / "b", monkeypatch)
    resumed, timing = train_variants(c, X, age, sex, **_files(tmp_path / "b"), seed=0, progress=False, log=lambda s: None)
    assert timing["cvgan2"]["trained_epochs"] == 2 and weights_equal(resumed["cvgan2"], unbroken["cvgan2"])

    lines = []
    other = cfg(epochs=4, ema=None)
    folder = _killed_in_epoch_3(c, X, age, sex, tmp_path / "c", monkeypatch)
    assert resume_point(variant_estimator(other, "cvgan2", 0, folder, progress=False), lines.append) == 0
    assert "other settings (ema: 0.9 -> None)" in lines[0] and not list(folder.glob("checkpoint_*.pt"))
    # a finished model with other settings is not loaded either: the variant trains afresh
    lines.clear()
    fresh, timing = train_variants(other, X, age, sex, **_files(tmp_path / "b"), seed=0, progress=False, log=lines.append)
    assert timing["cvgan2"]["trained_epochs"] == 4 and fresh["cvgan2"].generator_ema_ is None
    assert "04_cvgan2.pt does not match the settings (ema: 0.9 -> None)" in lines[0]


# ----------------------------------------------------------------- chapter 04's tables
class _FakeGAN:
    """Draws N(shift, 1) faces; generate maps labels into the first two coefficients."""

    def __init__(self, shift):
        self.shift = shift

    def sample(self, n, rng):
        return rng.normal(self.shift, 1.0, (n, 4))

    def generate(self, z, age, sex):
        out = np.zeros((len(z), 4))
        out[:, 0], out[:, 1] = age, sex
        return out


def test_gan_ks_table_best_variant_and_metrics(tmp_path):
    import pandas as pd

    from thesislib.studies import best_variant, gan_ks_table, variant_metrics

    X = np.random.default_rng(0).normal(size=(80, 4))
    X_test = np.random.default_rng(1).normal(size=(60, 4))
    gans = {"cvgan1": _FakeGAN(2.0), "cvgan2": _FakeGAN(0.0)}
    ks, source = gan_ks_table(gans, X, X_test, 50, np.random.default_rng(2), previous=tmp_path / "absent.csv")
    assert list(ks.sampler) == ["CVGAN1", "CVGAN2", "GMM 5 (diag)", "naive normal σ 1"]
    assert "computed here" in source and best_variant(ks) == "cvgan2"
    again, _ = gan_ks_table(gans, X, X_test, 50, np.random.default_rng(2), previous=tmp_path / "absent.csv")
    pd.testing.assert_frame_equal(ks, again)
    previous = tmp_path / "03.csv"
    pd.DataFrame({"sampler": ["GMM 3 (diag)"], "kind": ["GMM"], "chosen": [True], "ks_sum": [0.1], "mean_p": [0.5],
                  "ks_sex_axis": [np.nan], "valid_fraction": [np.nan]}).to_csv(previous, index=False)
    ks, source = gan_ks_table(gans, X, X_test, 50, np.random.default_rng(2), previous=previous)
    assert list(ks.sampler) == ["CVGAN1", "CVGAN2", "GMM 3 (diag)"] and "chosen" in ks and source == "rows from 03.csv"
    timing = {"cvgan1": {"epochs": 2}, "cvgan2": {"epochs": 3}}
    m = variant_metrics(timing, {"cvgan2": {"gan_age_r": 0.7}}, ks)
    assert m["cvgan2"]["epochs"] == 3 and m["cvgan2"]["gan_age_r"] == 0.7
    assert m["cvgan1"]["ks_sum"] == ks.loc[0, "ks_sum"] and "gan_age_r" not in m["cvgan1"]


def test_training_labels_and_corners():
    from types import SimpleNamespace

    from thesislib.studies import age_sex_corners, conditioning_table, training_labels

    labelled = SimpleNamespace(age=np.array([20.0, 30.0]), sex=np.array([0.0, 1.0]))
    assert training_labels(labelled)[0] is labelled.age
    assert training_labels(SimpleNamespace(age=np.full(2, np.nan), sex=np.full(2, np.nan))) == (None, None)
    assert conditioning_table({}, None, None, None, None, 10) == ({}, None)
    params, names = age_sex_corners(_FakeGAN(0), np.zeros(3), (18.0, 80.0))
    assert names == ["female_18y", "female_80y", "male_18y", "male_80y"]
    assert params[:, 0].tolist() == [18, 80, 18, 80] and params[:, 1].tolist() == [0, 0, 1, 1]
