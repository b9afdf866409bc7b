"""``bookslot-data serve``: the payloads over HTTP, byte for byte what the CLI writes.

Needs the ``serve`` extra (FastAPI and uvicorn): ``pip install 'bookslot-factories[serve]'``.
This package is the only one of ours that imports the web framework.
"""

from __future__ import annotations

from .app import DEFAULT_MAX_BODY, DEFAULT_MAX_COUNT, create_app

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_COUNT", "create_app"]
