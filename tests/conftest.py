import os

import numpy as np
import pytest

# numba spin-waits when its threads outnumber free cores; tests run beside other work
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")


@pytest.fixture(scope="session")
def face_model():
    """The embedded default model (built once, then read from the disk cache)."""
    from thesislib.model import default_model

    return default_model()


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
