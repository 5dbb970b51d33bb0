"""BFM parameter regression network (BPRN, thesis 5.5.1): training, checkpoints, prediction.

A BPRN maps a 224 x 224 face crop to a parameter vector (``n_params`` numbers in
standard deviations, shape then colour): a *stem* (image -> features; frozen stems and
their cache in :mod:`thesislib.bprn.stems`, default ``"facemesh"``; ``"cnn"`` is trained
from scratch with the head, on images downsampled to ``image_size`` px) followed by the
thesis' *head* (:mod:`thesislib.bprn.heads`: three 200-unit leaky-ReLU layers, tanh output).
Targets are ``clip(p / param_bound, -1, 1)`` (:func:`scale_params`, bound 6 sd).

Linear path (``linear_skip``, default on; frozen stems)
    The output is ``W z + b + head(z)`` for standardised features ``z``: ``W, b`` is the
    ridge solution for ``p / bound`` (unclipped) on the training split (alpha by generalised
    cross-validation), frozen; the head learns the residual from a zero-initialised last
    layer, so the bound limits its correction, not the prediction. The validation loss picks
    the epoch (epoch 0 = ridge alone); then the linear path is refitted on every image, as
    the ridge reference (:class:`RidgeHead`) is: it is that reference over the bound, and
    :meth:`RidgeHead.from_network` reads it back. Features are standardised with every
    input row's mean and sd (no labels); NaN rows (no face found) become the mean. Why: on 3000
    face-mesh feature vectors of renders the thesis head alone reached 4.66-4.90 mm mean
    vertex error on 300 real-like faces, ridge 4.11 mm, the mean face 5.47 mm (measured
    2026-12-01); near-linear maps from 2869 features and a few thousand images favour
    ridge. ``linear_skip=False`` is the thesis head exactly.

Inputs to :meth:`BPRN.fit` / :meth:`BPRN.predict`: a (n, F) float feature array (frozen
stems), a (n, H, W, 3) uint8 image array, or a dataset folder / :class:`thesislib.datasets.generation.Dataset`
(labels from the dataset, frozen-stem features from its cache). Checkpoints are
``state_dict`` containers written atomically and read with ``torch.load(weights_only=True)``;
training resumes from ``checkpoint_dir/checkpoint.pt`` with the same weights as an
uninterrupted run. Sweeps, learning curves and the stem experiment are in
:mod:`thesislib.studies.bprn`, scoring in :mod:`thesislib.evaluation.predictions`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .checkpoint import CHECKPOINT, atomic_torch_save, resume_training, training_state, weights_copy
from .heads import (
    PARAM_BOUND, Network, RidgeHead, feature_stats, scale_params, set_ridge_path, unscale_params)
from .stems import STEMS, dataset_features, frozen_features

# ----------------------------------------------------------------- settings
@dataclass(frozen=True)
class BPRNSettings:
    """Everything that defines a BPRN training except the seed (see :class:`BPRN`)."""

    stem: str = "facemesh"
    n_params: int = 100
    hidden: tuple = (200, 200, 200)
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 200
    early_stopping: int | None = None
    val_fraction: float = 0.1
    param_bound: float = PARAM_BOUND
    negative_slope: float = 0.01
    image_size: int = 112
    weight_decay: float = 0.0
    device: str = "cpu"
    weights_path: str | None = None
    checkpoint_every: int = 25
    linear_skip: bool = True
    input_noise: float = 0.0

    def identity(self) -> dict:
        """Settings that must match for a checkpoint to be resumed (not epochs/device)."""
        d = asdict(self)
        for k in ("epochs", "early_stopping", "device", "checkpoint_every"):
            d.pop(k)
        d["hidden"] = list(d["hidden"])
        return d


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _images_to_tensor(images, size: int) -> torch.Tensor:
    """(n, H, W, 3) uint8 -> (n, 3, size, size) uint8 (area downsampling)."""
    t = torch.from_numpy(np.ascontiguousarray(np.asarray(images, np.uint8))).permute(0, 3, 1, 2)
    if t.shape[-1] != size or t.shape[-2] != size:
        t = nn.functional.interpolate(t.float(), size=(size, size), mode="area").round().clamp(0, 255).to(torch.uint8)
    return t.contiguous()


class _threads:
    """Context manager: torch CPU threads set to ``n`` (None: unchanged), restored on exit."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        if self.n is not None:
            torch.set_num_threads(int(self.n))

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


