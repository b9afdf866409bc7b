"""Data files of payloads: writers and readers for JSON, JSON Lines, YAML and CSV.

This module knows nothing about factories: it writes any records (mappings of
strings to strings) and reads records back, checking each one with
:func:`factories.rules.validate`.

>>> from factories import BookslotPayloadFactory, seed
>>> from factories.export import load, save
>>> seed(1)
>>> path = getfixture("tmp_path") / "payloads.yaml"
>>> save(BookslotPayloadFactory.build_batch(3), path)
3
>>> len(load(path))
3

Writing streams: records are checked and encoded a block at a time, into a temporary
file that replaces the target only when everything is written. The bulk engine
encodes blocks in worker processes with the same :class:`Writer` functions, so its
files are byte for byte what :func:`save` writes.

Reading streams too (except JSON, which is read whole) and every problem is a
:class:`~factories.errors.DataFileError` that names the file, the record, the line
and the field.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import IO, Any, TypeAlias

import orjson
import yaml

from factories.config import FIELDS, Config
from factories.errors import DataFileError, PayloadError
from factories.rules import excerpt, validate

__all__ = [
    "CHUNK_SIZE",
    "FORMATS",
    "Writer",
    "check",
    "iter_load",
    "load",
    "save",
    "write_atomic",
    "writer_for",
]

#: Records checked and encoded together by :func:`save`; memory use is flat in the count.
CHUNK_SIZE = 1000

StrPath: TypeAlias = "str | os.PathLike[str]"


# --- writers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Writer:
    """How one file format encodes records, a block at a time.

    The functions are stateless module-level functions, so a writer (or any of its
    functions) can be pickled and called in a worker process. For any split of the
    records into blocks::

        begin(fields) + encode(block1, True) + encode(block2, False) + ... + end(count)

    is exactly what :func:`save` writes.

    Attributes:
        name: The format's name, such as ``"json"``.
        suffixes: The file suffixes that select it, such as ``(".yaml", ".yml")``.
        begin: Returns the bytes before the first record, given the field names.
        encode: Returns the bytes of a block of records; the flag is ``True`` when
            no record was encoded before this block. The records must already be
            checked: mappings with the same string keys and string values.
        end: Returns the bytes after the last record, given the number of records.
    """

    name: str
    suffixes: tuple[str, ...]
    begin: Callable[[Sequence[str]], bytes]
    encode: Callable[[Sequence[Mapping[str, str]], bool], bytes]
    end: Callable[[int], bytes]


def _as_dict(value: object) -> dict[Any, Any]:
    # orjson serializes dicts (and subclasses) natively; other mappings come here.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot write {excerpt(value)}")


def _no_bytes(fields: Sequence[str]) -> bytes:
    return b""


def _nothing_after(count: int) -> bytes:
    return b""


def _json_encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    if not records:
        return b""
    # orjson indents a list exactly like json.dumps(indent=2): "[\n  {...},\n  {...}\n]".
    # Drop the brackets and join the blocks with the commas they drop.
    block = orjson.dumps(
        records if isinstance(records, list) else list(records),
        default=_as_dict,
        option=orjson.OPT_INDENT_2,
    )[1:-2]
    return block if first else b"," + block


def _json_begin(fields: Sequence[str]) -> bytes:
    return b"["


def _json_end(count: int) -> bytes:
    return b"\n]\n" if count else b"]\n"


def _jsonl_encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    if not records:
        return b""
    rows = records if isinstance(records, list) else list(records)
    if not all(rows):  # orjson writes an empty record as "{}", without layout to delete
        return b"".join(orjson.dumps(row, default=_as_dict) + b"\n" for row in rows)
    # One orjson call per block: a call per record costs ~6x more, most of it in the
    # allocator. In indented output every raw newline is layout (a newline inside a
    # string is escaped), so deleting the layout leaves one record per line:
    # '[\n  {\n    "a": "1"\n  },\n  {\n    ...\n  }\n]' -> '{"a": "1"}\n{...}\n'.
    text = orjson.dumps(rows, default=_as_dict, option=orjson.OPT_INDENT_2)
    return text[4:-6].replace(b"\n    ", b"").replace(b"\n  },\n  {", b"}\n{") + b"}\n"


def _csv_begin(fields: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(fields)
    return buffer.getvalue().encode("utf-8")


def _csv_encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    buffer = io.StringIO()
    # The csv module's "\r\n" line ends: with them it quotes any value holding "\r" or
    # "\n", so csv.reader gives every value back on every supported Python.
    csv.writer(buffer).writerows([record.values() for record in records])
    return buffer.getvalue().encode("utf-8")


# YAML: our own emitter for flat string records. PyYAML's is ~30x slower than JSON.
#
# A plain (unquoted) scalar is used only when it provably reads back as the same
# string in YAML 1.1 and 1.2: a letter first, then letters, digits and " .'@_-", no
# trailing space, and not a word that YAML 1.1 reads as a boolean or null. (": " and
# " #" cannot occur: neither ":" nor "#" is allowed.) Everything else is double-quoted,
# with escapes for every character a YAML reader does not take raw or would fold.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 .'@_-]*")
_RESERVED = frozenset(
    {"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"},
)
_LONGEST_RESERVED = max(map(len, _RESERVED))
# Characters that go raw inside double quotes: printable for PyYAML's and libyaml's
# readers, minus the line breaks "\x85", "\u2028", "\u2029" and the byte order mark.
_ESCAPED = re.compile(
    r"[^\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
    r"\U00010000-\U0010ffff]"
)
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0"}
# libyaml drops a simple (implicit) key longer than 1024 characters; longer keys are
# written in the explicit "? key" form.
_MAX_SIMPLE_KEY = 1000
_CACHE_LIMIT = 50_000
_yaml_values: dict[str, str] = {}
_yaml_keys: dict[str, str] = {}


def _yaml_escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02X}"
    if code < 0x10000:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"


def _yaml_scalar(text: str) -> str:
    if (
        _PLAIN.fullmatch(text)
        and text[-1] != " "
        and (len(text) > _LONGEST_RESERVED or text.lower() not in _RESERVED)
    ):
        return text
    return '"' + _ESCAPED.sub(_yaml_escape, text) + '"'


def _yaml_value(text: str) -> str:
    encoded = _yaml_scalar(text)
    if len(_yaml_values) >= _CACHE_LIMIT:
        _yaml_values.clear()
    _yaml_values[text] = encoded
    return encoded


def _yaml_key(text: str) -> str:
    """Return the key and its separator: ``"key: "``, or the explicit form for long keys."""
    encoded = _yaml_scalar(text)
    if len(encoded) * 4 > _MAX_SIMPLE_KEY and len(encoded.encode("utf-8")) > _MAX_SIMPLE_KEY:
        prefix = f"? {encoded}\n  : "
    else:
        prefix = f"{encoded}: "
    if len(_yaml_keys) >= _CACHE_LIMIT:
        _yaml_keys.clear()
    _yaml_keys[text] = prefix
    return prefix


def _yaml_encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    values = _yaml_values
    keys = _yaml_keys
    out = []
    for record in records:
        if record:
            lines = [
                (keys.get(key) or _yaml_key(key)) + (values.get(value) or _yaml_value(value))
                for key, value in record.items()
            ]
            out.append("- " + "\n  ".join(lines) + "\n")
        else:
            out.append("- {}\n")
    # Surrogates are escaped above, so this cannot fail.
    return "".join(out).encode("utf-8")


def _yaml_end(count: int) -> bytes:
    return b"" if count else b"[]\n"


_JSON = Writer("json", (".json",), _json_begin, _json_encode, _json_end)
_JSONL = Writer("jsonl", (".jsonl", ".ndjson"), _no_bytes, _jsonl_encode, _nothing_after)
_YAML = Writer("yaml", (".yaml", ".yml"), _no_bytes, _yaml_encode, _yaml_end)
_CSV = Writer("csv", (".csv",), _csv_begin, _csv_encode, _nothing_after)

#: The writers by format name.
FORMATS: Mapping[str, Writer] = MappingProxyType(
    {writer.name: writer for writer in (_JSON, _JSONL, _YAML, _CSV)}
)
_BY_SUFFIX = {suffix: writer for writer in FORMATS.values() for suffix in writer.suffixes}
_BY_FORMAT = {**FORMATS, **{suffix[1:]: writer for suffix, writer in _BY_SUFFIX.items()}}
_KNOWN = "; ".join(f"{w.name} ({', '.join(w.suffixes)})" for w in FORMATS.values())


def _name(path: StrPath) -> str:
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError(f"path must be a str or os.PathLike[str], not {type(name).__name__}")
    if "\x00" in name:  # the system refuses it with a ValueError, not an OSError
        raise DataFileError(
            "is not a file name: it holds a NUL character (\\x00)",
            path=name.replace("\x00", "\\x00"),
        )
    return name


def writer_for(path: StrPath, format: str | None = None) -> Writer:
    """Return the writer of a format, by name or by the file's suffix.

    Args:
        path: The file; its suffix picks the format unless ``format`` is given.
        format: ``"json"``, ``"jsonl"``, ``"yaml"`` or ``"csv"`` (or a suffix
            without its dot, such as ``"yml"``).

    Raises:
        DataFileError: The format is unknown, or the suffix is unknown and no format
            was given.
    """
    name = _name(path)
    if format is not None:
        writer = _BY_FORMAT.get(format.lower().lstrip("."))
        if writer is None:
            raise DataFileError(
                f"unknown format {excerpt(format)}; expected one of: {_KNOWN}", path=name
            )
        return writer
    suffix = os.path.splitext(name)[1].lower()
    writer = _BY_SUFFIX.get(suffix)
    if writer is None:
        given = f"the suffix {excerpt(suffix)}" if suffix else "no suffix"
        raise DataFileError(
            f"cannot tell the format from {given}; use one of: {_KNOWN}, or pass format=",
            path=name,
        )
    return writer


# --- atomic writing ----------------------------------------------------------------------


#: Files under these are written in place, never replaced.
_SPECIAL_FOLDERS = ("/dev/", "/proc/")


def _umask() -> int:
    # /proc gives the umask without changing it (os.umask would, for all threads).
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _io_error(name: str, action: str, exc: OSError) -> DataFileError:
    return DataFileError(f"cannot {action}: {exc.strerror or exc}", path=name)


def _check_folder(name: str, folder: str) -> None:
    """Raise a clear error when the folder of a new file is missing or is a file."""
    if os.path.isdir(folder):
        return
    ancestor = folder
    while ancestor and not os.path.lexists(ancestor):
        parent = os.path.dirname(ancestor)
        if parent == ancestor:
            break
        ancestor = parent
    if os.path.lexists(ancestor) and not os.path.isdir(ancestor):
        raise DataFileError(
            f"cannot write: {ancestor!r} is a file, not a folder; expected a folder to "
            "hold the file",
            path=name,
        )
    raise DataFileError(
        f"cannot write: the folder {folder!r} does not exist; create it first", path=name
    )


def _pump(chunks: Iterable[bytes], file: IO[bytes], name: str) -> None:
    """Write the chunks; the iterator's own exceptions pass through unchanged."""
    write = file.write
    for chunk in chunks:
        try:
            write(chunk)
        except OSError as exc:
            raise _io_error(name, "write", exc) from None
    try:
        file.flush()
    except OSError as exc:
        raise _io_error(name, "write", exc) from None


