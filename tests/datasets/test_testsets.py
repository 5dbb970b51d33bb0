"""Test sets: real-like renders of a population, the same bytes for any worker count."""
import numpy as np

from thesislib.datasets import realistic_scenes, realistic_test_set
from thesislib.datasets import testsets


def test_population_renders_are_landmark_crops_and_the_same_on_two_workers(face_model, monkeypatch):
    from thesislib.imaging import landmark_crop, render

    model = face_model.truncated(20, 10, 0)
    one = realistic_test_set(5, seed=8, model=model)
    monkeypatch.setattr(testsets, "RENDER_CHUNK", 2)  # three tasks
    two = realistic_test_set(5, seed=8, model=model, workers=2)
    np.testing.assert_array_equal(one.images, two.images)
    assert one.images.shape == (5, 224, 224, 3) and one.ids == two.ids
    scenes = realistic_scenes().sample_many(5, np.random.default_rng([8, 1]))
    for k in (0, 4):
        p = one.params[k]
        r = render(model.instance(p[:20], p[20:]), scenes[k])
        np.testing.assert_array_equal(one.images[k], landmark_crop(r.image, r.landmarks, r.landmark_visible).image)
