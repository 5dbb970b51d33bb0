"""Training the GAN variants of a run (chapter 04) from the ``gan:`` params section.

For each variant of ``cfg.variants`` the estimator gets the section's settings (epochs:
``epochs_<variant>`` when set, else ``epochs``); its checkpoints go to
``<out_dir>/models/04_<variant>/`` ten times per run, the finished model to
``<out_dir>/models/04_<variant>.pt`` (chapter 05 loads it from there).

Re-running into the same folder resumes: a killed run continues from its last
checkpoint, a finished one is loaded and trains no further epoch. Checkpoints made
with other training settings (another seed, learning rate, trick, ...) cannot be
continued; they are deleted, with a message, and the variant trains afresh.
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
    cfg : a :class:`thesislib.suite.params.GanSection` (or any object with its attributes)
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


def train_variants(cfg, X, age, sex, out_dir, seed: int, progress: bool = True, log=print):
    """Train (or resume, or load) every variant of ``cfg.variants`` on one training set.

    Parameters
    ----------
    cfg : :class:`thesislib.suite.params.GanSection`
    X : (n, d) parameter vectors; age, sex : (n,) labels or both None (unconditioned)
    out_dir : the run's output folder (checkpoints and models go under ``models/``)
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
    models = Path(out_dir) / "models"
    gans, timing = {}, {}
    for variant in cfg.variants:
        gan = variant_estimator(cfg, variant, seed, checkpoint_dir=models / f"04_{variant}", progress=progress)
        start_epoch = resume_point(gan, log)
        t0, c0 = time.perf_counter(), time.process_time()
        gans[variant] = gan.fit(X, age, sex)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        gan.save(models / f"04_{variant}.pt")
        trained = max(0, gan.epoch_ - start_epoch)
        sizes = gan.n_parameters()
        timing[variant] = dict(epochs=int(gan.epochs), trained_epochs=trained, seconds=seconds, cpu_seconds=cpu,
                               seconds_per_epoch=seconds / trained if trained else float("nan"),
                               device=str(gan.device_), threads=torch.get_num_threads(), **sizes)
        log(f"{variant}: {trained} of {gan.epochs} epochs trained on {gan.device_} in {seconds:.1f} s "
            f"({cpu:.1f} s CPU); {sizes['generator']:,} generator and {sizes['discriminator']:,} discriminator "
            f"weights; {gan.n_excluded_} rows excluded (label outside 18..80 or missing)")
    return gans, timing
