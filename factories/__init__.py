"""Realistic, reproducible, valid fake booking payloads for the bookslot app.

>>> from bookslot_factories import BookslotPayloadFactory, FIELDS, seed
>>> seed(1)
>>> tuple(BookslotPayloadFactory.build()) == FIELDS
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .bookslot import BookslotPayloadFactory, Variant
from .config import Config, configure
from .errors import (
    BookslotError,
    ConfigError,
    DataFileError,
    LocationError,
    PayloadError,
    VariantError,
)
from .insurance import InsuranceFactory
from .intake import PatientIntakeFactory
from .legacy import (
    generate_and_save_bookslot_data,
    generate_bookslot_payload,
    generate_bookslot_payload_with_options,
    load_bookslot_data,
)
from .model import FIELDS, BookslotPayload, BookslotPayloadDict, Insurance, PatientIntake
from .rules import validate
from .seeding import seed

if TYPE_CHECKING:  # pragma: no cover
    from .files import check, iter_load, load, save

# The file functions load on first use: PyYAML, orjson and the writers would cost
# start-up time to every test run and every `bookslot-data sample`.
_LAZY = {"check", "iter_load", "load", "save"}


def __getattr__(name: str) -> Any:
    """Import the file functions on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".files", __name__), name)
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
    "Insurance",
    "InsuranceFactory",
    "LocationError",
    "PatientIntake",
    "PatientIntakeFactory",
    "PayloadError",
    "Variant",
    "VariantError",
    "check",
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
