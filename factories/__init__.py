"""Realistic, reproducible, valid fake booking payloads for the bookslot app.

>>> from factories import BookslotPayloadFactory, FIELDS, seed
>>> seed(1)
>>> tuple(BookslotPayloadFactory.build()) == FIELDS
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from factories.bookslot import (
    BookslotPayload,
    BookslotPayloadDict,
    BookslotPayloadFactory,
    Variant,
    generate_bookslot_payload,
    generate_bookslot_payload_with_options,
)
from factories.config import FIELDS, Config, configure
from factories.errors import (
    BookslotError,
    ConfigError,
    DataFileError,
    LocationError,
    PayloadError,
    VariantError,
)
from factories.rules import validate
from factories.seeding import seed

if TYPE_CHECKING:  # pragma: no cover
    from factories.datasets import generate_and_save_bookslot_data, load_bookslot_data
    from factories.export import iter_load, load, save

# The file functions load on first use: PyYAML and the writers would cost start-up
# time to every test run and every `bookslot-data sample`.
_LAZY = {
    "generate_and_save_bookslot_data": "factories.datasets",
    "load_bookslot_data": "factories.datasets",
    "iter_load": "factories.export",
    "load": "factories.export",
    "save": "factories.export",
}


def __getattr__(name: str) -> Any:
    """Import the file functions on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'factories' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "FIELDS",
    "BookslotError",
    "BookslotPayload",
    "BookslotPayloadDict",
    "BookslotPayloadFactory",
    "Config",
    "ConfigError",
    "DataFileError",
    "LocationError",
    "PayloadError",
    "Variant",
    "VariantError",
    "configure",
    "generate_and_save_bookslot_data",
    "generate_bookslot_payload",
    "generate_bookslot_payload_with_options",
    "iter_load",
    "load",
    "load_bookslot_data",
    "save",
    "seed",
    "validate",
]
