"""A metrics mapping as a table of formatted values with units.

:func:`metrics_table` turns a (nested) metrics mapping, e.g. chapter 04's
``data/04_gan_metrics.json``, into a table of strings: one row per metric (nested names
joined with "."), its unit read from the name, and one column per variant or a single
``value`` column. The reports show JSON outputs this way (:mod:`thesislib.report.pages`).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd

__all__ = ["metrics_table"]

#: (pattern on the metric's dotted name, unit, scale, format); the first match wins
_UNITS = (
    (r"(^|\.)n(_[a-z_]+)?$", "count", 1.0, "{:,.0f}"),
    (r"(accuracy|fraction)$", "%", 100.0, "{:.1f}"),
    (r"_mm$|^mm$", "mm", 1.0, "{:.2f}"),
    (r"_ms(\.|$)|^ms$", "ms", 1.0, "{:.0f}"),
    (r"seconds$|_s$", "s", 1.0, "{:.1f}"),
    (r"age_mae$", "years", 1.0, "{:.1f}"),
    (r"(^|_)r$", "Pearson r", 1.0, "{:.2f}"),
    (r"(^|_)p$", "p-value", 1.0, "{:.3g}"),
    (r"ks_sum$", "sum of KS statistics", 1.0, "{:.2f}"),
    (r"ks_[a-z_]+$", "KS statistic", 1.0, "{:.3f}"),
    (r"(^|\.)(generator|discriminator)$", "weights", 1.0, "{:,.0f}"),
    (r"(^|\.)epochs$", "epochs", 1.0, "{:,.0f}"),
    (r"(^|\.)threads$", "threads", 1.0, "{:,.0f}"),
)


def _flatten(d: Mapping, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _unit(key: str) -> tuple[str, float, str]:
    for pattern, unit, scale, fmt in _UNITS:
        if re.search(pattern, key):
            return unit, scale, fmt
    return "", 1.0, "{:.4g}"


def _format(value, scale: float, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, int) and fmt == "{:.4g}":
            return f"{value:,}"
        return fmt.format(value * scale)
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v, scale, fmt) for v in value)
    return str(value)


def metrics_table(metrics: Mapping) -> pd.DataFrame:
    """A metrics mapping as a table of formatted values with units.

    Parameters
    ----------
    metrics : a mapping of metric names to numbers, strings or nested mappings (names are
        joined with "."). When every value is a mapping (e.g. one per GAN variant), each
        becomes a column; otherwise there is one column ``value``.

    Returns
    -------
    DataFrame of strings indexed by the readable metric name, with a ``unit`` column first
    (units come from the name: ``*_mm`` mm, ``*seconds`` s, ``*_ms`` ms, ``*accuracy`` and
    ``*fraction`` %, ``*age_mae`` years, ...), ready for ``display``.
    """
    if metrics and all(isinstance(v, Mapping) for v in metrics.values()):
        columns = {str(k): _flatten(v) for k, v in metrics.items()}
    else:
        columns = {"value": _flatten(metrics)}
    keys = list(dict.fromkeys(k for col in columns.values() for k in col))
    rows = {}
    for key in keys:
        unit, scale, fmt = _unit(key)
        rows[key.replace("_", " ")] = {"unit": unit, **{c: _format(col.get(key), scale, fmt)
                                                        for c, col in columns.items()}}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["unit", *columns])
    table.index.name = "metric"
    return table
