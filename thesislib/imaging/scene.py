"""The environment of a render: pose, camera, spherical-harmonics light, background.

Coordinates follow :class:`thesislib.facemodel.model.Mesh`: millimetres, x right, y up, z
towards the viewer. The camera sits on the +z axis at ``distance`` mm and looks
down -z; the face is rotated about the model origin (the face centre) by
``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)`` (right-handed, degrees) and then shifted by
``translation``. Positive yaw turns the nose towards image right, positive pitch
turns it downwards, positive roll turns the face counter-clockwise in the image.

Light is 2nd-order spherical harmonics in the Basel (scalismo-faces) convention: index
``i = l*l + l + m`` orders the real SH basis as constant; y, z, x; xy, yz, 3z^2-1, zx,
x^2-y^2 (usual normalisation); albedo a under normal n reflects, per RGB channel,
``a * sum_i Y_i(n) * k_i * c_i`` with ``k = [pi, 2pi/3 (x3), pi/4 (x5)]``.
:class:`SceneSampler` holds the environment-level distributions (thesis 4.1). Backgrounds
(the cached bank, procedural ones, user photos) are made in :mod:`thesislib.imaging.backgrounds`;
its names are importable from here as well.
"""
from __future__ import annotations

import bisect
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# backgrounds live in their own module; these names stay public here too
from .backgrounds import (
    BANK_IMAGES, BANK_SEED, BANK_SIDE, IMAGE_SIZE, background_bank, procedural_background,
    random_crop_flip)

DEFAULT_DISTANCE = 1000.0  # mm; with DEFAULT_FOCAL a 200 mm tall face spans ~70 % of 227 px
DEFAULT_FOCAL = 800.0  # px

#: Normalisation constants of the 9 real SH basis functions (Basel order).
SH_NORM = np.sqrt(np.array([1, 3, 3, 3, 15, 15, 5 / 4, 15, 15 / 4]) / (4 * np.pi))
#: Lambertian convolution factors per coefficient.
SH_KERNEL = np.array([np.pi] + [2 * np.pi / 3] * 3 + [np.pi / 4] * 5)
#: Basel's default light energy (sum of squared coefficient norms).
BASEL_ENERGY = 6.33


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """The 9 real SH basis functions at unit normals, (N, 3) -> (N, 9) (Basel order)."""
    n = np.asarray(normals, dtype=np.float64)
    x, y, z = n[:, 0], n[:, 1], n[:, 2]
    poly = np.stack([np.ones_like(x), y, z, x, x * y, y * z, 3 * z * z - 1, z * x, x * x - y * y], 1)
    return poly * SH_NORM


def sh_shading(normals: np.ndarray, sh: np.ndarray) -> np.ndarray:
    """Lambertian SH factor per RGB channel, (N, 3) normals -> (N, 3); times albedo = colour."""
    return sh_basis(normals) @ (SH_KERNEL[:, None] * np.asarray(sh, np.float64))


def sh_from_irradiance(ambient, direction=(0.0, 0.0, 1.0), strength=0.0) -> np.ndarray:
    """SH coefficients (9, 3) for ``ambient + strength * dot(n, direction)`` per channel.

    ``ambient`` and ``strength`` are scalars or RGB triples (irradiance factors: a
    value of 1 reproduces the albedo); ``direction`` points towards the light.
    """
    d = np.asarray(direction, np.float64)
    d = d / np.linalg.norm(d)
    sh = np.zeros((9, 3))
    sh[0] = np.broadcast_to(ambient, 3) / (SH_KERNEL[0] * SH_NORM[0])
    for i, comp in ((1, d[1]), (2, d[2]), (3, d[0])):
        sh[i] = np.broadcast_to(strength, 3) * comp / (SH_KERNEL[i] * SH_NORM[i])
    return sh.astype(np.float32)


