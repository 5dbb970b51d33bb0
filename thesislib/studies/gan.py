"""Training the GAN variants of a run (chapter 04) from the ``gan:`` params section.

For each variant of ``cfg.variants`` the estimator gets the section's settings (epochs:
``epochs_<variant>`` when set, else ``epochs``); its checkpoints go to the folder the caller
names ten times per run, the finished model to the file the caller names (the suite's table of
chapter outputs gives both; chapter 05 loads the model from there).

Re-running into the same folder resumes: a killed run continues from its last
checkpoint, a finished one is loaded from its model file and trains no further epoch.
Checkpoints made with other training settings (another seed, learning rate, trick, ...)
cannot be continued; they are deleted, with a message, and the variant trains afresh.
Once a variant's model file is written its checkpoints are deleted: the model file holds
everything the chapters use, and a CVGAN1 checkpoint (weights plus Adam states) is 74 MB.
The price: asking a finished variant for more epochs trains it afresh (the log says so).
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from thesislib.samplers import ConditionalGAN, latest_checkpoint

#: ``gan:`` keys passed unchanged to :class:`thesislib.samplers.gan.estimator.ConditionalGAN`
ESTIMATOR_KEYS = ("batch_size", "lr", "device", "lr_d", "lr_schedule", "label_smoothing",
                  "instance_noise", "ema", "sample_dropout")


def variant_epochs(cfg, variant: str) -> int:
    """Epochs of ``variant``: ``cfg.epochs_<variant>`` when set, else ``cfg.epochs``."""
    return int(getattr(cfg, f"epochs_{variant}", None) or cfg.epochs)


def variant_estimator(cfg, variant: str, seed: int, checkpoint_dir=None, progress: bool = True) -> ConditionalGAN:
    """The unfitted estimator of ``variant`` with the section's settings.

    Parameters
    ----------
    cfg : a :class:`thesislib.suite.sections.GanSection` (or any object with its attributes)
    variant : "cvgan1" or "cvgan2"
    seed : int
    checkpoint_dir : folder or None; with a folder the estimator checkpoints every tenth
        of its epochs and resumes from the folder's latest checkpoint
    progress : tqdm bar over the epochs
    """
    epochs = variant_epochs(cfg, variant)
    kw = {k: getattr(cfg, k) for k in ESTIMATOR_KEYS}
    return ConditionalGAN(variant, epochs=epochs, seed=seed, progress=progress, checkpoint_dir=checkpoint_dir,
                          checkpoint_every=max(1, epochs // 10), resume=checkpoint_dir is not None, **kw)


def resume_point(gan: ConditionalGAN, log=print) -> int:
    """The epoch ``gan.fit`` will resume from in ``gan.checkpoint_dir`` (0: fresh).

    Checkpoints there that ``gan`` cannot resume (trained with other settings) are
    deleted, and ``log`` says which settings differed.
    """
    found = latest_checkpoint(gan.checkpoint_dir)
    if found is None:
        return 0
    state = torch.load(found, map_location="cpu", weights_only=True)
    conflicts = gan.resume_conflicts(state)
    if not conflicts:
        log(f"{gan.variant}: resuming from {found.name}")
        return int(state["epoch"])
    old = sorted(Path(gan.checkpoint_dir).glob("checkpoint_*.pt"))
    for path in old:
        path.unlink()
    log(f"{gan.variant}: {len(old)} checkpoints were trained with other settings ({'; '.join(conflicts)}); "
        "deleted, training afresh")
    return 0


def finished_model(gan: ConditionalGAN, path, log=print):
    """The model saved at ``path`` when it is ``gan``'s finished training, else None.

    Finished means the same training settings (:meth:`ConditionalGAN.resume_conflicts`)
    and all of ``gan.epochs`` epochs. The loaded model takes ``gan``'s other settings
    (``sample_dropout``, ``progress``, the checkpoint folder).
    """
    path = Path(path)
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    conflicts = gan.resume_conflicts(state)
    if conflicts or int(state["epoch"]) != int(gan.epochs):
        why = "; ".join(conflicts) if conflicts else f"{int(state['epoch'])} epochs, {gan.epochs} asked"
        log(f"{gan.variant}: {path.name} does not match the settings ({why}); training")
        return None
    done = type(gan).load(path, device=gan.device)
    for key in ("sample_dropout", "progress", "checkpoint_dir", "checkpoint_every", "resume"):
        setattr(done, key, getattr(gan, key))
    log(f"{gan.variant}: loaded the finished model {path.name}")
    return done


def train_variants(cfg, X, age, sex, model_files: dict, checkpoint_dirs: dict, seed: int, progress: bool = True,
                   log=print):
    """Train (or resume, or load) every variant of ``cfg.variants`` on one training set.

    Parameters
    ----------
    cfg : :class:`thesislib.suite.sections.GanSection`
    X : (n, d) parameter vectors; age, sex : (n,) labels or both None (unconditioned)
    model_files : dict variant -> file the fitted model is saved to
    checkpoint_dirs : dict variant -> folder of its training checkpoints
    seed : int, the estimators' seed
    progress : tqdm bars over the epochs
    log : callable of one string (one line per variant; ``print`` by default)

    Returns
    -------
    gans : dict variant -> fitted :class:`thesislib.samplers.gan.estimator.ConditionalGAN`
    timing : dict variant -> dict with ``epochs``, ``trained_epochs`` (this call),
        ``seconds`` (wall), ``cpu_seconds``, ``seconds_per_epoch`` (wall / trained epochs,
        NaN when none trained), ``device``, ``threads``, ``generator`` and ``discriminator``
        (weight counts)
    """
    gans, timing = {}, {}
    for variant in cfg.variants:
        folder = Path(checkpoint_dirs[variant])
        gan = variant_estimator(cfg, variant, seed, checkpoint_dir=folder, progress=progress)
        t0, c0 = time.perf_counter(), time.process_time()
        done = finished_model(gan, model_files[variant], log)
        if done is not None:
            gan = done
            trained = 0
        else:
            start_epoch = resume_point(gan, log)
            gan.fit(X, age, sex)
            gan.save(model_files[variant])
            trained = max(0, gan.epoch_ - start_epoch)
        gans[variant] = gan
        for path in folder.glob("checkpoint_*.pt"):
            path.unlink()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        sizes = gan.n_parameters()
        timing[variant] = dict(epochs=int(gan.epochs), trained_epochs=trained, seconds=seconds, cpu_seconds=cpu,
                               seconds_per_epoch=seconds / trained if trained else float("nan"),
                               device=str(gan.device_), threads=torch.get_num_threads(), **sizes)
        log(f"{variant}: {trained} of {gan.epochs} epochs trained on {gan.device_} in {seconds:.1f} s "
            f"({cpu:.1f} s CPU); {sizes['generator']:,} generator and {sizes['discriminator']:,} discriminator "
            f"weights; {gan.n_excluded_} rows excluded (label outside 18..80 or missing)")
    return gans, timing


# ----------------------------------------------------------------- chapter 04's tables
def training_labels(train):
    """(age, sex) of a fitted set's training part, or (None, None) when it has no age/sex labels
    (the GAN then trains unconditioned)."""
    import numpy as np

    labelled = bool(np.isfinite(train.age).any() and np.isfinite(train.sex).any())
    return (train.age, train.sex) if labelled else (None, None)


def conditioning_table(gans: dict, X, age, sex, rng, n: int):
    """How well each GAN's requested age and sex come through
    (:func:`thesislib.samplers.conditioning_report`).

    Returns
    -------
    reports : dict variant -> the full report ({} without labels)
    table : DataFrame (variants x the main measures), or None without labels
    """
    import pandas as pd

    from thesislib.samplers import conditioning_report

    if age is None or sex is None:
        return {}, None
    rows = {variant: conditioning_report(gan, X, age, sex, rng, n=n) for variant, gan in gans.items()}
    return rows, pd.DataFrame(rows).T[["gan_sex_accuracy", "real_sex_accuracy", "gan_age_r", "real_age_r",
                                 "gan_age_mae", "real_age_mae", "n_gan", "n_real_test"]]


def gan_ks_table(gans: dict, X, X_test, n: int, rng, previous=None, seed: int = 0, sex_axis=None,
                 validity=None):
    """The GANs beside chapter 03's samplers by KS against held-out faces (thesis Table 6.3 style).

    ``n`` draws per GAN (and per fallback sampler), all from ``rng``. Chapter 03's rows come
    from its KS table ``previous`` (a CSV path) when it exists; otherwise N(0, 1) and a
    5-component diagonal GMM fitted on ``X`` are scored here.

    Returns
    -------
    ks : DataFrame sampler, kind, [chosen], ks_sum, mean_p, ks_sex_axis, valid_fraction (GANs first,
        named in upper case)
    source : a sentence saying where the other rows came from
    """
    import pandas as pd

    from thesislib.evaluation import ks_quality_table
    from thesislib.samplers import ready_sampler

    draws = {v.upper(): g.sample(n, rng) for v, g in gans.items()}
    gan_table = ks_quality_table(draws, X_test, sex_axis=sex_axis, validity=validity,
                                 kinds={v: "GAN" for v in draws})
    if previous is not None and Path(previous).is_file():
        others, source = pd.read_csv(previous), f"rows from {Path(previous).name}"
    else:
        d = X.shape[1]
        others = ks_quality_table(
            {"GMM 5 (diag)": ready_sampler("gmm", d, X, n_components=5, covariance_type="diag", seed=seed).sample(n, rng),
             "naive normal σ 1": ready_sampler("naive_normal_1", d).sample(n, rng)},
            X_test, sex_axis=sex_axis, validity=validity, kinds={"GMM 5 (diag)": "GMM", "naive normal σ 1": "baseline"})
        source = "chapter 03's KS table not found: GMM and N(0, 1) computed here"
    ks = pd.concat([gan_table, others], ignore_index=True)
    return ks[[c for c in ("sampler", "kind", "chosen", "ks_sum", "mean_p", "ks_sex_axis", "valid_fraction")
               if c in ks]], source


def best_variant(ks) -> str:
    """The GAN variant (lower-case name) with the lowest KS sum in :func:`gan_ks_table`'s table."""
    gan = ks[ks["kind"] == "GAN"]
    return str(gan.loc[gan["ks_sum"].idxmin(), "sampler"]).lower()


