"""Paths as a shared report shows them: relative to the output folder, never the machine's own.

A report lies in the run's output folder (``<out>/NN_name.html``) and is read on other
machines, so a path in it should say where a file is *in that folder* (``data/05_errors.parquet``),
not where the folder was on the machine that ran it (``/home/ana/thesislib/outputs/default/...``).

* :func:`shown_path` is for a chapter that prints a path: ``print(f"saved {shown_path(p, out)}")``;
* :func:`relative_paths` is the suite's safeguard: applied to every page before the HTML export
  (:mod:`thesislib.suite.runner`), it rewrites what a chapter printed or papermill injected anyway
  (the ``out_dir`` parameter) in code cells and text outputs. The executed ``.ipynb`` keeps them.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["shown_path", "relative_paths"]

_TEXT_OUTPUTS = ("text/plain", "text/html", "text/markdown", "text/latex")


def _home() -> str | None:
    home = os.path.expanduser("~")
    return home if home not in ("", "/", "~") and len(Path(home).parts) > 1 else None


def shown_path(path, folder) -> str:
    """``path`` as a report shows it.

    Parameters
    ----------
    path : a file or folder
    folder : the run's output folder (the notebooks' ``out_dir``), where the reports lie

    Returns
    -------
    str: the POSIX path relative to ``folder`` when ``path`` lies in it (``"data/x.csv"``; the
    folder itself: ``"."``), else under the home folder as ``"~/..."``, else ``path`` unchanged
    """
    p, base = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    for root in (base, base.resolve()):
        for q in (p, p.resolve()):
            if q == root or root in q.parents:
                return q.relative_to(root).as_posix() or "."
    home = _home()
    if home is not None and Path(home) in p.parents:
        return "~/" + p.relative_to(home).as_posix()
    return str(path)


def _patterns(folder) -> list[tuple[re.Pattern, str]]:
    """(pattern, replacement for the folder itself) for the output folder's spellings, then home."""
    spellings = {str(Path(os.path.abspath(folder))), str(Path(folder).resolve())}
    found = [(s, ".") for s in sorted(spellings, key=len, reverse=True)]
    if _home() is not None:
        found.append((_home(), "~"))
    # the path itself, or followed by "/" and a name (then the name alone stays), never a longer name
    return [(re.compile(re.escape(s) + r"(?:/(?=[\w.~-])|(?![\w.-]))"), rep) for s, rep in found]


def _rewrite(text: str, patterns) -> str:
    for pattern, rep in patterns:
        text = pattern.sub(lambda m: ("" if rep == "." else rep + "/") if m.group().endswith("/") else rep, text)
    return text


def relative_paths(nb, folder) -> int:
    """Rewrite absolute paths of ``folder`` (and of the home folder) in ``nb`` in place.

    Code cell sources, markdown cells, stream text, text outputs (plain, HTML, markdown, LaTeX)
    and tracebacks: ``<folder>/data/x.csv`` becomes ``data/x.csv``, ``<folder>`` itself ``.``,
    ``<home>/y`` ``~/y``. Images and widget or figure data are left alone. Returns how many
    strings changed.
    """
    patterns = _patterns(folder)
    changed = 0

    def fix(value):
        nonlocal changed
        if isinstance(value, list):
            return [fix(v) for v in value]
        if not isinstance(value, str):
            return value
        new = _rewrite(value, patterns)
        changed += new != value
        return new

    for cell in nb.cells:
        cell.source = fix(cell.source)
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = fix(out["text"])
            if "traceback" in out:
                out["traceback"] = fix(out["traceback"])
            if "evalue" in out:
                out["evalue"] = fix(out["evalue"])
            data = out.get("data", {})
            for mime in _TEXT_OUTPUTS:
                if mime in data:
                    data[mime] = fix(data[mime])
    return changed
