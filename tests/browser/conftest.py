"""Real-browser tests: a real ASGI server (uvicorn, HTTP and WebSockets) in a thread, driven by
Chromium through Playwright's sync API.

The server thread shares the test database, so these tests use ``transactional_db``: data created
by the test is committed and visible to the server's connections. On SQLite the test database is
Django's shared-cache in-memory database, which every connection of this process sees; on
PostgreSQL it is the usual test database (as the application role, see tests/conftest.py).

Needs Chromium at /usr/bin/chromium (CI installs it). Never run ``playwright install``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

CHROMIUM = Path(os.environ.get("HELPDESK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SHOTS_DIR = Path(os.environ.get("HELPDESK_SHOTS_DIR", "/tmp/shots-ws"))  # noqa: S108


def _sqlite_db_is_private() -> bool:
    """An in-memory SQLite database that other connections cannot see (not shared-cache)."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        return False
    return "cache=shared" not in str(connection.settings_dict["NAME"])


@pytest.fixture
def asgi_server(transactional_db):
    """The project's ASGI application (helpdesk.asgi) served by uvicorn on a free local port."""
    if _sqlite_db_is_private():
        pytest.skip("the SQLite test database is a private in-memory one the server cannot see")
    import uvicorn

    from helpdesk.asgi import application

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        application, lifespan="off", log_level="warning", access_log=False, ws_ping_interval=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def chromium():
    """Launches Chromium through Playwright's sync API: ``with chromium() as browser: ...``.

    Keep database work outside the ``with`` block: Playwright runs an event loop in this thread
    while it is open, and Django would hand the test a second connection there (refused as
    "async unsafe", and left open at the end).
    """
    if not CHROMIUM.exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (CI installs it)")
    from playwright.sync_api import sync_playwright

    SHOTS_DIR.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def launch():
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()

    return launch


@pytest.fixture
def shots_dir() -> Path:
    return SHOTS_DIR
