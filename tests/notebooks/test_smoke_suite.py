"""The whole notebook suite on the smoke profile: every chapter present runs and reports."""
import json
from pathlib import Path

import pytest

from thesislib import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_smoke_suite_runs_every_chapter(tmp_path):
    out = tmp_path / "smoke"
    code = cli.main(["run", "--params", str(ROOT / "params" / "smoke.yaml"), "--out", str(out), "--quiet"])
    state = json.loads((out / "suite.json").read_text())
    statuses = {c["number"]: (c["status"], c["error"]) for c in state["chapters"]}
    ran = {k: v for k, v in statuses.items() if v[0] != "missing"}
    assert ran, "no chapter notebooks found"
    assert all(s == "ok" for s, _ in ran.values()), statuses
    assert code == 0
    for number in ran:
        chapter = next(c for c in state["chapters"] if c["number"] == number)
        page = (out / chapter["html"]).read_text()
        assert 'src="http' not in page, f"{chapter['html']} loads a remote script"
    assert (out / "index.html").exists() and (out / "mean_face.png").exists()
