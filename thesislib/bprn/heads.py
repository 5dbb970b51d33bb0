"""The BPRN's networks: the thesis head, the trainable CNN stem, and the ridge reference.

* :func:`make_head` -- the thesis head (thesis 5.5.1): Linear + LeakyReLU per hidden width
  (200, 200, 200), then Linear(n_params) + Tanh;
* :class:`SmallCNN` -- the stem trained from scratch (thesis Table 6.1 "train stem");
* :class:`Network` -- input standardisation + optional CNN stem + head, and the frozen
  linear path beside the head (:mod:`thesislib.bprn.estimator` explains why);
* :class:`RidgeHead`, :func:`ridge_solution`, :func:`feature_stats` -- the linear reference
  head on standardised features, and the pieces the linear path shares with it.

Training, checkpoints and prediction are in :mod:`thesislib.bprn.estimator`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

#: Default bound (sd) mapping parameters into tanh's range: target = clip(p / bound, -1, 1).
PARAM_BOUND = 6.0


def scale_params(Y, bound: float = PARAM_BOUND) -> np.ndarray:
    """Parameters (n, d) in sd -> tanh targets ``clip(Y / bound, -1, 1)`` (float32)."""
    return np.clip(np.asarray(Y, np.float64) / bound, -1.0, 1.0).astype(np.float32)


def unscale_params(Z, bound: float = PARAM_BOUND) -> np.ndarray:
    """tanh outputs (n, d) in (-1, 1) -> parameters in sd, ``Z * bound`` (float64)."""
    return np.asarray(Z, np.float64) * bound


def make_head(in_features: int, n_params: int, hidden=(200, 200, 200), negative_slope: float = 0.01) -> nn.Sequential:
    """The thesis head: Linear+LeakyReLU per ``hidden`` width, then Linear(n_params)+Tanh."""
    layers, width = [], int(in_features)
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.LeakyReLU(negative_slope)]
        width = int(h)
    layers += [nn.Linear(width, int(n_params)), nn.Tanh()]
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Trainable stem from scratch: 4 conv blocks (16-32-64-128 filters, 3x3, ReLU, 2x2
    max-pool) and global average pooling -> (B, 128). Input (B, 3, S, S) float in [-1, 1]."""

    def __init__(self, width: int = 16):
        super().__init__()
        chans, layers = [3, width, 2 * width, 4 * width, 8 * width], []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.out_features = chans[-1]

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3))


class Network(nn.Module):
    """Input standardisation (buffers) + optional trainable stem + head (+ linear path).

    ``forward`` takes features (B, F) when ``stem`` is None, else images (B, 3, S, S)
    float in [-1, 1]; returns outputs (B, n_params) in target units (parameters / bound). Non-finite standardised
    features become 0 (the mean). With ``linear_skip`` a frozen linear map of the
    standardised input (``skip``) is added to the head's tanh output.
    """

    def __init__(self, in_features: int, n_params: int, hidden, negative_slope: float, cnn: bool,
                 linear_skip: bool = False):
        super().__init__()
        self.stem = SmallCNN() if cnn else None
        f = self.stem.out_features if cnn else in_features
        self.register_buffer("mu", torch.zeros(f))
        self.register_buffer("sd", torch.ones(f))
        self.head = make_head(f, n_params, hidden, negative_slope)
        self.skip = None
        if linear_skip:
            self.skip = nn.Linear(f, n_params)
            self.skip.requires_grad_(False)
            nn.init.zeros_(self.head[-2].weight)  # the MLP starts at 0: the output is the linear path
            nn.init.zeros_(self.head[-2].bias)

    def standardise(self, x):
        return torch.nan_to_num((x - self.mu) / self.sd, nan=0.0, posinf=0.0, neginf=0.0)

    def forward(self, x, noise: float = 0.0, generator=None):
        if self.stem is not None:
            x = self.stem(x)
        z = self.standardise(x)
        if noise:  # drawn on the CPU from the training generator: resumed runs stay identical
            z = z + noise * torch.randn(z.shape, generator=generator).to(z.device)
        if self.skip is None:
            return self.head(z)
        return self.skip(z) + self.head(z)


def feature_stats(X) -> tuple:
    """Per-feature mean and sd of X (n, F), ignoring NaN; sd below 1e-6 becomes 1."""
    X = np.asarray(X, np.float64)
    if len(X) == 0:
        return np.zeros(X.shape[1]), np.ones(X.shape[1])
    import warnings

    with warnings.catch_warnings():  # an all-NaN column is a column without information: 0 / 1
        warnings.simplefilter("ignore", RuntimeWarning)
        mu, sd = np.nan_to_num(np.nanmean(X, 0)), np.nan_to_num(np.nanstd(X, 0))
    return mu, np.where(sd > 1e-6, sd, 1.0)


def ridge_solution(Z, Y, alphas) -> tuple:
    """Ridge regression of Y (n, p) on Z (n, F) with alpha chosen from ``alphas`` by
    generalised cross-validation: (coef (p, F), intercept (p,), alpha).

    The same choice and solution as :class:`sklearn.linear_model.RidgeCV` (exact leave-one-out
    errors, one alpha for all outputs, unpenalised intercept). With more rows than features,
    sklearn forms an n x F x F product per alpha for the hat matrix's diagonal (55 s for 20k
    x 2,874 features on this machine); :func:`_ridge_gcv_long` forms it once (the learning
    curves of ``params/scale.yaml`` fit up to 100k rows).
    """
    Z, Y = np.asarray(Z, np.float64), np.asarray(Y, np.float64)
    if Z.shape[0] > Z.shape[1]:
        return _ridge_gcv_long(Z, Y, tuple(float(a) for a in alphas))
    from sklearn.linear_model import RidgeCV

    r = RidgeCV(alphas=tuple(alphas)).fit(Z, Y)
    return r.coef_, np.asarray(r.intercept_), float(r.alpha_)