def _write_stream(chunks: Iterable[bytes], name: str) -> None:
    out = sys.stdout
    try:
        out.flush()
    except OSError as exc:
        raise _io_error(name, "write", exc) from None
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        _pump(chunks, buffer, name)
        return
    # A replaced sys.stdout without a binary buffer (rare): write text.
    for chunk in chunks:
        try:
            out.write(chunk.decode("utf-8"))
        except OSError as exc:
            raise _io_error(name, "write", exc) from None


def _write_in_place(target: str, chunks: Iterable[bytes], name: str) -> None:
    """Write to a device, FIFO or other special file: it cannot be replaced."""
    try:
        file = open(target, "wb")  # noqa: SIM115  # closed below, reporting close errors
    except OSError as exc:
        raise _io_error(name, "open for writing", exc) from None
    try:
        _pump(chunks, file, name)
    except BaseException:
        with contextlib.suppress(OSError):
            file.close()
        raise
    try:
        file.close()
    except OSError as exc:
        raise _io_error(name, "write", exc) from None


def write_atomic(path: StrPath, chunks: Iterable[bytes]) -> None:
    """Write bytes to a file so that it holds either all of them or what it held before.

    The bytes go to a temporary file in the same folder, which is flushed, synced
    and renamed over the target. The new file keeps the permission bits (and, where
    allowed, the owner) of the file it replaces; a new file gets ``0o666`` less the
    umask. A symbolic link is followed: its target is replaced.

    An existing target that is not a regular file (a FIFO, a device), or is under
    ``/dev`` or ``/proc`` (``/dev/stdout``), is written in place. ``"-"`` writes to
    standard output.

    Args:
        path: The file, or ``"-"`` for standard output.
        chunks: The bytes, in order. Its exceptions propagate unchanged, after the
            temporary file is removed.

    Raises:
        DataFileError: The folder is missing or is a file, the target is a folder,
            or a write fails (for example ``cannot write: No space left on device``).
    """
    name = _name(path)
    if name == "-":
        _write_stream(chunks, "<stdout>")
        return
    try:
        before: os.stat_result | None = os.stat(name)  # through any symbolic link
    except FileNotFoundError:
        before = None
    except NotADirectoryError:
        _check_folder(name, os.path.dirname(os.path.abspath(name)))
        raise DataFileError("cannot write: a part of the path is not a folder", path=name) from None
    except OSError as exc:
        raise _io_error(name, "write", exc) from None
    if before is not None and stat.S_ISDIR(before.st_mode):
        raise DataFileError("cannot write: it is a folder; expected a file name", path=name)
    # /dev/stdout or /proc/self/fd/1 may lead to a regular file (a shell redirection):
    # replacing that file would cut it off from the process, so write in place.
    special = os.path.abspath(name).startswith(_SPECIAL_FOLDERS)
    if before is not None and (special or not stat.S_ISREG(before.st_mode)):
        _write_in_place(name, chunks, name)
        return

    target = os.path.realpath(name) if os.path.islink(name) else name
    folder = os.path.dirname(os.path.abspath(target))
    _check_folder(name, folder)
    # Ctrl-C is held back from just before the temporary file exists until the block
    # that removes it is entered: it cannot leave the file behind.
    held = _hold_interrupts()
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
    except BaseException as exc:
        _release_interrupts(held)
        if isinstance(exc, OSError):
            raise _io_error(name, f"create a file in {folder!r}", exc) from None
        raise
    file: IO[bytes] | None = None
    try:
        _release_interrupts(held)  # a Ctrl-C held back arrives here
        file = os.fdopen(descriptor, "wb")
        try:
            _pump(chunks, file, name)
            os.fsync(file.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                file.close()
            raise
        try:
            file.close()
            if before is not None:
                os.chmod(temporary, stat.S_IMODE(before.st_mode))
                if hasattr(os, "chown") and (before.st_uid, before.st_gid) != (
                    os.getuid(),
                    os.getgid(),
                ):
                    # Only root may give a file away; anyone else keeps it as theirs.
                    with contextlib.suppress(OSError):
                        os.chown(temporary, before.st_uid, before.st_gid)
            else:
                os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, target)
        except OSError as exc:
            raise _io_error(name, "write", exc) from None
    except BaseException:
        if file is None:
            with contextlib.suppress(OSError):
                os.close(descriptor)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _hold_interrupts() -> tuple[Any, list[int]] | None:
    """Put off Ctrl-C (SIGINT) until :func:`_release_interrupts`; ``None``: not here.

    The Python handler is swapped, not the signal mask: in a process with threads,
    another thread would take a masked signal and still interrupt this one.
    """
    if threading.current_thread() is not threading.main_thread():
        return None  # KeyboardInterrupt is raised in the main thread only
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler not set from Python: it cannot be put back
        return None
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    return previous, caught


