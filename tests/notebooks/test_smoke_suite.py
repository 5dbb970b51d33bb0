"""The whole notebook suite on the smoke profile: every chapter present runs and reports."""
import json
import re

import pytest

from thesislib.suite.params import CHAPTERS


@pytest.mark.slow
def test_smoke_suite_runs_every_chapter(smoke_suite):
    out, code = smoke_suite
    state = json.loads((out / "suite.json").read_text())
    statuses = {c["number"]: (c["status"], c["error"]) for c in state["chapters"]}
    assert set(statuses) == {c.number for c in CHAPTERS}
    assert all(s == "ok" for s, _ in statuses.values()), statuses
    assert code == 0
    for number in statuses:
        chapter = next(c for c in state["chapters"] if c["number"] == number)
        page = (out / chapter["html"]).read_text()
        assert 'src="http' not in page, f"{chapter['html']} loads a remote script"
        assert not re.search(r"(?<!\d)0%\|", page), f"{chapter['html']} shows a progress bar stuck at 0 %"
    assert (out / "index.html").exists() and (out / "mean_face.png").exists()
