"""The file formats: one :class:`Format` per format, with its suffixes, writer and reader.

Adding a format is adding one entry to :data:`FORMATS` (and its module beside this one).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import IO

from ..errors import DataFileError, excerpt
from . import _csv, _fhir, _json, _jsonl, _parquet, _xml, _yaml
from ._io import Records, StrPath, path_name

__all__ = ["FORMATS", "KNOWN", "Format", "format_for", "format_named"]


def _no_bytes(fields: Sequence[str]) -> bytes:
    return b""


def _nothing_after(any_records: bool) -> bytes:
    return b""


@dataclass(frozen=True)
class Format:
    """How one file format writes records a block at a time, and reads them back.

    The functions are module-level functions, so a format (or any of its functions)
    can be pickled and called in a worker process. For any split of the records into
    blocks::

        begin(fields) + encode(block1, True) + encode(block2, False) + ... + end(any)

    is exactly what :func:`~bookslot_factories.files.save` writes.

    Attributes:
        name: The format's name, such as ``"json"``.
        suffixes: The file suffixes that select it, such as ``(".yaml", ".yml")``.
        media_type: Its MIME type, for HTTP.
        encode: Returns the bytes of a block of records; the flag is ``True`` when no
            record was encoded before this block. The records must already be checked:
            mappings with the same string keys and string values.
        read: Yields the raw records of a file, one by one, as they are parsed.
        begin: Returns the bytes before the first record, given the field names.
        end: Returns the bytes after the last record, given whether there was any.
        frame: For a binary format with a footer (Parquet), the whole framing in one:
            given the fields and the encoded blocks, yields the file's bytes; when
            set, ``begin`` and ``end`` are not used.
    """

    name: str
    suffixes: tuple[str, ...]
    media_type: str
    encode: Callable[[Sequence[Mapping[str, str]], bool], bytes]
    read: Callable[[IO[bytes], str], Records]
    begin: Callable[[Sequence[str]], bytes] = _no_bytes
    end: Callable[[bool], bytes] = _nothing_after
    frame: Callable[[Sequence[str], Iterable[bytes]], Iterator[bytes]] | None = None


#: The formats by name.
FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        f.name: f
        for f in (
            Format(
                "json",
                (".json",),
                "application/json",
                _json.encode,
                _json.read,
                _json.begin,
                _json.end,
            ),
            Format(
                "jsonl", (".jsonl", ".ndjson"), "application/x-ndjson", _jsonl.encode, _jsonl.read
            ),
            Format(
                "yaml",
                (".yaml", ".yml"),
                "application/yaml",
                _yaml.encode,
                _yaml.read,
                end=_yaml.end,
            ),
            Format("csv", (".csv",), "text/csv", _csv.encode, _csv.read, _csv.begin),
            Format(
                "xml", (".xml",), "application/xml", _xml.encode, _xml.read, _xml.begin, _xml.end
            ),
            Format(
                "fhir",
                (".fhir.json",),
                "application/fhir+json",
                _fhir.encode,
                _fhir.read,
                _fhir.begin,
                _fhir.end,
            ),
            Format(
                "fhir-ndjson",
                (".fhir.ndjson",),
                "application/fhir+ndjson",
                _fhir.encode_ndjson,
                _fhir.read_ndjson,
            ),
            Format(
                "parquet",
                (".parquet",),
                "application/vnd.apache.parquet",
                _parquet.encode,
                _parquet.read,
                frame=_parquet.frame,
            ),
        )
    }
)
_BY_SUFFIX = {suffix: f for f in FORMATS.values() for suffix in f.suffixes}
_BY_NAME = {**FORMATS, **{suffix[1:]: f for suffix, f in _BY_SUFFIX.items()}}
#: The known formats, for messages: ``json (.json); jsonl (.jsonl, .ndjson); ...``.
KNOWN = "; ".join(f"{f.name} ({', '.join(f.suffixes)})" for f in FORMATS.values())


def format_named(name: str, *, path: str = "<format>") -> Format:
    """Return a format by name, or by a suffix with or without its dot (``"yml"``).

    Raises:
        DataFileError: Not a known format; the message names ``path``, the file the
            format was meant for.
    """
    found = _BY_NAME.get(name.lower().lstrip(".")) if isinstance(name, str) else None
    if found is None:
        raise DataFileError(f"unknown format {excerpt(name)}; expected one of: {KNOWN}", path=path)
    return found


def format_for(path: StrPath, format: str | None = None, *, named_by: str = "format=") -> Format:
    """Return the format of a file: the one named, else the one of its suffix.

    Args:
        path: The file.
        format: The format's name, if the caller named one.
        named_by: How the caller names a format, for the message when neither the
            suffix nor a name tells (``--format`` on the command line).

    Raises:
        DataFileError: The format is unknown, or the suffix is unknown and no format
            was named.
    """
    name = path_name(path)
    if format is not None:
        return format_named(format, path=name)
    suffix = os.path.splitext(name)[1].lower()
    # A two-part suffix (.fhir.json) wins over its last part (.json).
    longer = os.path.splitext(os.path.splitext(name)[0])[1].lower() + suffix
    found = _BY_SUFFIX.get(longer) if longer != suffix else None
    # A suffix that is a format's name (.fhir, .fhir-ndjson) selects it too.
    found = found or _BY_SUFFIX.get(suffix) or FORMATS.get(suffix[1:])
    if found is None:
        given = f"the suffix {excerpt(suffix)}" if suffix else "no suffix"
        raise DataFileError(
            f"cannot tell the format from {given}; expected one of: {KNOWN}, or name the "
            f"format with {named_by}",
            path=name,
        )
    return found
