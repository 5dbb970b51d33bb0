"""AgeSexExplorer (live GAN browser) and its static twin: update logic without a browser."""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")

from thesislib.samplers.gan.estimator import CVGAN2  # noqa: E402
from thesislib.viz import AgeSexExplorer, age_sex_frames  # noqa: E402


@pytest.fixture(scope="module")
def small(face_model):
    rng = np.random.default_rng(0)
    model = face_model.truncated(n_shape=4, n_color=3)
    X = rng.normal(size=(120, 7))
    age, sex = rng.uniform(18, 80, 120), (rng.random(120) < 0.5).astype(float)
    gan = CVGAN2(epochs=1, batch_size=60, hidden=(16,), progress=False, seed=0).fit(X, age, sex)
    return gan, model


def test_sliders_change_labels_with_z_fixed(small):
    gan, model = small
    ex = AgeSexExplorer(gan, model, rng=np.random.default_rng(1), age=30, sex=0.0)
    z0 = ex.z.copy()
    np.testing.assert_allclose(ex.params, gan.generate(z0, 30, 0.0))
    image0 = ex.image.value
    seconds = ex.set(age=75, sex=1.0)
    assert seconds > 0 and ex.last_update_seconds == seconds
    np.testing.assert_array_equal(ex.z, z0)
    np.testing.assert_allclose(ex.params, gan.generate(z0, 75, 1.0))
    verts = model.vertices(ex.params[:4]).astype(np.float32)
    np.testing.assert_allclose(np.asarray(ex.figure.data[0].x), verts[:, 0], rtol=1e-6)
    assert ex.image.value != image0 and ex.image.value.startswith('<img src="data:image/jpeg;base64,')
    assert "age 75" in ex.status.value


def test_slider_callback_and_new_z(small):
    gan, model = small
    ex = AgeSexExplorer(gan, model, rng=np.random.default_rng(2))
    z0 = ex.z.copy()
    ex.age.value = 60.0  # a user moving the slider
    np.testing.assert_allclose(ex.params, gan.generate(z0, 60.0, ex.sex.value))
    ex.new_face()
    assert not np.allclose(ex.z, z0)
    np.testing.assert_allclose(ex.params, gan.generate(ex.z, 60.0, ex.sex.value))
    z1 = ex.z.copy()
    ex.new_z.click()  # the button does the same
    assert not np.allclose(ex.z, z1)


def test_static_twin_groups(small):
    gan, model = small
    z = np.random.default_rng(3).standard_normal(gan.latent_dim)
    groups = age_sex_frames(gan, model, z, [18, 49, 80], [0.0, 1.0])
    assert list(groups) == ["sex 0.00", "sex 1.00"]
    assert list(groups["sex 1.00"]) == ["18 y", "49 y", "80 y"]
    assert all(img.shape == (227, 227, 3) and img.dtype == np.uint8
               for frames in groups.values() for img in frames.values())