def _release_interrupts(held: tuple[Any, list[int]] | None) -> None:
    """Put the SIGINT handler back and act on a Ctrl-C that came meanwhile."""
    if held is None:
        return
    previous, caught = held
    signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt
    elif caught and previous == signal.SIG_DFL:
        os.kill(os.getpid(), signal.SIGINT)


def _sync_folder(folder: str) -> None:
    # Make the rename itself durable. Not possible on every system: best effort.
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# --- save ---------------------------------------------------------------------------------


def _checked_blocks(
    records: Iterable[Mapping[str, str]], name: str, csv_format: bool
) -> Iterator[list[Mapping[str, str]]]:
    """Check the records and group them in blocks of :data:`CHUNK_SIZE`.

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
        if len(block) == CHUNK_SIZE:
            yield block
            block = []
    if block:
        yield block


def _encode_block(
    writer: Writer, block: list[Mapping[str, str]], first: bool, done: int, name: str
) -> bytes:
    try:
        return writer.encode(block, first)
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


class _Encoded:
    """The bytes of a whole file, made block by block as they are written."""

    def __init__(self, records: Iterable[Mapping[str, str]], writer: Writer, name: str) -> None:
        self.records = records
        self.writer = writer
        self.name = name
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        writer = self.writer
        blocks = _checked_blocks(self.records, self.name, writer.name == "csv")
        block = next(blocks, None)
        yield writer.begin(tuple(block[0]) if block else FIELDS)
        first = True
        while block is not None:
            data = _encode_block(writer, block, first, self.count, self.name)
            self.count += len(block)
            # Drop the block before asking for the next: only one block is ever held.
            block = None
            yield data
            first = False
            block = next(blocks, None)
        yield writer.end(self.count)


def save(
    records: Iterable[Mapping[str, str]],
    path: StrPath,
    *,
    format: str | None = None,
) -> int:
    """Write records to a file, atomically, streaming any iterable.

    The payload rules are not applied: a test may write invalid records on purpose.
    Each record must be a mapping with the first record's string keys and string
    values; keys are written in the first record's order.

    Args:
        records: The records; a generator is consumed a block at a time.
        path: The file (``"-"`` for standard output, with ``format``).
        format: ``"json"``, ``"jsonl"``, ``"yaml"`` or ``"csv"`` (default: from the
            suffix: ``.json``, ``.jsonl``/``.ndjson``, ``.yaml``/``.yml``, ``.csv``).

    Returns:
        The number of records written.

    Raises:
        DataFileError: An unknown format, a record that is not a mapping of strings
            with the first record's keys (naming the record and field), or a failed
            write. The previous file, if any, is then unchanged.
    """
    writer = writer_for(path, format)
    name = _name(path)
    if isinstance(records, (str, bytes, Mapping)):
        raise DataFileError(
            f"records is {excerpt(records)}; expected an iterable of mappings "
            "(put a single record in a list)",
            path=name,
        )
    encoded = _Encoded(records, writer, name)
    write_atomic(path, encoded)
    return encoded.count


# --- reading ----------------------------------------------------------------------------

# (record number, line of the record, the record, lines of its fields)
_Raw: TypeAlias = "tuple[int, int | None, dict[Any, Any], Mapping[str, int]]"
_Records: TypeAlias = "Generator[_Raw, None, None]"
_NO_LINES: Mapping[str, int] = MappingProxyType({})


def _text_lines(file: IO[bytes], name: str) -> Iterator[str]:
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


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "true or false"}


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_KINDS.get(type(value), "a number")


def _json_error(
    exc: Exception, name: str, record: int | None, line: int, *, whole_file: bool = True
) -> DataFileError:
    """Describe a JSON parser error at ``line``, or at the error's own line in a whole file."""
    field = None
    if isinstance(exc, _DuplicateKeyError):
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


