"""Networks, losses and the training step of the conditional GAN (thesis 5.5.2).

A face is a parameter vector ``x`` of length ``d`` (thesis: 50 shape + 50 color
coefficients, ``d = 100``; any ``d`` works). The generator ``G`` maps a latent
vector ``z`` (20 standard normals) plus two conditioning inputs, age and sex,
to a parameter vector; the discriminator ``D`` sees a parameter vector
concatenated with the same two labels and returns one logit. The estimator around
them is :class:`thesislib.samplers.gan.estimator.ConditionalGAN`.

Conditioning inputs (both in ``[-1, 1]``)
    * age: limited to the thesis' range 18..80 years and scaled as
      ``(age - 49) / 31``. Training rows outside the range are excluded (the
      thesis does not consider them); requested ages are clipped into it.
    * sex: 0 = female, 1 = male (fractions in between are allowed, e.g. from a
      slider), scaled as ``2 * sex - 1``.

Variants (layer sizes from thesis Tables 5.2 and 5.3)
    * ``cvgan1``: hidden layers [2000, 1000, 500] in G and D, leaky ReLU, dropout
      0.5 after every hidden layer of G and of D, no noise.
    * ``cvgan2``: hidden layers [500, 500], leaky ReLU, dropout 0.5 after every
      hidden layer of D only, Gaussian noise N(0, 0.1) added to the (scaled)
      parameter part of D's input while training (real and fake alike; the
      labels are left exact).

Both tables list the generator's 22 inputs (20 + age/sex) also as D's input and a
100-wide last D layer; here D takes ``d + 2`` inputs and ends in one logit, as
the losses require. Leaky ReLU slope: 0.2. Adam: lr 2e-4, betas (0.5, 0.999)
(the thesis gives no values; these are the usual GAN settings).

Losses (thesis eq. 5.1a/b, binary cross entropy on logits)
    ``L_D = -log D(x) - log(1 - D(G(z)))`` and the non-saturating
    ``L_G = -log sigmoid(D(G(z)))``; both networks use Adam.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

AGE_MIN, AGE_MAX = 18.0, 80.0
AGE_CENTER, AGE_HALF_RANGE = 49.0, 31.0
LEAKY_SLOPE = 0.2


# --------------------------------------------------------------------------- labels
def scale_age(age):
    """Clip ages to 18..80 years and map them to [-1, 1] as ``(age - 49) / 31``.

    Parameters
    ----------
    age : array_like, years

    Returns
    -------
    ndarray of float64, same shape as ``age``
    """
    age = np.clip(np.asarray(age, dtype=np.float64), AGE_MIN, AGE_MAX)
    return (age - AGE_CENTER) / AGE_HALF_RANGE


def scale_sex(sex):
    """Map sex (0 female .. 1 male, clipped to [0, 1]) to [-1, 1] as ``2 * sex - 1``."""
    sex = np.clip(np.asarray(sex, dtype=np.float64), 0.0, 1.0)
    return 2.0 * sex - 1.0


def condition_matrix(age, sex):
    """Conditioning inputs for G and D.

    Parameters
    ----------
    age, sex : (n,) array_like (years; 0 female .. 1 male)

    Returns
    -------
    (n, 2) float64 array ``[scaled age, scaled sex]``
    """
    return np.stack([scale_age(age), scale_sex(sex)], axis=1)


# --------------------------------------------------------------------------- networks
@dataclass(frozen=True)
class GANArchitecture:
    """Layer settings of one GAN variant.

    Attributes
    ----------
    hidden : tuple of int, hidden layer widths (same for G and D)
    g_dropout, d_dropout : float, dropout probability after every hidden layer of G / D
    noise_std : float, std of the Gaussian noise added to D's parameter input in training
    """

    hidden: tuple[int, ...]
    g_dropout: float
    d_dropout: float
    noise_std: float


VARIANTS = {
    "cvgan1": GANArchitecture(hidden=(2000, 1000, 500), g_dropout=0.5, d_dropout=0.5, noise_std=0.0),
    "cvgan2": GANArchitecture(hidden=(500, 500), g_dropout=0.0, d_dropout=0.5, noise_std=0.1),
}


class GaussianNoise(nn.Module):
    """Adds N(0, std) to the first ``n_features`` columns while training; identity in eval."""

    def __init__(self, std: float, n_features: int):
        super().__init__()
        self.std = float(std)
        self.n_features = int(n_features)

    def forward(self, x):
        if not self.training or self.std == 0.0:
            return x
        noise = torch.zeros_like(x)
        noise[:, : self.n_features] = torch.randn_like(x[:, : self.n_features]) * self.std
        return x + noise

    def extra_repr(self):
        return f"std={self.std}, n_features={self.n_features}"


def _mlp(n_in, hidden, n_out, dropout, head=None, first=None):
    layers = [] if first is None else [first]
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.LeakyReLU(LEAKY_SLOPE)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    if head is not None:
        layers.append(head)
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """``G(z, c)``: (n, latent_dim) latent and (n, 2) conditions -> (n, d) in (-1, 1)."""

    def __init__(self, latent_dim: int, n_params: int, arch: GANArchitecture, n_cond: int = 2):
        super().__init__()
        self.net = _mlp(latent_dim + n_cond, arch.hidden, n_params, arch.g_dropout, head=nn.Tanh())

    def forward(self, z, c):
        return self.net(torch.cat([z, c], dim=1))


class Discriminator(nn.Module):
    """``D(x, c)``: (n, d) scaled parameters and (n, 2) conditions -> (n, 1) logits."""

    def __init__(self, n_params: int, arch: GANArchitecture, n_cond: int = 2):
        super().__init__()
        noise = GaussianNoise(arch.noise_std, n_params) if arch.noise_std > 0 else None
        self.net = _mlp(n_params + n_cond, arch.hidden, 1, arch.d_dropout, first=noise)

    def forward(self, x, c):
        return self.net(torch.cat([x, c], dim=1))


def has_dropout(module: nn.Module) -> bool:
    """Whether ``module`` contains a dropout layer with p > 0 (CVGAN1's generator does)."""
    return any(isinstance(m, nn.Dropout) and m.p > 0 for m in module.modules())


def generator_output(generator, z, c, dropout_seed=None):
    """``G(z, c)`` without gradients, in eval mode, or with dropout active.

    Parameters
    ----------
    generator : Generator
    z, c : (n, latent_dim) and (n, 2) float32 tensors
    dropout_seed : None or int. None: eval mode, no randomness (dropout off). An int: the
        dropout layers stay active as in training, their masks drawn from the torch RNG
        seeded with it inside a fork, so the caller's global torch RNG is untouched
        (pix2pix's dropout-as-noise; a generator trained with dropout learned the data's
        spread with it, and loses part of that spread without it).

    Returns
    -------
    (n, d) tensor
    """
    if dropout_seed is None:
        generator.eval()
        with torch.inference_mode():
            return generator(z, c)
    dev = z.device
    with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []):
        torch.manual_seed(int(dropout_seed))
        generator.train()
        try:
            with torch.inference_mode():
                return generator(z, c)
        finally:
            generator.eval()


