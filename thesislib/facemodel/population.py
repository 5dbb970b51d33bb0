"""A reference population of "real" faces and a validity score for any face.

The thesis fits real photos (the Wikipedia set) to get parameter vectors with
age and sex labels. Without such a set, :func:`reference_population` stands in
for it (it is synthetic and labelled so everywhere it is shown):

* sex is bimodal along the model's sex direction (modes at +-``sex_separation``
  standard deviations), while N(0, 1) samples are unimodal there (thesis Fig 4.2);
* age (18-80, right-skewed like the Wikipedia set) moves faces along the age
  direction;
* the remaining coordinates are correlated (a random low-rank covariance), the
  feature relations that independent samplers break.

:class:`Validity` scores how plausible a parameter vector is under that
population: the chi-square survival probability of its squared Mahalanobis
distance to a Gaussian fitted (with Ledoit-Wolf shrinkage) to the population.
A face is *valid* when its score is at least ``threshold`` (default 0.001,
i.e. 99.9 % of population-like faces pass).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .model import MorphableModel

AGE_MIN, AGE_MAX = 18.0, 80.0
AGE_REFERENCE = 30.0   # the age of the model's mean face (scanned sets are mostly young adults)
DIRECTION_SEED = 7


def param_columns(model) -> list[str]:
    """Column names of a parameter table: ``shape_000``.. then ``color_000``..

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout
        (anything with ``n_shape`` and ``n_color``, e.g. a :class:`Population`, also works)
    """
    return ([f"shape_{i:03d}" for i in range(int(model.n_shape))]
            + [f"color_{i:03d}" for i in range(int(model.n_color))])


def semantic_direction(model: MorphableModel, name: str) -> np.ndarray:
    """Unit vector (n_shape + n_color,) of a semantic axis (``sex`` or ``age``).

    Models without the axis (e.g. a BFM file) get a fixed pseudo-random direction
    in their first ten components of each part, so a population can still be built.

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout
    name : ``sex`` or ``age``
    """
    n_shape, n_color = model.n_shape, model.n_color
    if name in model.directions:
        d = model.directions[name]
        v = np.concatenate([np.asarray(d["shape"], float)[:n_shape], np.asarray(d["color"], float)[:n_color]])
        v = np.pad(v, (0, n_shape + n_color - v.size))
    else:
        r = np.random.default_rng([DIRECTION_SEED, hash(name) % 1000])
        v = np.zeros(n_shape + n_color)
        v[: min(10, n_shape)] = r.normal(size=min(10, n_shape))
        v[n_shape: n_shape + min(10, n_color)] = r.normal(size=min(10, n_color))
    return v / np.linalg.norm(v)


@dataclass(frozen=True, eq=False)
class Population:
    """Faces with labels.

    Attributes
    ----------
    params : (n, n_shape + n_color) float64, standard deviations
    age : (n,) float64 years, NaN where unknown
    sex : (n,) float64, 1 male, 0 female, NaN where unknown
    n_shape, n_color : int
    source : str, where the faces come from
    """

    params: np.ndarray
    age: np.ndarray
    sex: np.ndarray
    n_shape: int
    n_color: int
    source: str = "synthetic reference population"

    def __len__(self) -> int:
        return self.params.shape[0]

    def to_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.params, columns=param_columns(self))
        df["age"], df["sex"] = self.age, self.sex
        df.attrs["source"] = self.source
        return df

    def split(self, fraction: float, rng: np.random.Generator) -> tuple["Population", "Population"]:
        """Random split into (first, rest) with ``fraction`` of faces in the first."""
        idx = rng.permutation(len(self))
        k = int(round(fraction * len(self)))
        pick = lambda i: Population(self.params[i], self.age[i], self.sex[i], self.n_shape, self.n_color, self.source)
        return pick(idx[:k]), pick(idx[k:])


def reference_population(model: MorphableModel, n: int, rng: np.random.Generator, sex_separation: float = 2.0, sex_spread: float = 0.8,
                         age_effect: float = 1.2, correlation_rank: int = 8,
                         correlation_strength: float = 0.2, mean_offset: float = 0.4,
                         structure_seed: int = DIRECTION_SEED, male_fraction: float = 0.5,
                         age_scale: float = 10.0) -> Population:
    """Draw a synthetic stand-in for a fitted set of real faces.

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout (its
        ``sex`` and ``age`` directions are used)
    n : number of faces
    rng : numpy Generator; the only source of randomness
    sex_separation : distance of each sex mode from 0 along the sex direction (sd units)
    sex_spread : sd of each sex mode along that direction
    age_effect : shift along the age direction per 15 years from ``AGE_REFERENCE``
    correlation_rank, correlation_strength : low-rank correlations between parameters;
        the correlation structure itself is fixed (seeded), the draws come from ``rng``.
    mean_offset : sd of a fixed (seeded) offset of the population mean from the model
        mean, orthogonal to the sex direction: real faces are not centred on the model's
        mean (thesis Fig 6.14), so their cosine distances fall below 1.
    structure_seed : seed of the fixed correlation structure and mean offset (another seed:
        another population of the same kind, see :func:`shifted_population`)
    male_fraction : probability of sex 1
    age_scale : scale of the gamma(2.2) distribution of years above 18

    The defaults make the sex direction the population's first principal axis (its
    variance, ``sex_separation**2 + sex_spread**2``, exceeds that of the correlated
    directions), as the thesis found for its fitted set (Figs 6.8, 6.10).

    Returns
    -------
    Population with ``n`` faces, ages in 18..80 and sex 0/1.
    """
    n_shape, n_color = model.n_shape, model.n_color
    d = n_shape + n_color
    d_sex = semantic_direction(model, "sex")
    d_age = semantic_direction(model, "age")
    d_age = d_age - (d_age @ d_sex) * d_sex
    d_age /= np.linalg.norm(d_age)
    # fixed correlation structure: identity plus a low-rank part, unit diagonal
    loadings = np.random.default_rng(structure_seed).normal(size=(d, correlation_rank))
    loadings *= np.sqrt(correlation_strength / correlation_rank)
    cov = np.eye(d) * (1 - correlation_strength) + loadings @ loadings.T
    cov /= np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    z = rng.multivariate_normal(np.zeros(d), cov, size=n, method="cholesky")

    sex = (rng.random(n) < male_fraction).astype(np.float64)
    age = np.clip(AGE_MIN + rng.gamma(2.2, age_scale, size=n), AGE_MIN, AGE_MAX)
    along_sex = (2 * sex - 1) * sex_separation + sex_spread * rng.normal(size=n)
    z = z - np.outer(z @ d_sex, d_sex) + np.outer(along_sex, d_sex)
    z = z + np.outer(age_effect * (age - AGE_REFERENCE) / 15.0, d_age)
    offset = np.random.default_rng(structure_seed + 1).normal(0, mean_offset, d)
    z = z + offset - (offset @ d_sex) * d_sex
    return Population(z, age, sex, n_shape, n_color)


#: Settings of :func:`shifted_population` that differ from the reference population's.
SHIFT = dict(structure_seed=DIRECTION_SEED + 1000, correlation_strength=0.3, mean_offset=0.5,
             male_fraction=0.3, age_scale=16.0, sex_separation=1.6)


def shifted_population(model: MorphableModel, n: int, rng: np.random.Generator) -> Population:
    """Faces of another population of the same kind as :func:`reference_population`.

    The same construction (bimodal sex, age direction, low-rank correlations, an offset
    mean) with another fixed structure (:data:`SHIFT`: another structure seed, so other
    correlations and another mean offset; stronger correlations; 30 % men; older;
    sexes closer together). No sampler of the study is fitted on it, so none matches it
    by construction: it tests how a sampler's training data transfer to people unlike
    the fitted set's.
    """
    pop = reference_population(model, n, rng, **SHIFT)
    return Population(pop.params, pop.age, pop.sex, pop.n_shape, pop.n_color,
                      "synthetic shifted population")


def load_fitted_set(path, model: MorphableModel) -> Population:
    """A parquet table of fitted faces (``shape_000``.., ``color_000``.., optional age, sex).

    Parameters
    ----------
    path : parquet file
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout
    """
    n_shape, n_color = model.n_shape, model.n_color
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: fitted set not found; point population.fitted_set in your params "
                                "file at a parquet table with columns shape_000.. color_000.. [age, sex]")
    df = pd.read_parquet(path)
    cols = param_columns(model)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing[:5]}{'...' if len(missing) > 5 else ''}; "
                         f"expected {cols[0]}..{cols[-1]}")
    nan = np.full(len(df), np.nan)
    # C order, as a set made in memory has: a fit's last bits (BLAS) depend on the layout, and a
    # dataset's card holds its sampler's fit fingerprint, so a rerun would refuse its own datasets
    return Population(np.ascontiguousarray(df[cols].to_numpy(np.float64)),
                      df["age"].to_numpy(float) if "age" in df else nan,
                      df["sex"].to_numpy(float) if "sex" in df else nan, n_shape, n_color, source=str(path))


@dataclass
class Validity:
    """Plausibility of parameter vectors under a reference population.

    Follows the scikit-learn contract: ``fit`` stores ``mean_`` and
    ``precision_`` and returns self; ``score`` gives values in 0..1.
    """

    threshold: float = 1e-3
    mean_: np.ndarray = field(default=None, repr=False)
    precision_: np.ndarray = field(default=None, repr=False)

    def fit(self, X: np.ndarray) -> "Validity":
        from sklearn.covariance import LedoitWolf

        lw = LedoitWolf().fit(np.asarray(X, float))
        self.mean_, self.precision_ = lw.location_, lw.precision_
        return self

    def mahalanobis2(self, X: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance, (n,)."""
        D = np.atleast_2d(np.asarray(X, float)) - self.mean_
        return np.einsum("ij,jk,ik->i", D, self.precision_, D)

    def score(self, X: np.ndarray) -> np.ndarray:
        """Chi-square survival probability of the squared distance, (n,) in 0..1."""
        return stats.chi2.sf(self.mahalanobis2(X), df=self.mean_.size)

    def is_valid(self, X: np.ndarray) -> np.ndarray:
        return self.score(X) >= self.threshold

    def valid_fraction(self, X: np.ndarray) -> float:
        return float(np.mean(self.is_valid(X)))


