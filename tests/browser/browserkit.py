"""Helpers for the real-browser tests: Debian's headless Chromium driven by Playwright.

Chromium comes from Debian (``make test`` installs it as root; never ``playwright install``).
Without it, or without the ``playwright`` package, these tests are skipped with the reason.

Environment
-----------
THESISLIB_CHROMIUM      browser executable (default /usr/bin/chromium)
THESISLIB_REPORTS_DIR   an existing suite output folder (e.g. outputs/smoke) to check instead of
                        running the smoke suite again
THESISLIB_SCREENSHOTS   where screenshots go (default outputs/screenshots/ of the checkout)
"""
from __future__ import annotations

import http.server
import os
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("THESISLIB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--disable-default-apps", "--disable-extensions"]


def screenshot_dir(name: str) -> Path:
    base = Path(os.environ.get("THESISLIB_SCREENSHOTS", ROOT / "outputs" / "screenshots"))
    d = base / name
    d.mkdir(parents=True, exist_ok=True)
    return d


class Recorder:
    """Console errors, uncaught page errors and every requested URL of one page."""

    def __init__(self, page, allowed_hosts=("127.0.0.1",)):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.allowed_hosts = set(allowed_hosts)
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def foreign_requests(self) -> list[str]:
        bad = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in self.allowed_hosts:
                continue
            bad.append(url)
        return bad


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; answers the browser's own /favicon.ico probe with 204 (not a report error)."""

    def do_GET(self):
        if self.path.split("?")[0] == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):  # keep pytest output clean
        pass