def sh_energy(sh: np.ndarray) -> float:
    """Sum of squared norms of the 9 RGB coefficients (Basel's light energy)."""
    return float(np.sum(np.asarray(sh, np.float64) ** 2))


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``Rz(roll) @ Ry(yaw) @ Rx(pitch)`` for angles in degrees, (3, 3) float64."""
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


DEFAULT_SH = sh_from_irradiance(0.68, direction=(0.0, 0.45, 0.9), strength=0.32)


@dataclass(frozen=True, eq=False)
class Scene:
    """Everything about a render except the face.

    Attributes
    ----------
    yaw, pitch, roll : float, degrees (see the module docstring for the convention)
    distance : float, camera distance from the model origin, mm
    focal : float, focal length, px (principal point at the image centre)
    sh : (9, 3) float32 SH light coefficients (Basel convention)
    background : (227, 227, 3) uint8 RGB or None (uniform mid grey)
    translation : (3,) float32, mm, applied after the rotation
    background_id : str, where the background came from (for dataset labels)
    """

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    distance: float = DEFAULT_DISTANCE
    focal: float = DEFAULT_FOCAL
    sh: np.ndarray = field(default_factory=lambda: DEFAULT_SH.copy())
    background: np.ndarray | None = None
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    background_id: str = "grey"

    def __post_init__(self):
        sh = np.asarray(self.sh, dtype=np.float32)
        if sh.shape != (9, 3):
            raise ValueError(f"sh must have shape (9, 3), got {sh.shape}")
        object.__setattr__(self, "sh", sh)
        t = np.asarray(self.translation, dtype=np.float32).reshape(-1)
        if t.shape != (3,):
            raise ValueError(f"translation must have 3 values, got {t.shape}")
        object.__setattr__(self, "translation", t)
        bg = self.background
        if bg is not None and (np.shape(bg) != (IMAGE_SIZE, IMAGE_SIZE, 3) or bg.dtype != np.uint8):
            raise ValueError(f"background must be ({IMAGE_SIZE}, {IMAGE_SIZE}, 3) uint8, got "
                             f"{np.shape(bg)} {getattr(bg, 'dtype', type(bg))}")
        if not self.distance > 0 or not self.focal > 0:
            raise ValueError("distance and focal must be positive")

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) float64 rotation of the face."""
        return rotation_matrix(self.yaw, self.pitch, self.roll)

    def labels(self) -> dict:
        """Flat dict of the scene's numbers (pose, camera, 27 SH values) for label tables."""
        out = dict(yaw=self.yaw, pitch=self.pitch, roll=self.roll, distance=self.distance,
                   focal=self.focal, tx=float(self.translation[0]), ty=float(self.translation[1]),
                   tz=float(self.translation[2]), background_id=self.background_id)
        sh = self.sh.tolist()  # Python floats, as float() of each element gives, without 27 numpy scalars
        out.update({f"sh{i}_{ch}": sh[i][c] for i in range(9) for c, ch in enumerate("rgb")})
        return out


def default_scene() -> Scene:
    """Frontal pose, mostly ambient white light with a soft light from the front-top."""
    return Scene()


# ----------------------------------------------------------------- illumination
#: Built-in SH prior, in irradiance units u_i = k_i * SH_NORM_i * c_i (so u_0 is the
#: ambient factor and u_1..3 the (y, z, x) strength of a directional term).
#: Mean: white ambient 0.68 plus 0.32 from the front-top (= DEFAULT_SH). Each sample
#: adds a grey (all-channel) Gaussian term with std PRIOR_GREY_STD and an independent
#: per-channel term with std PRIOR_COLOR_STD, then is rescaled to the mean's energy.
PRIOR_GREY_STD = np.array([0.08, 0.22, 0.10, 0.22, 0.05, 0.05, 0.05, 0.05, 0.05])
PRIOR_COLOR_STD = np.array([0.03, 0.02, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01])


_SCALE = (SH_KERNEL * SH_NORM)[:, None]  # irradiance units per coefficient (sample_builtin_sh)
_DEFAULT_U = DEFAULT_SH * _SCALE
_DEFAULT_ENERGY = sh_energy(DEFAULT_SH)
_COLOR_STD = PRIOR_COLOR_STD[:, None]


def sample_builtin_sh(rng: np.random.Generator, energy: float | None = None) -> np.ndarray:
    """One light from the built-in prior, (9, 3) float32 (see PRIOR_GREY_STD)."""
    u = _DEFAULT_U + rng.normal(0.0, PRIOR_GREY_STD)[:, None] + rng.normal(0.0, _COLOR_STD, (9, 3))
    sh = u / _SCALE
    return rescale_energy(sh, _DEFAULT_ENERGY if energy is None else energy)


def rescale_energy(sh: np.ndarray, energy: float) -> np.ndarray:
    """``sh`` (9, 3) scaled so that :func:`sh_energy` equals ``energy``, float32."""
    return (np.asarray(sh, np.float64) * np.sqrt(energy / max(sh_energy(sh), 1e-12))).astype(np.float32)


