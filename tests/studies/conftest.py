"""Fixtures of the study tests."""
import numpy as np
import pytest


@pytest.fixture
def fake_dlib(monkeypatch):
    """A cheap deterministic stand-in for the dlib descriptor (a function of the pixels)."""
    from thesislib.bprn import stems

    def fake(image):
        img = np.asarray(image, np.float32)
        return np.resize(img.mean(axis=(0, 1)), 128) + np.arange(128, dtype=np.float32) * img.std() / 1e3

    monkeypatch.setattr(stems, "dlib_features_many", lambda images: np.stack([fake(im) for im in images]))
