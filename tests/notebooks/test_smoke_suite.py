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


def test_smoke_readers_share_one_worker(request):
    """Under ``--dist loadgroup`` the smoke run's readers carry one group, so the suite runs once
    (pytest 9 drops xdist's group suffix silently: then this fails instead of the suite running twice)."""
    if not getattr(request.config.option, "loadgroup", False):  # set on xdist workers
        pytest.skip("not running under pytest-xdist --dist loadgroup")
    smoke_tests = [i for i in request.session.items if "smoke_suite" in i.fixturenames or "reports" in i.fixturenames]
    if not smoke_tests:
        pytest.skip("no test reading the smoke run was selected")
    assert all(i.nodeid.endswith("@smoke_suite") for i in smoke_tests), [i.nodeid for i in smoke_tests]
