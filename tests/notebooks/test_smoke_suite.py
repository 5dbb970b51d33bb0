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


@pytest.mark.slow
def test_smoke_suite_files_are_readable_by_others(smoke_suite):
    """The shared run ran under umask 022 (tests/conftest.py): every file it wrote, reports
    first, is -rw-r--r-- (a colleague can open them), not mkstemp's 0600."""
    import stat

    out, _ = smoke_suite
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    assert "05_bprn.html" in modes and "index.html" in modes
    wrong = {name: oct(mode) for name, mode in modes.items() if mode != 0o644}
    assert not wrong, f"files not 0644 under umask 022: {wrong}"


#: stderr a library writes at C level that no setting silences yet (MediaPipe's TFLite/absl lines
#: from face-mesh workers); it is item 7's "no library warning", not a thesislib message
LIBRARY_NOISE = re.compile(r"Created TensorFlow Lite XNNPACK delegate|absl::InitializeLog|inference_feedback_manager")
STDERR_BOX = re.compile(r'<div class="[^"]*jp-RenderedText[^"]*" data-mime-type="application/vnd\.jupyter\.stderr"[^>]*>'
                        r"\s*<pre>(.*?)</pre>", re.S)


@pytest.mark.slow
def test_smoke_reports_read_clean(smoke_suite):
    """No report shows a path of the machine that ran it (the output folder, the home folder) or
    a red stderr box (nbconvert marks stderr ``data-mime-type="application/vnd.jupyter.stderr"``):
    finished progress bars are plain text."""
    import os
    from pathlib import Path

    out, _ = smoke_suite
    folders = {str(out), str(out.resolve()), os.path.expanduser("~")}
    pages = sorted(out.glob("*.html"))
    assert len(pages) == len(CHAPTERS) + 1
    for page in pages:
        text = page.read_text()
        for folder in folders:
            if len(Path(folder).parts) > 1:
                assert folder not in text, f"{page.name} shows {folder}"
        boxes = [b for b in STDERR_BOX.findall(text) if not LIBRARY_NOISE.search(b)]
        assert not boxes, f"{page.name} shows stderr: {boxes[:3]}"
        assert "application/vnd.jupyter.stderr" not in STDERR_BOX.sub("", text).split("</style>")[-1], page.name
