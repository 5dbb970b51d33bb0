"""Tests of thesislib.samplers.gan.estimator: thesis layer sizes, losses, determinism, checkpoints, conditioning."""
import numpy as np
import pytest
import torch
from torch import nn

from thesislib.samplers.gan.estimator import CVGAN1, CVGAN2
from thesislib.samplers import ConditionalGAN, conditioning_report, latest_checkpoint
from thesislib.samplers.gan.networks import (
    GaussianNoise, discriminator_loss, scale_age, scale_sex, train_step)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def toy_set(n=400, d=2, seed=0):
    """(n, d) params: column 0 bimodal by sex (-2 / +2), column 1 follows age."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n).astype(float)
    age = rng.uniform(18, 80, n)
    X = 0.5 * rng.standard_normal((n, d))
    X[:, 0] += 2.0 * (2 * sex - 1)
    if d > 1:
        X[:, 1] += (age - 49) / 15
    return X, age, sex


def small(cls=CVGAN2, **kw):
    settings = dict(epochs=2, batch_size=50, hidden=(32, 32), progress=False, seed=0)
    settings.update(kw)
    return cls(**settings)


def linear_sizes(module):
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def dropouts(module):
    return [m.p for m in module.modules() if isinstance(m, nn.Dropout)]


def weights(gan):
    return {**{"g." + k: v for k, v in gan.generator_.state_dict().items()},
            **{"d." + k: v for k, v in gan.discriminator_.state_dict().items()}}


def same_weights(a, b):
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


# ----------------------------------------------------------------- architecture
def test_label_scaling():
    np.testing.assert_allclose(scale_age([18, 49, 80, 10, 99]), [-1, 0, 1, -1, 1])
    np.testing.assert_allclose(scale_sex([0, 0.5, 1]), [-1, 0, 1])


def test_cvgan1_layers_match_thesis():
    X = np.random.default_rng(0).standard_normal((10, 100))
    gan = CVGAN1(epochs=0, progress=False).fit(X, np.full(10, 30.0), np.zeros(10))
    G, D = gan.generator_, gan.discriminator_
    assert linear_sizes(G) == [(22, 2000), (2000, 1000), (1000, 500), (500, 100)]
    assert linear_sizes(D) == [(102, 2000), (2000, 1000), (1000, 500), (500, 1)]
    assert dropouts(G) == [0.5, 0.5, 0.5] and dropouts(D) == [0.5, 0.5, 0.5]
    assert isinstance(list(G.modules())[-1], nn.Tanh)
    assert sum(isinstance(m, nn.LeakyReLU) for m in G.modules()) == 3
    assert not any(isinstance(m, GaussianNoise) for m in D.modules())


def test_cvgan2_layers_match_thesis():
    X = np.random.default_rng(0).standard_normal((10, 100))
    gan = CVGAN2(epochs=0, progress=False).fit(X, np.full(10, 30.0), np.zeros(10))
    G, D = gan.generator_, gan.discriminator_
    assert linear_sizes(G) == [(22, 500), (500, 500), (500, 100)]
    assert linear_sizes(D) == [(102, 500), (500, 500), (500, 1)]
    assert dropouts(G) == [] and dropouts(D) == [0.5, 0.5]
    noise = D.net[0]
    assert isinstance(noise, GaussianNoise) and noise.std == 0.1 and noise.n_features == 100


def test_gaussian_noise_only_on_params_and_only_in_training():
    layer = GaussianNoise(0.1, n_features=3)
    x = torch.zeros(2000, 5)
    assert torch.equal(layer.eval()(x), x)
    y = layer.train()(x)
    assert torch.equal(y[:, 3:], x[:, 3:])
    assert abs(float(y[:, :3].std()) - 0.1) < 0.01


def test_any_dimension_and_latent():
    X, age, sex = toy_set(n=60, d=7)
    gan = small(latent_dim=5, epochs=1).fit(X, age, sex)
    assert gan.sample(4, np.random.default_rng(0)).shape == (4, 7)
    assert linear_sizes(gan.generator_)[0] == (7, 32)


# ----------------------------------------------------------------- training
def test_one_step_lowers_discriminator_loss():
    X, age, sex = toy_set(n=200)
    gan = CVGAN2(epochs=0, progress=False).fit(X, age, sex)
    G, D = gan.generator_, gan.discriminator_
    gen = torch.Generator().manual_seed(0)
    x = torch.as_tensor((X - gan.center_) / gan.scale_, dtype=torch.float32)
    c = torch.as_tensor(np.stack([scale_age(age), scale_sex(sex)], 1), dtype=torch.float32)
    z = torch.randn(200, gan.latent_dim, generator=gen)

    def d_loss():
        G.eval(), D.eval()
        with torch.no_grad():
            return float(discriminator_loss(D(x, c), D(G(z, c), c)))

    before = d_loss()
    torch.manual_seed(0)
    G.train(), D.train()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    out = train_step(G, D, opt_g, opt_d, x, c, z)
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert d_loss() < before


def test_history_recorded():
    X, age, sex = toy_set(n=100)
    gan = small(epochs=3, progress=True).fit(X, age, sex)
    assert gan.epoch_ == 3 and gan.history_["epoch"] == [1, 2, 3]
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert len(gan.history_[key]) == 3 and np.isfinite(gan.history_[key]).all()


def test_same_seed_same_weights_and_samples_global_rng_untouched():
    X, age, sex = toy_set(n=120)
    state = torch.get_rng_state()
    a = small(cls=CVGAN1, seed=3).fit(X, age, sex)
    assert torch.equal(torch.get_rng_state(), state)  # fit forks the RNG
    b = small(cls=CVGAN1, seed=3).fit(X, age, sex)
    c = small(cls=CVGAN1, seed=4).fit(X, age, sex)
    assert same_weights(a, b) and not same_weights(a, c)
    np.testing.assert_array_equal(a.sample(20, np.random.default_rng(1)),
                                  b.sample(20, np.random.default_rng(1)))
    assert a.history_ == b.history_
    assert torch.equal(torch.get_rng_state(), state)  # sampling uses only the numpy rng


# ----------------------------------------------------------------- checkpoints
def test_save_load_round_trip(tmp_path):
    X, age, sex = toy_set(n=100)
    gan = small().fit(X, age, sex)
    path = gan.save(tmp_path / "gan.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["epoch"] == 2 and raw["settings"]["variant"] == "cvgan2"
    # a saved model holds the sampling network only: no Adam states, no discriminator
    assert not {"opt_g", "opt_d", "discriminator", "generator_ema"} & raw.keys()
    with pytest.raises(ValueError, match="saved model without optimizer states"):
        small(epochs=4).fit(X, age, sex, resume=path)
    back = ConditionalGAN.load(path)
    assert type(back) is CVGAN2 and back.get_params() == gan.get_params()
    assert all(torch.equal(v, back.generator_.state_dict()[k]) for k, v in gan.generator_.state_dict().items())
    assert back.history_ == gan.history_ and back.n_parameters() == gan.n_parameters()
    from thesislib.datasets.card import fit_fingerprint

    assert fit_fingerprint(back) == fit_fingerprint(gan) is not None  # a dataset card made from either resumes
    assert fit_fingerprint(small()) is None
    np.testing.assert_array_equal(gan.sample(30, np.random.default_rng(5)),
                                  back.sample(30, np.random.default_rng(5)))
    np.testing.assert_array_equal(back.labels_, gan.labels_)


def test_resume_reproduces_uninterrupted_run(tmp_path):
    """Exact: 2 epochs + resume to 4 == 4 epochs straight (weights, history, samples)."""
    X, age, sex = toy_set(n=120)
    straight = small(cls=CVGAN1, epochs=4, checkpoint_dir=tmp_path / "a", checkpoint_every=2).fit(X, age, sex)
    # epoch 2's checkpoint was written, then replaced by epoch 4's: resuming needs only the latest
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["checkpoint_000004.pt"]
    assert latest_checkpoint(tmp_path / "a").name == "checkpoint_000004.pt"

    small(cls=CVGAN1, epochs=2, checkpoint_dir=tmp_path / "b").fit(X, age, sex)
    mid = ConditionalGAN.load(tmp_path / "b" / "checkpoint_000002.pt")  # a checkpoint loads like a saved model
    assert mid.epoch_ == 2 and len(mid.history_["d_loss"]) == 2
    resumed = small(cls=CVGAN1, epochs=4, checkpoint_dir=tmp_path / "b", resume=True).fit(X, age, sex)
    assert resumed.epoch_ == 4 and resumed.history_["epoch"] == [1, 2, 3, 4]
    assert resumed.history_ == straight.history_
    assert same_weights(resumed, straight)
    np.testing.assert_array_equal(resumed.sample(10, np.random.default_rng(0)),
                                  straight.sample(10, np.random.default_rng(0)))
    # resume=True with no checkpoint yet starts fresh
    fresh = small(cls=CVGAN1, epochs=4, checkpoint_dir=tmp_path / "c", resume=True).fit(X, age, sex)
    assert same_weights(fresh, straight)


# ----------------------------------------------------------------- labels of samples
def test_sample_with_labels_draws_training_labels_or_given_ones():
    """The shared sampling contract is tests/samplers/test_contract.py; this checks the labels."""
    X, age, sex = toy_set(n=100, d=3)
    gan = small().fit(X, age, sex)
    rng = np.random.default_rng(0)
    Xs, ages, sexes = gan.sample_with_labels(200, np.random.default_rng(1))
    pool = set(map(tuple, gan.labels_))
    assert all((a_, s_) in pool for a_, s_ in zip(ages, sexes))  # training label distribution
    _, ages, sexes = gan.sample_with_labels(5, rng, age=30, sex=[0, 1, 0, 1, 1])
    np.testing.assert_array_equal(ages, 30.0)
    np.testing.assert_array_equal(sexes, [0, 1, 0, 1, 1])
    with pytest.raises(ValueError):
        gan.sample(5, rng, age=[20, 30])


def test_generate_matches_sample_and_single_vector():
    X, age, sex = toy_set(n=100)
    gan = small().fit(X, age, sex)
    Xs, ages, sexes = gan.sample_with_labels(8, np.random.default_rng(2))
    z = np.random.default_rng(2).standard_normal((8, gan.latent_dim))
    np.testing.assert_allclose(gan.generate(z, ages, sexes), Xs)
    one = gan.generate(z[3], ages[3], sexes[3])
    assert one.shape == (2,)
    np.testing.assert_allclose(one, Xs[3], rtol=1e-5, atol=1e-6)


def test_fit_without_labels_and_age_range():
    X, age, sex = toy_set(n=80)
    gan = small(epochs=1).fit(X)
    np.testing.assert_array_equal(np.unique(gan.labels_, axis=0), [[49.0, 0.5]])
    age = age.copy()
    age[:5] = 10.0
    with pytest.warns(UserWarning, match="5 of 80"):
        gan = small(epochs=1).fit(X, age, sex)
    assert gan.n_excluded_ == 5 and gan.labels_.shape == (75, 2)
    sex = sex.copy()
    sex[10:12] = np.nan  # unknown labels, as in population.Population
    with pytest.warns(UserWarning, match="7 of 80"):
        assert small(epochs=1).fit(X, age, sex).n_excluded_ == 7
    with pytest.raises(ValueError):
        small().fit(X, age=age)


# ----------------------------------------------------------------- conditioning
def test_samples_follow_requested_sex():
    X, age, sex = toy_set(n=400)
    gan = CVGAN2(epochs=25, batch_size=50, hidden=(128, 128), progress=False, seed=0).fit(X, age, sex)
    rng = np.random.default_rng(0)
    female = gan.sample(300, rng, sex=0.0)
    male = gan.sample(300, rng, sex=1.0)
    accuracy = (np.mean(female[:, 0] < 0) + np.mean(male[:, 0] > 0)) / 2
    assert accuracy > 0.85
    report = conditioning_report(gan, X, age, sex, np.random.default_rng(1), n=200)
    assert report["gan_sex_accuracy"] > 0.85 and report["real_sex_accuracy"] > 0.95
    assert report["gan_age_r"] > 0.3 and report["real_age_r"] > 0.5
    assert report["n_gan"] == 200 and report["n_real_test"] == 100


# ----------------------------------------------------------------- stabilisation settings
TRICKS = dict(lr_d=4e-4, lr_schedule="cosine", label_smoothing=0.1, instance_noise=0.2, ema=0.9)


def test_schedule_noise_and_ema_decay_values():
    from thesislib.samplers.gan.training import ema_decay, instance_noise_std, lr_factor

    assert [lr_factor("constant", e, 10) for e in (0, 5, 9)] == [1.0, 1.0, 1.0]
    np.testing.assert_allclose([lr_factor("linear", e, 10) for e in (0, 5, 9)], [1.0, 0.5, 0.1])
    np.testing.assert_allclose([lr_factor("cosine", e, 10) for e in (0, 5, 10)], [1.0, 0.5, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="lr_schedule"):
        lr_factor("step", 0, 10)
    np.testing.assert_allclose([instance_noise_std(0.2, e, 4) for e in (0, 2, 4)], [0.2, 0.1, 0.0])
    assert instance_noise_std(0.0, 0, 4) == 0.0
    assert ema_decay(0.999, 1) == pytest.approx(2 / 11) and ema_decay(0.9, 10_000) == 0.9


def test_update_average_is_the_exponential_moving_average():
    from thesislib.samplers.gan.training import new_average, update_average

    net = nn.Linear(3, 2)
    avg = new_average(net)
    assert not any(p.requires_grad for p in avg.parameters()) and not avg.training
    before = [p.clone() for p in avg.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    update_average(avg, net, 0.75)
    for a, b, g in zip(avg.parameters(), before, net.parameters()):
        torch.testing.assert_close(a, 0.75 * b + 0.25 * g)


def test_label_smoothing_targets_real_rows_only():
    real, fake = torch.tensor([[0.3], [-1.2]]), torch.tensor([[0.5], [2.0]])
    sig = torch.sigmoid
    expected = (-(0.9 * torch.log(sig(real)) + 0.1 * torch.log(1 - sig(real))).mean()
                - torch.log(1 - sig(fake)).mean())
    torch.testing.assert_close(discriminator_loss(real, fake, real_label=0.9), expected)
    torch.testing.assert_close(discriminator_loss(real, fake, real_label=1.0), discriminator_loss(real, fake))


def test_ema_generator_is_averaged_and_used_for_sampling():
    X, age, sex = toy_set(n=100)
    gan = small(epochs=3, ema=0.9).fit(X, age, sex)
    assert gan.ema_steps_ == 3 * 2  # 100 rows / batch 50 = 2 G steps per epoch
    raw = dict(gan.generator_.named_parameters())
    avg = dict(gan.generator_ema_.named_parameters())
    assert raw.keys() == avg.keys() and not any(torch.equal(raw[k], avg[k]) for k in raw)
    assert gan.sampling_generator() is gan.generator_ema_
    z = np.random.default_rng(0).standard_normal((5, gan.latent_dim))
    c = torch.as_tensor(np.stack([scale_age(np.full(5, 40.0)), scale_sex(np.ones(5))], 1), dtype=torch.float32)
    with torch.no_grad():
        via_avg = gan.generator_ema_(torch.as_tensor(z, dtype=torch.float32), c).numpy() * gan.scale_ + gan.center_
        via_raw = gan.generator_(torch.as_tensor(z, dtype=torch.float32), c).numpy() * gan.scale_ + gan.center_
    out = gan.generate(z, 40.0, 1.0)
    np.testing.assert_allclose(out, via_avg, rtol=1e-5, atol=1e-6)
    assert np.abs(out - via_raw).max() > 1e-4
    plain = small(epochs=3).fit(X, age, sex)
    assert plain.generator_ema_ is None and plain.sampling_generator() is plain.generator_
    assert same_weights(plain, gan)  # the average does not change training itself


@pytest.mark.parametrize("setting", sorted(TRICKS))
def test_each_setting_changes_training_and_default_is_plain(setting):
    X, age, sex = toy_set(n=100)
    plain = small(epochs=3).fit(X, age, sex)
    default = {"lr_d": None, "lr_schedule": "constant", "label_smoothing": 0.0, "instance_noise": 0.0,
               "ema": None}[setting]
    assert same_weights(small(epochs=3, **{setting: default}).fit(X, age, sex), plain)
    tricked = small(epochs=3, **{setting: TRICKS[setting]}).fit(X, age, sex)
    if setting == "ema":
        assert not np.allclose(tricked.sample(20, np.random.default_rng(0)), plain.sample(20, np.random.default_rng(0)))
    else:
        assert not same_weights(tricked, plain)


def test_learning_rates_follow_schedule_and_two_time_scales():
    X, age, sex = toy_set(n=100)
    gan = small(epochs=4, lr=1e-3, lr_d=3e-3, lr_schedule="linear").fit(X, age, sex)
    # the last epoch (0-based 3 of 4) ran at factor 0.25
    assert gan.optimizer_g_.param_groups[0]["lr"] == pytest.approx(0.25e-3)
    assert gan.optimizer_d_.param_groups[0]["lr"] == pytest.approx(0.75e-3)


def test_bad_settings_raise():
    X, age, sex = toy_set(n=60)
    for bad in ({"ema": 1.0}, {"ema": 0.0}, {"label_smoothing": 0.5}, {"instance_noise": -0.1},
                {"lr_schedule": "step"}, {"lr_d": 0.0}):
        with pytest.raises(ValueError):
            small(**bad).fit(X, age, sex)


def test_resume_with_all_settings_reproduces_unbroken_run(tmp_path, monkeypatch):
    from thesislib.samplers.gan import estimator

    monkeypatch.setattr(estimator, "prune_checkpoints", lambda *a: 0)  # keep epoch 2's to kill after it
    X, age, sex = toy_set(n=120)
    kw = dict(cls=CVGAN1, **TRICKS)
    straight = small(epochs=4, **kw).fit(X, age, sex)
    small(epochs=4, checkpoint_dir=tmp_path, checkpoint_every=2, **kw).fit(X, age, sex)
    (tmp_path / "checkpoint_000004.pt").unlink()  # as if killed during epoch 3 or 4 (schedule over 4)
    resumed = small(epochs=4, checkpoint_dir=tmp_path, resume=True, **kw).fit(X, age, sex)
    assert resumed.history_ == straight.history_ and resumed.ema_steps_ == straight.ema_steps_ == 4 * 3
    assert same_weights(resumed, straight)
    for a, b in zip(resumed.generator_ema_.state_dict().values(), straight.generator_ema_.state_dict().values()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(resumed.sample(10, np.random.default_rng(0)),
                                  straight.sample(10, np.random.default_rng(0)))


def test_resume_refuses_other_settings(tmp_path):
    X, age, sex = toy_set(n=100)
    gan = small(epochs=2, checkpoint_dir=tmp_path, ema=0.9).fit(X, age, sex)
    state = torch.load(latest_checkpoint(tmp_path), weights_only=True)
    assert small(epochs=5, ema=0.9).resume_conflicts(state) == []  # more epochs is a continuation
    assert small(ema=0.99, lr=1e-3).resume_conflicts(state) == ["lr: 0.0002 -> 0.001", "ema: 0.9 -> 0.99"]
    with pytest.raises(ValueError, match="ema: 0.9 -> None"):
        small(epochs=4, checkpoint_dir=tmp_path, resume=True).fit(X, age, sex)
    assert gan.epoch_ == 2


def test_checkpoint_keeps_settings_and_average_and_version_1_loads(tmp_path):
    X, age, sex = toy_set(n=100)
    gan = small(**TRICKS).fit(X, age, sex)
    path = gan.save(tmp_path / "gan.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["version"] == 2 and {k: raw["settings"][k] for k in TRICKS} == TRICKS
    # with ema the file's one generator is the average, which sampling uses
    assert "generator_ema" not in raw and all(
        torch.equal(v, gan.generator_ema_.state_dict()[k]) for k, v in raw["generator"].items())
    assert not all(torch.equal(v, gan.generator_.state_dict()[k]) for k, v in raw["generator"].items())
    back = ConditionalGAN.load(path)
    assert back.get_params() == gan.get_params() and back.ema_steps_ == gan.ema_steps_
    np.testing.assert_array_equal(back.sample(10, np.random.default_rng(3)), gan.sample(10, np.random.default_rng(3)))
    # a file saved before the sampling-only format (discriminator and both generators) still loads
    torch.save(gan.state_dict(training=False) | {k: v for k, v in gan.state_dict().items()
                                                 if k in ("generator", "discriminator", "generator_ema")},
               tmp_path / "full.pt")
    full = ConditionalGAN.load(tmp_path / "full.pt")
    assert same_weights(full, gan)
    np.testing.assert_array_equal(full.sample(10, np.random.default_rng(3)), gan.sample(10, np.random.default_rng(3)))
    # a version-1 file (before these settings existed) loads as the plain training it was
    plain = small().fit(X, age, sex)
    old = plain.state_dict()
    old["version"] = 1
    for k in TRICKS:
        del old["settings"][k]
    del old["ema_steps"]
    torch.save(old, tmp_path / "v1.pt")
    v1 = ConditionalGAN.load(tmp_path / "v1.pt")
    assert v1.ema is None and v1.lr_schedule == "constant" and v1.sampling_generator() is v1.generator_
    np.testing.assert_array_equal(v1.sample(10, np.random.default_rng(3)), plain.sample(10, np.random.default_rng(3)))


def test_sample_dropout_keeps_generator_dropout_on_and_stays_deterministic():
    X, age, sex = toy_set(n=100)
    state = torch.get_rng_state()
    gan = small(cls=CVGAN1, epochs=2, sample_dropout=True).fit(X, age, sex)
    off = small(cls=CVGAN1, epochs=2).fit(X, age, sex)
    a = gan.sample(400, np.random.default_rng(0))
    np.testing.assert_array_equal(a, gan.sample(400, np.random.default_rng(0)))  # masks come from rng
    assert torch.equal(torch.get_rng_state(), state)
    assert not gan.generator_.training and not gan.sampling_generator().training
    # the same z and labels without dropout: the plain estimator's samples
    rng = np.random.default_rng(0)
    z = rng.standard_normal((400, gan.latent_dim))
    pairs = gan.labels_[rng.integers(0, gan.labels_.shape[0], size=400)]
    seed = int(rng.integers(2**63 - 1))
    np.testing.assert_array_equal(gan.generate(z, pairs[:, 0], pairs[:, 1], dropout_seed=seed), a)
    b = off.sample(400, np.random.default_rng(0))
    np.testing.assert_allclose(gan.generate(z, pairs[:, 0], pairs[:, 1]), b)
    assert np.abs(a - b).max() > 1e-3 and a.std(axis=0).mean() > b.std(axis=0).mean()
    # a generator without dropout (CVGAN2) samples as before and draws nothing extra from rng
    g2 = small(epochs=2, sample_dropout=True).fit(X, age, sex)
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    np.testing.assert_array_equal(g2.sample(30, r1), small(epochs=2).fit(X, age, sex).sample(30, r2))
    assert r1.random() == r2.random()


def test_only_the_latest_checkpoint_is_kept(tmp_path):
    X, age, sex = toy_set(n=120)
    small(epochs=3, checkpoint_dir=tmp_path, checkpoint_every=1).fit(X, age, sex)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint_000003.pt"]
    (tmp_path / "notes.txt").write_text("mine")
    from thesislib.samplers.gan.checkpoint import prune_checkpoints

    assert prune_checkpoints(tmp_path, tmp_path / "checkpoint_000009.pt") == 1  # other files stay
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
