"""Fixtures for the real-browser tests (helpers and settings in ``browserkit``)."""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from tests.browser.browserkit import CHROMIUM, CHROMIUM_ARGS, QuietHandler


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}: run `make test` as root (it installs Debian's chromium) "
                    "or set THESISLIB_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def serve():
    """serve(folder) -> base URL of a thread serving that folder on 127.0.0.1."""
    servers = []

    def start(folder) -> str:
        handler = functools.partial(QuietHandler, directory=str(folder))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
