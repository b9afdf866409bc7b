"""Writing records: :func:`save` for any records, :func:`write_blocks` for encoded blocks."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import IO, Any

from ..errors import DataFileError, excerpt
from ..kinds import KINDS, Kind, kind_named
from ..model import BLOCK_SIZE, FIELDS
from . import nested
from ._io import StrPath, WritesItself, path_name
from .atomic import write_atomic
from .formats import Format, format_for

__all__ = ["framed", "save", "write_blocks"]


def write_blocks(
    path: StrPath, fmt: Format, blocks: Iterable[bytes], fields: Sequence[str] = FIELDS
) -> None:
    """Write blocks that ``fmt.encode`` made (in worker processes, say), atomically.

    The format's framing (``begin`` and ``end``) is added here, so the file is byte
    for byte what :func:`save` writes for the same records.

    Args:
        path: The file (``"-"`` for standard output).
        fmt: The format that encoded the blocks.
        blocks: The encoded blocks, in order; each block of at least one record is
            non-empty.
        fields: The records' keys, in order (the CSV header).

    Raises:
        DataFileError: A failed write; the previous file, if any, is then unchanged.
    """
    write_atomic(path, framed(fmt, fields, blocks))


def framed(fmt: Format, fields: Sequence[str], blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The format's framing around encoded blocks: the bytes of a whole file.

    Blocks that write themselves (:class:`WritesItself`) still do, framed.
    """
    if fmt.frame is not None:  # a binary format with a footer frames its own blocks
        return fmt.frame(fields, blocks)
    if isinstance(blocks, WritesItself):
        return _Framed(fmt, fields, blocks)
    return _framed(fmt, fields, blocks)


def _framed(fmt: Format, fields: Sequence[str], blocks: Iterable[bytes]) -> Iterator[bytes]:
    yield fmt.begin(fields)
    any_records = False
    for data in blocks:
        any_records = any_records or bool(data)
        yield data
    yield fmt.end(any_records)


class _Framed(Iterator[bytes]):
    """Framing around blocks that write themselves: they go on doing so."""

    def __init__(self, fmt: Format, fields: Sequence[str], blocks: WritesItself) -> None:
        self.fmt, self.fields, self.blocks = fmt, fields, blocks
        self.chunks: Iterator[bytes] | None = None

    def __next__(self) -> bytes:
        if self.chunks is None:
            self.chunks = _framed(self.fmt, self.fields, self.blocks)
        return next(self.chunks)

    def write_into(self, file: IO[bytes], failed: Callable[[OSError], Exception]) -> bool:
        def put(data: bytes) -> None:
            try:
                file.write(data)
            except OSError as exc:
                raise failed(exc) from None

        put(self.fmt.begin(self.fields))
        any_records = self.blocks.write_into(file, failed)
        put(self.fmt.end(any_records))
        return any_records


def _checked_blocks(
    records: Iterable[Mapping[str, str]], name: str, csv_format: bool
) -> Iterator[list[Mapping[str, str]]]:
    """Check the records and group them in blocks of :data:`BLOCK_SIZE`.

    Every record must be a mapping with the first record's string keys (in any
    order: they are put in the first record's order) and string values.
    """
    keys: tuple[str, ...] = ()
    key_set: frozenset[str] = frozenset()
    only_str = {str}
    block: list[Mapping[str, str]] = []
    for number, record in enumerate(records, 1):
        if not isinstance(record, Mapping):
            raise DataFileError(
                f"is {excerpt(record)}; expected a mapping of field names to strings",
                path=name,
                record=number,
            )
        if number == 1:
            keys = tuple(record)
            for key in keys:
                if not isinstance(key, str):
                    raise DataFileError(
                        f"key {excerpt(key)} is not a string; expected field names",
                        path=name,
                        record=1,
                    )
            if csv_format and not keys:
                raise DataFileError(
                    "has no fields; a CSV file needs at least one column", path=name, record=1
                )
            key_set = frozenset(keys)
        elif tuple(record) != keys:
            if record.keys() != key_set:
                missing = [key for key in keys if key not in record]
                if missing:
                    raise DataFileError(
                        f"field {excerpt(missing[0])} is missing; expected the first record's "
                        f"fields: {', '.join(keys)}",
                        path=name,
                        record=number,
                        field=missing[0],
                    )
                extra = next(key for key in record if key not in key_set)
                raise DataFileError(
                    f"field {excerpt(extra)} is not in the first record; expected only "
                    f"{', '.join(keys)}",
                    path=name,
                    record=number,
                    field=extra if isinstance(extra, str) else None,
                )
            record = {key: record[key] for key in keys}
        if {*map(type, record.values())} != only_str:
            for key, value in record.items():
                if not isinstance(value, str):
                    raise DataFileError(
                        f"field {excerpt(key)} is {excerpt(value)}; expected a string",
                        path=name,
                        record=number,
                        field=key,
                    )
        block.append(record)
        if len(block) == BLOCK_SIZE:
            yield block
            block = []
    if block:
        yield block