def load_illumination_prior(folder) -> np.ndarray:
    """Read Basel illumination prior files (scalismo-faces JSON ``*.rps``).

    Parameters
    ----------
    folder : path of a folder with ``*.rps`` files (or with a ``parameters/``
        subfolder holding them, as in the Basel Illumination Prior 2017 download)

    Returns
    -------
    (n, 9, 3) float32, ``environmentMap.coefficients`` of each file, sorted by name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"illumination prior folder {folder} does not exist; put the Basel "
                                "Illumination Prior parameter files (face_<N>.rps) there")
    files = sorted(folder.glob("*.rps")) or sorted((folder / "parameters").glob("*.rps"))
    if not files:
        raise ValueError(f"no *.rps files in {folder} (or {folder / 'parameters'}); put the Basel "
                         "Illumination Prior parameter files (face_<N>.rps) there")
    out = np.empty((len(files), 9, 3), np.float32)
    for k, f in enumerate(files):
        try:
            data = json.loads(f.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{f}: not a readable JSON file ({e})") from e
        coeffs = data.get("environmentMap", {}) if isinstance(data, dict) else {}
        if not isinstance(coeffs, dict) or "coefficients" not in coeffs:
            raise ValueError(f"{f}: missing key environmentMap.coefficients")
        try:
            arr = np.asarray(coeffs["coefficients"], dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.zeros(0)
        if arr.shape != (9, 3) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{f}: environmentMap.coefficients must be 9 finite numeric "
                             f"[r, g, b] triples, got shape {arr.shape}")
        out[k] = arr
    return out


def write_rps(path, sh: np.ndarray) -> None:
    """Write a minimal scalismo-faces RenderParameter JSON holding the light ``sh`` (9, 3)."""
    sh = np.asarray(sh, np.float64)
    Path(path).write_text(json.dumps({"version": "V4.0", "environmentMap": {
        "@type": "SphericalHarmonicsLight", "coefficients": sh.tolist()}}, indent=1))


# ----------------------------------------------------------------- the sampler
def _clip(x: float, limit: float) -> float:
    """``float(np.clip(x, -limit, limit))`` for a scalar, without numpy's overhead."""
    return float(min(max(float(x), -float(limit)), float(limit)))