# --------------------------------------------------------------------------- losses / step
_bce = nn.functional.binary_cross_entropy_with_logits


def discriminator_loss(real_logits, fake_logits, real_label=1.0):
    """Eq. 5.1a, ``-log D(x) - log(1 - D(G(z)))`` averaged over the batch (logits in).

    ``real_label`` < 1 is one-sided label smoothing: the real rows' target becomes
    ``real_label`` (binary cross entropy against it); the fakes' target stays 0.
    """
    real_target = torch.full_like(real_logits, float(real_label))
    return _bce(real_logits, real_target) + _bce(fake_logits, torch.zeros_like(fake_logits))


def generator_loss(fake_logits):
    """Eq. 5.1b, the non-saturating ``-log sigmoid(D(G(z)))`` averaged over the batch."""
    return _bce(fake_logits, torch.ones_like(fake_logits))


def train_step(generator, discriminator, opt_g, opt_d, x, c, z, real_label=1.0, noise_std=0.0):
    """One discriminator update followed by one generator update.

    Parameters
    ----------
    generator, discriminator : Generator, Discriminator (in train mode)
    opt_g, opt_d : torch optimizers of G and D
    x : (n, d) tensor of scaled real parameters
    c : (n, 2) tensor of their scaled conditions (also used for the fakes)
    z : (n, latent_dim) tensor of latent draws
    real_label : float, D's target for real rows (1: eq. 5.1a; < 1: one-sided label smoothing)
    noise_std : float, std of instance noise added to real and fake parameters before D
        sees them, in both updates (0: none; drawn with the global torch RNG)

    Returns
    -------
    dict with floats ``d_loss``, ``g_loss``, ``d_real`` (mean D(x)), ``d_fake`` (mean D(G(z)))
    """
    fake = generator(z, c)
    if noise_std > 0:
        x = x + noise_std * torch.randn_like(x)
        fake = fake + noise_std * torch.randn_like(fake)
    real_logits = discriminator(x, c)
    fake_logits = discriminator(fake.detach(), c)
    d_loss = discriminator_loss(real_logits, fake_logits, real_label)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()

    g_logits = discriminator(fake, c)
    g_loss = generator_loss(g_logits)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return {
        "d_loss": float(d_loss.detach()),
        "g_loss": float(g_loss.detach()),
        "d_real": float(torch.sigmoid(real_logits.detach()).mean()),
        "d_fake": float(torch.sigmoid(fake_logits.detach()).mean()),
    }


