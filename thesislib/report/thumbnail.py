"""Small static pictures of a chapter's main figure, for the suite's index page.

The reports draw their plotly figures in the browser; the index wants a thumbnail of
each chapter's main figure without a browser or an image-export engine at run time.
:func:`figure_thumbnail` draws a plotly figure's JSON with Pillow: image traces (face
renders) as they are, heatmaps as coloured cells, bars and scatter lines/markers in
each subplot's domain. Axes, text and legends are left out: a thumbnail says which
figure it is, the report shows the figure. A figure more than twice as tall as the
thumbnail's shape (e.g. a gallery of one row per sampler) is drawn at its own shape and
its top is kept. :func:`notebook_thumbnail` picks the figure
in an executed notebook by its title.
"""
from __future__ import annotations

import base64
import io
import math
import re

import numpy as np

__all__ = ["figure_thumbnail", "notebook_thumbnail", "decode_array"]

_PLOTLY = "application/vnd.plotly.v1+json"
#: plotly's default colour sequence
COLORWAY = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880",
            "#FF97FF", "#FECB52")
VIRIDIS = ((0.0, "#440154"), (0.25, "#3b528b"), (0.5, "#21918c"), (0.75, "#5ec962"), (1.0, "#fde725"))
SUPERSAMPLE = 2