def _read_json(file: IO[bytes], name: str) -> _Records:
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
            value, _ = _DECODER.raw_decode(text, index)
        except (ValueError, RecursionError, _DuplicateKeyError) as exc:
            raise _json_error(exc, name, None, line_at(index)) from None
        raise DataFileError(
            f"the top level is {_json_kind(value)}; expected a JSON array of records "
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
                value, index = _DECODER.raw_decode(text, index)
            except (ValueError, RecursionError, _DuplicateKeyError) as exc:
                raise _json_error(exc, name, number, start) from None
            if not isinstance(value, dict):
                raise DataFileError(
                    f"is {_json_kind(value)}; expected a JSON object of fields",
                    path=name,
                    record=number,
                    line=start,
                )
            yield number, start, value, _NO_LINES
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


def _read_jsonl(file: IO[bytes], name: str) -> _Records:
    # An empty file is zero records: that is what save() writes for none.
    number = 0
    decode = _DECODER.decode
    for line, text in enumerate(_text_lines(file, name), 1):
        if not text.strip(" \t\r\n"):
            continue
        number += 1
        try:
            value = decode(text)
        except (ValueError, RecursionError, _DuplicateKeyError) as exc:
            raise _json_error(exc, name, number, line, whole_file=False) from None
        if not isinstance(value, dict):
            raise DataFileError(
                f"is {_json_kind(value)}; expected one JSON object per line",
                path=name,
                record=number,
                line=line,
            )
        yield number, line, value, _NO_LINES


def _read_csv(file: IO[bytes], name: str) -> _Records:
    reader = csv.reader(_text_lines(file, name), strict=True)
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
            yield number, reader.line_num, dict(zip(header, row, strict=True)), _NO_LINES
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
# in a file can make Python objects or run code.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_MERGE = _TAG + "merge"
_YAML_KINDS = {
    _TAG + "null": "null",
    _TAG + "bool": "a boolean",
    _TAG + "int": "an integer",
    _TAG + "float": "a number",
    _TAG + "timestamp": "a date",
    _TAG + "binary": "binary data",
}
_SCALAR_TAGS = {_STR, _MERGE, _TAG + "value", *_YAML_KINDS}
_SEQUENCE_TAGS = {None, "!", _TAG + "seq"}
_MAPPING_TAGS = {None, "!", _TAG + "map"}
# The characters PyYAML's reader accepts (libyaml's are the same).
_YAML_UNPRINTABLE = re.compile(
    r"[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
# Merge keys (<<) copy mappings: a chain of anchors, each merging the one before and
# adding a key, would hold 1 + 2 + ... + n keys (3,000 lines of YAML take 250 MB).
# A record has 13 fields, so a mapping may have at most _MAX_FIELDS, and the mappings
# that anchors keep at most _MAX_ANCHORED fields in all: memory and time stay linear.
_MAX_FIELDS = 100
_MAX_ANCHORED = 100_000


@dataclass(frozen=True)
class _Other:
    """What an anchor names when it is not a string: described, never expanded."""

    kind: str
    text: str = ""


class _YamlText:
    """The file's text for the YAML loader, one checked line per read."""

    def __init__(self, file: IO[bytes], name: str) -> None:
        self.name = name
        self.lines = enumerate(_text_lines(file, name), 1)

    def read(self, size: int = -1) -> str:
        # One line per call, so a reader gets each record as soon as it is complete.
        for number, text in self.lines:
            bad = _YAML_UNPRINTABLE.search(text)
            if bad:
                raise DataFileError(
                    f"holds the character U+{ord(bad.group()):04X} at column {bad.start() + 1}, "
                    'which YAML does not allow raw; write it escaped in a "double-quoted" string',
                    path=self.name,
                    line=number,
                )
            return text
        return ""


def _line(event: yaml.Event) -> int:
    # Both parsers mark every event; the type allows None.
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _YamlReader:
    """Reads a YAML list of flat mappings from the loader's events."""

    def __init__(self, file: IO[bytes], name: str) -> None:
        self.name = name
        self.file = file
        self.loader: Any = None
        self.anchors: dict[str, str | dict[str, str] | _Other] = {}
        self.anchored = 0  # fields in the mappings that anchors keep
        self.number: int | None = None

    def error(
        self, message: str, event: yaml.Event | None = None, field: str | None = None
    ) -> DataFileError:
        line = _line(event) if event is not None else None
        return DataFileError(message, path=self.name, record=self.number, line=line, field=field)

    def records(self) -> _Records:
        try:
            # The pure-Python loader reads the first line here already.
            self.loader = _YAML_LOADER(_YamlText(self.file, self.name))
            yield from self._records()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = ", ".join(text for text in (exc.context, exc.problem) if text)
            if mark is None:
                raise DataFileError(
                    f"is not valid YAML: {problem}", path=self.name, record=self.number
                ) from None
            raise DataFileError(
                f"is not valid YAML: {problem} (column {mark.column + 1})",
                path=self.name,
                record=self.number,
                line=mark.line + 1,
            ) from None
        except yaml.YAMLError as exc:
            raise DataFileError(
                f"is not valid YAML: {excerpt(' '.join(str(exc).split()), 120)}",
                path=self.name,
                record=self.number,
            ) from None
        except RecursionError:
            raise DataFileError(
                "is nested too deeply to read; expected flat records",
                path=self.name,
                record=self.number,
            ) from None
        finally:
            if self.loader is not None:
                self.loader.dispose()

    def _records(self) -> _Records:
        loader = self.loader
        loader.get_event()  # stream start
        expected = "expected a YAML list of records (- first_name: ...)"
        if loader.check_event(yaml.StreamEndEvent):
            raise self.error(f"is empty; {expected}")
        loader.get_event()  # document start
        top = loader.get_event()
        if isinstance(top, yaml.ScalarEvent) and self._scalar_tag(top) == _TAG + "null":
            raise self.error(f"is empty (a null document); {expected}", top)
        if not isinstance(top, yaml.SequenceStartEvent):
            raise self.error(f"the top level is {self._describe(top)}; {expected}", top)
        self._check_tag(top, _SEQUENCE_TAGS)
        number = 0
        while True:
            self.number = number + 1
            if loader.check_event(yaml.SequenceEndEvent):
                break
            number += 1
            event = loader.get_event()
            record, lines = self._record(event)
            yield number, _line(event), record, lines
        self.number = None
        loader.get_event()  # sequence end
        loader.get_event()  # document end
        if loader.check_event(yaml.DocumentStartEvent):
            extra = loader.get_event()
            raise self.error("holds more than one YAML document; expected one list", extra)

    def _scalar_tag(self, event: yaml.ScalarEvent) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            resolved: str = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            return resolved
        if tag not in _SCALAR_TAGS:
            raise self._tag_error(tag, event)
        return tag

    def _check_tag(self, event: yaml.CollectionStartEvent, allowed: set[str | None]) -> None:
        if event.tag not in allowed:
            raise self._tag_error(event.tag or "", event)

    def _tag_error(self, tag: str, event: yaml.Event) -> DataFileError:
        return self.error(
            f"the YAML tag {excerpt(_show_tag(tag))} is not allowed; YAML tags are not "
            "allowed in data files, only plain strings",
            event,
        )

    def _describe(self, event: yaml.Event) -> str:
        """Describe a node by its first event, for a message; never expands anything."""
        if isinstance(event, yaml.SequenceStartEvent):
            self._check_tag(event, _SEQUENCE_TAGS)
            return "a list"
        if isinstance(event, yaml.MappingStartEvent):
            self._check_tag(event, _MAPPING_TAGS)
            return "a mapping"
        if isinstance(event, yaml.ScalarEvent):
            tag = self._scalar_tag(event)
            if tag == _TAG + "null":
                return "empty (null)"
            kind = _YAML_KINDS.get(tag)
            return f"{excerpt(event.value)}{f', which YAML reads as {kind}' if kind else ''}"
        if isinstance(event, yaml.AliasEvent):
            target = self._alias(event)
            if isinstance(target, str):
                return excerpt(target)
            if isinstance(target, dict):
                return "a mapping"
            return target.kind
        return "not a value"  # pragma: no cover  # the parser gives no other events here

    def _alias(self, event: yaml.AliasEvent) -> str | dict[str, str] | _Other:
        target = self.anchors.get(event.anchor or "")
        if target is None:
            raise self.error(
                f"the alias *{excerpt(event.anchor)[1:-1]} names no anchor defined before it",
                event,
            )
        return target

    def _scalar(self, event: yaml.ScalarEvent) -> str | _Other:
        tag = self._scalar_tag(event)
        value: str | _Other = event.value
        if tag not in (_STR, _TAG + "value"):
            value = _Other(_YAML_KINDS.get(tag, "a merge key"), event.value)
        if event.anchor is not None:
            self._keep(event.anchor, value, event)
        return value

    def _record(self, event: yaml.Event) -> tuple[dict[str, str], Mapping[str, int]]:
        if isinstance(event, yaml.MappingStartEvent):
            return self._mapping(event)
        if isinstance(event, yaml.AliasEvent):
            target = self._alias(event)
            if isinstance(target, dict):
                return dict(target), _NO_LINES
        raise self.error(
            f"is {self._describe(event)}; expected a mapping of fields (first_name: ...)", event
        )

    def _mapping(self, start: yaml.MappingStartEvent) -> tuple[dict[str, str], dict[str, int]]:
        self._check_tag(start, _MAPPING_TAGS)
        loader = self.loader
        values: dict[str, str] = {}
        lines: dict[str, int] = {}
        merged: list[dict[str, str]] = []
        while not loader.check_event(yaml.MappingEndEvent):
            key_event = loader.get_event()
            key = self._key(key_event)
            value_event = loader.get_event()
            if key is None:
                # "<<: *base" (or a list of them): merged the way PyYAML merges, the
                # first source winning over later ones and the mapping's keys over all.
                merged.extend(reversed(self._merge_sources(value_event)))
                continue
            line = _line(key_event)
            if key in values:
                raise self.error(
                    f"field {excerpt(key)} appears twice (lines {lines[key]} and {line}); "
                    "expected each field once",
                    key_event,
                    key,
                )
            values[key] = self._value(value_event, key)
            lines[key] = line
            if len(values) > _MAX_FIELDS:
                raise self._too_many(start)
        loader.get_event()  # mapping end
        if merged:
            result: dict[str, str] = {}
            for source in merged:
                result.update(source)
                if len(result) > _MAX_FIELDS:
                    raise self._too_many(start)
            result.update(values)
            values = result
            if len(values) > _MAX_FIELDS:
                raise self._too_many(start)
        if start.anchor is not None:
            self._keep(start.anchor, dict(values), start)
        return values, lines

    def _too_many(self, start: yaml.Event) -> DataFileError:
        return self.error(
            f"has more than {_MAX_FIELDS} fields (with those of merge keys <<); expected "
            f"a flat record of the {len(FIELDS)} payload fields",
            start,
        )

    def _keep(self, anchor: str, value: str | dict[str, str] | _Other, event: yaml.Event) -> None:
        """Keep an anchor's value for its aliases; mappings within :data:`_MAX_ANCHORED` fields."""
        previous = self.anchors.get(anchor)
        if isinstance(previous, dict):  # an anchor defined again replaces the old one
            self.anchored -= len(previous)
        if isinstance(value, dict):
            self.anchored += len(value)
        if self.anchored > _MAX_ANCHORED:
            raise self.error(
                f"its anchored mappings (&name) hold more than {_MAX_ANCHORED:,} fields; "
                "expected anchors for a few shared records, not for every one",
                event,
            )
        self.anchors[anchor] = value

    def _key(self, event: yaml.Event) -> str | None:
        """Return the key, or ``None`` for the merge key ``<<``."""
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event)
            if isinstance(value, str):
                return value
            if value.kind == "a merge key":
                return None
        elif isinstance(event, yaml.AliasEvent):
            target = self._alias(event)
            if isinstance(target, str):
                return target
        raise self.error(
            f"has the key {self._describe(event)}; expected a field name (a string)", event
        )

    def _value(self, event: yaml.Event, key: str) -> str:
        value: str | dict[str, str] | _Other
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event)
        elif isinstance(event, yaml.AliasEvent):
            value = self._alias(event)
        else:
            value = _Other(self._describe(event))
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            value = _Other("a mapping")
        if value.kind == "null":
            problem = 'is empty (null); expected a string (write "" for an empty one)'
        elif value.text:
            problem = (
                f"is {excerpt(value.text)}, which YAML reads as {value.kind}; expected a "
                'string (put it in quotes: "...")'
            )
        else:
            problem = f"is {value.kind}; expected a string"
        raise self.error(f"field {excerpt(key)} {problem}", event, key)

    def _merge_sources(self, event: yaml.Event) -> list[dict[str, str]]:
        if isinstance(event, yaml.AliasEvent):
            target = self._alias(event)
            if isinstance(target, dict):
                return [target]
        elif isinstance(event, yaml.MappingStartEvent):
            return [self._mapping(event)[0]]
        elif isinstance(event, yaml.SequenceStartEvent):
            self._check_tag(event, _SEQUENCE_TAGS)
            sources = []
            while not self.loader.check_event(yaml.SequenceEndEvent):
                item = self.loader.get_event()
                if isinstance(item, yaml.SequenceStartEvent):
                    self._check_tag(item, _SEQUENCE_TAGS)
                    break
                sources.extend(self._merge_sources(item))
            else:
                self.loader.get_event()  # sequence end
                return sources
        elif isinstance(event, yaml.ScalarEvent):
            self._scalar_tag(event)  # a YAML tag is refused as such, whatever the shape
        raise self.error(
            "has a merge key << whose value is not a mapping or a list of mappings", event
        )


