"""JSON: a list of objects, indented as ``json.dumps(indent=2)`` writes it.

Written a block at a time through orjson; read whole, then parsed record by record
with the standard library's decoder, so that every error has its record and line.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping, Sequence
from typing import IO, Any

import orjson

from ..errors import DataFileError, excerpt
from ._io import NO_LINES, Records

__all__ = [
    "DECODER",
    "DuplicateKeyError",
    "as_dict",
    "begin",
    "encode",
    "end",
    "json_error",
    "json_kind",
    "read",
]


def as_dict(value: object) -> dict[Any, Any]:
    # orjson serializes dicts (and subclasses) natively; other mappings come here.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot write {excerpt(value)}")


def encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    if not records:
        return b""
    # orjson indents a list exactly like json.dumps(indent=2): "[\n  {...},\n  {...}\n]".
    # Drop the brackets and join the blocks with the commas they drop.
    block = orjson.dumps(
        records if isinstance(records, list) else list(records),
        default=as_dict,
        option=orjson.OPT_INDENT_2,
    )[1:-2]
    return block if first else b"," + block


def begin(fields: Sequence[str]) -> bytes:
    return b"["


def end(any_records: bool) -> bytes:
    return b"\n]\n" if any_records else b"]\n"


class DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return result


DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "true or false"}


def json_kind(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_KINDS.get(type(value), "a number")


def json_error(
    exc: Exception, name: str, record: int | None, line: int, *, whole_file: bool = True
) -> DataFileError:
    """Describe a JSON parser error at ``line``, or at the error's own line in a whole file."""
    field = None
    if isinstance(exc, DuplicateKeyError):
        problem = f"field {excerpt(exc.key)} appears twice in one object; expected each field once"
        field = exc.key
    elif isinstance(exc, RecursionError):
        problem = "is nested too deeply to read; expected flat records"
    elif isinstance(exc, json.JSONDecodeError):
        problem = f"is not valid JSON: {exc.msg} (column {exc.colno})"
        if whole_file:
            line = exc.lineno
    else:  # a number too long to convert, for example
        problem = f"is not valid JSON: {excerpt(str(exc), 80)}"
    return DataFileError(problem, path=name, record=record, line=line, field=field)


def read(file: IO[bytes], name: str) -> Records:
    data = file.read()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        raise DataFileError(
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} at column "
            f"{exc.start - start + 1} cannot be decoded; save the file as UTF-8",
            path=name,
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None
    del data
    line, counted = 1, 0

    def space(index: int) -> int:
        found = _JSON_SPACE.match(text, index)
        return found.end() if found else index

    def line_at(index: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, index)
        counted = index
        return line

    index = space(0)
    if index == len(text):
        raise DataFileError("is empty; expected a JSON array of records ([{...}, ...])", path=name)
    if text[index] != "[":
        try:
            value, _ = DECODER.raw_decode(text, index)
        except (ValueError, RecursionError, DuplicateKeyError) as exc:
            raise json_error(exc, name, None, line_at(index)) from None
        raise DataFileError(
            f"the top level is {json_kind(value)}; expected a JSON array of records "
            "([{...}, ...])",
            path=name,
            line=line_at(index),
        )
    index = space(index + 1)
    number = 0
    if index < len(text) and text[index] == "]":
        index += 1
    else:
        while True:
            number += 1
            start = line_at(index)
            try:
                value, index = DECODER.raw_decode(text, index)
            except (ValueError, RecursionError, DuplicateKeyError) as exc:
                raise json_error(exc, name, number, start) from None
            if not isinstance(value, dict):
                raise DataFileError(
                    f"is {json_kind(value)}; expected a JSON object of fields",
                    path=name,
                    record=number,
                    line=start,
                )
            yield number, start, value, NO_LINES
            index = space(index)
            if index < len(text) and text[index] == ",":
                index = space(index + 1)
                continue
            if index < len(text) and text[index] == "]":
                index += 1
                break
            found = "the end of the file" if index == len(text) else excerpt(text[index])
            raise DataFileError(
                f"is not valid JSON: found {found} after the record; expected ',' or ']'",
                path=name,
                record=number,
                line=line_at(index),
            )
    index = space(index)
    if index != len(text):
        raise DataFileError(
            "is not valid JSON: extra data after the array; expected one JSON array",
            path=name,
            line=line_at(index),
        )
