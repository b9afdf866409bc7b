"""What every format's reader and writer share: file names, I/O errors, text lines."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Mapping
from types import MappingProxyType
from typing import IO, Any, Protocol, TypeAlias, runtime_checkable

from ..errors import ClosedPipeError, DataFileError

__all__ = [
    "NO_LINES",
    "Raw",
    "Records",
    "StrPath",
    "WritesItself",
    "io_error",
    "path_name",
    "text_lines",
]

StrPath: TypeAlias = "str | os.PathLike[str]"

#: What a reader yields per record: its number (from 1), the line it starts on, the
#: record as read, and the line of each field where the format tells.
Raw: TypeAlias = "tuple[int, int | None, dict[Any, Any], Mapping[str, int]]"
Records: TypeAlias = "Generator[Raw, None, None]"
NO_LINES: Mapping[str, int] = MappingProxyType({})


@runtime_checkable
class WritesItself(Protocol):
    """Chunks of a file that can also write themselves to it, faster than one by one.

    The bulk engine's blocks are: with workers, each process writes its own blocks
    to the file's descriptor in turn, instead of sending them to this one.
    """

    def __iter__(self) -> Iterator[bytes]: ...

    def write_into(self, file: IO[bytes], failed: Callable[[OSError], Exception]) -> bool:
        """Write every chunk to ``file`` in order; return whether any record was.

        A failed write raises ``failed(its OSError)``; the chunks' own exceptions
        (an ``OSError`` too) propagate unchanged.
        """
        ...


def path_name(path: StrPath) -> str:
    """Return a path as text for messages, refusing what no system accepts."""
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError(f"path must be a str or os.PathLike[str], not {type(name).__name__}")
    if "\x00" in name:  # the system refuses it with a ValueError, not an OSError
        raise DataFileError(
            "is not a file name: it holds a NUL character (\\x00)",
            path=name.replace("\x00", "\\x00"),
        )
    return name


def io_error(name: str, action: str, exc: OSError) -> DataFileError:
    """Describe a failed read or write with the system's reason."""
    kind = ClosedPipeError if isinstance(exc, BrokenPipeError) else DataFileError
    return kind(f"cannot {action}: {exc.strerror or exc}", path=name)


def text_lines(file: IO[bytes], name: str) -> Iterator[str]:
    """Yield the file's lines as text, naming the line of any byte that is not UTF-8."""
    for number, raw in enumerate(file, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFileError(
                f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} "
                "cannot be decoded; save the file as UTF-8",
                path=name,
                line=number,
            ) from None
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield text
