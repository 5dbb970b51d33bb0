"""How well a conditional GAN follows the requested age and sex (thesis 5.5.2).

Importable from :mod:`thesislib.samplers.gan.estimator` too.
"""
from __future__ import annotations

import numpy as np

from .networks import AGE_MAX, AGE_MIN


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