def _read_yaml(file: IO[bytes], name: str) -> _Records:
    return _YamlReader(file, name).records()


_READERS: dict[str, Callable[[IO[bytes], str], _Records]] = {
    "json": _read_json,
    "jsonl": _read_jsonl,
    "yaml": _read_yaml,
    "csv": _read_csv,
}


def _judged(
    reader: Callable[[IO[bytes], str], _Records],
    name: str,
    as_of: date | None,
    cfg: Config | None,
) -> Iterator[tuple[dict[str, str], DataFileError | None]]:
    """Yield each record with the rule it breaks, if any; raise what stops reading."""
    stdin = name == "-"
    display = "<stdin>" if stdin else name
    try:
        file: IO[bytes] = sys.stdin.buffer if stdin else open(name, "rb")  # noqa: SIM115
    except OSError as exc:
        raise _io_error(display, "read", exc) from None
    raw = reader(file, display)
    try:
        while True:
            try:
                number, line, record, lines = next(raw)
            except StopIteration:
                return
            except OSError as exc:
                raise _io_error(display, "read", exc) from None
            problem = None
            try:
                validate(record, as_of=as_of, cfg=cfg)
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
    reader: Callable[[IO[bytes], str], _Records],
    name: str,
    as_of: date | None,
    cfg: Config | None,
) -> Iterator[dict[str, str]]:
    for record, problem in _judged(reader, name, as_of, cfg):
        if problem is not None:
            raise problem
        yield record


