"""Regenerate the README pictures: `.venv/bin/python docs/make_figures.py`."""
from pathlib import Path

import numpy as np
from PIL import Image

from thesislib.facemodel import default_model
from thesislib.imaging import render
from thesislib.imaging import SceneSampler

HERE = Path(__file__).parent / "images"


def faces_png(seed: int = 3) -> Path:
    """Top: the mean face and five N(0, 1) faces (default scene). Bottom: six N(0, 1) faces
    under the dataset scene sampler (yaw up to 35°, built-in light prior, procedural backgrounds)."""
    m = default_model().truncated(50, 50, 0)
    rng = np.random.default_rng(seed)
    draw = lambda: m.instance(shape=rng.normal(size=50), color=rng.normal(size=50))
    top = [render(m.instance()).image] + [render(draw()).image for _ in range(5)]
    scenes = SceneSampler(max_yaw=35)
    bottom = [render(draw(), scenes.sample(rng)).image for _ in range(6)]
    path = HERE / "faces.png"
    Image.fromarray(np.concatenate([np.concatenate(top, 1), np.concatenate(bottom, 1)], 0)).save(path, optimize=True)
    return path


def report_figure(report, index: int, name: str) -> Path:
    """Screenshot the ``index``-th plotly figure of an exported report (headless Chromium)."""
    from playwright.sync_api import sync_playwright

    path = HERE / name
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(Path(report).resolve().as_uri())
        page.wait_for_timeout(3000)
        figure = page.query_selector_all(".js-plotly-plot")[index]
        figure.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        figure.screenshot(path=str(path))
        browser.close()
    return path


def first_screen(report, name: str, width: int = 1280, height: int = 900) -> Path:
    """Screenshot what a reader sees first on opening an exported page (headless Chromium)."""
    from playwright.sync_api import sync_playwright

    path = HERE / name
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(Path(report).resolve().as_uri())
        page.wait_for_timeout(2000)
        page.screenshot(path=str(path))
        browser.close()
    return path


if __name__ == "__main__":
    import sys

    HERE.mkdir(exist_ok=True)
    print(faces_png())
    reports = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("outputs/default")
    if (reports / "04_gan.html").exists():  # chapter figures from a `make run`
        print(report_figure(reports / "04_gan.html", 2, "gan_age_sex.png"))
    if (reports / "index.html").exists():
        print(first_screen(reports / "index.html", "index.png"))
    if (reports / "05_bprn.html").exists():
        print(first_screen(reports / "05_bprn.html", "05_first_screen.png"))
