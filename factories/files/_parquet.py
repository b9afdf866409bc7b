"""Parquet: one row group per block, every column a string (pyarrow, the ``parquet`` extra).

Parquet is binary with a footer, so blocks cannot simply be joined: ``encode`` turns a
block into an Arrow IPC stream (independent bytes, made in any worker process) and
``frame`` writes each one as a row group of one Parquet file, yielding the file's bytes
as they are written, so memory stays flat and the file stays atomic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

from ..errors import BookslotError, DataFileError
from ._io import NO_LINES, Records

__all__ = ["encode", "frame", "read"]

_INSTALL = "pip install 'bookslot-factories[parquet]'"


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError:
        raise BookslotError(f"Parquet needs pyarrow: {_INSTALL}") from None
    return pa


def encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    """Encode a block of checked records as an Arrow IPC stream of string columns."""
    if not records:
        return b""
    pa = _pyarrow()
    keys = list(records[0])
    table = pa.table({key: pa.array([r[key] for r in records], type=pa.string()) for key in keys})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


class _Chunks:
    """A write-only file that keeps what is written until it is taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def frame(fields: Sequence[str], blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the bytes of one Parquet file holding each encoded block as a row group."""
    pa = _pyarrow()
    sink = _Chunks()
    schema = pa.schema([(field, pa.string()) for field in fields])
    writer = None
    for data in blocks:
        if not data:
            continue
        table = pa.ipc.open_stream(data).read_all()
        if writer is None:
            writer = pa.parquet.ParquetWriter(sink, table.schema)
        writer.write_table(table, row_group_size=max(1, table.num_rows))
        yield sink.take()
    if writer is None:
        writer = pa.parquet.ParquetWriter(sink, schema)
    writer.close()
    yield sink.take()


def read(file: IO[bytes], name: str) -> Records:
    """Yield the records of a Parquet file, a row group at a time."""
    pa = _pyarrow()
    try:
        parquet = pa.parquet.ParquetFile(file)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFileError(
            f"is not a Parquet file: {exc}; expected a file written with --format parquet",
            path=name,
        ) from None
    for field in parquet.schema_arrow:
        if not pa.types.is_string(field.type) and not pa.types.is_large_string(field.type):
            raise DataFileError(
                f"the Parquet column {field.name!r} is of type {field.type}; expected strings",
                path=name,
                field=field.name,
            )
    number = 0
    try:
        for batch in parquet.iter_batches():
            for record in batch.to_pylist():
                number += 1
                yield number, None, record, NO_LINES
    except (pa.ArrowException, OSError) as exc:
        raise DataFileError(f"is not valid Parquet: {exc}", path=name, record=number + 1) from None