def validity_by_distance(validity: Validity, samples: dict, bins: int = 25):
    """Valid fraction per sample set and as a function of distance from the centre.

    Parameters
    ----------
    validity : fitted :class:`Validity`
    samples : dict name -> (n, d) parameter vectors
    bins : number of distance bins (up to the 99th percentile of all distances)

    Returns
    -------
    (table, curve): table has one row per set (sampler, median_distance, valid_fraction);
    curve has one row per bin (distance = bin centre, valid_fraction, faces)
    """
    dist = {k: np.linalg.norm(np.asarray(X, float), axis=1) for k, X in samples.items()}
    valid = {k: validity.is_valid(X) for k, X in samples.items()}
    table = pd.DataFrame([dict(sampler=k, median_distance=float(np.median(dist[k])),
                               valid_fraction=float(valid[k].mean())) for k in samples])
    d, v = np.concatenate(list(dist.values())), np.concatenate(list(valid.values()))
    edges = np.linspace(0, np.quantile(d, 0.99), bins + 1)
    which = np.clip(np.digitize(d, edges) - 1, 0, bins - 1)
    keep = d <= edges[-1]
    curve = pd.DataFrame({"bin": which[keep], "valid": v[keep]}).groupby("bin").valid.agg(["mean", "size"])
    curve = pd.DataFrame({"distance": (edges[:-1] + edges[1:])[curve.index] / 2,
                          "valid_fraction": curve["mean"].to_numpy(), "faces": curve["size"].to_numpy()})
    return table, curve
