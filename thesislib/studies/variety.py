"""The datasets of the data-variety study (chapter 06, thesis 6.2-6.3) and their sex concept.

:func:`draw_datasets` draws one parameter set per registered sampler, plus a Gaussian
mixture fitted jointly with age and sex, a Gaussian copula and the training faces
themselves; :func:`gan_draws` adds the conditional GANs chapter 04 saved. Both return a
:class:`VarietyDraws`: the draws, a label for tables and plots, and the sex of each face
where a generative model gives one.

The sex concept (thesis 6.3): :func:`sex_accuracy_table` scores the nearest-centroid
classifier of eq. 6.1 at several PCA dimension counts, on the fitted set and on each
labelled draw against the fitted set's centroids; :func:`sex_in_leading_dims` says whether
a few leading components already carry most of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Age groups of the concept plots: [18, 30), [30, 45), [45, 60), [60, inf) years.
AGE_BINS = (18, 30, 45, 60, np.inf)
AGE_GROUPS = ("18-29", "30-44", "45-59", "60+")
#: PCA dimension counts of :func:`sex_accuracy_table` (those below d, then all d).
SEX_DIMS = (1, 2, 5, 10, 20)


@dataclass(frozen=True, eq=False)
class VarietyDraws:
    """Parameter sets to compare.

    Attributes
    ----------
    params : dict key -> (n, d) float64 parameter vectors in sd
    labels : dict key -> str, the name tables and plots show
    sex : dict key -> (n,) bool (True: male), for the draws whose model gives sex
    notes : tuple of str, what happened on the way (Markdown, e.g. checkpoints skipped)
    """

    params: dict
    labels: dict
    sex: dict = field(default_factory=dict)
    notes: tuple = ()

    def __len__(self) -> int:
        return len(self.params)

    def merged(self, other: "VarietyDraws") -> "VarietyDraws":
        """These draws, then ``other``'s (a key in both keeps ``other``'s)."""
        return VarietyDraws({**self.params, **other.params}, {**self.labels, **other.labels},
                            {**self.sex, **other.sex}, tuple(self.notes) + tuple(other.notes))


def has_age_sex(fitted) -> bool:
    """Whether a fitted set (with ``age`` and ``sex`` arrays) has both labels for every face."""
    age, sex = getattr(fitted, "age", None), getattr(fitted, "sex", None)
    return age is not None and sex is not None and bool(np.isfinite(sex).all() and np.isfinite(age).all())


def sex_names(sex) -> np.ndarray:
    """``"male"`` where sex > 0.5 (or True), else ``"female"``."""
    return np.where(np.asarray(sex, np.float64) > 0.5, "male", "female")


def age_groups(age) -> np.ndarray:
    """Age in years -> the :data:`AGE_GROUPS` label of its bin (``"nan"`` outside them)."""
    return pd.cut(np.asarray(age, np.float64), list(AGE_BINS), right=False,
                  labels=list(AGE_GROUPS)).astype(str)


def draw_datasets(samplers, fitted, n: int, rng: np.random.Generator, gmm_components: int = 5,
                  seed: int = 0) -> VarietyDraws:
    """The datasets of chapter 06, all drawn from ``rng`` in this order.

    Parameters
    ----------
    samplers : list of :data:`thesislib.samplers.registry.SAMPLERS` names; those that need a fit are
        fitted on ``fitted.params``
    fitted : the training faces: ``params`` (m, d), ``age`` and ``sex`` (m,) (NaN: unknown)
    n : int, faces per dataset
    gmm_components : int, components of the full-covariance mixture (fitted with age and sex
        when ``fitted`` has both, see :func:`has_age_sex`)
    seed : int, the mixture's seed

    Returns
    -------
    VarietyDraws with keys ``"fitted_set"`` (the training faces themselves), each sampler
    name, ``"gmm"`` (with sex when labelled) and ``"copula"``.
    """
    from thesislib.samplers import GaussianCopulaSampler
    from thesislib.samplers import GMMSampler
    from thesislib.samplers import draw_samplers, sampler_label

    X = np.asarray(fitted.params, np.float64)
    params = {"fitted_set": X, **draw_samplers(samplers, n, rng, X.shape[1], X)}
    labels = {"fitted_set": "fitted set (training part)", **{k: sampler_label(k) for k in samplers}}
    labelled = has_age_sex(fitted)
    gmm = GMMSampler(n_components=int(gmm_components), covariance_type="full", seed=seed).fit(
        X, **({"age": fitted.age, "sex": fitted.sex} if labelled else {}))
    params["gmm"], gmm_labels = gmm.sample_labels(int(n), rng)
    labels["gmm"] = f"GMM {int(gmm_components)} (full)"
    sex = {"gmm": np.asarray(gmm_labels["sex"]) > 0.5} if labelled else {}
    params["copula"] = GaussianCopulaSampler().fit(X).sample(int(n), rng)
    labels["copula"] = "Gaussian copula"
    return VarietyDraws(params, labels, sex)


def gan_draws(models_dir, n_params: int, n: int, rng: np.random.Generator, taken=()) -> VarietyDraws:
    """Draws of the conditional GANs saved in ``models_dir`` (chapter 04's ``models/``).

    Every ``*.pt`` file is tried in name order; files that are not a GAN (other chapters'
    checkpoints share the folder) or whose GAN has another dimension than ``n_params`` are
    skipped with a note. A GAN is keyed by its variant (``cvgan1``, ``cvgan2``), by the file
    stem where that key is in ``taken`` or already used. Each one draws ``n`` faces with
    their age and sex from ``rng``. With no GAN, the notes say to run chapter 04 first.

    Returns
    -------
    VarietyDraws (sex for every GAN), notes one Markdown line per file
    """
    from thesislib.samplers import sampler_label

    folder = Path(models_dir)
    files = sorted(folder.glob("*.pt")) if folder.is_dir() else []
    params, labels, sex, notes = {}, {}, {}, []
    if files:
        from thesislib.samplers import ConditionalGAN  # imports torch: only when there is something to load
    for path in files:
        try:
            gan = ConditionalGAN.load(path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is skipped, with a note
            notes.append(f"`{path.name}`: not a GAN ({type(exc).__name__})")
            continue
        if gan.n_features_in_ != n_params:
            notes.append(f"`{path.name}`: trained on {gan.n_features_in_} parameters, this run has "
                         f"{n_params}; skipped")
            continue
        key = gan.variant if gan.variant not in set(taken) | set(params) else path.stem
        X, _, gan_sex = gan.sample_with_labels(int(n), rng)
        params[key], sex[key] = np.asarray(X, np.float64), np.asarray(gan_sex) > 0.5
        labels[key] = f"{sampler_label(gan.variant)} ({path.name})"
        notes.append(f"`{path.name}`: {gan.variant}, {gan.epoch_} epochs, sampled as `{key}`")
    if not params:
        notes.append(f"**No GAN checkpoint found** in `{folder.name}/`: run chapter 04 first (e.g. "
                     "`thesislib run --params ... --only 04,06`); the GAN rows are left out below.")
    return VarietyDraws(params, labels, sex, tuple(notes))


def sex_accuracy_table(fitted_params, fitted_sex, draws: VarietyDraws, dims=SEX_DIMS) -> pd.DataFrame:
    """Nearest-centroid sex accuracy (thesis eq. 6.1) per PCA dimension count.

    The first row is the fitted set with its own centroids
    (:func:`thesislib.evaluation.metrics.nearest_centroid_accuracy`); then one row per draw with sex,
    classified by the fitted set's PCA and centroids
    (:func:`thesislib.evaluation.metrics.transfer_centroid_accuracy`).

    Parameters
    ----------
    fitted_params : (m, d) array
    fitted_sex : (m,) sex (> 0.5 male) or "male"/"female" names
    draws : VarietyDraws, its ``sex`` entries are scored
    dims : dimension counts; those >= d are dropped and all d added last

    Returns
    -------
    DataFrame, index ``dataset``, columns ``"<k> dims"`` then ``"all <d>"``
    """
    from thesislib.evaluation import nearest_centroid_accuracy, transfer_centroid_accuracy

    R = np.asarray(fitted_params, np.float64)
    d = R.shape[1]
    names = np.asarray(fitted_sex)
    names = names if names.dtype.kind in "US" else sex_names(names)
    ks = [int(k) for k in dims if int(k) < d] + [None]
    col = {k: f"{k} dims" if k else f"all {d}" for k in ks}
    rows = [dict(dataset="fitted set (own centroids)",
                 **{col[k]: nearest_centroid_accuracy(R, names, k) for k in ks})]
    for key, is_male in draws.sex.items():
        gen = sex_names(is_male)
        rows.append(dict(dataset=f"{draws.labels[key]} (fitted-set centroids)",
                         **{col[k]: transfer_centroid_accuracy(R, names, draws.params[key], gen, k) for k in ks}))
    return pd.DataFrame(rows).set_index("dataset")


def sex_in_leading_dims(table: pd.DataFrame, k: int = 2, share: float = 0.6, chance: float = 0.5):
    """Whether ``k`` leading components carry most of the sex concept of the fitted set.

    Reads the first row of a :func:`sex_accuracy_table`: the accuracy in ``k`` dimensions and
    in all of them. True when ``k`` dimensions reach at least ``share`` of what all of them gain
    over ``chance`` (thesis: 82.8 % in 2 and 87.6 % in 100 dimensions, 87 % of the gain).

    Returns
    -------
    (accuracy in k dims, accuracy in all dims, bool)
    """
    row = table.iloc[0]
    acc_k, acc_all = float(row[f"{k} dims"]), float(row.iloc[-1])
    return acc_k, acc_all, bool(acc_k > chance + share * (acc_all - chance))


def sex_pca_panels(pca, fitted_params, fitted_sex, draws: VarietyDraws) -> dict:
    """Panels for :func:`thesislib.viz.figures.pca_panels`: the fitted set, then every draw with sex,
    projected with the fitted set's ``pca`` and named male/female.

    Returns
    -------
    dict title -> ((n, n_components) projections, (n,) "male"/"female")
    """
    names = np.asarray(fitted_sex)
    names = names if names.dtype.kind in "US" else sex_names(names)
    panels = {"fitted set": (pca.transform(np.asarray(fitted_params, np.float64)), names)}
    for key, is_male in draws.sex.items():
        panels[draws.labels[key]] = (pca.transform(draws.params[key]), sex_names(is_male))
    return panels
