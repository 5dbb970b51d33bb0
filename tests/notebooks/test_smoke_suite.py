"""The whole notebook suite on the smoke profile: every chapter present runs and reports."""
import json
import re
from pathlib import Path

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


FITS_A_SAMPLER = ("02", "03", "04", "05", "06", "07")


@pytest.mark.slow
def test_every_chapter_fits_on_the_estimated_fitted_set(smoke_suite):
    """Chapters 02-06 fit their samplers on one fitted set estimated from images (its card says
    how), never on the population's true parameters: the notebooks draw no population themselves,
    and each one's run reports the estimated set."""
    import nbformat

    from pathlib import Path

    from thesislib.suite import output_path

    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    out, _ = smoke_suite
    card = json.loads((output_path(out, "run", "fitted_set") / "fitted_set.json").read_text())
    assert card["source"].startswith("estimated from") and card["quality"]["vertex_mm"] > 0
    for c in CHAPTERS:
        if c.number not in FITS_A_SAMPLER:
            continue
        code = "\n".join(cell.source for cell in nbformat.read(notebooks / f"{c.stem}.ipynb", 4).cells
                         if cell.cell_type == "code")
        assert "reference_population(" not in code and "shifted_population(" not in code, c.stem
        ran = nbformat.read(out / f"{c.stem}.ipynb", 4)
        printed = "".join(o.get("text", "") for cell in ran.cells if cell.cell_type == "code" for o in cell.outputs)
        assert "fitted set: " in printed and card["source"] in printed, c.stem


@pytest.mark.slow
def test_chapter_05_writes_the_study_tables(smoke_suite):
    import pandas as pd

    from thesislib.suite import output_path

    out, _ = smoke_suite
    pairs = pd.read_csv(output_path(out, "05", "comparisons"))
    assert list(pairs.columns) == ["test_set", "metric", "sampler_a", "sampler_b", "mean", "low", "high", "p_value",
                                   "p_adjusted"]
    assert set(pairs.test_set) == {"held-out", "shifted", "new backgrounds"}
    assert (pairs.p_adjusted >= pairs.p_value - 1e-12).all()
    geometry = pd.read_csv(output_path(out, "05", "geometry"))
    assert {"test_set", "draws", "faces", "vertex_mm", "vertex_low", "vertex_high"} <= set(geometry.columns)
    assert (geometry.loc[geometry["head"] == "bprn", "draws"] == 2).all()  # smoke.yaml: 2 draws
    assert {"model mean face", "fitted-set mean face", "population mean face (oracle)"} <= set(geometry.sampler)
    steps = pd.read_csv(output_path(out, "05", "decomposition"))
    assert {"mean", "scale", "covariance"} <= set(steps.step)


@pytest.mark.slow
def test_chapter_07_writes_the_scale_tables(smoke_suite):
    """The scale chapter (smoke.yaml names it): every sampler, head and size on every test set,
    the mean face beside them, and the two answers' tables."""
    import pandas as pd

    from thesislib.suite import output_path
    from thesislib.suite.params import load_params

    out, _ = smoke_suite
    cfg = load_params(Path(__file__).resolve().parents[2] / "params" / "smoke.yaml").scale
    curves = pd.read_csv(output_path(out, "07", "curves"))
    nets = curves[curves["head"] != "baseline"]
    assert set(nets.test_set) == set(cfg.test_sets) and set(nets.sampler) == set(cfg.samplers)
    assert set(nets["head"]) == {"ridge", "thesis", "bprn"} and sorted(nets.n_images.unique()) == cfg.sizes
    assert len(nets) == len(cfg.test_sets) * len(cfg.samplers) * 3 * len(cfg.sizes)
    assert (curves.loc[curves["head"] == "baseline", "sampler"] == "mean face").all()
    assert (nets.lo <= nets.vertex_mm).all() and (nets.vertex_mm <= nets.hi).all()
    order = pd.read_csv(output_path(out, "07", "order"))
    assert sorted(order["rank"].unique()) == list(range(1, len(cfg.samplers) + 1))
    gaps = pd.read_csv(output_path(out, "07", "head_gaps"))
    assert len(gaps) == len(cfg.test_sets) * len(cfg.samplers) * len(cfg.sizes)
    costs = pd.read_csv(output_path(out, "07", "costs"))
    assert (costs.loc[costs["head"] != "ridge", "epochs"] <= cfg.epochs).all()
