"""Errors raised by bookslot-factories.

Every error is a :class:`BookslotError`; most are also a builtin ``ValueError`` so
callers can catch either::

    BookslotError
    ├── ConfigError(ValueError)     a config file or mapping is invalid
    ├── VariantError(ValueError)    a factory parameter, variant or seed is invalid
    ├── LocationError(LookupError)  a ZIP code is not in the data set
    ├── PayloadError(ValueError)    one payload breaks a rule
    └── DataFileError(ValueError)   a data file cannot be read, written or validated

This module imports nothing of ours, so every other module can use it.
"""

from __future__ import annotations

__all__ = [
    "BookslotError",
    "ConfigError",
    "DataFileError",
    "LocationError",
    "PayloadError",
    "VariantError",
]


class BookslotError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigError(BookslotError, ValueError):
    """A config file or mapping has an unknown key or a bad value."""


class VariantError(BookslotError, ValueError):
    """A factory parameter, variant, seed or count is invalid or conflicts with another."""


class LocationError(BookslotError, LookupError):
    """A ZIP code (or state) is not in the ZIP data set."""


class PayloadError(BookslotError, ValueError):
    """A payload breaks one of the payload rules.

    Attributes:
        field: The offending field, or ``None`` when the payload as a whole is wrong.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DataFileError(BookslotError, ValueError):
    """A data file cannot be read, parsed, validated or written.

    The message names the file, and where known the record (counted from 1), the
    line and the field.

    Attributes:
        path: The file.
        record: The 1-based record number, if the problem is in one record.
        line: The 1-based line number, if the format has lines and it is known.
        field: The offending field, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        record: int | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = [f"{path}"]
        if record is not None:
            where.append(f"record {record}")
        if line is not None:
            where.append(f"line {line}")
        super().__init__(f"{', '.join(where)}: {message}")
        self.path = path
        self.record = record
        self.line = line
        self.field = field
        self.reason = message
