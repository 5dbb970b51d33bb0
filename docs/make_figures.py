"""Regenerate the README pictures: `.venv/bin/python docs/make_figures.py`."""
from pathlib import Path

import numpy as np
from PIL import Image

from thesislib.model import default_model
from thesislib.render import render
from thesislib.scene import SceneSampler

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


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    print(faces_png())
