"""Chapter headlines from a run's numbers.

Each chapter of the suite writes its results under ``<out>/data/`` (CSV tables, JSON
summaries). :func:`chapter_headline` reads the files of one chapter and states what it
found: one headline number with a label, a sentence, a few supporting rows and the
files it came from. Nothing is typed in by hand: a rerun with other parameters gives
other numbers. Files older than the chapter's start (``since``) are not used, so a
failed run never shows the numbers of an earlier one.

The suite puts the headline at the top of the chapter's report and on the index page,
and saves it as ``data/NN_headline.json`` (:func:`write_headline`).
"""
from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

__all__ = ["Headline", "chapter_headline", "headline_html", "write_headline", "read_headline", "MAIN_FIGURES"]

#: the title (a regular expression) of each chapter's main figure, for the index thumbnail
MAIN_FIGURES = {
    "01": r"one component at a time",
    "02": r"^gallery per sampler",
    "03": r"^BIC of each mixture|^AIC of each mixture",
    "04": r"age \(across\) × sex",
    "05": r"mean per-vertex error",
    "06": r"k-means distortion",
    "07": r"^learning curves to the thesis' scale",
}


@dataclass(frozen=True)
class Headline:
    """What one chapter found, from one run's numbers.

    Attributes
    ----------
    chapter : "01".."06"
    value : the headline number with its unit, e.g. ``"4.78 mm"``
    label : what the number is
    sentence : the finding around it, one or two sentences
    rows : (label, value) pairs that support it
    profile : the params profile of the run
    sources : the ``data/`` files the numbers came from
    """

    chapter: str
    value: str
    label: str
    sentence: str
    rows: tuple[tuple[str, str], ...] = ()
    profile: str = ""
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> "Headline":
        return cls(d["chapter"], d["value"], d["label"], d["sentence"],
                   tuple(tuple(r) for r in d.get("rows", ())), d.get("profile", ""), tuple(d.get("sources", ())))


class MissingData(LookupError):
    """A file a headline needs was not written by this run."""


class _Reader:
    """Reads a chapter's files written at or after ``since`` (seconds since the epoch), by key:
    ``files`` maps each key to a path relative to the output folder (the suite's table)."""

    def __init__(self, out_dir, since=None, files=None):
        self.out = Path(out_dir)
        self.since = since
        self.files = dict(files or {})
        self.used: list[str] = []

    def _path(self, key: str, fresh: bool = True, **fields) -> Path:
        if key not in self.files:
            raise MissingData(f"no file name given for {key!r}")
        name = self.files[key].format(**fields)
        path = self.out / name
        if not path.is_file():
            raise MissingData(f"{name} was not written")
        if fresh and self.since is not None and path.stat().st_mtime < self.since - 1.0:
            raise MissingData(f"{name} is older than this run")
        self.used.append(name)
        return path

    def csv(self, key: str, **kw) -> pd.DataFrame:
        return pd.read_csv(self._path(key), **kw)

    def json(self, key: str, fresh: bool = True, **fields) -> dict:
        return json.loads(self._path(key, fresh, **fields).read_text())


def _pct(x) -> str:
    return f"{100 * float(x):.0f} %"


def _label(name: str) -> str:
    from thesislib.samplers import sampler_label

    try:
        return sampler_label(name)
    except (KeyError, ValueError):
        return str(name)


