"""Progress bars in executed notebooks: their final state as one line of text.

A ``tqdm.auto`` bar in a Jupyter kernel is an ipywidgets ``HBox`` (description and
percentage, a ``FloatProgress``, counts and rate). The notebook output holds only the
widget's id and its text form *at creation*, ``"desc:   0%|          | 0/40"``; the
final values live in the kernel's widget models, which nbclient stores in the
notebook's ``widgets`` metadata. A static report shows the creation text: a bar stuck
at 0 %. :func:`finish_progress_bars` swaps each such output for a plain-text line built
from the stored final state: a finished bar (``desc: 100%|##########| 40/40 [...]``)
or, where the loop stopped early or the state is missing, a one-line summary that
does not look like a bar (``desc: stopped at 12/40``). The suite applies it to every
executed chapter before the HTML export, so it holds whichever code drew the bar.

The lines are ``stdout`` stream outputs: a report renders ``stderr`` in a red box that reads
like an error. A bar that tqdm drew as text (``tqdm.std``, or ``tqdm.auto`` without
ipywidgets) lands on stderr as ``\r``-separated redraws; such an output, when it holds
nothing but bars, becomes the same final lines on stdout.
"""
from __future__ import annotations

import html
import math
import re

__all__ = ["finish_progress_bars", "bar_line"]

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: tqdm's text form: "desc: NN%|bar| n/total [...]" (desc optional)
_TQDM_TEXT = re.compile(r"^(?:(?P<desc>.*?): *)?\s*\d+%\|.*\|\s*(?P<n>[\d.]+\w?)/(?P<total>[\d.]+\w?)")
_COUNTS = re.compile(r"^\s*(?P<n>[\d.]+\w?)/(?P<total>[\d.]+\w?)")
WIDTH = 10


def _text(value: str) -> str:
    return html.unescape(value or "").replace("\u2007", " ").strip()


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def bar_line(desc: str | None, value, total, right: str = "") -> str:
    """One line for a bar's final state.

    Parameters
    ----------
    desc : the bar's description, or None
    value, total : the final count and the total (total None or NaN: unknown)
    right : tqdm's counts-and-rate text (``"40/40 [00:03<00:00, 12.1img/s]"``); kept
        only when its count is the final one

    Returns
    -------
    str: ``"desc: 100%|##########| 40/40 [...]"`` for a finished bar, else
    ``"desc: stopped at 12/40"`` (``"desc: 12 done"`` with no total)
    """
    head = f"{desc}: " if desc else ""
    value = 0.0 if value is None else float(value)
    fmt = lambda x: f"{x:g}"  # noqa: E731
    if total is None or (isinstance(total, float) and math.isnan(total)) or total <= 0:
        return f"{head}{fmt(value)} done"
    if value < total:
        return f"{head}stopped at {fmt(value)}/{fmt(total)}"
    counts = _COUNTS.match(right or "")
    fresh = counts is not None and _number(counts.group("n")) == value
    tail = right if fresh else f"{fmt(value)}/{fmt(total)}"
    return f"{head}100%|{'#' * WIDTH}| {tail}"


def _from_state(model_id: str, state: dict):
    """(desc, value, total, right) of a tqdm HBox in the stored widget state, or None."""
    box = state.get(model_id)
    if not box or box.get("model_name") != "HBoxModel":
        return None
    ids = [c.removeprefix("IPY_MODEL_") for c in box.get("state", {}).get("children", [])]
    parts = [state.get(i) for i in ids]
    if len(parts) != 3 or any(p is None for p in parts):
        return None
    names = [p.get("model_name") for p in parts]
    if names != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left = _text(parts[0]["state"].get("value", ""))
    desc = re.sub(r":?\s*\d+%$", "", left).strip() or None
    bar = parts[1]["state"]
    return desc, _number(bar.get("value")), _number(bar.get("max")), _text(parts[2]["state"].get("value", ""))


def finish_progress_bars(nb) -> int:
    """Replace every tqdm widget output of ``nb`` (a ``nbformat`` notebook, edited in place)
    by a text line of its final state; returns how many were replaced."""
    import nbformat

    state = nb.metadata.get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for i, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            view, text = data.get(_WIDGET_VIEW), data.get("text/plain", "")
            if view is None or not isinstance(text, str):
                continue
            found = _TQDM_TEXT.match(text)
            if found is None:
                continue
            final = _from_state(view.get("model_id", ""), state)
            if final is None:  # no stored state: a summary from the creation text
                line = f"{found.group('desc') + ': ' if found.group('desc') else ''}progress not recorded"
            else:
                line = bar_line(*final)
            cell.outputs[i] = nbformat.v4.new_output("stream", name="stdout", text=line + "\n")
            replaced += 1
        replaced += _text_bars(cell)
    return replaced


def _final_line(row: str) -> str:
    """What a terminal shows of one ``\\r``-redrawn line: its last non-blank redraw (a bar with
    ``leave=False`` blanks itself last)."""
    return next((part.strip() for part in reversed(row.split("\r")) if part.strip()), "")


def _text_bars(cell) -> int:
    """Text-mode tqdm bars in a cell's stderr stream outputs become one stdout output of their
    final lines (at the first stderr output's place); other stderr lines stay stderr, after it.
    The kernel sends stderr in chunks that may split a line, so the cell's stderr is read whole.
    Returns 1 when bars were found, else 0 (the cell is left as it was)."""
    import nbformat

    outputs = cell.get("outputs", [])
    at = [i for i, o in enumerate(outputs) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    if not at:
        return 0
    text = "".join("".join(t) if isinstance(t := outputs[i].get("text", ""), list) else t for i in at)
    bars, other = [], []
    for row in text.split("\n"):
        last = _final_line(row)
        found = _TQDM_TEXT.match(last) if last else None
        if found is None:
            other.append(row)
            continue
        n, total = _number(found.group("n")), _number(found.group("total"))
        right = last.split("|", 2)[2].strip() if last.count("|") >= 2 else ""
        bars.append((bar_line(found.group("desc"), n, total, right) if n is not None and total is not None
                     else last) + "\n")
    if not bars:
        return 0
    rest = "\n".join(other)
    new = [nbformat.v4.new_output("stream", name="stdout", text="".join(bars))]
    if rest.strip():
        new.append(nbformat.v4.new_output("stream", name="stderr", text=rest.strip("\n") + "\n"))
    cell.outputs = outputs[:at[0]] + new + [o for i, o in enumerate(outputs) if i > at[0] and i not in at]
    return 1
