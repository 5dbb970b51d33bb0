import os

import numpy as np
import pytest

# numba spin-waits when its threads outnumber free cores; tests run beside other work
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")


@pytest.fixture(scope="session")
def face_model():
    """The embedded default model (built once, then read from the disk cache)."""
    from thesislib.facemodel import default_model

    return default_model()


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (GAN training is then reproducible bit for bit)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def smoke_suite(tmp_path_factory):
    """The whole suite on params/smoke.yaml, run once per test session: (output dir, exit code).

    Shared by the notebook test and the browser tests, so CI runs the suite only once.
    Runs under umask 022 (restored after), so a test can check the files are shared-readable.
    """
    from pathlib import Path

    from thesislib.suite import cli

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("suite") / "smoke"
    saved = os.umask(0o022)
    try:
        code = cli.main(["run", "--params", str(root / "params" / "smoke.yaml"), "--out", str(out), "--quiet"])
    finally:
        os.umask(saved)
    return out, code


#: fixtures that read the session's one smoke run: their tests share one xdist worker
SMOKE_FIXTURES = {"smoke_suite", "reports"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test`` runs ``-n``), tests that read the smoke run go to one
    worker (``--dist loadgroup``), so the suite still runs once per test session."""
    for item in items:
        if SMOKE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("smoke_suite"))