def _reader(path: StrPath, format: str | None) -> tuple[str, Callable[[IO[bytes], str], _Records]]:
    """Return the file's name and reader; raise at once for a bad format or path."""
    name = _name(path)
    writer = writer_for(path, format)
    if name != "-":
        try:
            if stat.S_ISDIR(os.stat(name).st_mode):
                raise DataFileError("cannot read: it is a folder; expected a file", path=name)
        except FileNotFoundError:
            raise DataFileError("cannot read: the file does not exist", path=name) from None
        except OSError:
            pass  # reported when the file is opened, with the system's reason
    return name, _READERS[writer.name]


def check(
    path: StrPath,
    *,
    format: str | None = None,
    as_of: date | None = None,
    cfg: Config | None = None,
) -> Iterator[DataFileError]:
    """Yield every problem of a data file, for a report (``load`` stops at the first).

    Each record that breaks a rule gives one error and reading goes on; a problem
    that stops reading (a missing file, a syntax error, a wrong shape) comes last.

    Args:
        path: The file (``"-"`` for standard input, with ``format``).
        format: ``"json"``, ``"jsonl"``, ``"yaml"`` or ``"csv"`` (default: from the
            suffix).
        as_of: The date ages are checked on (default: the reference date, today).
        cfg: The config whose rules apply (default: the active one).

    Returns:
        An iterator of the errors, as :func:`load` would raise them; none for a good file.
    """
    try:
        name, reader = _reader(path, format)
        for _, problem in _judged(reader, name, as_of, cfg):
            if problem is not None:
                yield problem
    except DataFileError as exc:
        yield exc


