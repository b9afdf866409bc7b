"""Errors raised by bookslot-factories.

Every error is a :class:`BookslotError`; most are also a builtin ``ValueError`` so
callers can catch either::

    BookslotError
    ├── ConfigError(ValueError)     a config file or mapping is invalid
    ├── VariantError(ValueError)    a variant, seed, date, count or worker number is invalid
    ├── LocationError(LookupError)  a ZIP code is not in the data set
    ├── PayloadError(ValueError)    one payload breaks a rule
    ├── DataFileError(ValueError)   a data file cannot be read, written or validated
    │   └── ClosedPipeError(BrokenPipeError)  the reader of a pipe stopped reading
    ├── DatabaseError(ValueError)   a database cannot be reached, written or validated
    └── MissingExtraError(ImportError)  an optional dependency is not installed

This module imports nothing of ours, so every other module can use it; so does
:func:`excerpt`, the one way a message quotes a value.
"""

from __future__ import annotations

import datetime

__all__ = [
    "BookslotError",
    "ClosedPipeError",
    "ConfigError",
    "DataFileError",
    "DatabaseError",
    "LocationError",
    "MissingExtraError",
    "PayloadError",
    "VariantError",
    "excerpt",
]


def excerpt(value: object, limit: int = 40) -> str:
    """Return a short, safe ``repr`` of a value for an error message.

    Containers are described, never printed: a YAML alias bomb would print forever.

    >>> excerpt("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"
    >>> excerpt([1, 2])
    'a list'
    """
    if isinstance(value, str):
        text = repr(value[: limit + 1])
        return text if len(value) <= limit else text[: limit - 3] + "...'"
    if isinstance(value, int) and value.bit_length() > 128:
        # repr() of an int of more than 4,300 digits raises (CVE-2020-10735).
        return f"an integer of about {int(value.bit_length() * 0.30103):,} digits"
    if value is None or isinstance(value, (bool, int, float, datetime.date, datetime.time)):
        text = repr(value)
        return text if len(text) <= limit else text[: limit - 3] + "..."
    return f"a {type(value).__name__}"


class BookslotError(Exception):
    """Base class of every error this library raises on purpose."""


class ConfigError(BookslotError, ValueError):
    """A config file or mapping has an unknown key or a bad value."""


class VariantError(BookslotError, ValueError):
    """A variant, seed, reference date, count or worker number is invalid.

    Also raised for variants that exclude each other (``young`` and ``senior``).
    """


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


class ClosedPipeError(DataFileError, BrokenPipeError):
    """The reader of a pipe or FIFO went away while we wrote (``| head``).

    Also a ``BrokenPipeError``: the command line ends quietly on it, as a reader
    that stopped reading is not a failure of the writer.
    """


class DatabaseError(BookslotError, ValueError):
    """A database cannot be reached, or a table cannot be written, read or validated.

    The message names the database (never its password), and where known the table,
    the row id and the field.

    Attributes:
        table: The table, if the problem is in one.
        row: The row's ``id``, if the problem is in one row.
        field: The offending field, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        where = []
        if table is not None:
            where.append(f"table {table!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.table = table
        self.row = row
        self.field = field
        self.reason = message


class MissingExtraError(BookslotError, ImportError):
    """A feature needs an optional dependency that is not installed.

    The message names the ``pip install 'bookslot-factories[<extra>]'`` that adds it.
    """