def _kind_of(record: object) -> Kind | None:
    for kind in KINDS.values():
        if isinstance(record, kind.record_type):
            return kind
    return None


def _nested_chunks(
    records: Iterable[Mapping[str, Any]], name: str, kind: Kind, fmt: Format, done: list[int]
) -> Iterator[bytes]:
    """The framed bytes of nested records, a block at a time."""
    fmt = nested.format_of(kind, fmt)
    yield fmt.begin(kind.fields)
    block: list[Mapping[str, Any]] = []
    for record in nested.checked(iter(records), name, kind):
        block.append(record)
        if len(block) == BLOCK_SIZE:
            yield _encode_nested(fmt, block, done, name)
            block = []
    if block:
        yield _encode_nested(fmt, block, done, name)
    yield fmt.end(done[0] > 0)


def _encode_nested(
    fmt: Format, block: list[Mapping[str, Any]], done: list[int], name: str
) -> bytes:
    try:
        data = fmt.encode(block, done[0] == 0)
    except (ValueError, TypeError, KeyError, csv.Error) as exc:
        for offset, record in enumerate(block):
            try:
                fmt.encode([record], True)
            except (ValueError, TypeError, KeyError, csv.Error) as one:
                reason = f"lacks the field {one}" if isinstance(one, KeyError) else f"{one}"
                raise DataFileError(
                    f"cannot be written as {fmt.name}: {excerpt(reason, 80)}",
                    path=name,
                    record=done[0] + offset + 1,
                ) from None
        raise DataFileError(f"cannot write the records: {exc}", path=name) from None
    done[0] += len(block)
    return data


def _encode_block(
    fmt: Format, block: list[Mapping[str, str]], first: bool, done: int, name: str
) -> bytes:
    try:
        return fmt.encode(block, first)
    except (ValueError, TypeError, csv.Error) as exc:
        # Find the value that could not be written, to name it.
        for offset, record in enumerate(block):
            for key, value in record.items():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise DataFileError(
                        f"field {excerpt(key)} is {excerpt(value)}, which holds a lone surrogate "
                        "and cannot be written as UTF-8",
                        path=name,
                        record=done + offset + 1,
                        field=key,
                    ) from None
        raise DataFileError(f"cannot write the records: {exc}", path=name) from None


def _encoded(
    fmt: Format,
    block: list[Mapping[str, str]] | None,
    blocks: Iterator[list[Mapping[str, str]]],
    name: str,
    done: list[int],
) -> Iterator[bytes]:
    """Encode ``block``, then the rest of ``blocks``; ``done[0]`` counts the records."""
    first = True
    while block is not None:
        data = _encode_block(fmt, block, first, done[0], name)
        done[0] += len(block)
        block = None  # only one block is ever held while the file is written
        yield data
        first = False
        block = next(blocks, None)


def save(
    records: Iterable[Mapping[str, Any]],
    path: StrPath,
    *,
    format: str | None = None,
    kind: str | None = None,
) -> int:
    """Write records to a file, atomically, streaming any iterable.

    The payload rules are not applied: a test may write invalid records on purpose.
    Each record must be a mapping with the first record's string keys and string
    values; keys are written in the first record's order.

    Args:
        records: The records; a generator is consumed a block at a time.
        path: The file (``"-"`` for standard output, with ``format``).
        format: A name of :data:`~bookslot_factories.files.FORMATS`, such as
            ``"json"`` or ``"fhir"`` (default: from the suffix, ``.fhir.json`` before
            ``.json``).
        kind: ``"payload"``, ``"intake"`` or ``"insurance"`` (default: the first
            record's type tells; a plain mapping is a flat record). Nested records
            are written nested, in CSV with dotted columns (``address.city``).

    Returns:
        The number of records written.

    Raises:
        DataFileError: An unknown format, a record that is not a mapping of strings
            with the first record's keys (naming the record and field), or a failed
            write. The previous file, if any, is then unchanged.
    """
    fmt = format_for(path, format)
    name = path_name(path)
    if isinstance(records, (str, bytes, Mapping)):
        raise DataFileError(
            f"records is {excerpt(records)}; expected an iterable of mappings "
            "(put a single record in a list)",
            path=name,
        )
    done = [0]
    chosen = kind_named(kind) if kind is not None else None

    def chunks() -> Iterator[bytes]:
        # Runs inside write_atomic, so that a bad path is reported before bad records.
        items = iter(records)
        first = next(items, None)
        nested = chosen if chosen is not None else _kind_of(first)
        rest: Iterable[Mapping[str, Any]] = items if first is None else chain([first], items)
        if nested is not None and nested.nested:
            yield from _nested_chunks(rest, name, nested, fmt, done)
            return
        blocks = _checked_blocks(rest, name, fmt.name == "csv")
        head = next(blocks, None)
        fields = tuple(head[0]) if head else FIELDS
        encoded = _encoded(fmt, head, blocks, name, done)
        del head
        yield from framed(fmt, fields, encoded)

    write_atomic(path, chunks())
    return done[0]
