"""Worker processes: started safe from Ctrl-C, they write numbered blocks in turn.

:func:`write_in_turns` runs a job of numbered blocks on several processes that all
write to one file descriptor. Each process takes the next block number nobody has
taken, makes that block, waits until every block before it is written, writes it and
passes the turn on. The file gets each block straight from the process that made it,
as it would from one process: nothing crosses a pipe or a temporary file, and the
writing (a good part of a big run's time, in the kernel) is shared out as well.

Ctrl-C in a terminal sends SIGINT to every process of the group. The parent alone
acts on it: it stops the others and leaves its caller to clean up. A worker that took
it would die mid-block: a broken pool's traceback, or a parent that waits for it.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import BookslotError

__all__ = [
    "WriteError",
    "can_fork",
    "ignore_interrupts",
    "interrupts_held",
    "write_all",
    "write_in_turns",
]

# How long a process waits for a turn or the lock before it looks whether the others
# are still there: the turn itself is passed on at once, by a semaphore.
_PATIENCE = 0.05

# Blocks a process may hold made and not yet written (a block is a few megabytes).
_AHEAD = 2

_TAKEN, _WRITTEN, _FAILED = range(3)


class WriteError(Exception):
    """A write to the shared file descriptor failed; ``args[0]`` is its ``OSError``.

    Kept apart from what ``make`` raises, which may be an ``OSError`` too.
    """


def can_fork() -> bool:
    """Whether workers can be forked (sharing this process's tables and files)."""
    import multiprocessing  # here: a one-process run never needs it

    return "fork" in multiprocessing.get_all_start_methods()


def ignore_interrupts() -> None:
    """Make a worker ignore Ctrl-C (the first thing it does)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C back while workers start; it arrives when the block ends.

    A worker inherits the held signal until :func:`ignore_interrupts` runs, so a
    Ctrl-C in the middle of starting one cannot kill it. Threads started meanwhile (a
    Dask cluster's event loop) inherit it too: only this process acts on Ctrl-C.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not on Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # the mask, unchanged
    try:
        # It runs the Python handlers after changing the mask: a Ctrl-C that came just
        # before raises here, with the mask already changed, so inside the try.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to a file descriptor (a pipe may take less per call)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Turns:
    """What the processes share: who takes which block, and whose turn it is to write.

    Inherited through fork, never pickled. Only the writer of block ``n`` moves the
    turn from ``n`` to ``n + 1``, so the turn needs no lock; each process has a bell
    (a semaphore) that the others ring when they pass it on. Every wait has a timeout:
    a process that died holding the lock or the turn is noticed, not waited for.
    """

    def __init__(self, context: Any, blocks: int, processes: int) -> None:
        self.blocks = blocks
        self.counters = context.RawArray("q", 3)
        self.lock = context.Lock()
        self.bells = [context.Semaphore(0) for _ in range(processes)]

    def run(
        self, me: int, fd: int, make: Callable[[int], bytes], check: Callable[[], None]
    ) -> None:
        """Make and write blocks until none is left to take; ``check`` raises to stop.

        A process whose block must wait for the one before it makes its next block
        meanwhile, up to :data:`_AHEAD` blocks made and not yet written: the turn
        then finds it ready, and neither process idles while the other writes.
        """
        made: deque[tuple[int, bytes]] = deque()
        left = True
        while left or made:
            while made and made[0][0] == self.counters[_WRITTEN]:
                number, data = made.popleft()
                try:
                    write_all(fd, data)
                except OSError as exc:
                    raise WriteError(exc) from None
                self.counters[_WRITTEN] = number + 1
                self.ring(me)
                check()
            if left and len(made) < _AHEAD:
                number = self._take(check)
                if number < self.blocks:
                    made.append((number, make(number)))
                else:
                    left = False
            elif made:
                self.wait_for(made[0][0], me, check)

    def _take(self, check: Callable[[], None]) -> int:
        while not self.lock.acquire(timeout=_PATIENCE):
            check()
        try:
            number: int = self.counters[_TAKEN]
            self.counters[_TAKEN] = number + 1
        finally:
            self.lock.release()
        return number

    def written(self) -> int:
        """How many blocks are written, from the first on."""
        return int(self.counters[_WRITTEN])

    def failed(self) -> bool:
        return bool(self.counters[_FAILED])

    def fail(self, me: int) -> None:
        self.counters[_FAILED] = 1
        self.ring(me)

    def wait_for(self, number: int, me: int, check: Callable[[], None]) -> None:
        """Wait until blocks ``0 .. number - 1`` are written."""
        while self.counters[_WRITTEN] < number:
            check()
            self.bells[me].acquire(timeout=_PATIENCE)

    def ring(self, me: int) -> None:
        for other, bell in enumerate(self.bells):
            if other != me:
                bell.release()


class _Stopped(Exception):
    """Raised in a worker whose parent is gone or stopped the run."""


def _work(
    turns: _Turns, me: int, report: Any, fd: int, make: Callable[[int], bytes], parent: int
) -> None:
    """A worker's life: its blocks, then ``None`` or its exception to the parent."""
    ignore_interrupts()

    def check() -> None:
        if turns.failed() or os.getppid() != parent:
            raise _Stopped

    try:
        turns.run(me, fd, make, check)
        report.send(None)
    except _Stopped:
        pass
    except BaseException as exc:  # everything goes to the parent, which raises it
        try:
            report.send(exc)
        except Exception:  # an exception that does not pickle: its text does
            report.send(BookslotError(f"a worker failed: {exc!r}"))
        turns.fail(me)
    finally:
        report.close()


def write_in_turns(
    fd: int,
    blocks: int,
    make: Callable[[int], bytes],
    *,
    processes: int,
    on_written: Callable[[int], None] | None = None,
) -> None:
    """Write blocks ``0 .. blocks - 1`` to ``fd`` in order, made by ``processes`` processes.

    This process is one of them. The others are forked, so ``make`` is inherited, not
    pickled. Needs fork (:func:`can_fork`).

    Args:
        fd: The file descriptor, shared by all: the blocks follow each other at its
            offset, so a pipe works as well as a file.
        blocks: How many blocks.
        make: The bytes of block ``n``.
        processes: Processes that make and write, this one included (at least 2).
        on_written: Called in this process with each block's number, in order, once
            the block is written (progress). Its exceptions stop the run.

    Raises:
        WriteError: A process's write failed (the first to fail).
        BookslotError: A worker process died without saying why.
        BaseException: What ``make`` or ``on_written`` raised, in whichever process.
            After any exception the other processes are stopped; what was written
            stays written.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    turns = _Turns(context, blocks, processes)
    workers: list[tuple[Any, Any]] = []
    reported = 0

    def check() -> None:
        nonlocal reported
        while reported < turns.written():
            if on_written is not None:
                on_written(reported)
            reported += 1
        if turns.failed() or any(worker.exitcode not in (None, 0) for worker, _ in workers):
            raise _failure(workers)

    try:
        with interrupts_held():  # the workers begin with Ctrl-C held, then ignore it
            for me in range(1, processes):
                receive, send = context.Pipe(duplex=False)
                worker = context.Process(
                    target=_work, args=(turns, me, send, fd, make, os.getpid()), daemon=True
                )
                worker.start()
                send.close()
                workers.append((worker, receive))
        turns.run(0, fd, make, check)
        turns.wait_for(blocks, 0, check)
        check()
        for worker, receive in workers:
            worker.join()
            sent = receive.recv() if worker.exitcode == 0 and receive.poll() else _failure(workers)
            if sent is not None:
                raise sent
    except BaseException:
        for worker, _ in workers:
            # At once, even in the middle of a write: the caller throws the output away.
            worker.kill()
        for worker, _ in workers:
            worker.join()
        raise
    finally:
        for _, receive in workers:
            receive.close()


def _failure(workers: list[tuple[Any, Any]]) -> BaseException:
    """The exception a worker sent, else an error naming the worker that died."""
    for _, receive in workers:
        try:
            if receive.poll():
                sent = receive.recv()
                if isinstance(sent, BaseException):
                    return sent
        except (EOFError, OSError):
            continue
    for worker, _ in workers:
        worker.join(_PATIENCE)
        if worker.exitcode not in (None, 0):
            how = (
                f"was killed by signal {-worker.exitcode}"
                if worker.exitcode < 0
                else f"exited with status {worker.exitcode}"
            )
            return BookslotError(f"a worker process {how} before its blocks were written")
    return BookslotError("a worker process stopped before its blocks were written")