def _h01(r: _Reader, params) -> tuple:
    t = r.csv("validity")
    t = t.assign(normal=t.sampler.str.extract(r"^N\(0, ([\d.]+)\)$")[0].astype(float),
                 uniform=t.sampler.str.extract(r"^U\(-([\d.]+), [\d.]+\)$")[0].astype(float))
    one = t.loc[(t.normal - 1.0).abs().idxmin()]
    below = t.sort_values("median_distance")
    below = below[below.valid_fraction < 0.5]
    rows = []
    for kind, label in (("normal", "N(0, σ), σ ="), ("uniform", "U(-h, h), h =")):
        part = t.dropna(subset=[kind]).sort_values(kind)
        if len(part):
            rows.append((f"valid faces of {label}", ", ".join(f"{s:g}: {_pct(v)}" for s, v in
                                                              zip(part[kind], part.valid_fraction))))
    reference = t[t.sampler == "reference population"]
    if len(reference):
        rows.append(("valid faces of the reference population", _pct(reference.valid_fraction.iloc[0])))
    cut = (f"the nearest sampler with fewer than half valid is {below.sampler.iloc[0]}, at "
           f"{below.median_distance.iloc[0]:.1f} σ" if len(below) else "every sampler stays above half valid")
    if params is not None:
        rows.append(("model", f"{params.model.n_shape} shape + {params.model.n_color} colour components"))
    return (_pct(one.valid_fraction), f"of {one.sampler} faces are valid",
            f"Validity falls with distance from the centre of face space: {one.sampler} faces lie a median "
            f"{one.median_distance:.1f} σ out; {cut}.", rows)


def _h02(r: _Reader, params) -> tuple:
    t = r.csv("samplers")
    best, worst = t.loc[t.valid_fraction.idxmax()], t.loc[t.valid_fraction.idxmin()]
    widest = t.loc[t.median_norm.idxmax()]
    rows = [(s.label, f"{_pct(s.valid_fraction)} valid, median ‖p‖ {s.median_norm:.1f} σ")
            for s in t.sort_values("valid_fraction", ascending=False).itertuples()][:4]
    if params is not None:
        name = params.samplers.dataset_sampler
        try:
            card = r.json("dataset_card", fresh=False, sampler=name)
            rows.append(("training dataset", f"{card['counts']['n_images']} images of {_label(name)}"
                                             f" in {card['elapsed_s']:.0f} s"))
        except (MissingData, KeyError, ValueError):
            pass
    spread = (f"its median face lies {widest.median_norm:.1f} σ from the mean" if widest.sampler == worst.sampler
              else f"the widest sampler, {widest.label}, puts its median face {widest.median_norm:.1f} σ from the mean")
    return (_pct(best.valid_fraction), f"valid faces from {best.label}, the best of {len(t)} samplers",
            f"{worst.label} gives {_pct(worst.valid_fraction)} valid faces; {spread}.", rows)


def _h03(r: _Reader, params) -> tuple:
    summary = r.json("summary")
    ks = r.csv("ks")
    chosen = ks[ks.chosen.astype(str) == "True"].iloc[0]
    best = ks.loc[ks.ks_sum.idxmin()]
    crit = summary["best"]["criterion"].upper()
    baseline = ks[ks.kind == "baseline"].sort_values("ks_sum")
    rows = [(s.sampler, f"{s.ks_sum:.2f}") for s in ks.sort_values("ks_sum").itertuples()][:5]
    rows.append(("faces fitted / held out", f"{summary['n_fit']} / {summary['n_held_out']}"))
    naive = baseline[baseline.sampler.str.startswith("naive normal")]
    ref = naive.iloc[0] if len(naive) else baseline.iloc[0]
    return (f"{chosen.ks_sum:.2f}", f"KS sum of the chosen mixture, {chosen.sampler} (lowest {crit})",
            f"Lower is closer to the held-out faces: {ref.sampler} scores {ref.ks_sum:.2f}; the closest of "
            f"all is {best.sampler} ({best.ks_sum:.2f}).", rows)