def decode_array(value) -> np.ndarray:
    """A plotly JSON array: a list, or plotly's typed form ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value.get("dtype", "f8")))
        shape = value.get("shape")
        if shape:
            arr = arr.reshape([int(s) for s in str(shape).split(",")])
        return arr
    if value is None:
        return np.array([])
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError):
        return np.array(value, dtype=object)


def _rgb(color, fallback="#888888") -> tuple:
    from PIL import ImageColor

    for c in (color, fallback):
        if isinstance(c, str):
            try:
                return ImageColor.getrgb(c)[:3]
            except ValueError:
                continue
    return (136, 136, 136)


def _domain(layout: dict, ref: str, letter: str) -> tuple[float, float]:
    name = f"{letter}axis" + (ref[1:] if len(ref) > 1 else "")
    lo, hi = layout.get(name, {}).get("domain", [0.0, 1.0])
    return float(lo), float(hi)


def _scale_interp(scale, t: float) -> tuple:
    stops = [(float(p), _rgb(c)) for p, c in scale]
    for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
        if t <= p1:
            f = 0.0 if p1 == p0 else (t - p0) / (p1 - p0)
            return tuple(int(round(a + f * (b - a))) for a, b in zip(c0, c1))
    return stops[-1][1]


def _positions(values) -> np.ndarray:
    """Numbers as they are; categories (strings) by their order."""
    arr = decode_array(values)
    if arr.dtype == object:
        seen = {}
        return np.array([seen.setdefault(v, len(seen)) for v in arr.tolist()], dtype=float)
    return arr.astype(float)


def _draw_image(img, draw, trace, box):
    from PIL import Image

    src = trace.get("source", "")
    m = re.match(r"data:image/[a-z]+;base64,(.*)", src or "")
    if not m:
        return
    face = Image.open(io.BytesIO(base64.b64decode(m.group(1)))).convert("RGB")
    x0, y0, x1, y1 = box
    s = min((x1 - x0) / face.width, (y1 - y0) / face.height)
    w, h = max(1, int(face.width * s)), max(1, int(face.height * s))
    img.paste(face.resize((w, h), Image.LANCZOS), (int(x0 + (x1 - x0 - w) / 2), int(y0 + (y1 - y0 - h) / 2)))


def _draw_heatmap(img, draw, trace, box, reversed_y):
    z = decode_array(trace.get("z")).astype(float)
    if z.ndim != 2 or not np.isfinite(z).any():
        return
    lo, hi = np.nanmin(z), np.nanmax(z)
    scale = trace.get("colorscale") if isinstance(trace.get("colorscale"), list) else VIRIDIS
    x0, y0, x1, y1 = box
    rows, cols = z.shape
    for i in range(rows):
        r = i if reversed_y else rows - 1 - i
        for j in range(cols):
            v = z[i, j]
            color = (235, 235, 235) if not np.isfinite(v) else _scale_interp(scale, 0.5 if hi == lo else (v - lo) / (hi - lo))
            draw.rectangle([x0 + j * (x1 - x0) / cols, y0 + r * (y1 - y0) / rows,
                            x0 + (j + 1) * (x1 - x0) / cols - 1, y0 + (r + 1) * (y1 - y0) / rows - 1], fill=color)


def _trace_color(trace, i, colorway):
    for key in ("marker", "line"):
        c = trace.get(key, {}).get("color")
        if isinstance(c, str):
            return _rgb(c)
    return _rgb(colorway[i % len(colorway)])


def _draw_bars(draw, traces, box, colorway, offset):
    cats = list(dict.fromkeys(v for t in traces for v in decode_array(t.get("x")).tolist()))
    heights = [decode_array(t.get("y")).astype(float) for t in traces]
    top = max((np.nanmax(h) for h in heights if h.size), default=0.0)
    if not cats or not top > 0:
        return
    x0, y0, x1, y1 = box
    slot = (x1 - x0) / len(cats)
    width = slot * 0.8 / len(traces)
    for k, (t, h) in enumerate(zip(traces, heights)):
        color = _trace_color(t, offset + k, colorway)
        for c, v in zip(decode_array(t.get("x")).tolist(), h):
            if np.isfinite(v) and v > 0:
                left = x0 + cats.index(c) * slot + slot * 0.1 + k * width
                draw.rectangle([left, y1 - (y1 - y0) * v / top, left + width - 1, y1], fill=color)


def _draw_lines(draw, traces, box, colorway, offset, log_x, log_y):
    series = []
    for k, t in enumerate(traces):
        x, y = _positions(t.get("x", list(range(len(decode_array(t.get("y"))))))), _positions(t.get("y"))
        n = min(len(x), len(y))
        x, y = x[:n], y[:n]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log10(x) if log_x else x
            y = np.log10(y) if log_y else y
        ok = np.isfinite(x) & np.isfinite(y)
        series.append((t, x, y, ok, _trace_color(t, offset + k, colorway)))
    xs = np.concatenate([x[ok] for _, x, _, ok, _ in series] or [np.array([])])
    ys = np.concatenate([y[ok] for _, _, y, ok, _ in series] or [np.array([])])
    if not xs.size:
        return
    x0, y0, x1, y1 = box
    pad = 0.04
    xr = (xs.min(), xs.max()) if xs.max() > xs.min() else (xs.min() - 1, xs.max() + 1)
    yr = (ys.min(), ys.max()) if ys.max() > ys.min() else (ys.min() - 1, ys.max() + 1)

    def px(a, b):
        u = (a - xr[0]) / (xr[1] - xr[0]) * (1 - 2 * pad) + pad
        v = (b - yr[0]) / (yr[1] - yr[0]) * (1 - 2 * pad) + pad
        return x0 + u * (x1 - x0), y1 - v * (y1 - y0)

    dot = 1.5 * SUPERSAMPLE
    for t, x, y, ok, color in series:
        mode = t.get("mode") or ("lines+markers" if ok.sum() < 20 else "lines")
        points = [px(a, b) for a, b, good in zip(x, y, ok) if good]
        if "lines" in mode and len(points) > 1:
            draw.line(points, fill=color, width=SUPERSAMPLE * 2)
        if "markers" in mode:
            for a, b in points:
                draw.ellipse([a - dot, b - dot, a + dot, b + dot], fill=color)


def figure_thumbnail(figure: dict, size: tuple[int, int] = (240, 150)):
    """Draw a plotly figure (its JSON dict: ``data`` and ``layout``) as a small picture.

    Parameters
    ----------
    figure : ``{"data": [...], "layout": {...}}`` as in a notebook's plotly output
    size : (width, height) in pixels

    Returns
    -------
    PIL.Image.Image (RGB), or None when nothing in the figure can be drawn
    """
    from PIL import Image, ImageDraw

    layout = figure.get("layout", {})
    colorway = layout.get("colorway") or layout.get("template", {}).get("layout", {}).get("colorway") or COLORWAY
    W = size[0] * SUPERSAMPLE
    shape = float(layout.get("height") or 450) / float(layout.get("width") or 700)
    H = int(round(W * shape)) if shape > 2 * size[1] / size[0] else size[1] * SUPERSAMPLE
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)
    m = 3 * SUPERSAMPLE
    subplots: dict = {}
    for i, t in enumerate(figure.get("data", [])):
        subplots.setdefault((t.get("xaxis", "x"), t.get("yaxis", "y")), []).append((i, t))
    drawn = 0
    for (xa, ya), traces in subplots.items():
        (dx0, dx1), (dy0, dy1) = _domain(layout, xa, "x"), _domain(layout, ya, "y")
        box = (m + dx0 * (W - 2 * m), m + (1 - dy1) * (H - 2 * m), m + dx1 * (W - 2 * m), m + (1 - dy0) * (H - 2 * m))
        yaxis = layout.get("yaxis" + ya[1:], {})
        xaxis = layout.get("xaxis" + xa[1:], {})
        kinds = {t.get("type", "scatter") for _, t in traces}
        for i, t in traces:
            if t.get("type") == "image":
                _draw_image(img, draw, t, box)
            elif t.get("type") == "heatmap":
                _draw_heatmap(img, draw, t, box, yaxis.get("autorange") == "reversed")
        bars = [t for _, t in traces if t.get("type") == "bar"]
        if bars:
            _draw_bars(draw, bars, box, colorway, traces[0][0])
        lines = [t for _, t in traces if t.get("type") in ("scatter", "scattergl")]
        if lines:
            _draw_lines(draw, lines, box, colorway, traces[0][0], xaxis.get("type") == "log", yaxis.get("type") == "log")
        drawn += bool(kinds & {"image", "heatmap", "bar", "scatter", "scattergl"})
    if not drawn:
        return None
    return img.crop((0, 0, W, size[1] * SUPERSAMPLE)).resize(size, Image.LANCZOS)


def _title(figure: dict) -> str:
    title = figure.get("layout", {}).get("title", "")
    return title.get("text", "") if isinstance(title, dict) else str(title or "")


def notebook_thumbnail(nb, pattern: str | None = None, size: tuple[int, int] = (240, 150)):
    """The thumbnail of an executed notebook's main figure.

    The figure is the first plotly output whose title matches ``pattern`` (a regular
    expression); without a match, the first figure of face images, else the first figure.

    Returns
    -------
    PIL.Image.Image, or None when the notebook has no figure that can be drawn
    """
    figures = [o["data"][_PLOTLY] for c in nb.cells if c.get("cell_type") == "code"
               for o in c.get("outputs", []) if _PLOTLY in o.get("data", {})]
    chosen = [f for f in figures if pattern and re.search(pattern, _title(f))]
    chosen += [f for f in figures if any(t.get("type") == "image" for t in f.get("data", []))]
    chosen += figures
    for f in chosen:
        try:
            img = figure_thumbnail(f, size)
        except (ValueError, TypeError, KeyError, OSError, IndexError):
            continue
        if img is not None and not math.isclose(float(np.asarray(img).std()), 0.0):
            return img
    return None
