"""Tests of bookslot_factories.files.atomic: all or nothing, whatever fails or interrupts.

Modes of new and replaced files, missing folders and links, and special files
(FIFOs, /dev/full, /dev/stdout, "-"), which are written in place.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from bookslot_factories import DataFileError
from bookslot_factories.files import replacing_folder, save, write_atomic
from bookslot_factories.model import BLOCK_SIZE
from oracles import FORMAT_NAMES, GOOD, SUFFIX, leftovers, make_records

# --- all or nothing --------------------------------------------------------------------


def _records_then(
    error: BaseException, count: int = 2 * BLOCK_SIZE + 10
) -> Iterator[dict[str, str]]:
    for _ in range(count):
        yield GOOD
    raise error


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boom"),
        OSError(errno.ENOSPC, "No space left on device"),
        KeyboardInterrupt(),
    ],
    ids=["exception", "ENOSPC", "KeyboardInterrupt"],
)
@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_a_failing_iterator_leaves_the_old_file(
    tmp_path: Path, fmt: str, error: BaseException
) -> None:
    path = tmp_path / f"keep{SUFFIX[fmt]}"
    save([GOOD], path)
    old = path.read_bytes()
    seen_temporary: list[str] = []

    def records() -> Iterator[dict[str, str]]:
        yield from _records_then(error)

    def watched() -> Iterator[dict[str, str]]:
        for i, record in enumerate(records()):
            if i == 2 * BLOCK_SIZE:
                seen_temporary.extend(leftovers(tmp_path))
            yield record

    with pytest.raises(type(error)) as info:
        save(watched(), path)

    assert info.value is error  # unchanged, not wrapped
    assert len(seen_temporary) == 1  # it had written to a temporary file...
    assert leftovers(tmp_path) == []  # ...which is gone
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_write_atomic_cleans_up_after_its_chunks_fail(tmp_path: Path) -> None:
    path = tmp_path / "raw.bin"
    path.write_bytes(b"before")

    def chunks() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise ValueError("no more")

    with pytest.raises(ValueError, match="no more"):
        write_atomic(path, chunks())
    assert path.read_bytes() == b"before"
    assert leftovers(tmp_path) == []

    write_atomic(str(path), iter([b"a", b"", b"b"]))
    assert path.read_bytes() == b"ab"


# --- modes, folders and links ----------------------------------------------------------


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "mode.json"
    path.write_bytes(b"[]")
    path.chmod(0o640)
    save([GOOD], path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    path.chmod(0o604)
    save([GOOD], path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o604


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_new_file_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        save([GOOD], tmp_path / "new.yaml")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o666 & ~umask


def test_missing_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    with pytest.raises(DataFileError) as info:
        save([GOOD], folder / "x.json")
    assert f"the folder {str(folder)!r} does not exist" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    for target in (tmp_path / "file.txt" / "x.json", tmp_path / "file.txt" / "sub" / "x.json"):
        with pytest.raises(DataFileError) as info:
            save([GOOD], target)
        assert f"{str(tmp_path / 'file.txt')!r} is a file, not a folder" in str(info.value)
    assert (tmp_path / "file.txt").read_text() == "x"


def test_target_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    with pytest.raises(DataFileError, match="it is a folder; expected a file name"):
        save([GOOD], tmp_path / "d.json")
    assert (tmp_path / "d.json").is_dir()


def test_symlink_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("[]")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save([GOOD], link)
    assert link.is_symlink()
    assert json.loads(real.read_text()) == [GOOD]


# --- special files, written in place ---------------------------------------------------


def _broken_fifo_case(tmp_path: Path) -> tuple[str, str]:
    """A FIFO whose reader leaves at once: writing fails with EPIPE."""
    fifo = tmp_path / "gone.fifo"
    os.mkfifo(fifo)

    def reader() -> None:
        os.close(os.open(fifo, os.O_RDONLY))

    threading.Thread(target=reader, daemon=True).start()
    return str(fifo), "cannot write: Broken pipe"


def test_device_full(tmp_path: Path) -> None:
    if os.path.exists("/dev/full"):
        target, message = "/dev/full", "cannot write: No space left on device"
    else:  # no /dev/full here: a FIFO that fails the same way
        target, message = _broken_fifo_case(tmp_path)
    kind = stat.S_IFMT(os.stat(target).st_mode)

    with pytest.raises(DataFileError) as info:
        save([GOOD] * 3000, target, format="jsonl")

    assert str(info.value) == f"{target}: {message}"
    assert stat.S_IFMT(os.stat(target).st_mode) == kind  # written in place, not replaced
    assert leftovers(Path(target).parent) == []


def test_fifo_whose_reader_leaves(tmp_path: Path) -> None:
    target, message = _broken_fifo_case(tmp_path)
    with pytest.raises(DataFileError, match=message):
        save([GOOD] * 3000, target, format="jsonl")
    assert stat.S_ISFIFO(os.stat(target).st_mode)


def test_fifo_is_written_in_place(tmp_path: Path) -> None:
    records = make_records(30)
    save(records, tmp_path / "expected.yaml")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as file:
            received.append(file.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert save(records, fifo) == 30
    thread.join(10)

    assert received == [(tmp_path / "expected.yaml").read_bytes()]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert leftovers(tmp_path) == []


def test_dev_stdout_is_written_in_place(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Under pytest, file descriptor 1 is a regular temporary file: it must not be replaced.
    records = make_records(3)
    capfd.readouterr()
    assert save(records, "/dev/stdout", format="jsonl") == 3
    out = capfd.readouterr().out
    save(records, tmp_path / "same.jsonl")
    assert out == (tmp_path / "same.jsonl").read_text(encoding="utf-8")
    assert leftovers(Path("/dev")) == []


def test_dash_writes_to_stdout(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    records = make_records(4)
    assert save(records, "-", format="jsonl") == 4
    out = capsysbinary.readouterr().out
    save(records, tmp_path / "same.jsonl")
    assert out == (tmp_path / "same.jsonl").read_bytes()


# --- a folder replaced whole (the parts of generate --dask) -----------------------------


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_filled_folder_replaces_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "parts"
    target.mkdir(mode=0o750)
    (target / "old-only.jsonl").write_bytes(b"old\n")
    with replacing_folder(target) as new:
        Path(new, "part-0.jsonl").write_bytes(b"new\n")
        assert _tree(target) == {"old-only.jsonl": b"old\n"}  # nothing shows until the end
    assert _tree(target) == {"part-0.jsonl": b"new\n"}
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]  # no .tmp, no .old


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
@pytest.mark.parametrize("existed", [True, False])
def test_a_folder_whose_filling_fails_leaves_the_old_one(
    tmp_path: Path, error: BaseException, existed: bool
) -> None:
    target = tmp_path / "parts"
    if existed:
        target.mkdir()
        (target / "part-0.jsonl").write_bytes(b"old\n")

    def fill_then_fail() -> None:
        with replacing_folder(target) as new:
            Path(new, "part-0.jsonl").write_bytes(b"half")
            raise error

    with pytest.raises(type(error)):
        fill_then_fail()
    if existed:
        assert _tree(target) == {"part-0.jsonl": b"old\n"}
    else:
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["parts"] if existed else [])


def test_a_folder_in_a_missing_parent_is_made_and_a_file_in_the_way_is_named(
    tmp_path: Path,
) -> None:
    with replacing_folder(tmp_path / "a" / "b" / "parts") as new:
        Path(new, "x").write_bytes(b"1")
    assert _tree(tmp_path / "a" / "b" / "parts") == {"x": b"1"}
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(DataFileError, match="file"), replacing_folder(tmp_path / "file" / "p"):
        pass
