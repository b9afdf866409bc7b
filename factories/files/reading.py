"""Reading records back: every record is checked with its kind's rules as it is read.

A file's kind (``payload``, ``intake``, ``insurance``) is the one named, else the one
its first characters show (:func:`~bookslot_factories.kinds.detect`).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, Any

from ..config import Config
from ..errors import DataFileError, PayloadError
from ..kinds import Kind, detect, kind_named
from ._io import Records, StrPath, io_error, path_name
from .formats import format_for
from .nested import format_of

#: How much of a file its kind is told from.
_HEAD = 65_536

__all__ = ["check", "iter_load", "judge", "load"]


def _judged(
    read: Callable[[IO[bytes], str], Records],
    name: str,
    as_of: date | None,
    cfg: Config | None,
    kind: Kind,
) -> Iterator[tuple[dict[str, Any], DataFileError | None]]:
    """Yield each record with the rule it breaks, if any; raise what stops reading."""
    stdin = name == "-"
    display = "<stdin>" if stdin else name
    try:
        file: IO[bytes] = sys.stdin.buffer if stdin else open(name, "rb")  # noqa: SIM115
    except OSError as exc:
        raise io_error(display, "read", exc) from None
    raw = read(file, display)
    try:
        while True:
            try:
                number, line, record, lines = next(raw)
            except StopIteration:
                return
            except OSError as exc:
                raise io_error(display, "read", exc) from None
            problem = None
            try:
                kind.validate(record, as_of=as_of, cfg=cfg)
            except PayloadError as exc:
                field = exc.field
                problem = DataFileError(
                    str(exc),
                    path=display,
                    record=number,
                    line=lines.get(field, line) if field is not None else line,
                    field=field,
                )
            yield record, problem
    finally:
        raw.close()
        if not stdin:
            file.close()


def _checked(
    read: Callable[[IO[bytes], str], Records],
    name: str,
    as_of: date | None,
    cfg: Config | None,
    kind: Kind,
) -> Iterator[dict[str, Any]]:
    for record, problem in _judged(read, name, as_of, cfg, kind):
        if problem is not None:
            raise problem
        yield record


def _reader(
    path: StrPath, format: str | None, kind: str | None
) -> tuple[str, Callable[[IO[bytes], str], Records], Kind]:
    """Return the file's name, reader and kind; raise at once for a bad format or path."""
    name = path_name(path)
    fmt = format_for(path, format)
    chosen = kind_named(kind) if kind is not None else None
    if name != "-":
        try:
            if stat.S_ISDIR(os.stat(name).st_mode):
                raise DataFileError("cannot read: it is a folder; expected a file", path=name)
        except FileNotFoundError:
            raise DataFileError("cannot read: the file does not exist", path=name) from None
        except OSError:
            pass  # reported when the file is opened, with the system's reason
    if chosen is None:
        chosen = kind_named(detect(_head(name)))
    return name, format_of(chosen, fmt).read, chosen


def _head(name: str) -> str:
    """The first characters of a file (of standard input: what is buffered).

    Only a regular file is opened for it: a FIFO or a device would give its data to
    this look and not to the reader (name the kind to read nested records from one).
    """
    try:
        if name == "-":
            peek = getattr(sys.stdin.buffer, "peek", None)
            data = peek(_HEAD)[:_HEAD] if peek is not None else b""
        elif not stat.S_ISREG(os.stat(name).st_mode):
            return ""
        else:
            with open(name, "rb") as file:
                data = file.read(_HEAD)
    except (OSError, ValueError):
        return ""  # reported when the file is read, with the system's reason
    return data.decode("utf-8", "replace")


def check(
    path: StrPath,
    *,
    format: str | None = None,
    as_of: date | None = None,
    cfg: Config | None = None,
    kind: str | None = None,
) -> Iterator[DataFileError]:
    """Yield every problem of a data file, for a report (``load`` stops at the first).

    Each record that breaks a rule gives one error and reading goes on; a problem
    that stops reading (a missing file, a syntax error, a wrong shape) comes last.

    Args:
        path: The file (``"-"`` for standard input, with ``format``).
        format: A name of :data:`~bookslot_factories.files.FORMATS`, such as
            ``"json"`` or ``"fhir"`` (default: from the suffix).
        as_of: The date ages are checked on (default: the reference date, today).
        cfg: The config whose rules apply (default: the active one).
        kind: ``"payload"``, ``"intake"`` or ``"insurance"`` (default: told from the
            file's first characters).

    Returns:
        An iterator of the errors, as :func:`load` would raise them; none for a good file.
    """
    for _, problem in judge(path, format=format, as_of=as_of, cfg=cfg, kind=kind):
        if problem is not None:
            yield problem


def judge(
    path: StrPath,
    *,
    format: str | None = None,
    as_of: date | None = None,
    cfg: Config | None = None,
    kind: str | None = None,
) -> Iterator[tuple[dict[str, Any] | None, DataFileError | None]]:
    """Yield every record read with the rule it breaks (``None``: none), as :func:`check`.

    A problem that stops reading comes last, with ``None`` for the record; so the
    records read are the pairs with a record, and the problems are :func:`check`'s.
    Arguments as :func:`check`.
    """
    try:
        name, reader, chosen = _reader(path, format, kind)
        yield from _judged(reader, name, as_of, cfg, chosen)
    except DataFileError as exc:
        yield None, exc


def iter_load(
    path: StrPath,
    *,
    format: str | None = None,
    as_of: date | None = None,
    cfg: Config | None = None,
    kind: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Read a data file record by record, checking each record with the payload rules.

    JSON Lines, CSV and YAML are read as a stream (a record is returned as soon as it
    is read; memory stays flat); a JSON array is read whole, then parsed record by
    record. The format and the file's existence are checked at once; everything
    else as the records are read.

    Args:
        path: The file (``"-"`` for standard input, with ``format``).
        format: A name of :data:`~bookslot_factories.files.FORMATS`, such as
            ``"json"`` or ``"fhir"`` (default: from the suffix).
        as_of: The date ages are checked on (default: the reference date, today).
        cfg: The config whose rules apply (default: the active one).
        kind: ``"payload"``, ``"intake"`` or ``"insurance"`` (default: told from the
            file's first characters). Nested kinds are read nested (CSV: from
            dotted columns) and checked with their own rules.

    Returns:
        An iterator of the records, each a ``dict`` in the file's key order.

    Raises:
        DataFileError: The file cannot be read, is not valid in its format, is not a
            list of flat records, or a record breaks a rule. The message names the
            file and, where known, the record (from 1), the line and the field.
    """
    name, reader, chosen = _reader(path, format, kind)
    return _checked(reader, name, as_of, cfg, chosen)


def load(
    path: StrPath,
    *,
    format: str | None = None,
    as_of: date | None = None,
    cfg: Config | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """Read a data file and check every record with the payload rules.

    Args:
        path: The file (``"-"`` for standard input, with ``format``).
        format: A name of :data:`~bookslot_factories.files.FORMATS`, such as
            ``"json"`` or ``"fhir"`` (default: from the suffix).
        as_of: The date ages are checked on (default: the reference date, today).
        cfg: The config whose rules apply (default: the active one).
        kind: ``"payload"``, ``"intake"`` or ``"insurance"`` (default: told from the
            file's first characters).

    Returns:
        The records, each a ``dict`` in the file's key order.

    Raises:
        DataFileError: See :func:`iter_load`.
    """
    return list(iter_load(path, format=format, as_of=as_of, cfg=cfg, kind=kind))
