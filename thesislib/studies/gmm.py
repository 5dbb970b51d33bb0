"""Chapter 03: choosing a Gaussian mixture from the AIC/BIC grid and comparing samplers by KS.

:func:`chosen_mixture` picks the mixture of a grid table once, for every chapter that
needs it (03 draws from it, 05 trains on its data); :func:`criterion_table` lays the grid
out as thesis Table 5.4; :func:`mixture_draws` samples the best mixture of each component
count; :func:`sampler_comparison` adds the copula and the baselines and scores them all
against held-out faces; :func:`ks_per_coefficient` gives the curves of the chosen few.
Samplers come from the registry (:func:`thesislib.samplers.ready_sampler`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from thesislib.evaluation import ks_quality_table, ks_table
from thesislib.samplers import ready_sampler, sampler_label

#: the mixture used when no grid was fitted (chapter 03 did not run)
DEFAULT_MIXTURE = {"n_components": 5, "covariance_type": "full"}


def _grid(table) -> pd.DataFrame | None:
    if table is None or isinstance(table, pd.DataFrame):
        return table
    path = Path(table)
    return pd.read_csv(path) if path.is_file() else None


def chosen_mixture(table, criterion: str = "bic", default: dict | None = None) -> dict:
    """The grid cell with the lowest ``criterion``: the mixture the study uses.

    Parameters
    ----------
    table : the grid table (:class:`thesislib.samplers.selection.GridResult` ``.table``), the
        path of its CSV, or None
    criterion : "aic" or "bic"
    default : returned when there is no table or no fitted cell (:data:`DEFAULT_MIXTURE`)

    Returns
    -------
    dict with ``n_components`` (int) and ``covariance_type`` (str)
    """
    if criterion not in ("aic", "bic"):
        raise ValueError("criterion must be 'aic' or 'bic'")
    grid = _grid(table)
    if grid is not None and "status" in grid:
        grid = grid[grid["status"] == "ok"]
    grid = None if grid is None else grid.dropna(subset=[criterion])
    if grid is None or grid.empty:
        return dict(default or DEFAULT_MIXTURE)
    row = grid.loc[grid[criterion].idxmin()]
    return {"n_components": int(row["n_components"]), "covariance_type": str(row["covariance_type"])}


def mixture_name(mixture: dict) -> str:
    """Display name of a mixture, e.g. ``"GMM 3 (diag)"``."""
    return f"GMM {int(mixture['n_components'])} ({mixture['covariance_type']})"


def criterion_table(table: pd.DataFrame, covariance_types) -> pd.DataFrame:
    """AIC and BIC per component count (rows) and covariance type (columns), thesis Table 5.4 style.

    Columns are ``"AIC <type>"`` then ``"BIC <type>"`` in the order of ``covariance_types``;
    skipped cells are NaN.
    """
    wide = table.pivot(index="n_components", columns="covariance_type", values=["aic", "bic"])
    wide = wide.reindex(columns=[(c, t) for c in ("aic", "bic") for t in covariance_types])
    wide.columns = [f"{c.upper()} {t}" for c, t in wide.columns]
    return wide


def grid_counts(table: pd.DataFrame) -> dict:
    """How the grid's cells ended: ``cells``, ``fitted``, ``skipped``, ``failed``, ``cached``
    and ``fit_seconds`` (the sum of the cells' fitting times)."""
    status = table["status"].astype(str)
    return {"cells": int(len(table)), "fitted": int((status == "ok").sum()),
            "skipped": int(status.str.startswith("skipped").sum()), "failed": int(status.str.startswith("failed").sum()),
            "cached": int(table["cached"].sum()), "fit_seconds": float(table["fit_seconds"].sum())}


def mixture_draws(X, table: pd.DataFrame, criterion: str, n: int, rng: np.random.Generator,
                  **settings) -> dict[str, np.ndarray]:
    """``n`` draws from the best mixture of each component count (lowest ``criterion``).

    Each mixture is a registry ``"gmm"`` restricted to its grid cell and fitted on ``X``
    (``settings``, e.g. ``seed``, ``max_iter``, ``max_params_ratio``, ``cache_dir``, go to
    :class:`thesislib.samplers.GMMSampler`; with the grid's cache the fit is restored).

    Returns
    -------
    dict :func:`mixture_name` -> (n, d) draws, in increasing component count, all from ``rng``
    """
    ok = table[table["status"] == "ok"]
    best = ok.loc[ok.groupby("n_components")[criterion].idxmin()]
    draws = {}
    for row in best.itertuples():
        k, cov = int(row.n_components), str(row.covariance_type)
        sampler = ready_sampler("gmm", X.shape[1], X, criterion=criterion, components=(k,),
                                covariance_types=(cov,), **settings)
        draws[mixture_name({"n_components": k, "covariance_type": cov})] = sampler.sample(int(n), rng)
    return draws


def sampler_comparison(X, X_test, mixtures: dict, baselines, n: int, rng: np.random.Generator,
                       chosen: str | None = None, sex_axis=None, validity=None):
    """The mixtures beside the Gaussian copula and the baseline samplers, by KS against held-out faces.

    Parameters
    ----------
    X : (m, d) fitted set the copula and the fitted baselines learn from
    X_test : (k, d) held-out faces
    mixtures : dict name -> draws (:func:`mixture_draws`)
    baselines : registry names, drawn in this order after the copula
    n : draws per sampler (all from ``rng``)
    chosen : the name of the chosen mixture (column ``chosen``)
    sex_axis, validity : as :func:`thesislib.evaluation.ks_quality_table`

    Returns
    -------
    ks : DataFrame (:func:`thesislib.evaluation.ks_quality_table` with ``chosen`` as third column)
    draws : dict label -> (n, d) draws of every sampler in the table
    """
    draws = dict(mixtures)
    draws["Gaussian copula"] = ready_sampler("copula", X.shape[1], X).sample(int(n), rng)
    for name in baselines:
        draws[sampler_label(name)] = ready_sampler(name, X.shape[1], X).sample(int(n), rng)
    kinds = {name: "GMM" if name in mixtures else ("copula" if name == "Gaussian copula" else "baseline")
             for name in draws}
    ks = ks_quality_table(draws, X_test, sex_axis=sex_axis, validity=validity, kinds=kinds)
    ks.insert(2, "chosen", ks.sampler == chosen)
    return ks, draws


def ks_per_coefficient(draws: dict, X_test, names) -> dict[str, np.ndarray]:
    """The KS statistic of every coefficient for the samplers in ``names`` (those present in
    ``draws``, in the order of ``draws``): dict name -> (d,) array."""
    names = set(names)
    return {name: ks_table(S, X_test)[0] for name, S in draws.items() if name in names}
