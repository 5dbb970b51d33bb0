"""The epoch loop of the conditional GAN and its stabilisation settings (thesis 5.5.2).

The thesis trains a plain conditional GAN with fixed Adam learning rates. On a few
thousand parameter vectors and a CPU budget of seconds, the following tricks from the
GAN literature are available as :class:`thesislib.samplers.gan.estimator.ConditionalGAN` settings. Every
default reproduces the plain training exactly (same seed, same bytes as before the
setting existed), so the thesis' behaviour is one setting away.

``lr_d`` (two time-scale update rule, Heusel et al. 2017)
    The discriminator's Adam learning rate; ``None`` uses ``lr`` for both networks.
``lr_schedule``
    A factor on both learning rates, set at the start of every epoch ``e`` (0-based)
    of ``E = epochs``: ``"constant"`` (1), ``"linear"`` (``1 - e / E``) or ``"cosine"``
    (``(1 + cos(pi e / E)) / 2``). It is a pure function of the epoch, so a resumed fit
    follows the same schedule (a resume that raises ``epochs`` stretches it).
``label_smoothing`` (one-sided, Salimans et al. 2016)
    D's target for real rows is ``1 - label_smoothing`` instead of 1; fakes stay at 0.
``instance_noise`` (Sønderby et al. 2017, Arjovsky & Bottou 2017)
    The std of N(0, s) noise added to the scaled parameters of real and generated rows
    before D sees them (also in G's step), annealed linearly from ``s`` in the first
    epoch to 0 after the last (``s (1 - e / E)``). Independent of CVGAN2's fixed noise
    layer, which the architecture keeps.
``ema`` (Yazıcı et al. 2019, "The unusual effectiveness of averaging in GAN training")
    Decay of an exponential moving average of G's weights, updated after every G step
    ``t`` (counting from 1) with the warm-up decay ``min(ema, (1 + t) / (10 + t))`` so
    the random initial weights fade quickly. Sampling then uses the averaged generator;
    training uses the raw one. ``None``: no average. Runs shorter than about
    ``9 / (1 - ema)`` steps never reach ``ema`` and average with the warm-up decay alone
    (the default profile's 432 CVGAN1 and 1620 CVGAN2 steps at ``ema`` 0.995).
``sample_dropout`` (an estimator setting, not a training one)
    Samples with G's dropout on, as G was trained (CVGAN1); see
    :func:`thesislib.samplers.gan.networks.generator_output`.

Measured (default profile's data: 2250 population faces, 750 held out; KS sum of 3000
draws over the best-BIC GMM's (5 spherical, 3.75-3.85); mean ± sd over seeds 0, 1, 2;
batch 64, lr 1e-3, 45 CVGAN2 / 12 CVGAN1 epochs, one torch thread; the cost per epoch
moved by under 10 % with any setting, within the machine's load noise)

Setting (on top of the plain training): CVGAN2 | CVGAN1

* none, the thesis' plain training: 4.05 ± 0.24 | 5.76 ± 1.41
* ema 0.99: 3.32 ± 0.04; ema 0.999: 4.09 ± 0.10
* lr_schedule cosine: 3.73 ± 0.11
* label_smoothing 0.1: 4.27 ± 0.21; instance_noise 0.1: 4.23 ± 0.34
* lr 5e-4 for both: 4.67 ± 0.48; lr_d 4e-3 (4x lr): 2.31 ± 0.23
* lr_d 4e-3 + ema 0.995: 3.68 ± 0.08
* lr_d 4e-3 + cosine: 1.65 ± 0.08 | with sample_dropout 3.01 ± 0.12
* lr_d 4e-3 + sample_dropout, constant rate: | 2 of 3 seeds diverge (KS 22x, 26x)
* sample_dropout alone: | 4.01 ± 0.55
* lr_d 4e-3 + cosine + ema 0.995, dropout off when sampling: | 4.22 ± 0.49
* **lr_d 4e-3 + cosine + ema 0.995 (+ sample_dropout): 1.57 ± 0.08 | 2.34 ± 0.31**
* the same + label_smoothing 0.1: 1.53 ± 0.13 (better on 2 seeds, worse on 1);
  + instance_noise 0.05: 1.58 ± 0.05
* the same with lr_d 8e-3: 1.50 ± 0.01 | 1 of 3 seeds diverges (25x)

Re-measured on the population of the next procedural model (same budget, seeds 0-2):
plain training 4.18 ± 0.23 | 6.15 ± 0.68; lr_d 4e-3 + cosine + ema 0.995 +
sample_dropout 1.58 ± 0.06 | one of three seeds diverges (25x); with lr_d 2e-3
1.95 ± 0.18 | 2.60 ± 0.29 (no divergence). The default profile uses lr_d 2e-3 (twice
lr), cosine, ema 0.995 and sample_dropout.

The price, CVGAN1's age conditioning (``conditioning_report``'s ``gan_age_r``; real
held-out faces 0.74): 0.77 ± 0.09 plain, 0.43 ± 0.12 with the default tricks (the cosine
schedule costs most of it, sample_dropout about 0.1). CVGAN2's rises, 0.72 ± 0.05 ->
0.76 ± 0.11 (lr_d 2e-3) and 0.81 ± 0.09 (lr_d 4e-3). Sex accuracy stays 0.9-1.0.

Larger batches make an epoch cheaper only a little (CVGAN1: 0.81x at 128, 0.73x at 256
rows per step) and take half the steps, so the batch stayed at 64.
"""
from __future__ import annotations

