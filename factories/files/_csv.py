"""CSV: a header row of the fields, then one row per record (the csv module's dialect)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import IO

from ..errors import DataFileError, excerpt
from ..model import FIELDS
from ._io import NO_LINES, Records, text_lines

__all__ = ["begin", "encode", "read"]


def begin(fields: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(fields)
    return buffer.getvalue().encode("utf-8")


def encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    buffer = io.StringIO()
    # The csv module's "\r\n" line ends: with them it quotes any value holding "\r" or
    # "\n", so csv.reader gives every value back on every supported Python.
    csv.writer(buffer).writerows([record.values() for record in records])
    return buffer.getvalue().encode("utf-8")


def read(file: IO[bytes], name: str) -> Records:
    reader = csv.reader(text_lines(file, name), strict=True)
    number = 0
    try:
        header = next(reader, None)
        if header is None:
            raise DataFileError(
                f"is empty; expected a CSV header row: {','.join(FIELDS)}", path=name
            )
        _check_header(header, name, reader.line_num)
        width = len(header)
        for row in reader:
            if not row:
                continue  # a blank line
            number += 1
            if len(row) != width:
                missing = header[len(row)] if len(row) < width else None
                raise DataFileError(
                    f"has {len(row)} values; expected {width}, one for each header column",
                    path=name,
                    record=number,
                    line=reader.line_num,
                    field=missing,
                )
            yield number, reader.line_num, dict(zip(header, row, strict=True)), NO_LINES
    except csv.Error as exc:
        raise DataFileError(
            f"is not valid CSV: {exc}",
            path=name,
            record=number + 1,
            line=reader.line_num,
        ) from None


def _check_header(header: list[str], name: str, line: int) -> None:
    expected = f"expected exactly the columns {','.join(FIELDS)}"
    seen: set[str] = set()
    for column in header:
        if column not in FIELDS:
            raise DataFileError(
                f"the CSV header has an unknown column {excerpt(column)}; {expected}",
                path=name,
                line=line,
                field=column,
            )
        if column in seen:
            raise DataFileError(
                f"the CSV header has the column {excerpt(column)} twice; {expected}",
                path=name,
                line=line,
                field=column,
            )
        seen.add(column)
    for column in FIELDS:
        if column not in seen:
            raise DataFileError(
                f"the CSV header lacks the column {column!r}; {expected}",
                path=name,
                line=line,
                field=column,
            )


# YAML is read event by event with a safe loader, never composed or constructed
# whole: memory stays flat, aliases are never expanded (an alias bomb costs
# nothing), and no tag other than the standard scalar ones is accepted, so nothing
