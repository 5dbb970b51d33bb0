"""Conditional vanilla GAN over face parameter vectors (thesis 5.5.2, CVGAN1/CVGAN2).

A face is a parameter vector ``x`` of length ``d`` (thesis: 50 shape + 50 color
coefficients, ``d = 100``; any ``d`` works). The generator ``G`` maps a latent
vector ``z`` (20 standard normals) plus two conditioning inputs, age and sex,
to a parameter vector; the discriminator ``D`` sees a parameter vector
concatenated with the same two labels and returns one logit.

Conditioning inputs (both in ``[-1, 1]``)
    * age: limited to the thesis' range 18..80 years and scaled as
      ``(age - 49) / 31``. Training rows outside the range are excluded (the
      thesis does not consider them); requested ages are clipped into it.
    * sex: 0 = female, 1 = male (fractions in between are allowed, e.g. from a
      slider), scaled as ``2 * sex - 1``.

Parameter scaling
    The generator ends in ``tanh``; parameters are mapped into its range per
    column by ``(x - center_) / scale_`` with ``center_`` the midpoint of the
    column's training range and ``scale_`` 1.1 times its half range (so training
    data fills ``[-1/1.1, 1/1.1]``). Sampling inverts the map.

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

Determinism
    ``fit`` runs inside a forked torch RNG seeded with ``seed`` (weights, batch
    order, dropout, noise) so the caller's global torch RNG is untouched; two
    fits with the same seed on CPU give identical weights. Sampling draws ``z``
    (and labels when not given) only from the passed ``numpy.random.Generator``.

Checkpoints
    Plain ``state_dict``-style dictionaries holding only tensors and primitive
    containers, written atomically (temporary file + ``os.replace``) and read
    with ``torch.load(path, weights_only=True)``. They include the RNG states,
    so resuming an interrupted run reproduces the uninterrupted run exactly
    (same device, same data).
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .atomic import atomic_write

AGE_MIN, AGE_MAX = 18.0, 80.0
AGE_CENTER, AGE_HALF_RANGE = 49.0, 31.0
LEAKY_SLOPE = 0.2
SCALE_MARGIN = 1.1
CHECKPOINT_VERSION = 1
_CKPT_RE = re.compile(r"^checkpoint_(\d{6})\.pt$")


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


# --------------------------------------------------------------------------- losses / step
_bce = nn.functional.binary_cross_entropy_with_logits


def discriminator_loss(real_logits, fake_logits):
    """Eq. 5.1a, ``-log D(x) - log(1 - D(G(z)))`` averaged over the batch (logits in)."""
    return _bce(real_logits, torch.ones_like(real_logits)) + _bce(fake_logits, torch.zeros_like(fake_logits))


def generator_loss(fake_logits):
    """Eq. 5.1b, the non-saturating ``-log sigmoid(D(G(z)))`` averaged over the batch."""
    return _bce(fake_logits, torch.ones_like(fake_logits))


def train_step(generator, discriminator, opt_g, opt_d, x, c, z):
    """One discriminator update followed by one generator update.

    Parameters
    ----------
    generator, discriminator : Generator, Discriminator (in train mode)
    opt_g, opt_d : torch optimizers of G and D
    x : (n, d) tensor of scaled real parameters
    c : (n, 2) tensor of their scaled conditions (also used for the fakes)
    z : (n, latent_dim) tensor of latent draws

    Returns
    -------
    dict with floats ``d_loss``, ``g_loss``, ``d_real`` (mean D(x)), ``d_fake`` (mean D(G(z)))
    """
    fake = generator(z, c)
    real_logits = discriminator(x, c)
    fake_logits = discriminator(fake.detach(), c)
    d_loss = discriminator_loss(real_logits, fake_logits)
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


# --------------------------------------------------------------------------- helpers
def _resolve_device(device):
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _atomic_save(obj, path):
    atomic_write(path, lambda fh: torch.save(obj, fh))


def _to_cpu(obj):
    """Recursively move tensors in (nested) dicts/lists to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def latest_checkpoint(directory):
    """Path of the highest-epoch ``checkpoint_NNNNNN.pt`` in ``directory``, or None."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _CKPT_RE.match(p.name))]
    return max(found)[1] if found else None


def _broadcast_labels(value, n, name):
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    arr = arr.reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} values, expected 1 or {n}")
    return arr


# --------------------------------------------------------------------------- estimator
class ConditionalGAN:
    """Conditional vanilla GAN over parameter vectors, conditioned on age and sex.

    Parameters
    ----------
    variant : {"cvgan1", "cvgan2"}
        Layer sizes, dropout and noise from thesis Tables 5.2/5.3 (see module doc).
    latent_dim : int, length of z (thesis: 20)
    epochs : int, total training epochs (a resumed fit continues up to this number)
    batch_size : int (thesis: 200)
    lr : float, Adam learning rate of G and D (betas 0.5, 0.999)
    seed : int, seeds weights, batch order, dropout and noise
    device : "cpu", "cuda", "auto" or a torch device string
    progress : bool, show a tqdm bar over epochs
    checkpoint_dir : path or None; if set, ``checkpoint_NNNNNN.pt`` files are written there
    checkpoint_every : int, checkpoint period in epochs (the last epoch is always saved)
    resume : bool, continue from the latest checkpoint in ``checkpoint_dir`` when fitting
    hidden : tuple of int or None, override the variant's hidden widths (e.g. for tiny tests)

    Attributes
    ----------
    generator_, discriminator_ : Generator, Discriminator
    center_, scale_ : (d,) float64, the parameter scaling (x - center_) / scale_
    labels_ : (m, 2) float64, training (age, sex) pairs used to draw labels when sampling
    history_ : dict of per-epoch lists ``epoch``, ``d_loss``, ``g_loss``, ``d_real``
        (mean D(x)), ``d_fake`` (mean D(G(z))); ``pandas.DataFrame(history_)`` tabulates it
    epoch_ : int, epochs trained so far
    n_features_in_ : int, d
    n_excluded_ : int, training rows dropped (NaN label or age outside 18..80)
    """

    def __init__(self, variant="cvgan1", latent_dim=20, epochs=100, batch_size=200, lr=2e-4,
                 seed=0, device="cpu", progress=True, checkpoint_dir=None, checkpoint_every=10,
                 resume=False, hidden=None):
        self.variant = variant
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.device = device
        self.progress = progress
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.hidden = hidden

    # ------------------------------------------------------------ settings
    def get_params(self, deep=False):
        """Constructor settings as a dict (scikit-learn style)."""
        return {k: getattr(self, k) for k in _SETTINGS}

    def architecture(self) -> GANArchitecture:
        """The layer settings used: the variant's, with ``hidden`` overridden if given."""
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose from {sorted(VARIANTS)}")
        arch = VARIANTS[self.variant]
        if self.hidden is not None:
            arch = GANArchitecture(tuple(int(h) for h in self.hidden), arch.g_dropout,
                                   arch.d_dropout, arch.noise_std)
        return arch

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------ building
    def _build(self, n_params):
        arch = self.architecture()
        dev = _resolve_device(self.device)
        self.device_ = dev
        self.n_features_in_ = int(n_params)
        self.generator_ = Generator(self.latent_dim, n_params, arch).to(dev)
        self.discriminator_ = Discriminator(n_params, arch).to(dev)
        self._opt_g = torch.optim.Adam(self.generator_.parameters(), lr=self.lr, betas=(0.5, 0.999))
        self._opt_d = torch.optim.Adam(self.discriminator_.parameters(), lr=self.lr, betas=(0.5, 0.999))

    @staticmethod
    def _prepare(X, age, sex):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n, d), got shape {X.shape}")
        n = X.shape[0]
        if (age is None) != (sex is None):
            raise ValueError("give both age and sex, or neither")
        if age is None:  # unknown labels: one constant mid condition
            age, sex = np.full(n, AGE_CENTER), np.full(n, 0.5)
        age = _broadcast_labels(age, n, "age")
        sex = _broadcast_labels(sex, n, "sex")
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

    # ------------------------------------------------------------ fit
    def fit(self, X, age=None, sex=None, resume=None):
        """Train G and D on parameter vectors with their labels.

        Parameters
        ----------
        X : (n, d) array_like, parameter vectors
        age : (n,) array_like of years, or None
        sex : (n,) array_like in [0, 1] (0 female, 1 male), or None.
            With both labels None every row gets the constant mid condition
            (age 49, sex 0.5) and sampling then uses that condition too. Rows with
            a NaN label or an age outside 18..80 are excluded (with a warning;
            counted in ``n_excluded_``).
        resume : bool, str/path or None
            None uses the constructor's ``resume``; True continues from the latest
            checkpoint in ``checkpoint_dir`` (starting fresh when there is none); a
            path continues from that file. Training then runs from the checkpoint's
            epoch up to ``epochs``, with the scaling, label pool, history, optimizer
            and RNG states of the checkpoint (``X`` must be the same data for an
            exact continuation).

        Returns
        -------
        self
        """
        X, age, sex, excluded = self._prepare(X, age, sex)
        resume = self.resume if resume is None else resume
        ckpt_path = None
        if isinstance(resume, (str, os.PathLike)):
            ckpt_path = Path(resume)
        elif resume:
            if self.checkpoint_dir is None:
                raise ValueError("resume=True needs checkpoint_dir")
            ckpt_path = latest_checkpoint(self.checkpoint_dir)

        dev = _resolve_device(self.device)
        fork_devices = [dev.index or 0] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(self.seed)
            self._build(X.shape[1])
            self._shuffle_gen = torch.Generator().manual_seed(self.seed)
            if ckpt_path is not None:
                state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
                self._load_state(state, restore_rng=True)
                if self.n_features_in_ != X.shape[1]:
                    raise ValueError(f"checkpoint has d={self.n_features_in_}, X has d={X.shape[1]}")
            else:
                lo, hi = X.min(axis=0), X.max(axis=0)
                half = (hi - lo) / 2.0
                self.center_ = (hi + lo) / 2.0
                self.scale_ = np.where(half > 0, half * SCALE_MARGIN, 1.0)
                self.labels_ = np.stack([age, sex], axis=1)
                self.history_ = {k: [] for k in _HISTORY_KEYS}
                self.epoch_ = 0
                self.n_excluded_ = excluded
            self._train(X, age, sex)
        self.generator_.eval()
        self.discriminator_.eval()
        return self

    def _train(self, X, age, sex):
        dev = self.device_
        xs = torch.as_tensor((X - self.center_) / self.scale_, dtype=torch.float32, device=dev)
        cs = torch.as_tensor(condition_matrix(age, sex), dtype=torch.float32, device=dev)
        n = xs.shape[0]
        bs = max(1, min(int(self.batch_size), n))
        n_batches = math.ceil(n / bs)
        G, D = self.generator_, self.discriminator_
        G.train()
        D.train()
        epochs = range(self.epoch_, int(self.epochs))
        bar = None
        if self.progress and len(epochs):
            from tqdm.auto import tqdm
            bar = tqdm(total=len(epochs), desc=f"{self.variant} epochs", leave=False)
        try:
            for epoch in epochs:
                perm = torch.randperm(n, generator=self._shuffle_gen).to(dev)
                sums = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"), 0.0)
                for b in range(n_batches):
                    idx = perm[b * bs:(b + 1) * bs]
                    z = torch.randn(idx.shape[0], self.latent_dim, device=dev)
                    out = train_step(G, D, self._opt_g, self._opt_d, xs[idx], cs[idx], z)
                    for k in sums:
                        sums[k] += out[k]
                self.epoch_ = epoch + 1
                self.history_["epoch"].append(self.epoch_)
                for k, v in sums.items():
                    self.history_[k].append(v / n_batches)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(d_loss=f"{self.history_['d_loss'][-1]:.3f}",
                                    g_loss=f"{self.history_['g_loss'][-1]:.3f}")
                last = self.epoch_ == int(self.epochs)
                if self.checkpoint_dir is not None and (
                        last or self.epoch_ % max(1, int(self.checkpoint_every)) == 0):
                    path = Path(self.checkpoint_dir) / f"checkpoint_{self.epoch_:06d}.pt"
                    _atomic_save(self.state_dict(include_rng=True), path)
        finally:
            if bar is not None:
                bar.close()

    # ------------------------------------------------------------ state
    def _check_fitted(self):
        if not hasattr(self, "generator_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    def state_dict(self, include_rng=False):
        """Everything needed to restore or resume, as tensors and primitive containers.

        Parameters
        ----------
        include_rng : bool, also store the torch RNG states (for exact resume; only
            meaningful while ``fit`` runs)

        Returns
        -------
        dict with keys ``version``, ``settings``, ``generator``, ``discriminator``,
        ``opt_g``, ``opt_d``, ``epoch``, ``center``, ``scale``, ``labels``, ``history``,
        ``n_excluded`` and optionally ``rng``
        """
        self._check_fitted()
        settings = self.get_params()
        settings["checkpoint_dir"] = None if self.checkpoint_dir is None else str(self.checkpoint_dir)
        settings["hidden"] = None if self.hidden is None else [int(h) for h in self.hidden]
        settings["device"] = str(self.device)
        settings["resume"] = self.resume if isinstance(self.resume, bool) else str(self.resume)
        state = {
            "version": CHECKPOINT_VERSION,
            "class": type(self).__name__,
            "settings": settings,
            "n_features": int(self.n_features_in_),
            "generator": _to_cpu(self.generator_.state_dict()),
            "discriminator": _to_cpu(self.discriminator_.state_dict()),
            "opt_g": _to_cpu(self._opt_g.state_dict()),
            "opt_d": _to_cpu(self._opt_d.state_dict()),
            "epoch": int(self.epoch_),
            "center": torch.as_tensor(self.center_, dtype=torch.float64),
            "scale": torch.as_tensor(self.scale_, dtype=torch.float64),
            "labels": torch.as_tensor(self.labels_, dtype=torch.float64),
            "history": {k: [float(v) for v in vals] for k, vals in self.history_.items()},
            "n_excluded": int(self.n_excluded_),
        }
        if include_rng:
            rng = {"cpu": torch.get_rng_state(), "shuffle": self._shuffle_gen.get_state()}
            if self.device_.type == "cuda":
                rng["cuda"] = torch.cuda.get_rng_state(self.device_)
            state["rng"] = rng
        return state

    def _load_state(self, state, restore_rng=False):
        self._build(int(state["n_features"]))
        self.generator_.load_state_dict(state["generator"])
        self.discriminator_.load_state_dict(state["discriminator"])
        self._opt_g.load_state_dict(state["opt_g"])
        self._opt_d.load_state_dict(state["opt_d"])
        self.epoch_ = int(state["epoch"])
        self.center_ = state["center"].numpy().astype(np.float64)
        self.scale_ = state["scale"].numpy().astype(np.float64)
        self.labels_ = state["labels"].numpy().astype(np.float64)
        self.history_ = {k: list(v) for k, v in state["history"].items()}
        self.history_["epoch"] = [int(e) for e in self.history_["epoch"]]
        self.n_excluded_ = int(state["n_excluded"])
        if restore_rng and "rng" in state:
            torch.set_rng_state(state["rng"]["cpu"])
            self._shuffle_gen = torch.Generator()
            self._shuffle_gen.set_state(state["rng"]["shuffle"])
            if "cuda" in state["rng"] and self.device_.type == "cuda":
                torch.cuda.set_rng_state(state["rng"]["cuda"], self.device_)
        self.generator_.eval()
        self.discriminator_.eval()

    def save(self, path):
        """Write the fitted model (``state_dict()``) atomically to ``path``."""
        _atomic_save(self.state_dict(), path)
        return Path(path)

    @classmethod
    def load(cls, path, device=None):
        """Restore a model saved by :meth:`save` (or a training checkpoint).

        Reads with ``torch.load(path, weights_only=True)``. Called on
        ``ConditionalGAN`` it returns the class that saved the file (CVGAN1/CVGAN2).

        Parameters
        ----------
        path : str or path
        device : optional device override; by default the saved one, or "cpu" where a
            saved CUDA device is not available
        """
        state = torch.load(path, map_location="cpu", weights_only=True)
        settings = dict(state["settings"])
        if device is not None:
            settings["device"] = device
        elif str(settings["device"]).startswith("cuda") and not torch.cuda.is_available():
            settings["device"] = "cpu"  # trained on a GPU, restored on a CPU-only machine
        if settings.get("hidden") is not None:
            settings["hidden"] = tuple(settings["hidden"])
        klass = _CLASSES.get(state.get("class"), cls) if cls is ConditionalGAN else cls
        if klass is not ConditionalGAN:
            settings.pop("variant")
        obj = klass(**settings)
        with torch.random.fork_rng(devices=[]):  # layer init in _build must not touch global RNG
            obj._load_state(state)
        return obj

    # ------------------------------------------------------------ sampling
    def generate(self, z, age, sex):
        """Parameter vectors for given latent vectors and labels (no randomness).

        Parameters
        ----------
        z : (latent_dim,) or (n, latent_dim) array_like
        age : scalar or (n,) years (clipped to 18..80)
        sex : scalar or (n,) in [0, 1]

        Returns
        -------
        (d,) float64 array for a single z, else (n, d)
        """
        self._check_fitted()
        z = np.asarray(z, dtype=np.float32)
        single = z.ndim == 1
        z2 = z.reshape(1, -1) if single else z
        if z2.ndim != 2 or z2.shape[1] != self.latent_dim:
            raise ValueError(f"z must have {self.latent_dim} columns, got shape {z.shape}")
        n = z2.shape[0]
        c = condition_matrix(_broadcast_labels(age, n, "age"), _broadcast_labels(sex, n, "sex"))
        G = self.generator_
        if G.training:
            G.eval()
        with torch.inference_mode():
            out = G(torch.from_numpy(z2).to(self.device_),
                    torch.as_tensor(c, dtype=torch.float32, device=self.device_))
        x = out.cpu().numpy().astype(np.float64) * self.scale_ + self.center_
        return x[0] if single else x

    def sample_with_labels(self, n, rng, age=None, sex=None):
        """Draw ``n`` faces and report the labels they were generated with.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator, the only source of randomness (z and labels)
        age, sex : None, scalar or (n,) array. Missing labels are drawn by resampling
            training (age, sex) pairs with ``rng`` (jointly when both are missing).

        Returns
        -------
        X : (n, d) float64
        age : (n,) float64 years (as requested, before clipping)
        sex : (n,) float64 in [0, 1]
        """
        self._check_fitted()
        n = int(n)
        z = rng.standard_normal((n, self.latent_dim))
        if age is None or sex is None:
            pairs = self.labels_[rng.integers(0, self.labels_.shape[0], size=n)]
            age = pairs[:, 0] if age is None else age
            sex = pairs[:, 1] if sex is None else sex
        age = _broadcast_labels(age, n, "age")
        sex = _broadcast_labels(sex, n, "sex")
        X = self.generate(z, age, sex) if n else np.empty((0, self.n_features_in_))
        return X.reshape(n, self.n_features_in_), age, sex

    def sample(self, n, rng, age=None, sex=None):
        """Draw ``n`` parameter vectors, (n, d) float64 (see :meth:`sample_with_labels`)."""
        return self.sample_with_labels(n, rng, age=age, sex=sex)[0]

    def n_parameters(self):
        """Number of trainable weights and biases in G and D, as a dict."""
        self._check_fitted()
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        return {"generator": count(self.generator_), "discriminator": count(self.discriminator_)}


_SETTINGS = ("variant", "latent_dim", "epochs", "batch_size", "lr", "seed", "device", "progress",
             "checkpoint_dir", "checkpoint_every", "resume", "hidden")
_HISTORY_KEYS = ("epoch", "d_loss", "g_loss", "d_real", "d_fake")


class CVGAN1(ConditionalGAN):
    """Thesis model M1: hidden [2000, 1000, 500], dropout 0.5 in G and D, no noise."""

    def __init__(self, *, latent_dim=20, epochs=100, batch_size=200, lr=2e-4, seed=0,
                 device="cpu", progress=True, checkpoint_dir=None, checkpoint_every=10,
                 resume=False, hidden=None):
        super().__init__("cvgan1", latent_dim, epochs, batch_size, lr, seed, device, progress,
                         checkpoint_dir, checkpoint_every, resume, hidden)


class CVGAN2(ConditionalGAN):
    """Thesis model M2: hidden [500, 500], dropout 0.5 in D, input noise N(0, 0.1)."""

    def __init__(self, *, latent_dim=20, epochs=100, batch_size=200, lr=2e-4, seed=0,
                 device="cpu", progress=True, checkpoint_dir=None, checkpoint_every=10,
                 resume=False, hidden=None):
        super().__init__("cvgan2", latent_dim, epochs, batch_size, lr, seed, device, progress,
                         checkpoint_dir, checkpoint_every, resume, hidden)


_CLASSES = {"ConditionalGAN": ConditionalGAN, "CVGAN1": CVGAN1, "CVGAN2": CVGAN2}


# --------------------------------------------------------------------------- conditioning
def conditioning_report(gan, X, age, sex, rng, n=2000, test_size=0.25):
    """How well generated faces follow the requested age and sex.

    A logistic regression (sex, threshold 0.5) and a ridge regression (age), both on
    standardised parameters, are fitted on a training split of the real set. They are
    scored on the held-out real split (reference) and on GAN samples requested on a
    grid of ages 18..80 for both sexes.

    Parameters
    ----------
    gan : fitted ConditionalGAN
    X : (m, d) real parameters; age : (m,) years; sex : (m,) in [0, 1]
    rng : numpy.random.Generator (split and GAN draws)
    n : int, number of GAN samples (split evenly over the grid)
    test_size : float, held-out fraction of the real set

    Returns
    -------
    dict with ``gan_sex_accuracy``, ``gan_age_r`` (Pearson, predicted vs requested age),
    ``gan_age_mae``, ``real_sex_accuracy``, ``real_age_r``, ``real_age_mae`` (held-out real),
    ``n_gan``, ``n_real_test``
    """
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=np.float64)
    age = np.asarray(age, dtype=np.float64).reshape(-1)
    sex = np.asarray(sex, dtype=np.float64).reshape(-1)
    keep = (age >= AGE_MIN) & (age <= AGE_MAX) & np.isfinite(sex)
    X, age, sex = X[keep], age[keep], sex[keep]
    sex_bin = (sex >= 0.5).astype(int)
    order = rng.permutation(X.shape[0])
    n_test = max(1, int(round(test_size * X.shape[0])))
    test, train = order[:n_test], order[n_test:]

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    reg = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    clf.fit(X[train], sex_bin[train])
    reg.fit(X[train], age[train])

    def scores(Xs, a, s):
        pred_age = reg.predict(Xs)
        r = float(np.corrcoef(pred_age, a)[0, 1]) if np.std(pred_age) > 0 and np.std(a) > 0 else float("nan")
        return float(np.mean(clf.predict(Xs) == s)), r, float(np.mean(np.abs(pred_age - a)))

    n_ages = max(2, int(n) // 2)
    grid_age = np.tile(np.linspace(AGE_MIN, AGE_MAX, n_ages), 2)
    grid_sex = np.repeat([0.0, 1.0], n_ages)
    Xg = gan.sample(grid_age.shape[0], rng, age=grid_age, sex=grid_sex)
    g_acc, g_r, g_mae = scores(Xg, grid_age, grid_sex.astype(int))
    r_acc, r_r, r_mae = scores(X[test], age[test], sex_bin[test])
    return {"gan_sex_accuracy": g_acc, "gan_age_r": g_r, "gan_age_mae": g_mae,
            "real_sex_accuracy": r_acc, "real_age_r": r_r, "real_age_mae": r_mae,
            "n_gan": int(grid_age.shape[0]), "n_real_test": int(n_test)}