def _ridge_gcv_long(Z, Y, alphas, block: int = 8192) -> tuple:
    """:func:`ridge_solution` for n > F through the eigendecomposition of the centred
    covariance ``Zc' Zc = V diag(lam) V'``. With ``q = zc V`` per row and ``D = 1 / (lam +
    alpha)``, the fit is ``q (D * V' Zc' Yc)`` and the hat matrix's diagonal ``1/n + q^2 D``;
    the leave-one-out residual is the residual over ``1 - h``. Rows go in blocks, so the
    memory is Z's and a block's. The alpha with the smallest mean squared leave-one-out
    residual wins (the first on ties, as in sklearn)."""
    n = len(Z)
    zm, ym = Z.mean(0), Y.mean(0)
    lam, V = np.linalg.eigh(Z.T @ Z - n * np.outer(zm, zm))
    lam = np.clip(lam, 0.0, None)
    C = V.T @ (Z.T @ (Y - ym))                                        # V' Zc' Yc (F, p)
    D = 1.0 / (lam[:, None] + np.asarray(alphas)[None, :])          # (F, n_alphas)
    sse = np.zeros(len(alphas))
    for i in range(0, n, block):
        q = (Z[i:i + block] - zm) @ V
        h = 1.0 / n + (q * q) @ D
        r = Y[i:i + block] - ym
        for k in range(len(alphas)):
            sse[k] += float(np.sum(((r - q @ (C * D[:, k:k + 1])) / (1.0 - h[:, k:k + 1])) ** 2))
    best = int(np.argmin(sse))                                       # the first of equal scores
    coef = (V * D[:, best]) @ C                                       # (F, p)
    return coef.T, ym - zm @ coef, alphas[best]


class RidgeHead:
    """The linear reference head: standardised features -> parameters by ridge regression.

    Features are standardised with the training mean and sd (non-finite entries -> 0,
    the training mean); alpha is chosen from ``alphas`` by generalised cross-validation
    (:class:`sklearn.linear_model.RidgeCV`, one alpha for all outputs).

    Attributes (after fit): ``mu_``, ``sd_`` (F,), ``coef_`` (n_params, F),
    ``intercept_`` (n_params,), ``alpha_`` float.
    """

    def __init__(self, alphas=tuple(np.logspace(-1, 4, 11))):
        self.alphas = tuple(float(a) for a in alphas)

    def _z(self, X) -> np.ndarray:
        z = (np.asarray(X, np.float64) - self.mu_) / self.sd_
        return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)

    def fit(self, X, Y) -> "RidgeHead":
        """X (n, F) features (NaN rows allowed), Y (n, n_params) targets."""
        X = np.asarray(X, np.float64)
        self.mu_, self.sd_ = feature_stats(X)
        self.coef_, self.intercept_, self.alpha_ = ridge_solution(self._z(X), Y, self.alphas)
        return self

    def predict(self, X) -> np.ndarray:
        """(n, n_params) float64."""
        return self._z(X) @ self.coef_.T + self.intercept_

    def save(self, path) -> Path:
        """Write the fitted head atomically as an ``.npz`` without pickles: ``mu``, ``sd``,
        ``intercept``, ``alpha`` and ``alphas`` in float64, ``coef`` in float32 (1.1 MB for 2,869
        features and 100 parameters instead of 2.3; predictions move by about 1e-7 sd)."""
        from thesislib.common import atomic_write

        arrays = {"mu": self.mu_, "sd": self.sd_, "coef": np.asarray(self.coef_, np.float32),
                  "intercept": self.intercept_, "alpha": np.float64(self.alpha_), "alphas": np.asarray(self.alphas)}
        return atomic_write(path, lambda fh: np.savez(fh, **arrays))

    @classmethod
    def from_network(cls, net, bound: float = PARAM_BOUND) -> "RidgeHead":
        """The ridge head that a network's linear path (``net.skip``) holds: after training, a BPRN
        refits it on every image for ``p / bound``, so this is :meth:`fit` on its training features
        and parameters (float32 weights; ``alpha_`` is not kept, NaN). None without a linear path."""
        if getattr(net, "skip", None) is None:
            return None
        head = cls()
        head.mu_, head.sd_ = (b.detach().cpu().numpy().astype(np.float64) for b in (net.mu, net.sd))
        head.coef_ = bound * net.skip.weight.detach().cpu().numpy().astype(np.float64)
        head.intercept_, head.alpha_ = bound * net.skip.bias.detach().cpu().numpy().astype(np.float64), float("nan")
        return head

    @classmethod
    def load(cls, path) -> "RidgeHead":
        """A head written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as f:
            head = cls(alphas=f["alphas"])
            head.mu_, head.sd_, head.intercept_ = f["mu"], f["sd"], f["intercept"]
            head.coef_, head.alpha_ = f["coef"].astype(np.float64), float(f["alpha"])
        return head


def set_ridge_path(net, z: np.ndarray, targets: np.ndarray) -> None:
    """Set a network's linear path (``net.skip``) to the ridge solution of standardised
    features ``z`` (n, F) for scaled targets (n, n_params)."""
    coef, icpt, _ = ridge_solution(z, targets, RidgeHead().alphas)
    net.skip.weight.data.copy_(torch.from_numpy(coef))
    net.skip.bias.data.copy_(torch.from_numpy(icpt))