import copy
import math

import torch

from .networks import train_epoch

LR_SCHEDULES = ("constant", "linear", "cosine")


def check_settings(gan) -> None:
    """Raise ValueError for a stabilisation setting of ``gan`` outside its range."""
    if gan.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown lr_schedule {gan.lr_schedule!r}; choose from {LR_SCHEDULES}")
    if not 0.0 <= float(gan.label_smoothing) < 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5), got {gan.label_smoothing!r}")
    if float(gan.instance_noise) < 0:
        raise ValueError(f"instance_noise must be >= 0, got {gan.instance_noise!r}")
    if gan.ema is not None and not 0.0 < float(gan.ema) < 1.0:
        raise ValueError(f"ema must be a decay in (0, 1) or None, got {gan.ema!r}")
    if gan.lr_d is not None and not float(gan.lr_d) > 0:
        raise ValueError(f"lr_d must be > 0 or None, got {gan.lr_d!r}")


def lr_factor(schedule: str, epoch: int, epochs: int) -> float:
    """The learning-rate factor of 0-based ``epoch`` out of ``epochs`` (see module doc)."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown lr_schedule {schedule!r}; choose from {LR_SCHEDULES}")
    if schedule == "constant" or epochs <= 0:
        return 1.0
    frac = min(max(epoch / epochs, 0.0), 1.0)
    if schedule == "linear":
        return 1.0 - frac
    return 0.5 * (1.0 + math.cos(math.pi * frac))


def instance_noise_std(std: float, epoch: int, epochs: int) -> float:
    """Instance-noise std in 0-based ``epoch``: ``std`` annealed linearly to 0 over ``epochs``."""
    if std <= 0 or epochs <= 0:
        return 0.0
    return float(std) * max(0.0, 1.0 - epoch / epochs)


def ema_decay(ema: float, step: int) -> float:
    """Warm-up decay of the weight average after G step ``step`` (1-based): ``min(ema, (1+t)/(10+t))``."""
    return min(float(ema), (1.0 + step) / (10.0 + step))


def new_average(generator: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of ``generator`` to hold the weight average (eval mode, no gradients)."""
    avg = copy.deepcopy(generator).eval()
    for p in avg.parameters():
        p.requires_grad_(False)
    return avg


@torch.no_grad()
def update_average(avg: torch.nn.Module, generator: torch.nn.Module, decay: float) -> None:
    """``avg <- decay * avg + (1 - decay) * generator`` for every parameter; buffers are copied."""
    for a, g in zip(avg.parameters(), generator.parameters()):
        a.lerp_(g.detach(), 1.0 - decay)
    for a, g in zip(avg.buffers(), generator.buffers()):
        a.copy_(g)


def set_learning_rates(opt_g, opt_d, lr_g: float, lr_d: float) -> None:
    """Write the learning rates of this epoch into the optimizers' parameter groups."""
    for group in opt_g.param_groups:
        group["lr"] = lr_g
    for group in opt_d.param_groups:
        group["lr"] = lr_d


def run_epochs(gan, xs, cs, on_epoch_end=None, bar=None):
    """Train ``gan`` (a built :class:`thesislib.samplers.gan.estimator.ConditionalGAN`) from ``gan.epoch_`` to ``gan.epochs``.

    Parameters
    ----------
    gan : the estimator, with ``generator_``, ``discriminator_``, its optimizers, the
        batch-order generator, ``history_``, ``epoch_`` and, when ``gan.ema`` is set,
        ``generator_ema_`` and ``ema_steps_`` (updated in place)
    xs, cs : (n, d) and (n, 2) float32 tensors of scaled parameters and conditions
    on_epoch_end : callable of no arguments, called after every epoch (checkpoints)
    bar : a tqdm bar or None, advanced once per epoch

    Notes
    -----
    Randomness: the batch order comes from the estimator's batch-order generator, ``z``,
    dropout and noise from the global torch RNG (forked and seeded by ``fit``).
    """
    G, D = gan.generator_, gan.discriminator_
    total = int(gan.epochs)
    bs = max(1, min(int(gan.batch_size), xs.shape[0]))
    lr_g = float(gan.lr)
    lr_d = lr_g if gan.lr_d is None else float(gan.lr_d)
    after_g_step = None
    if gan.ema is not None:
        def after_g_step():
            gan.ema_steps_ += 1
            update_average(gan.generator_ema_, G, ema_decay(gan.ema, gan.ema_steps_))
    G.train()
    D.train()
    for epoch in range(gan.epoch_, total):
        factor = lr_factor(gan.lr_schedule, epoch, total)
        set_learning_rates(gan.optimizer_g_, gan.optimizer_d_, lr_g * factor, lr_d * factor)
        perm = torch.randperm(xs.shape[0], generator=gan.shuffle_generator_).to(xs.device)
        means = train_epoch(G, D, gan.optimizer_g_, gan.optimizer_d_, xs, cs, perm, bs, gan.latent_dim,
                            real_label=1.0 - float(gan.label_smoothing),
                            noise_std=instance_noise_std(gan.instance_noise, epoch, total),
                            after_g_step=after_g_step)
        gan.epoch_ = epoch + 1
        gan.history_["epoch"].append(gan.epoch_)
        for k, v in means.items():
            gan.history_[k].append(v)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(d_loss=f"{means['d_loss']:.3f}", g_loss=f"{means['g_loss']:.3f}")
        if on_epoch_end is not None:
            on_epoch_end()