# ----------------------------------------------------------------- the estimator
class BPRN:
    """BFM parameter regression network with a scikit-learn-like interface.

    Parameters
    ----------
    stem : "facemesh" (frozen, cached features; default), "dlib", "cnn" (trainable) or "wide_resnet50_2"
    n_params : int, output size (thesis: 100 = 50 shape + 50 color)
    hidden : widths of the head's hidden layers (thesis: 200, 200, 200)
    lr : Adam learning rate
    batch_size : int
    epochs : int, maximum number of passes over the training split
    early_stopping : None or patience (epochs without a lower validation loss); the
        weights of the best validation epoch are kept
    val_fraction : fraction of the inputs held out for the validation loss (0: none)
    seed : int, seeds weight init, split and batch order (deterministic on CPU)
    device : "cpu", "cuda", ... or "auto" (a GPU when present)
    progress : bool, tqdm bar over epochs (and feature extraction)
    checkpoint_dir : folder for ``checkpoint.pt`` (every ``checkpoint_every`` epochs and at
        the end); when it holds a checkpoint of the same settings and seed, ``fit`` resumes
    n_jobs : processes for dlib feature extraction
    threads : torch CPU threads while fitting/predicting (default 1: the head is tiny, and
        torch's threads spin-wait when cores are shared; None keeps torch's setting)
    linear_skip : bool, frozen ridge path beside the head (frozen stems; module docstring)
    input_noise : float, sd of Gaussian noise added to the standardised features while training
    param_bound, negative_slope, image_size, weight_decay, weights_path, checkpoint_every :
        see the module docstring and :class:`BPRNSettings`

    Attributes (after fit)
    ----------------------
    network_ : :class:`Network`
    history_ : DataFrame with columns epoch, train_loss, val_loss (MSE on tanh targets)
    best_epoch_ : int, epoch whose weights are kept
    n_features_in_ : int
    """

    def __init__(self, stem: str = "facemesh", n_params: int = 100, hidden=(200, 200, 200), lr: float = 1e-3,
                 batch_size: int = 64, epochs: int = 200, early_stopping: int | None = None,
                 val_fraction: float = 0.1, seed: int = 0, device: str = "cpu", progress: bool = True,
                 checkpoint_dir=None, n_jobs: int = 1, param_bound: float = PARAM_BOUND,
                 negative_slope: float = 0.01, image_size: int = 112, weight_decay: float = 0.0,
                 weights_path=None, checkpoint_every: int = 25, threads: int | None = 1,
                 linear_skip: bool = True, input_noise: float = 0.0):
        if stem not in STEMS:
            raise ValueError(f"unknown stem {stem!r}; choose one of {STEMS}")
        self.settings = BPRNSettings(stem, int(n_params), tuple(int(h) for h in hidden), float(lr),
                                     int(batch_size), int(epochs),
                                     None if early_stopping is None else int(early_stopping),
                                     float(val_fraction), float(param_bound), float(negative_slope),
                                     int(image_size), float(weight_decay), str(device),
                                     None if weights_path is None else str(weights_path), int(checkpoint_every),
                                     bool(linear_skip), float(input_noise))
        self.seed = int(seed)
        self.progress = bool(progress)
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.n_jobs = n_jobs
        self.threads = threads

    @classmethod
    def from_settings(cls, settings: BPRNSettings, seed: int = 0, **kwargs) -> "BPRN":
        return cls(**asdict(settings), seed=seed, **kwargs)

    def __getattr__(self, name):
        s = self.__dict__.get("settings")
        if s is not None and name in BPRNSettings.__dataclass_fields__:
            return getattr(s, name)
        raise AttributeError(name)

    @property
    def _skip(self) -> bool:
        return self.settings.linear_skip and self.settings.stem != "cnn"

    # ------------------------------------------------------------- inputs
    def _inputs(self, X, Y=None):
        """-> (tensor inputs, targets or None). Features (n, F) float32 or images (n,3,S,S) uint8."""
        from thesislib.datasets import Dataset

        s = self.settings
        if isinstance(X, (str, Path, Dataset)):
            from thesislib.datasets import load_dataset

            ds = X if isinstance(X, Dataset) else load_dataset(X)
            if Y is None:
                Y = ds.parameters()
            if s.stem == "cnn":
                return _images_to_tensor(ds.images(), s.image_size), Y
            feats = dataset_features(ds, s.stem, self.n_jobs, s.weights_path, self.progress).X
            return torch.from_numpy(feats), Y
        arr = np.asarray(X)
        if arr.ndim == 4:
            if s.stem == "cnn":
                return _images_to_tensor(arr, s.image_size), Y
            return torch.from_numpy(frozen_features(arr, s.stem, self.n_jobs, s.weights_path, self.progress)), Y
        if arr.ndim == 2:
            if s.stem == "cnn":
                raise ValueError("stem 'cnn' trains on images: pass (n, H, W, 3) uint8 or a dataset")
            return torch.from_numpy(arr.astype(np.float32)), Y
        raise ValueError(f"need features (n, F), images (n, H, W, 3) or a dataset; got shape {arr.shape}")

    @staticmethod
    def _groups(X):
        """The face of each image when ``X`` is a dataset (its labels' ``instance_id``), else None."""
        from thesislib.datasets import Dataset, load_dataset

        if not isinstance(X, (str, Path, Dataset)):
            return None
        labels = (X if isinstance(X, Dataset) else load_dataset(X)).labels
        return labels["instance_id"].to_numpy() if "instance_id" in labels else None

    @staticmethod
    def _prep(x: torch.Tensor) -> torch.Tensor:
        return x.float() / 127.5 - 1.0 if x.dtype == torch.uint8 else x

    # ------------------------------------------------------------- training
    def fit(self, X, Y=None, groups=None) -> "BPRN":
        """Train on inputs ``X`` and parameters ``Y`` (n, n_params) in sd.

        ``X``: features (n, F) (frozen stems), images (n, H, W, 3) uint8, or a dataset
        (folder or :class:`~thesislib.datasets.generation.Dataset`; ``Y`` defaults to its parameters).
        Adam on the mean squared error of the tanh-scaled targets; the validation split
        (``val_fraction``) is drawn from ``seed`` and keeps all rows of a group (``groups``, (n,)
        face ids; from a dataset, its ``instance_id``) on one side. With ``checkpoint_dir`` holding a
        checkpoint of the same settings, seed and feature size, training continues from it
        (the data are assumed to be the same); a checkpoint of other settings is ignored
        with a warning and overwritten. Returns self.
        """
        with _threads(self.threads):
            return self._fit(X, Y, groups)

    def _fit(self, X, Y=None, groups=None) -> "BPRN":
        from tqdm.auto import tqdm

        s = self.settings
        inputs, Y = self._inputs(X, Y)
        if groups is None:
            groups = self._groups(X)
        Y = np.asarray(Y, np.float64)
        if Y.shape != (len(inputs), s.n_params):
            raise ValueError(f"Y must be ({len(inputs)}, n_params={s.n_params}), got {Y.shape}")
        device = _resolve_device(s.device)
        targets = torch.from_numpy(scale_params(Y, s.param_bound))
        val_idx, tr_idx = self._split(len(inputs), groups)
        n_val = len(val_idx)
        net = self._new_network(inputs, Y / s.param_bound, tr_idx).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        gen = torch.Generator().manual_seed(self.seed)
        hist, start, best = [], 0, (0, float("inf"), None)
        if net.skip is not None and n_val and s.early_stopping is not None:  # epoch 0: the ridge solution
            best = (0, self._loss(net, inputs[val_idx].to(device), targets[val_idx].to(device)),
                    weights_copy(net))
        ckpt = self.checkpoint_dir / CHECKPOINT if self.checkpoint_dir is not None else None
        if ckpt is not None and ckpt.is_file():
            start, hist, best = resume_training(ckpt, s.identity(), self.seed, net, opt, gen, (start, hist, best))
        x_tr, y_tr = inputs[tr_idx].to(device), targets[tr_idx].to(device)
        x_va, y_va = inputs[val_idx].to(device), targets[val_idx].to(device)
        bar = tqdm(total=s.epochs, initial=start, disable=not self.progress, unit="epoch", desc=f"bprn[{s.stem}]")
        stop = start >= s.epochs or bool(s.early_stopping is not None and hist and
                                         start - best[0] >= s.early_stopping)
        epoch = start
        while not stop and epoch < s.epochs:
            train_loss = self._train_epoch(net, opt, gen, x_tr, y_tr)
            epoch += 1
            val = self._loss(net, x_va, y_va)
            hist.append((epoch, train_loss, val))
            watch = val if n_val else train_loss
            if watch < best[1]:
                best = (epoch, watch, weights_copy(net) if s.early_stopping is not None else None)
            bar.update(1)
            bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val:.4f}")
            stop = s.early_stopping is not None and epoch - best[0] >= s.early_stopping
            if ckpt is not None and (stop or epoch == s.epochs or epoch % s.checkpoint_every == 0):
                atomic_torch_save(training_state(s.identity(), self.seed, net, opt, gen, epoch, hist, best), ckpt)
        bar.close()
        if s.early_stopping is not None and best[2] is not None:
            net.load_state_dict(best[2])
        else:
            best = (epoch, best[1], None)
        if net.skip is not None and n_val:  # the epoch is chosen: the linear path now sees every image
            with torch.no_grad():
                set_ridge_path(net, net.standardise(inputs.to(device)).cpu().numpy(), Y / s.param_bound)
        self.network_ = net.eval()
        self.history_ = pd.DataFrame(hist, columns=["epoch", "train_loss", "val_loss"])
        self.best_epoch_ = int(best[0])
        self.n_features_in_ = int(net.mu.numel())
        return self

    def _split(self, n: int, groups=None) -> tuple[np.ndarray, np.ndarray]:
        """(validation rows, training rows), sorted; drawn from the seed.

        With ``groups`` (n,) (a face id per row), whole groups go to one side: groups are
        taken in a seeded random order until the validation side holds ``val_fraction`` of
        the rows, so no face has renders on both sides. Without groups, or with one row
        per group, the split is the row split of earlier versions.
        """
        frac = self.settings.val_fraction
        n_val = min(n - 1, max(1, int(round(frac * n)))) if n > 1 and frac > 0 else 0
        if groups is None:
            perm = np.random.default_rng([self.seed, 1]).permutation(n)
            return np.sort(perm[:n_val]), np.sort(perm[n_val:])
        uniq, inverse = np.unique(np.asarray(groups), return_inverse=True)
        if len(inverse) != n:
            raise ValueError(f"groups has {len(inverse)} entries for {n} rows")
        order = np.random.default_rng([self.seed, 1]).permutation(len(uniq))
        sizes = np.bincount(inverse, minlength=len(uniq))[order]
        k = int(np.searchsorted(np.cumsum(sizes), n_val)) + 1 if n_val else 0
        k = min(k, len(uniq) - 1) if len(uniq) > 1 else 0
        val = np.isin(inverse, order[:k])
        return np.flatnonzero(val), np.flatnonzero(~val)

    def _new_network(self, inputs, linear_targets, tr_idx) -> Network:
        """The untrained network (weights from the seed); for frozen features with their
        standardisation and, on the linear path, the ridge solution of the training rows."""
        s = self.settings
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = Network(inputs.shape[1] if inputs.ndim == 2 else 0, s.n_params, s.hidden,
                          s.negative_slope, s.stem == "cnn", self._skip)
        if inputs.ndim == 2:  # standardise frozen features (statistics of every input row, no labels)
            mu, sd = feature_stats(inputs.numpy())
            net.mu.copy_(torch.from_numpy(mu))
            net.sd.copy_(torch.from_numpy(sd))
            if net.skip is not None:
                with torch.no_grad():
                    set_ridge_path(net, net.standardise(inputs[tr_idx]).numpy(), linear_targets[tr_idx])
        return net

    def _train_epoch(self, net, opt, gen, x_tr, y_tr) -> float:
        """One pass over the training rows in an order drawn from ``gen``; the mean loss."""
        s = self.settings
        net.train()
        order = torch.randperm(len(x_tr), generator=gen).to(x_tr.device)
        total = 0.0
        for i in range(0, len(order), s.batch_size):
            b = order[i:i + s.batch_size]
            loss = nn.functional.mse_loss(net(self._prep(x_tr[b]), s.input_noise, gen), y_tr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        return total / max(len(x_tr), 1)

    def _loss(self, net, x, y) -> float:
        if len(x) == 0:
            return float("nan")
        net.eval()
        with torch.no_grad():
            out = torch.cat([net(self._prep(x[i:i + 256])) for i in range(0, len(x), 256)])
        return float(nn.functional.mse_loss(out, y))

    # ------------------------------------------------------------- prediction
    def predict(self, X) -> np.ndarray:
        """Parameters (n, n_params) float64 in sd for features, images or a dataset (see fit)."""
        if not hasattr(self, "network_"):
            raise RuntimeError("BPRN is not fitted: call fit() or BPRN.load(path)")
        inputs, _ = self._inputs(X)
        with _threads(self.threads):
            return self._predict(inputs)

    def _predict(self, inputs) -> np.ndarray:
        device = next(self.network_.parameters()).device
        with torch.no_grad():
            out = [self.network_(self._prep(inputs[i:i + 256].to(device))).cpu() for i in range(0, len(inputs), 256)]
        Z = torch.cat(out).numpy() if out else np.zeros((0, self.settings.n_params), np.float32)
        return unscale_params(Z, self.settings.param_bound)

    # ------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """Write the fitted network, settings, seed and history atomically (torch state dict)."""
        h = self.history_
        state = {"network": self.network_.state_dict(), "settings": json.dumps(asdict(self.settings)),
                 "seed": self.seed, "n_features": self.n_features_in_, "best_epoch": self.best_epoch_,
                 "history": h.to_numpy(np.float64).tolist()}
        atomic_torch_save(state, path)

    @classmethod
    def load(cls, path, device: str = "cpu", progress: bool = False, n_jobs: int = 1) -> "BPRN":
        """Read a model written by :meth:`save` (``torch.load(weights_only=True)``)."""
        st = torch.load(path, map_location="cpu", weights_only=True)
        d = json.loads(st["settings"])
        d["device"] = device
        d["hidden"] = tuple(d["hidden"])
        self = cls(**d, seed=int(st["seed"]), progress=progress, n_jobs=n_jobs)
        s = self.settings
        net = Network(int(st["n_features"]), s.n_params, s.hidden, s.negative_slope, s.stem == "cnn",
                      s.linear_skip and s.stem != "cnn")
        net.load_state_dict(st["network"])
        self.network_ = net.to(_resolve_device(device)).eval()
        self.n_features_in_ = int(st["n_features"])
        self.best_epoch_ = int(st["best_epoch"])
        self.history_ = pd.DataFrame(st["history"], columns=["epoch", "train_loss", "val_loss"])
        return self
