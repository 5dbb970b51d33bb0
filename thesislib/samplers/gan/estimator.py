"""The conditional GAN estimator over face parameter vectors (thesis 5.5.2, CVGAN1/CVGAN2).

Networks, conditioning inputs, variants and losses: :mod:`thesislib.samplers.gan.networks`; the
epoch loop and its stabilisation settings (two learning rates, schedule, label smoothing,
instance noise, weight average): :mod:`thesislib.samplers.gan.training`; the checkpoint format:
:mod:`thesislib.samplers.gan.checkpoint`; the conditioning report: :mod:`thesislib.samplers.gan.conditioning`.
Their public names import from here too.

Parameter scaling
    The generator ends in ``tanh``; parameters are mapped into its range per
    column by ``(x - center_) / scale_`` with ``center_`` the midpoint of the
    column's training range and ``scale_`` 1.1 times its half range (so training
    data fills ``[-1/1.1, 1/1.1]``). Sampling inverts the map.

Determinism
    ``fit`` runs inside a forked torch RNG seeded with ``seed`` (weights, batch
    order, dropout, noise) so the caller's global torch RNG is untouched; two
    fits with the same seed on CPU give identical weights, and a fit resumed from a
    checkpoint gives the weights of the unbroken fit (every setting included: the
    learning-rate schedule is a function of the epoch, the weight average and its step
    count are in the checkpoint). Sampling draws ``z``, labels when not given and, with
    ``sample_dropout``, the dropout masks' seed only from the passed ``numpy.random.Generator``.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import torch

from .checkpoint import (
    atomic_save, latest_checkpoint, pack_settings, pack_state, prune_checkpoints, resume_state,
    settings_conflicts, unpack_settings, unpack_state)
from .networks import (
    VARIANTS, Discriminator, GANArchitecture, Generator, broadcast_labels, generator_output,
    has_dropout, resolve_device, condition_matrix, training_rows)
from .training import check_settings, new_average, run_epochs

__all__ = [
    "SCALE_MARGIN", "CVGAN1", "CVGAN2", "ConditionalGAN",
]

SCALE_MARGIN = 1.1


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
    lr : float, Adam learning rate of G (and of D unless ``lr_d``; betas 0.5, 0.999)
    seed : int, seeds weights, batch order, dropout and noise
    device : "cpu", "cuda", "auto" or a torch device string
    progress : bool, show a tqdm bar over epochs
    checkpoint_dir : path or None; if set, ``checkpoint_NNNNNN.pt`` files are written there (the
        latest is kept: resuming needs nothing older; the fitted model is saved apart)
    checkpoint_every : int, checkpoint period in epochs (the last epoch is always saved)
    resume : bool, continue from the latest checkpoint in ``checkpoint_dir`` when fitting
    hidden : tuple of int or None, override the variant's hidden widths (e.g. for tiny tests)
    lr_d : float or None, D's learning rate (None: ``lr``)
    lr_schedule : {"constant", "linear", "cosine"}, factor on both rates per epoch
    label_smoothing : float in [0, 0.5), one-sided: D's target for real rows is ``1 - s``
    instance_noise : float >= 0, std of noise on D's parameter inputs, annealed to 0
    ema : float in (0, 1) or None, decay of G's weight average; sampling uses the average
        (the five settings above: :mod:`thesislib.samplers.gan.training`; their defaults are the
        plain thesis training)
    sample_dropout : bool, :meth:`sample` keeps G's dropout on as in training (CVGAN1; masks
        seeded from ``rng``); :meth:`generate` has it off unless given a ``dropout_seed``

    Attributes
    ----------
    generator_, discriminator_ : as trained (loaded from :meth:`save`: the sampling network, an untrained D)
    generator_ema_ : Generator or None, the weight average (``ema`` set), which sampling uses
    ema_steps_ : int, G steps averaged so far
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
                 resume=False, hidden=None, lr_d=None, lr_schedule="constant", label_smoothing=0.0,
                 instance_noise=0.0, ema=None, sample_dropout=False):
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
        self.lr_d, self.lr_schedule, self.ema = lr_d, lr_schedule, ema
        self.label_smoothing, self.instance_noise, self.sample_dropout = label_smoothing, instance_noise, sample_dropout

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
        check_settings(self)
        arch = self.architecture()
        dev = resolve_device(self.device)
        self.device_ = dev
        self.n_features_in_ = int(n_params)
        self.generator_ = Generator(self.latent_dim, n_params, arch).to(dev)
        self.discriminator_ = Discriminator(n_params, arch).to(dev)
        self.optimizer_g_ = torch.optim.Adam(self.generator_.parameters(), lr=self.lr, betas=(0.5, 0.999))
        lr_d = self.lr if self.lr_d is None else self.lr_d
        self.optimizer_d_ = torch.optim.Adam(self.discriminator_.parameters(), lr=lr_d, betas=(0.5, 0.999))
        self.generator_ema_ = None if self.ema is None else new_average(self.generator_)
        self.ema_steps_ = 0

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
        X, age, sex, excluded = training_rows(X, age, sex)
        resume = self.resume if resume is None else resume
        ckpt_path = None
        if isinstance(resume, (str, os.PathLike)):
            ckpt_path = Path(resume)
        elif resume:
            if self.checkpoint_dir is None:
                raise ValueError("resume=True needs checkpoint_dir")
            ckpt_path = latest_checkpoint(self.checkpoint_dir)

        dev = resolve_device(self.device)
        fork_devices = [dev.index or 0] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(self.seed)
            self._build(X.shape[1])
            self.shuffle_generator_ = torch.Generator().manual_seed(self.seed)
            if ckpt_path is not None:
                self._load_state(resume_state(ckpt_path, self.resume_conflicts), restore_rng=True)
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
        n_epochs = max(0, int(self.epochs) - self.epoch_)
        bar = None
        if self.progress and n_epochs:
            from tqdm.auto import tqdm
            bar = tqdm(total=n_epochs, desc=f"{self.variant} epochs", leave=False)
        try:
            run_epochs(self, xs, cs, on_epoch_end=self._checkpoint, bar=bar)
        finally:
            if bar is not None:
                bar.close()

    def _checkpoint(self):
        last = self.epoch_ == int(self.epochs)
        if self.checkpoint_dir is not None and (last or self.epoch_ % max(1, int(self.checkpoint_every)) == 0):
            path = Path(self.checkpoint_dir) / f"checkpoint_{self.epoch_:06d}.pt"
            atomic_save(self.state_dict(include_rng=True), path)
            prune_checkpoints(self.checkpoint_dir, path)

    def resume_conflicts(self, state) -> list[str]:
        """Training settings in which a checkpoint ``state`` differs from this estimator
        (``"name: saved -> now"``; empty: it resumes). ``epochs`` may differ; a setting the
        checkpoint predates counts with its default."""
        return settings_conflicts(state["settings"], pack_settings(self.get_params()), _TRAINING, _DEFAULTS)

    # ------------------------------------------------------------ state
    def _check_fitted(self):
        if not hasattr(self, "generator_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    def state_dict(self, include_rng=False, training=True):
        """Everything needed to restore or resume, as tensors and primitive containers.

        Parameters
        ----------
        include_rng : bool, also store the torch RNG states (for exact resume; only
            meaningful while ``fit`` runs)
        training : bool, also store what resuming needs and sampling does not: the Adam
            states (``opt_g``, ``opt_d``), the discriminator and, with ``ema``, the raw
            generator beside the average (without it, ``generator`` is the sampling network)

        Returns
        -------
        dict with keys ``version``, ``settings``, ``generator``, ``epoch``, ``center``, ``scale``,
        ``labels``, ``history``, ``n_excluded``, ``ema_steps``; with ``training`` also ``opt_g``,
        ``opt_d``, ``discriminator``, ``generator_ema`` (with ``ema``); optionally ``rng``
        """
        self._check_fitted()
        return pack_state(self, include_rng, training)

    def fitted_state(self):
        """The fit as a dataset card identifies it (``fit_fingerprint``): what :meth:`save` keeps."""
        st = self.state_dict(training=False)
        return {k: st[k] for k in ("generator", "center", "scale", "labels", "n_features", "epoch")}

    def _load_state(self, state, restore_rng=False):
        self._build(int(state["n_features"]))
        unpack_state(self, state, restore_rng)
        self.generator_.eval()
        self.discriminator_.eval()

    def save(self, path):
        """Write the fitted model atomically to ``path``: weights, scaling, labels, history and
        settings; of the networks only the one that samples (no Adam states, discriminator or raw
        generator beside the average). It loads and samples as the fitted model does; training
        continues only from a checkpoint (``checkpoint_dir``)."""
        atomic_save(self.state_dict(training=False), path)
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
        settings = unpack_settings(state["settings"], device)
        klass = _CLASSES.get(state.get("class"), cls) if cls is ConditionalGAN else cls
        if klass is not ConditionalGAN:
            settings.pop("variant")
        obj = klass(**settings)
        with torch.random.fork_rng(devices=[]):  # layer init in _build must not touch global RNG
            obj._load_state(state)
        return obj

    # ------------------------------------------------------------ sampling
    def generate(self, z, age, sex, dropout_seed=None):
        """Parameter vectors for given latent vectors and labels (no randomness by default).

        Parameters
        ----------
        z : (latent_dim,) or (n, latent_dim) array_like
        age : scalar or (n,) years (clipped to 18..80)
        sex : scalar or (n,) in [0, 1]
        dropout_seed : None (G's dropout off: the same z and labels give the same face) or
            an int (dropout active with masks seeded by it; see ``sample_dropout``)

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
        c = condition_matrix(broadcast_labels(age, n, "age"), broadcast_labels(sex, n, "sex"))
        out = generator_output(self.sampling_generator(), torch.from_numpy(z2).to(self.device_),
                               torch.as_tensor(c, dtype=torch.float32, device=self.device_), dropout_seed)
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
        age = broadcast_labels(age, n, "age")
        sex = broadcast_labels(sex, n, "sex")
        seed = int(rng.integers(2**63 - 1)) if self.sample_dropout and has_dropout(self.generator_) else None
        X = self.generate(z, age, sex, seed) if n else np.empty((0, self.n_features_in_))
        return X.reshape(n, self.n_features_in_), age, sex

    def sample(self, n, rng, age=None, sex=None):
        """Draw ``n`` parameter vectors, (n, d) float64 (see :meth:`sample_with_labels`)."""
        return self.sample_with_labels(n, rng, age=age, sex=sex)[0]

    def sampling_generator(self):
        """The network that :meth:`generate` and :meth:`sample` use: the weight average
        ``generator_ema_`` when ``ema`` is set, else ``generator_``."""
        self._check_fitted()
        return self.generator_ if self.generator_ema_ is None else self.generator_ema_

    def n_parameters(self):
        """Number of trainable weights and biases in G and D, as a dict."""
        self._check_fitted()
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        return {"generator": count(self.generator_), "discriminator": count(self.discriminator_)}


_SETTINGS = ("variant", "latent_dim", "epochs", "batch_size", "lr", "seed", "device", "progress",
             "checkpoint_dir", "checkpoint_every", "resume", "hidden", "lr_d", "lr_schedule",
             "label_smoothing", "instance_noise", "ema", "sample_dropout")
_TRAINING = ("variant", "latent_dim", "batch_size", "lr", "seed", "hidden", "lr_d", "lr_schedule",
             "label_smoothing", "instance_noise", "ema")  # a resumed fit must keep these
_DEFAULTS = {k: p.default for k, p in inspect.signature(ConditionalGAN.__init__).parameters.items()}
_HISTORY_KEYS = ("epoch", "d_loss", "g_loss", "d_real", "d_fake")


class CVGAN1(ConditionalGAN):
    """Thesis model M1: hidden [2000, 1000, 500], dropout 0.5 in G and D, no noise; keyword settings as
    :class:`ConditionalGAN`'s, without ``variant``."""

    def __init__(self, **settings):
        super().__init__("cvgan1", **settings)


class CVGAN2(ConditionalGAN):
    """Thesis model M2: hidden [500, 500], dropout 0.5 in D, input noise N(0, 0.1); keyword settings as
    :class:`ConditionalGAN`'s, without ``variant``."""

    def __init__(self, **settings):
        super().__init__("cvgan2", **settings)


_CLASSES = {"ConditionalGAN": ConditionalGAN, "CVGAN1": CVGAN1, "CVGAN2": CVGAN2}
