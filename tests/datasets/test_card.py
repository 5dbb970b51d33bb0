"""Tests of the dataset card and the settings it records (thesislib.datasets.card)."""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thesislib.datasets import card as C
from thesislib.samplers import make_sampler


@dataclass(frozen=True)
class _Settings:
    a: int = 1
    b: tuple = (1.5, 2.5)


def test_normalise_is_a_json_round_trip_with_fingerprints():
    big = np.arange(100.0)
    d = C.normalised_settings({"small": np.array([1, 2]), "big": big, "path": Path("/x/y"), "n": np.int64(3),
                      "f": np.float32(0.5), "dc": _Settings(), "bank": [np.zeros(3), np.ones(3)],
                      "fn": np.linalg.norm, 4: None})
    assert d["small"] == [1, 2] and d["path"] == "/x/y" and d["n"] == 3 and d["f"] == 0.5
    assert d["big"]["shape"] == [100] and len(d["big"]["fingerprint"]) == 16
    assert d["dc"] == {"a": 1, "b": [1.5, 2.5]} and d["4"] is None
    assert d["bank"]["n"] == 2 and d["fn"].endswith(".norm")
    assert json.loads(json.dumps(d)) == d
    # the fingerprint sees values, dtype and shape
    assert C.normalised_settings({"x": big})["x"] == d["big"]
    assert C.normalised_settings({"x": big + 1})["x"]["fingerprint"] != d["big"]["fingerprint"]
    assert C._digest(np.zeros(4)) != C._digest(np.zeros((2, 2))) != C._digest(np.zeros(4, np.float32))


def test_fit_fingerprint_follows_the_fitted_state():
    X = np.random.default_rng(0).normal(size=(50, 4))
    s = make_sampler("fitted_normal")
    assert C.fit_fingerprint(s) is None  # unfitted
    a = C.fit_fingerprint(s.fit(X))
    assert a == C.fit_fingerprint(make_sampler("fitted_normal").fit(X.copy()))
    assert a != C.fit_fingerprint(make_sampler("fitted_normal").fit(X * 2))
    assert C.fit_fingerprint(make_sampler("naive_normal_1")) is None


def test_card_round_trip_and_properties(tmp_path):
    card = C.DatasetCard(str(tmp_path), {"sampler": {"name": "naive_normal_1"}, "seed": 5},
                         {"n_images": 12}, {"numpy": "2"}, "2026-01-01T00:00:00+00:00", 1.25,
                         {"images_rendered": 12})
    d = card.to_dict()
    assert d["format"] == C.FORMAT and "path" not in d
    back = C.DatasetCard.from_dict(json.loads(json.dumps(d)), tmp_path)
    assert back == card
    assert back.n_images == 12 and back.seed == 5 and back.sampler == {"name": "naive_normal_1"}
    d.pop("run")  # cards written before the run entry still read
    assert C.DatasetCard.from_dict(d, tmp_path).run == {}


def test_versions_name_dlib_only_for_the_detector_crop():
    plain, detect = dict(C.package_versions("landmarks")), dict(C.package_versions("detect"))
    assert plain["numpy"] == np.__version__ and plain["python"]
    assert "dlib-bin" not in plain and "dlib-bin" in detect