def _h04(r: _Reader, params) -> tuple:
    m = r.json("metrics")
    variants = m["variants"]
    name, v = min(variants.items(), key=lambda kv: kv[1].get("ks_sum", math.inf))
    rows = []
    for n, w in variants.items():
        rows.append((f"{n.upper()} sex / age", f"{_pct(w['gan_sex_accuracy'])}, {w['gan_age_mae']:.1f} years"))
        rows.append((f"{n.upper()} KS sum, training", f"{w['ks_sum']:.2f}, {w['seconds']:.0f} s "
                                                      f"({w['epochs']} epochs)"))
    try:
        ks = r.csv("ks")
        gmm = ks[ks.chosen.astype(str) == "True"]
        if len(gmm):
            rows.append((f"chapter 03's {gmm.sampler.iloc[0]}", f"KS sum {gmm.ks_sum.iloc[0]:.2f}"))
    except MissingData:
        pass
    return (_pct(v["gan_sex_accuracy"]),
            f"of {name.upper()} faces show the sex they were asked for (real faces: {_pct(v['real_sex_accuracy'])})",
            f"Age comes through with a mean error of {v['gan_age_mae']:.1f} years (real faces: "
            f"{v['real_age_mae']:.1f}); KS sum against held-out faces {v['ks_sum']:.2f}.", rows)


def _h05(r: _Reader, params) -> tuple:
    g = r.csv("geometry")
    pairs = r.csv("comparisons")
    first = g["test_set"].iloc[0]
    here = g[g["test_set"] == first]
    nets = here[here["head"] == "bprn"].sort_values("vertex_mm")
    best = nets.iloc[0]
    p = pairs[(pairs["test_set"] == first) & (pairs["metric"] == "vertex_mm")
              & pairs["sampler_a"].isin(nets.sampler) & pairs["sampler_b"].isin(nets.sampler)]
    differ = int((p["p_adjusted"] < 0.05).sum())
    base = here[here["head"] == "baseline"].set_index("sampler")["vertex_mm"]
    sentence = (f"On {first} faces, {differ} of {len(p)} sampler pairs differ after Holm's adjustment; "
                f"baselines: " + ", ".join(f"{k} {v:.2f} mm" for k, v in base.items()) + ".")
    rows = []
    for t, part in g[g["head"] == "bprn"].groupby("test_set", sort=False):
        top = part.sort_values("vertex_mm")
        rows.append((f"{t}: best / worst", f"{_label(top.sampler.iloc[0])} {top.vertex_mm.iloc[0]:.2f} mm, "
                                           f"{_label(top.sampler.iloc[-1])} {top.vertex_mm.iloc[-1]:.2f} mm"))
    if params is not None:
        b = params.bprn
        rows.append(("profile", f"{params.profile}: {b.faces * b.images_per_face} renders per draw, "
                                f"{int(best.draws)} draws per sampler, {b.test_faces} faces per test set, stem {b.stem}"))
    return (f"{best.vertex_mm:.2f} mm",
            f"vertex error on {first} faces of the best BPRN, trained on {_label(best.sampler)} "
            f"(95 % interval over {int(best.draws)} draws and the faces, {best.vertex_low:.2f}–{best.vertex_high:.2f} mm)",
            sentence, tuple(rows))


def _h06(r: _Reader, params) -> tuple:
    t = r.csv("variety")
    t = t[t.sampler != "fitted_set"]
    near, far = t.loc[t.ks_sum.idxmin()], t.loc[t.ks_sum.idxmax()]
    clustered = t.loc[t.distortion_drop.idxmax()]
    rows = [(s.dataset, f"KS {s.ks_sum:.2f}, {_pct(s.valid_fraction)} valid")
            for s in t.sort_values("ks_sum").itertuples()][:5]
    rows.append(("most clustered (k-means distortion drop)", f"{clustered.dataset}, {clustered.distortion_drop:.2f}"))
    return (f"{near.ks_sum:.2f}", f"KS sum of {near.dataset}, the closest of {len(t)} datasets to held-out faces",
            f"The furthest is {far.dataset} ({far.ks_sum:.2f}); valid fractions run from "
            f"{_pct(t.valid_fraction.min())} to {_pct(t.valid_fraction.max())}.", rows)