def train_epoch(generator, discriminator, opt_g, opt_d, xs, cs, perm, batch_size, latent_dim,
                real_label=1.0, noise_std=0.0, after_g_step=None):
    """One pass of :func:`train_step` over the rows in the order ``perm``.

    Parameters
    ----------
    xs, cs : (n, d) and (n, 2) tensors of scaled parameters and conditions
    perm : (n,) long tensor, the row order of this epoch
    batch_size : int; latent_dim : int (``z`` is drawn with the global torch RNG)
    real_label, noise_std : passed to :func:`train_step`
    after_g_step : callable of no arguments run after every step (e.g. a weight average)

    Returns
    -------
    dict of the epoch means of ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``
    """
    n_batches = math.ceil(xs.shape[0] / batch_size)
    sums = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"), 0.0)
    for b in range(n_batches):
        idx = perm[b * batch_size:(b + 1) * batch_size]
        z = torch.randn(idx.shape[0], latent_dim, device=xs.device)
        out = train_step(generator, discriminator, opt_g, opt_d, xs[idx], cs[idx], z,
                         real_label=real_label, noise_std=noise_std)
        if after_g_step is not None:
            after_g_step()
        for k in sums:
            sums[k] += out[k]
    return {k: v / n_batches for k, v in sums.items()}


def training_rows(X, age, sex):
    """Check training data and keep the rows with known labels and an age in 18..80.

    Parameters
    ----------
    X : (n, d) array_like; age, sex : (n,) array_like, scalars, or both None (then every
        row gets the constant mid condition, age 49 and sex 0.5)

    Returns
    -------
    X, age, sex (clipped to [0, 1]) of the kept rows as float64, and the number excluded
    (a warning says how many)
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), got shape {X.shape}")
    n = X.shape[0]
    if (age is None) != (sex is None):
        raise ValueError("give both age and sex, or neither")
    if age is None:  # unknown labels: one constant mid condition
        age, sex = np.full(n, AGE_CENTER), np.full(n, 0.5)
    age = broadcast_labels(age, n, "age")
    sex = broadcast_labels(sex, n, "sex")
    if not np.isfinite(X).all():
        raise ValueError("X must be finite")
    keep = (age >= AGE_MIN) & (age <= AGE_MAX) & np.isfinite(sex)  # NaN age fails the range
    excluded = int(n - keep.sum())
    if excluded:
        warnings.warn(f"{excluded} of {n} training rows have an unknown (NaN) label or an "
                      f"age outside {AGE_MIN:.0f}-{AGE_MAX:.0f} and are excluded", stacklevel=3)
    if not keep.any():
        raise ValueError("no training rows with known sex and age in 18-80")
    return X[keep], age[keep], np.clip(sex[keep], 0.0, 1.0), excluded


# --------------------------------------------------------------------------- helpers
def resolve_device(device):
    """``"auto"`` (CUDA where available, else CPU) or a device string -> torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def broadcast_labels(value, n, name):
    """A scalar or ``(n,)`` label as an ``(n,)`` float64 array (``name`` for the error)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    arr = arr.reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} values, expected 1 or {n}")
    return arr
