"""JSON Lines: one JSON object per line, read and written as a stream."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, repeat
from typing import IO

import orjson

from ..errors import DataFileError
from ._io import NO_LINES, Records, text_lines
from ._json import DECODER, DuplicateKeyError, json_error, json_kind

__all__ = ["encode", "read"]


def encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    """Encode a block of checked records (the same keys, in the same order) as lines.

    Lines are compact, as ``json.dumps(record, separators=(",", ":"),
    ensure_ascii=False)`` writes them.
    """
    if not records:
        return b""
    keys = list(records[0])
    if not keys or sum(map(len, records)) != len(keys) * len(records):
        return _one_by_one(records)  # not records of one shape: none of ours
    # Column by column, in C: orjson encodes each column in one call, indented, where
    # every raw newline is layout (a newline inside a string is escaped), so
    # ",\n  " separates the encoded values. Zipping the columns between the key
    # prefixes then makes the lines. ~1.7x faster than one orjson call per record.
    parts: list[Iterable[bytes]] = []
    for index, key in enumerate(keys):
        try:
            values = [record[key] for record in records]
        except KeyError:
            return _one_by_one(records)
        column = orjson.dumps(values, option=orjson.OPT_INDENT_2)
        parts.append(repeat((b"," if index else b"{") + orjson.dumps(key) + b":"))
        parts.append(column[4:-2].split(b",\n  "))
    parts.append(repeat(b"}\n"))
    return b"".join(chain.from_iterable(zip(*parts, strict=False)))  # repeat() is endless


def _one_by_one(records: Sequence[Mapping[str, str]]) -> bytes:
    return b"".join(orjson.dumps(dict(record)) + b"\n" for record in records)


def read(file: IO[bytes], name: str) -> Records:
    # An empty file is zero records: that is what save() writes for none.
    number = 0
    decode = DECODER.decode
    for line, text in enumerate(text_lines(file, name), 1):
        if not text.strip(" \t\r\n"):
            continue
        number += 1
        try:
            value = decode(text)
        except (ValueError, RecursionError, DuplicateKeyError) as exc:
            raise json_error(exc, name, number, line, whole_file=False) from None
        if not isinstance(value, dict):
            raise DataFileError(
                f"is {json_kind(value)}; expected one JSON object per line",
                path=name,
                record=number,
                line=line,
            )
        yield number, line, value, NO_LINES