def _h07(r: _Reader, params) -> tuple:
    order, gaps = r.csv("order"), r.csv("head_gaps")
    first = order["test_set"].iloc[0]
    last = int(order["n_images"].max())
    top = order[(order["test_set"] == first) & (order["n_images"] == last)].sort_values("rank").iloc[0]
    small = order[(order["test_set"] == first) & (order["n_images"] == order["n_images"].min())]
    g = gaps[(gaps["test_set"] == first) & (gaps["n_images"] == last)]
    rows = [(f"{t}: best at {int(p.n_images.min()):,} / {last:,} images",
             f"{_label(p[p.n_images == p.n_images.min()].sort_values('rank').sampler.iloc[0])} / "
             f"{_label(p[p.n_images == last].sort_values('rank').sampler.iloc[0])}")
            for t, p in order.groupby("test_set", sort=False)]
    return (f"{top.vertex_mm:.2f} mm",
            f"vertex error on {first} faces, the best BPRN at {last:,} images: {_label(top.sampler)} "
            f"(at {int(small.n_images.iloc[0]):,}: {_label(small.sort_values('rank').sampler.iloc[0])})",
            f"At {last:,} images the thesis head alone errs {g.gap_mm.mean():+.2f} mm against ridge on the same "
            f"features (mean over {len(g)} samplers; {int((g.hi < 0).sum())} shown better).", tuple(rows))


_CHAPTERS = {"01": _h01, "02": _h02, "03": _h03, "04": _h04, "05": _h05, "06": _h06, "07": _h07}


def chapter_headline(chapter: str, out_dir, params=None, since: float | None = None,
                     files=None) -> Headline | None:
    """The headline of one chapter from the files it wrote under ``out_dir``.

    Parameters
    ----------
    chapter : "01".."07"
    out_dir : the suite's output folder
    params : the run's validated :class:`~thesislib.suite.params.SuiteParams` (profile and sizes), optional
    since : ignore files last written before this time (``time.time()`` at the chapter's start)
    files : the chapter's output names, key -> path relative to ``out_dir``
        (``thesislib.suite.output_names(chapter)``); without them there is no headline

    Returns
    -------
    :class:`Headline`, or None when the chapter is unknown or did not write what its headline needs
    """
    make = _CHAPTERS.get(str(chapter).zfill(2))
    if make is None:
        return None
    reader = _Reader(out_dir, since, files)
    try:
        value, label, sentence, rows = make(reader, params)
    except Exception:  # missing, stale or unexpected data: no headline rather than a failed chapter
        return None
    return Headline(str(chapter).zfill(2), value, label, sentence, tuple((str(a), str(b)) for a, b in rows),
                    params.profile if params is not None else "", tuple(dict.fromkeys(reader.used)))


def headline_html(h: Headline) -> str:
    """The headline box (HTML without blank lines, so it stays one block in a markdown cell)."""
    e = html.escape
    rows = "".join(f"<tr><th>{e(a)}</th><td>{e(b)}</td></tr>" for a, b in h.rows)
    where = ", ".join(e(s) for s in h.sources)
    return ('<div class="thesislib-headline">\n'
            f'<p class="thesislib-headline-lead"><span class="thesislib-headline-value">{e(h.value)}</span> '
            f'<span class="thesislib-headline-label">{e(h.label)}</span></p>\n'
            f'<p class="thesislib-headline-sentence">{e(h.sentence)}</p>\n'
            + (f'<table class="thesislib-headline-rows">{rows}</table>\n' if rows else "")
            + f'<p class="thesislib-headline-source">This run (profile {e(h.profile or "?")}), from {where}.</p>\n'
            "</div>")


def write_headline(h: Headline, out_dir) -> Path:
    """Save the headline as ``<out_dir>/data/NN_headline.json``."""
    from thesislib.common import atomic_write_text

    path = Path(out_dir) / "data" / f"{h.chapter}_headline.json"
    atomic_write_text(path, json.dumps(h.to_dict(), indent=1, ensure_ascii=False))
    return path


def read_headline(out_dir, chapter: str) -> Headline | None:
    """The headline saved by :func:`write_headline`, or None."""
    path = Path(out_dir) / "data" / f"{str(chapter).zfill(2)}_headline.json"
    try:
        return Headline.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
