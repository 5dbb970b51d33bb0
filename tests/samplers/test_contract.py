"""One contract over every sampler and generative model in the registry (DESIGN.md,
"Conventions"): ``__init__`` only stores settings, ``fit`` returns self and sets attributes
ending in ``_``, ``sample(n, rng)`` returns fresh (n, d) float64 draws from the passed
:class:`numpy.random.Generator`, the same seed gives the same draws."""
import copy

import numpy as np
import pytest

from thesislib.samplers import SAMPLERS, make_sampler, samplers_needing_fit

D = 5
#: small settings for the expensive entries, so the contract runs in seconds
SMALL = {
    "gmm": dict(n_components=2, covariance_type="diag"),
    "cvgan1": dict(epochs=2, batch_size=50, hidden=(16, 16), progress=False, seed=0),
    "cvgan2": dict(epochs=2, batch_size=50, hidden=(16, 16), progress=False, seed=0),
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _build(name):
    settings = dict(SMALL.get(name, {}))
    if name not in samplers_needing_fit():
        settings["n_params"] = D
    return make_sampler(name, **settings)


def _fitted_set(seed=0, m=200):
    """(m, D) rows with structure, plus ages and sexes (used by the samplers that take them)."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, m).astype(float)
    age = rng.uniform(18, 80, m)
    X = 0.5 * rng.standard_normal((m, D))
    X[:, 0] += 2.0 * (2 * sex - 1)
    X[:, 1] += (age - 49) / 15
    return X, age, sex


def _settings(s) -> dict:
    """What ``__init__`` stored: the public attributes that are not fitted (no trailing ``_``)."""
    return {k: copy.deepcopy(v) for k, v in vars(s).items() if not k.startswith("_") and not k.endswith("_")}


def _fit(s, data):
    X, age, sex = data
    return s.fit(X, age, sex) if hasattr(s, "sample_with_labels") else s.fit(X)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_contract(name):
    s = _build(name)
    settings = _settings(s)
    assert not [k for k in vars(s) if k.endswith("_") and not k.startswith("_")], "__init__ set fitted attributes"
    data = _fitted_set()
    if name in samplers_needing_fit():
        with pytest.raises(RuntimeError):
            s.sample(2, np.random.default_rng(0))
        assert _fit(s, data) is s
        assert any(k.endswith("_") and not k.startswith("_") for k in vars(s))
        assert _settings(s) == settings  # fit leaves the settings as they were
    rng = np.random.default_rng(1)
    a, b = s.sample(64, rng), s.sample(64, rng)
    assert a.shape == (64, D) and a.dtype == np.float64 and np.isfinite(a).all()
    assert not np.array_equal(a, b)  # fresh draws each call
    assert s.sample(0, rng).shape == (0, D)
    np.testing.assert_array_equal(s.sample(10, np.random.default_rng(7)), s.sample(10, np.random.default_rng(7)))
    twin = _build(name)
    assert _settings(twin) == settings
    if name in samplers_needing_fit():
        _fit(twin, data)
    np.testing.assert_array_equal(twin.sample(10, np.random.default_rng(7)), s.sample(10, np.random.default_rng(7)))
    with pytest.raises((TypeError, AttributeError)):
        s.sample(3, 7)  # randomness only through a passed Generator
