"""Atomic writing: a file holds either all of its new bytes or what it held before.

The bytes go to a temporary file in the same folder, which is flushed, synced and
renamed over the target; a failure, the records' own exception or Ctrl-C removes the
temporary file and leaves the target as it was. A folder of files
(:func:`replacing_folder`) is filled beside its target and swapped in the same way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import IO, Any

from ..errors import DataFileError
from ._io import StrPath, WritesItself, io_error, path_name

__all__ = ["replacing_folder", "write_atomic"]

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
    if isinstance(chunks, WritesItself):
        chunks.write_into(file, lambda exc: io_error(name, "write", exc))
        try:
            file.flush()
        except OSError as exc:
            raise io_error(name, "write", exc) from None
        return
    write = file.write
    for chunk in chunks:
        try:
            write(chunk)
        except OSError as exc:
            raise io_error(name, "write", exc) from None
    try:
        file.flush()
    except OSError as exc:
        raise io_error(name, "write", exc) from None


def _write_stream(chunks: Iterable[bytes], name: str) -> None:
    out = sys.stdout
    try:
        out.flush()
    except OSError as exc:
        raise io_error(name, "write", exc) from None
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        _pump(chunks, buffer, name)
        return
    # A replaced sys.stdout without a binary buffer (rare): write text.
    for chunk in chunks:
        try:
            out.write(chunk.decode("utf-8"))
        except OSError as exc:
            raise io_error(name, "write", exc) from None


def _write_in_place(target: str, chunks: Iterable[bytes], name: str) -> None:
    """Write to a device, FIFO or other special file: it cannot be replaced."""
    try:
        file = open(target, "wb")  # noqa: SIM115  # closed below, reporting close errors
    except OSError as exc:
        raise io_error(name, "open for writing", exc) from None
    try:
        _pump(chunks, file, name)
    except BaseException:
        with contextlib.suppress(OSError):
            file.close()
        raise
    try:
        file.close()
    except OSError as exc:
        raise io_error(name, "write", exc) from None


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
    name = path_name(path)
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
        raise io_error(name, "write", exc) from None
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
            raise io_error(name, f"create a file in {folder!r}", exc) from None
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
            raise io_error(name, "write", exc) from None
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


def _release_interrupts(held: tuple[Any, list[int]] | None, *, act: bool = True) -> None:
    """Put the SIGINT handler back and act on a Ctrl-C that came meanwhile, if asked."""
    if held is None:
        return
    previous, caught = held
    signal.signal(signal.SIGINT, previous)
    if not act:
        return
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


@contextlib.contextmanager
def replacing_folder(path: StrPath) -> Iterator[str]:
    """Yield a new, empty folder beside ``path`` that takes its place when the block ends.

    The folder is made in ``path``'s parent (the same file system, so renames are
    atomic). When the block ends normally, it gets the permission bits of the folder
    it replaces (a new one: ``0o777`` less the umask), the old folder is renamed
    aside, the new one renamed to ``path``, and only then is the old one removed;
    Ctrl-C is held back meanwhile. When the block raises (Ctrl-C included), the new
    folder and everything in it are removed and ``path`` is as it was. A symbolic
    link is followed: its target is replaced. Missing parent folders are created.

    Args:
        path: The folder to fill.

    Yields:
        The temporary folder's path.

    Raises:
        DataFileError: The parent cannot hold a new folder, or the swap fails.
    """
    name = path_name(path)
    target = os.path.realpath(name) if os.path.islink(name) else os.path.abspath(name)
    parent = os.path.dirname(target)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise io_error(name, f"create the folder {parent!r}", exc) from None
    # As for a file: Ctrl-C cannot come between the folder's creation and the block
    # that removes it.
    held = _hold_interrupts()
    try:
        temporary = tempfile.mkdtemp(
            dir=parent, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
    except BaseException as exc:
        _release_interrupts(held)
        if isinstance(exc, OSError):
            raise io_error(name, f"create a folder in {parent!r}", exc) from None
        raise
    try:
        _release_interrupts(held)  # a Ctrl-C held back arrives here
        yield temporary
        _swap_folder(temporary, target, name)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _swap_folder(new: str, target: str, name: str) -> None:
    """Put the filled folder ``new`` in the place of ``target``, keeping the old one until then."""
    try:
        before: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise io_error(name, "replace the folder", exc) from None
    parent = os.path.dirname(target)
    old = os.path.join(parent, f".{os.path.basename(target)}.{secrets.token_hex(4)}.old")
    swapped = False
    held = _hold_interrupts()
    try:
        try:
            os.chmod(new, stat.S_IMODE(before.st_mode) if before else 0o777 & ~_umask())
            _sync_folder(new)
            if before is None:
                os.rename(new, target)
            else:
                # No portable rename swaps two folders: move the old one aside first,
                # and back if the new one cannot take its place.
                os.rename(target, old)
                try:
                    os.rename(new, target)
                except OSError:
                    os.rename(old, target)
                    raise
        except OSError as exc:
            raise io_error(name, "replace the folder", exc) from None
        swapped = True
        try:
            _sync_folder(parent)
            if before is not None:
                shutil.rmtree(old)
        except OSError as exc:
            raise DataFileError(
                f"the new folder is in place, but the old one, moved to {old!r}, cannot "
                f"be removed: {exc.strerror or exc}; remove it by hand",
                path=name,
            ) from None
    finally:
        # Once the new folder is in place a Ctrl-C comes too late to undo it; acting on
        # it would report that nothing changed.
        _release_interrupts(held, act=not swapped)
