"""Realistic, reproducible, valid fake booking payloads for the bookslot app.

>>> from factories import BookslotPayloadFactory, FIELDS, seed
>>> seed(1)
>>> tuple(BookslotPayloadFactory.build()) == FIELDS
True
"""

from __future__ import annotations

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
    "generate_bookslot_payload",
    "generate_bookslot_payload_with_options",
    "seed",
    "validate",
]