def gan_effects(gans: dict, model, faces, z, z_other, seed: int):
    """Age and sex effects (:func:`thesislib.evaluation.effects_frame`) of the reference
    population (``faces``) and of each GAN for the latent vector ``z`` (``z_other``: another person)."""
    import numpy as np

    from thesislib.evaluation import conditional_effects, effects_frame, population_effects

    return effects_frame(
        {"reference population": population_effects(model, faces, np.random.default_rng(seed)),
         **{v.upper(): conditional_effects(g.generate, model, z, z_other) for v, g in gans.items()}})


def age_sex_corners(gan, z, ages, sexes=(0.0, 1.0)):
    """Parameters of one latent vector ``z`` at every (sex, age) corner, sex-major.

    Returns
    -------
    params : (len(sexes) * len(ages), d) array
    names : e.g. ``["female_18y", "female_80y", "male_18y", "male_80y"]``
    """
    import numpy as np

    corners = [(s, a) for s in sexes for a in ages]
    params = gan.generate(np.tile(z, (len(corners), 1)), np.array([a for _, a in corners]),
                          np.array([s for s, _ in corners]))
    return params, [f"{'female' if s < 0.5 else 'male'}_{a:.0f}y" for s, a in corners]


def variant_metrics(timing: dict, conditioning: dict, ks) -> dict:
    """Chapter 04's record per variant: its training ``timing``, its ``conditioning`` report
    (when measured) and its KS columns of :func:`gan_ks_table`."""
    rows = {r["sampler"]: r for r in ks.to_dict("records")}
    return {v: dict(**t, **conditioning.get(v, {}), **{k: rows[v.upper()][k] for k in
                                                     ("ks_sum", "mean_p", "ks_sex_axis", "valid_fraction")})
            for v, t in timing.items()}
