"""Run the app under uvicorn on a socket bound here, so port 0 tells its real port."""

from __future__ import annotations

import socket
import sys

import uvicorn

from ..config import Config
from .app import DEFAULT_MAX_BODY, create_app

__all__ = ["LOOPBACK", "serve"]

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def serve(
    host: str,
    port: int,
    *,
    cfg: Config,
    config_path: str | None,
    max_count: int,
    max_body: int = DEFAULT_MAX_BODY,
) -> None:
    """Serve until Ctrl-C (or SIGTERM); uvicorn finishes the requests in flight.

    Raises:
        OSError: The address cannot be bound.
    """
    if host not in LOOPBACK:
        print(
            f"warning: serving on {host}: anyone who reaches this machine can use it; "
            "the default 127.0.0.1 keeps it local",
            file=sys.stderr,
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    app = create_app(cfg=cfg, config_path=config_path, max_count=max_count, max_body=max_body)
    print(f"serving http://{host}:{sock.getsockname()[1]}/ (Ctrl-C stops)", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=5)
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
