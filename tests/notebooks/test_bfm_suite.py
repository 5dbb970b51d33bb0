"""The suite on a user's BFM 2017 file: every chapter runs through `model: {kind: bfm2017, path}`.

The file is the embedded model exported in the Statismo layout with BFM-style landmark
names only (no iBUG 68, no semantic directions), as a real BFM 2017 file has.
"""
import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from thesislib.suite import cli
from thesislib.facemodel.model import save_bfm2017

ROOT = Path(__file__).resolve().parents[2]
BFM_NAMES = {"center.nose.tip": "ibug30", "left.eye.corner_outer": "ibug45",
             "right.eye.corner_outer": "ibug36", "left.lips.corner": "ibug54", "right.lips.corner": "ibug48"}


@pytest.mark.slow
def test_suite_runs_on_a_bfm2017_file(tmp_path, face_model):
    m = face_model.truncated(30, 30, 5)
    m = dataclasses.replace(m, landmarks={k: m.landmarks[v] for k, v in BFM_NAMES.items()}, directions={})
    h5 = save_bfm2017(m, tmp_path / "model2017-like.h5")
    params = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())
    params.update(profile="bfm_smoke", model={"kind": "bfm2017", "path": str(h5), "n_shape": 20, "n_color": 20})
    pfile = tmp_path / "bfm_smoke.yaml"
    pfile.write_text(yaml.safe_dump(params))
    out = tmp_path / "out"
    code = cli.main(["run", "--params", str(pfile), "--out", str(out), "--quiet"])
    state = json.loads((out / "suite.json").read_text())
    statuses = {c["number"]: (c["status"], c["error"]) for c in state["chapters"]}
    assert all(s == "ok" for s, _ in statuses.values()), statuses
    assert code == 0