def iter_load(
    path: StrPath,
    *,
    format: str | None = None,
    as_of: date | None = None,
    cfg: Config | None = None,
) -> Iterator[dict[str, str]]:
    """Read a data file record by record, checking each record with the payload rules.

    JSON Lines, CSV and YAML are read as a stream (a record is returned as soon as it
    is read; memory stays flat); a JSON array is read whole, then parsed record by
    record. The format and the file's existence are checked at once; everything
    else as the records are read.

    Args:
        path: The file (``"-"`` for standard input, with ``format``).
        format: ``"json"``, ``"jsonl"``, ``"yaml"`` or ``"csv"`` (default: from the
            suffix).
        as_of: The date ages are checked on (default: the reference date, today).
        cfg: The config whose rules apply (default: the active one).

    Returns:
        An iterator of the records, each a ``dict`` in the file's key order.

    Raises:
        DataFileError: The file cannot be read, is not valid in its format, is not a
            list of flat records, or a record breaks a rule. The message names the
            file and, where known, the record (from 1), the line and the field.
    """
    name, reader = _reader(path, format)
    return _checked(reader, name, as_of, cfg)


def load(
    path: StrPath,
    *,
    format: str | None = None,
    as_of: date | None = None,
    cfg: Config | None = None,
) -> list[dict[str, str]]:
    """Read a data file and check every record with the payload rules.

    Args:
        path: The file (``"-"`` for standard input, with ``format``).
        format: ``"json"``, ``"jsonl"``, ``"yaml"`` or ``"csv"`` (default: from the
            suffix).
        as_of: The date ages are checked on (default: the reference date, today).
        cfg: The config whose rules apply (default: the active one).

    Returns:
        The records, each a ``dict`` in the file's key order.

    Raises:
        DataFileError: See :func:`iter_load`.
    """
    return list(iter_load(path, format=format, as_of=as_of, cfg=cfg))
