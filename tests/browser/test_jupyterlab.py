"""The live widgets in a real JupyterLab, driven by headless Chromium like a user would.

JupyterLab starts on 127.0.0.1 with a random token over a temporary copy of the notebooks
(smoke-size values injected below each parameters cell with papermill, so a run takes seconds,
not the dev profile's minutes). The test opens ``01_event_space`` (and ``04_gan`` once it
exists), runs all cells from the Run menu, waits for the widget, drags a slider and checks that
the rendered face changed. Screenshots land in ``outputs/screenshots/jupyterlab/``.
"""
from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.browserkit import ROOT, Recorder, screenshot_dir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

RUN_TIMEOUT_MS = 150_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _smoke_copy(stem: str, dest: Path, out_dir: Path) -> Path:
    """The notebook with the smoke profile's values injected after its parameters cell."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from thesislib.suite.params import CHAPTERS, load_params, notebook_parameters

    chapter = next(c for c in CHAPTERS if c.stem == stem)
    values = notebook_parameters(load_params(ROOT / "params" / "smoke.yaml"), chapter, out_dir)
    nb = parameterize_notebook(load_notebook_node(str(ROOT / "notebooks" / f"{stem}.ipynb")), values)
    for cell in nb.cells:  # a clean notebook, as a user opens it
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    path = dest / f"{stem}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base URL, token, notebook folder) of a JupyterLab server on 127.0.0.1."""
    pytest.importorskip("jupyterlab")
    home = tmp_path_factory.mktemp("lab")
    nbdir, out = home / "notebooks", home / "out"
    nbdir.mkdir()
    for stem in ("01_event_space", "04_gan"):
        if (ROOT / "notebooks" / f"{stem}.ipynb").exists():
            _smoke_copy(stem, nbdir, out)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               NUMBA_THREADING_LAYER=os.environ.get("NUMBA_THREADING_LAYER", "workqueue"))
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={nbdir}", "--ServerApp.port_retries=0",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=",
         "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=nbdir)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"JupyterLab did not start: {(home / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    try:
        yield base, token, nbdir
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _open_and_run(browser, lab, stem):
    base, token, nbdir = lab
    if not (nbdir / f"{stem}.ipynb").exists():
        pytest.skip(f"notebooks/{stem}.ipynb does not exist yet")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    rec = Recorder(page)
    page.goto(f"{base}/lab/tree/{stem}.ipynb?token={token}", wait_until="domcontentloaded", timeout=90_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    try:  # "Would you like to get notified about official Jupyter news?" covers the corner
        page.get_by_role("button", name="No", exact=True).click(timeout=5_000)
    except PlaywrightTimeout:
        pass
    # wait for the kernel, then Run > Run All Cells (the menu a user clicks)
    page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
    page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
        return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel
               && w.sessionContext.session.kernel.status === 'idle'; }""", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).first.click()
    item = page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).first
    try:
        item.click(timeout=15_000)
    except PlaywrightTimeout:  # menu layout changed: the same command, as the menu would run it
        page.screenshot(path=str(screenshot_dir("jupyterlab") / f"{stem}_menu.png"))
        page.keyboard.press("Escape")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # done when every code cell has an execution count and the kernel is idle again
    page.wait_for_function("""() => {
        const nb = window.jupyterapp.shell.currentWidget;
        const cells = nb.content.widgets.filter(c => c.model.type === 'code');
        return cells.every(c => c.model.executionCount !== null)
               && nb.sessionContext.session.kernel.status === 'idle'; }""", timeout=RUN_TIMEOUT_MS, polling=500)
    errors = page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .filter(c => c.model.type === 'code')
        .flatMap(c => c.model.outputs.toJSON()).filter(o => o.output_type === 'error')
        .map(o => o.ename + ': ' + o.evalue)""")
    assert not errors, f"{stem}: cells raised {errors}"
    return page, rec


def _slider(page, label: str):
    """The ipywidgets slider whose description contains ``label``."""
    return page.locator(".widget-slider", has=page.locator(".widget-label", has_text=label)).first


def _move(page, slider, presses: int = 10) -> str:
    """Focus the slider's handle and press arrow keys (the slider's own keyboard control, as a
    user does), toward the far end from where it stands; drag with the mouse if the readout did
    not move. Returns the readout."""
    readout = slider.locator(".widget-readout").first
    start = readout.text_content()
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    now, lo, hi = (float(handle.get_attribute(a) or "nan") for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
    right = not (now > (lo + hi) / 2)  # NaN (no aria values): go right
    handle.click()
    for _ in range(presses):
        handle.press("ArrowRight" if right else "ArrowLeft")
        page.wait_for_timeout(150)
    if readout.text_content() == start:
        handle.scroll_into_view_if_needed()
        hb = handle.bounding_box()
        rb = slider.locator(".noUi-target").first.bounding_box()
        page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
        page.mouse.down()
        page.mouse.move(rb["x"] + (0.9 if right else 0.1) * rb["width"], hb["y"] + hb["height"] / 2, steps=8)
        page.mouse.up()
    return readout.text_content()


_FACE_IMAGES = """() => [...document.querySelectorAll('.jp-OutputArea .widget-html img, .jp-OutputArea .widget-image')]
    .map(im => im.getAttribute('src') || '')"""


_MESH_SIGNATURE = """() => { const gd = document.querySelector('.jp-OutputArea .widget-box .js-plotly-plot');
    if (!gd || !gd._fullData || !gd._fullData.length) return null;
    const t = gd._fullData[0], n = Math.min(t.x.length, 4000); let s = 0;
    for (let i = 0; i < n; i++) s += t.x[i] * 1.3 + t.y[i] * 0.7 + t.z[i]; return s; }"""


def _check_face_changes(page, slider_labels, stem: str, shot: str, mesh: bool = False) -> None:
    page.wait_for_selector(".jp-OutputArea .widget-slider", timeout=60_000)
    for slider_label in slider_labels:
        _check_one_slider(page, slider_label, stem, shot, mesh)


def _check_one_slider(page, slider_label: str, stem: str, shot: str, mesh: bool) -> None:
    slider = _slider(page, slider_label)
    assert slider.count(), f"{stem}: no slider labelled {slider_label!r}"
    page.wait_for_function(f"() => ({_FACE_IMAGES})().some(s => s.startsWith('data:image'))", timeout=60_000)
    before = page.evaluate(_FACE_IMAGES)
    mesh_before = page.evaluate(_MESH_SIGNATURE) if mesh else None
    if mesh:
        assert mesh_before is not None, f"{stem}: the live 3D face (plotly FigureWidget) was not drawn"
    moved_to = _move(page, slider)
    try:
        page.wait_for_function(f"(b) => JSON.stringify(({_FACE_IMAGES})()) !== JSON.stringify(b)", arg=before,
                               timeout=30_000)
    except Exception:
        page.screenshot(path=str(screenshot_dir("jupyterlab") / f"{shot}_FAILED.png"))
        raise AssertionError(f"{stem}: moving the {slider_label!r} slider (readout now {moved_to!r}) did not change "
                             f"the face image ({len(before)} images seen)") from None
    if mesh:
        try:
            page.wait_for_function(f"(b) => ({_MESH_SIGNATURE})() !== b", arg=mesh_before, timeout=30_000)
        except Exception:
            raise AssertionError(f"{stem}: the render changed but the live 3D mesh did not") from None
    tag = re.sub(r"[^A-Za-z0-9]+", "", slider_label) or "sigma"
    slider.screenshot(path=str(screenshot_dir("jupyterlab") / f"{shot}_{tag}_slider.png"))
    page.screenshot(path=str(screenshot_dir("jupyterlab") / f"{shot}_{tag}.png"))


def test_face_explorer_pca_slider(browser, lab):
    start = time.perf_counter()
    page, rec = _open_and_run(browser, lab, "01_event_space")
    try:
        # the live 3D mesh (plotly FigureWidget) is drawn too
        page.wait_for_selector(".jp-OutputArea .js-plotly-plot .main-svg", timeout=60_000)
        _check_face_changes(page, ["σ"], "01_event_space", "01_face_explorer", mesh=True)
        foreign = rec.foreign_requests()
        assert not foreign, f"JupyterLab page asked other hosts for {foreign}"
        print(f"01_event_space in JupyterLab: {time.perf_counter() - start:.0f} s; console errors: {rec.errors}")
    finally:
        page.close()


def test_gan_age_slider(browser, lab):
    start = time.perf_counter()
    page, rec = _open_and_run(browser, lab, "04_gan")
    try:
        _check_face_changes(page, ["age", "sex"], "04_gan", "04_age_sex_explorer", mesh=True)
        foreign = rec.foreign_requests()
        assert not foreign, f"JupyterLab page asked other hosts for {foreign}"
        print(f"04_gan in JupyterLab: {time.perf_counter() - start:.0f} s; console errors: {rec.errors}")
    finally:
        page.close()
