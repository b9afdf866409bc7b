"""JSON Lines: one JSON object per line, read and written as a stream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO

import orjson

from ..errors import DataFileError
from ._io import NO_LINES, Records, text_lines
from ._json import DECODER, DuplicateKeyError, as_dict, json_error, json_kind

__all__ = ["encode", "read"]


def encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    if not records:
        return b""
    rows = records if isinstance(records, list) else list(records)
    if not all(rows):  # orjson writes an empty record as "{}", without layout to delete
        return b"".join(orjson.dumps(row, default=as_dict) + b"\n" for row in rows)
    # One orjson call per block: a call per record costs ~6x more, most of it in the
    # allocator. In indented output every raw newline is layout (a newline inside a
    # string is escaped), so deleting the layout leaves one record per line:
    # '[\n  {\n    "a": "1"\n  },\n  {\n    ...\n  }\n]' -> '{"a": "1"}\n{...}\n'.
    text = orjson.dumps(rows, default=as_dict, option=orjson.OPT_INDENT_2)
    return text[4:-6].replace(b"\n    ", b"").replace(b"\n  },\n  {", b"}\n{") + b"}\n"


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
