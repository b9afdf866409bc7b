"""A real uvicorn on 127.0.0.1 with a free port, serving create_app, for the whole session."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

# A dev machine without the serve extra skips; CI (CI=1) must fail instead.
if not os.environ.get("CI"):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    pytest.importorskip("httpx")

import uvicorn
from bookslot_factories.server import create_app

MAX_COUNT = 50_000
MAX_BODY = 1_000_000


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """The URL of a real server of ``create_app(max_count=MAX_COUNT, max_body=MAX_BODY)``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(max_count=MAX_COUNT, max_body=MAX_BODY), log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()