@dataclass(frozen=True, eq=False)
class SceneSampler:
    """Distribution of scenes (environment level, thesis 4.1).

    Attributes
    ----------
    max_yaw : float, degrees; half-width of the uniform yaw component (Basel: 90)
    yaw_weights : (uniform, near-frontal, frontal) mixture weights; Basel: 0.6, 0.2, 0.2
        for U(-max_yaw, max_yaw), N(0, yaw_std) and exactly 0
    yaw_std : float, degrees, std of the near-frontal component
    pitch_std, max_pitch : float, degrees; pitch ~ N(0, pitch_std) clipped to +-max_pitch
    roll_std, max_roll : float, degrees; roll ~ N(0, roll_std) clipped to +-max_roll
    illumination : "builtin" (Gaussian prior above), "empirical" (a random row of
        ``illumination_prior``), "gaussian" (Gaussian fitted to ``illumination_prior``)
        or "default" (always DEFAULT_SH)
    illumination_prior : (n, 9, 3) array from :func:`load_illumination_prior`
    colorless : bool, replace each coefficient's RGB by its mean
    energy : float or None, rescale each light to this energy (Basel: 6.33); None keeps
        the prior's (the built-in prior always normalises, to DEFAULT_SH's energy)
    background : "bank" (random crop and flip of one of a cached bank of procedural
        backgrounds, :func:`thesislib.imaging.backgrounds.background_bank`), "procedural" (a fresh
        :func:`procedural_background` per scene, ~20x slower), "images" (random crop and
        flip of one of ``background_images``) or "grey"
    background_images : list of (H, W, 3) uint8 from :func:`load_backgrounds`
    bank_images, bank_side, bank_seed : the bank's size, image side (px) and seed
    distance, focal : camera settings copied into every scene
    translation_std : float, mm, std of an isotropic Gaussian shift of the face
    """

    max_yaw: float = 90.0
    yaw_weights: tuple = (0.6, 0.2, 0.2)
    yaw_std: float = 2.0
    pitch_std: float = 15.0
    max_pitch: float = 30.0
    roll_std: float = 5.0
    max_roll: float = 15.0
    illumination: str = "builtin"
    illumination_prior: np.ndarray | None = None
    colorless: bool = False
    energy: float | None = None
    background: str = "bank"
    background_images: list | None = None
    bank_images: int = BANK_IMAGES
    bank_side: int = BANK_SIDE
    bank_seed: int = BANK_SEED
    distance: float = DEFAULT_DISTANCE
    focal: float = DEFAULT_FOCAL
    translation_std: float = 0.0

    def __post_init__(self):
        w = np.asarray(self.yaw_weights, float)
        if w.shape != (3,) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"yaw_weights must be 3 non-negative numbers, got {self.yaw_weights}")
        if self.illumination not in ("builtin", "empirical", "gaussian", "default"):
            raise ValueError(f"unknown illumination {self.illumination!r}")
        if self.illumination in ("empirical", "gaussian"):
            p = self.illumination_prior
            if p is None or np.ndim(p) != 3 or np.shape(p)[1:] != (9, 3) or len(p) == 0:
                raise ValueError(f"illumination={self.illumination!r} needs illumination_prior "
                                 "(n, 9, 3) from load_illumination_prior(folder)")
        if self.background not in ("bank", "procedural", "images", "grey"):
            raise ValueError(f"unknown background {self.background!r}")
        if self.background == "images" and not self.background_images:
            raise ValueError("background='images' needs background_images from load_backgrounds(folder)")
        if self.background == "bank" and (int(self.bank_images) < 1 or int(self.bank_side) < 2):
            raise ValueError(f"background='bank' needs bank_images >= 1 and bank_side >= 2, got "
                             f"{self.bank_images} and {self.bank_side}")

    @functools.cached_property
    def _yaw_cdf(self) -> list:
        w = np.asarray(self.yaw_weights, float)
        cdf = (w / w.sum()).cumsum()
        cdf /= cdf[-1]
        return cdf.tolist()

    def _yaw(self, rng):
        # = rng.choice(3, p=w / w.sum()) (same draw, same result) without its ~0.1 ms of checks
        kind = bisect.bisect_right(self._yaw_cdf, rng.random())
        if kind == 2:
            return 0.0
        y = rng.uniform(-self.max_yaw, self.max_yaw) if kind == 0 else rng.normal(0.0, self.yaw_std)
        return _clip(y, self.max_yaw)

    def _light(self, rng):
        if self.illumination == "default":
            sh = DEFAULT_SH.astype(np.float64)
        elif self.illumination == "builtin":
            sh = sample_builtin_sh(rng).astype(np.float64)
        elif self.illumination == "empirical":
            sh = np.asarray(self.illumination_prior[rng.integers(len(self.illumination_prior))],
                            np.float64)
        else:
            flat = np.asarray(self.illumination_prior, np.float64).reshape(len(self.illumination_prior), 27)
            cov = np.cov(flat, rowvar=False) if len(flat) > 1 else np.zeros((27, 27))
            sh = rng.multivariate_normal(flat.mean(0), cov, method="eigh").reshape(9, 3)
        if self.colorless:
            sh = np.repeat(sh.mean(1, keepdims=True), 3, 1)
        return (sh if self.energy is None else rescale_energy(sh, self.energy)).astype(np.float32)

    def _background(self, rng):
        if self.background == "grey":
            return None, "grey"
        if self.background == "bank":
            return background_bank(self.bank_images, self.bank_side, self.bank_seed).sample(rng, IMAGE_SIZE)
        if self.background == "procedural":
            img, kind = procedural_background(rng, IMAGE_SIZE)
            return img, f"procedural:{kind}"
        k = int(rng.integers(len(self.background_images)))
        img, flipped = random_crop_flip(self.background_images[k], rng, IMAGE_SIZE)
        return img, f"image:{k}" + (":flip" if flipped else "")

    def sample(self, rng: np.random.Generator) -> Scene:
        """One scene drawn with ``rng``."""
        yaw = self._yaw(rng)
        pitch = _clip(rng.normal(0.0, self.pitch_std), self.max_pitch)
        roll = _clip(rng.normal(0.0, self.roll_std), self.max_roll)
        sh = self._light(rng)
        t = rng.normal(0.0, self.translation_std, 3) if self.translation_std > 0 else np.zeros(3)
        bg, bg_id = self._background(rng)
        return Scene(yaw=yaw, pitch=pitch, roll=roll, distance=self.distance, focal=self.focal,
                     sh=sh, background=bg, translation=t, background_id=bg_id)

    def sample_many(self, n: int, rng: np.random.Generator) -> list:
        """``n`` scenes, a list of :class:`Scene`."""
        return [self.sample(rng) for _ in range(n)]
