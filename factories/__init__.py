"""Realistic, reproducible, valid fake booking payloads for the bookslot app.

>>> from bookslot_factories import BookslotPayloadFactory, FIELDS, seed
>>> seed(1)
>>> tuple(BookslotPayloadFactory.build()) == FIELDS
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import Config, configure
from .errors import (
    BookslotError,
    ConfigError,
    DataFileError,
    LocationError,
    PayloadError,
    VariantError,
)
from .model import FIELDS, BookslotPayload, BookslotPayloadDict, Insurance, PatientIntake
from .rules import validate
from .seeding import seed

if TYPE_CHECKING:  # pragma: no cover
    from .bookslot import BookslotPayloadFactory, Variant
    from .files import check, iter_load, load, save
    from .insurance import InsuranceFactory
    from .intake import PatientIntakeFactory
    from .legacy import (
        generate_and_save_bookslot_data,
        generate_bookslot_payload,
        generate_bookslot_payload_with_options,
        load_bookslot_data,
    )

# These load on first use. The file functions: PyYAML, orjson and the writers would
# cost start-up time to every test run and every `bookslot-data sample`. The
# factories: factory_boy imports SQLAlchemy when it is installed (about a second),
# which `bookslot-data generate` and the bulk engine never need. Their seeded streams
# start from the seed in force when they load, so the data does not depend on when.
_LAZY = {
    "BookslotPayloadFactory": ".bookslot",
    "InsuranceFactory": ".insurance",
    "PatientIntakeFactory": ".intake",
    "Variant": ".bookslot",
    "check": ".files",
    "generate_and_save_bookslot_data": ".legacy",
    "generate_bookslot_payload": ".legacy",
    "generate_bookslot_payload_with_options": ".legacy",
    "iter_load": ".files",
    "load": ".files",
    "load_bookslot_data": ".legacy",
    "save": ".files",
}


def __getattr__(name: str) -> Any:
    """Import the factories and the file functions on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
