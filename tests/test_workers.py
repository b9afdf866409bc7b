"""Worker processes writing numbered blocks in turn to one file descriptor."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from bookslot_factories.errors import BookslotError
from bookslot_factories.workers import WriteError, write_in_turns
from oracles import Boom, children, loaded_by, running, time_limit

PARENT = os.getpid()


def _tagged(number: int) -> bytes:
    """Block ``number``, saying which process made it; sizes differ from block to block."""
    return _tagged_by(number, os.getpid())


def _tagged_by(number: int, pid: int) -> bytes:
    return f"{number} {pid}\n".encode() * (1 + number % 7) * 300


def _slowly_tagged(number: int) -> bytes:
    """A block that takes a while to make, as real ones do (a worker starts meanwhile)."""
    time.sleep(0.005)
    return _tagged(number)


def _lines(data: bytes) -> list[tuple[int, int]]:
    return [(int(n), int(pid)) for n, pid in (line.split() for line in data.splitlines())]


@contextmanager
def _no_worker_left() -> Iterator[None]:
    before = set(children(os.getpid()))  # other tests' helpers may live on
    yield
    assert set(children(os.getpid())) <= before


def _all_at_work(roll: Path, processes: int) -> Callable[[int], bytes]:
    """A make whose first call in each process waits until every process has called it.

    So every process makes (and writes) blocks, however late a worker starts.
    """

    def make(number: int) -> bytes:
        with roll.open("a") as file:
            file.write(f"{os.getpid()}\n")
        deadline = time.monotonic() + 30
        while len(set(roll.read_text().split())) < processes:
            assert time.monotonic() < deadline, "a process never made a block"
            time.sleep(0.001)
        return _tagged(number)

    return make


@pytest.mark.parametrize("processes", [2, 3])
@pytest.mark.parametrize("blocks", [3, 4, 40])
def test_blocks_come_in_order_each_written_by_its_maker(
    tmp_path: Path, processes: int, blocks: int
) -> None:
    path = tmp_path / "out"
    make = _all_at_work(tmp_path / "roll", processes)
    with _no_worker_left(), time_limit(60), path.open("wb") as file:
        file.write(b"head\n")
        file.flush()
        write_in_turns(file.fileno(), blocks, make, processes=processes)
        file.write(b"tail\n")
    data = path.read_bytes()
    assert data.startswith(b"head\n")
    assert data.endswith(b"tail\n")
    body = data[len(b"head\n") : -len(b"tail\n")]
    assert body == b"".join(_tagged_by(n, pid) for n, pid in _makers(body))
    assert [n for n, _ in _makers(body)] == list(range(blocks))
    # Every process made some (test_bulk checks that the makers wrote them too).
    assert len({pid for _, pid in _makers(body)}) == processes


def _makers(body: bytes) -> list[tuple[int, int]]:
    """Each block's number and maker, in the order the blocks are in the file."""
    seen: list[tuple[int, int]] = []
    for entry in _lines(body):
        if not seen or seen[-1] != entry:
            seen.append(entry)
    return seen


def test_a_pipe_gets_the_blocks_in_order() -> None:
    read_end, write_end = os.pipe()
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(_read_all(read_end)))
    reader.start()
    try:
        with _no_worker_left():
            write_in_turns(write_end, 25, _tagged, processes=2)
    finally:
        os.close(write_end)
        reader.join()
        os.close(read_end)
    assert [n for n, _ in _makers(got[0])] == list(range(25))


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def test_progress_comes_here_block_by_block_in_order(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    with (tmp_path / "out").open("wb") as file:
        write_in_turns(
            file.fileno(),
            30,
            _tagged,
            processes=2,
            on_written=lambda n: seen.append((n, os.getpid())),
        )
    assert seen == [(n, PARENT) for n in range(30)]


def _made_here_slowly(number: int) -> bytes:
    """Blocks this process makes take long: the worker, however late it starts, gets some."""
    if os.getpid() == PARENT:
        time.sleep(0.05)
    return _tagged(number)


def _fails_in_a_worker(number: int) -> bytes:
    if os.getpid() != PARENT and number >= 5:
        raise Boom(f"block {number}")
    return _made_here_slowly(number)


def _raises_oserror(number: int) -> bytes:
    if os.getpid() != PARENT:
        raise OSError(errno.EIO, "the source is gone")
    return _made_here_slowly(number)


def _killed_in_a_worker(number: int) -> bytes:
    if os.getpid() != PARENT and number >= 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return _made_here_slowly(number)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (_fails_in_a_worker, Boom, r"^block \d+$"),
        # make's own OSError is not a failed write: it comes through as it was.
        (_raises_oserror, OSError, r"the source is gone"),
        (_killed_in_a_worker, BookslotError, r"worker process was killed by signal 9"),
    ],
    ids=["exception", "oserror", "killed"],
)
def test_a_worker_that_fails_stops_the_run_here(
    tmp_path: Path, make: Callable[[int], bytes], error: type[BaseException], message: str
) -> None:
    with (
        _no_worker_left(),
        time_limit(30),
        (tmp_path / "out").open("wb") as file,
        pytest.raises(error, match=message) as info,
    ):
        write_in_turns(file.fileno(), 200, make, processes=2)
    assert not isinstance(info.value, WriteError)


def test_a_failed_write_is_a_write_error_whoever_wrote() -> None:
    with (
        _no_worker_left(),
        time_limit(30),
        open("/dev/full", "wb") as full,
        pytest.raises(WriteError) as info,
    ):
        write_in_turns(full.fileno(), 50, _tagged, processes=2)
    assert isinstance(info.value.args[0], OSError)
    assert info.value.args[0].errno == errno.ENOSPC


def test_an_exception_here_stops_the_workers_at_once(tmp_path: Path) -> None:
    path = tmp_path / "out"

    def stop_at_block_3(number: int) -> None:
        if number == 3:
            raise KeyboardInterrupt

    with _no_worker_left(), path.open("wb") as file, pytest.raises(KeyboardInterrupt):
        write_in_turns(
            file.fileno(), 10_000, _slowly_tagged, processes=3, on_written=stop_at_block_3
        )
    size = path.stat().st_size
    time.sleep(0.2)
    assert path.stat().st_size == size  # no worker goes on writing
    assert len(_makers(path.read_bytes())) < 20


_ORPHANED = """
import os, sys, time
from bookslot_factories.workers import write_in_turns

parent, side = os.getpid(), sys.argv[2]

def make(number):
    if os.getpid() != parent:
        with open(side, "a") as file:
            file.write(f"{os.getpid()}\\n")
    time.sleep(0.02)
    return b"x" * 1000

with open(sys.argv[1], "wb") as out:
    write_in_turns(out.fileno(), 100_000, make, processes=2)
"""


def test_workers_stop_when_the_parent_is_killed(tmp_path: Path) -> None:
    out, side = tmp_path / "out", tmp_path / "workers"
    proc = subprocess.Popen([sys.executable, "-c", _ORPHANED, str(out), str(side)])
    try:
        deadline = time.monotonic() + 30
        while not (side.exists() and side.read_text().count("\n") >= 3):
            assert time.monotonic() < deadline
            assert proc.poll() is None
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()
    (worker,) = {int(pid) for pid in side.read_text().split()}
    deadline = time.monotonic() + 5
    while running(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not running(worker), "a worker outlived its parent"


def test_a_one_process_run_does_not_import_multiprocessing() -> None:
    # The bulk engine, the CLI and the files layer load it only when workers start.
    modules = "bookslot_factories.bulk, bookslot_factories.cli, bookslot_factories.files"
    assert loaded_by(modules, {"multiprocessing"}) == []
