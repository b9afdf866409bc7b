"""Runs of the bulk engine on Dask: a bag of blocks, or one file part per block.

Every block of :mod:`~bookslot_factories.bulk` depends only on the run's
:class:`~bookslot_factories.bulk.Job` and its number, so a Dask task per block makes
the same records as one process, on any number of machines, and a block whose worker
dies is simply made again.

Dask (the ``dask`` extra) is imported here only, when a function is called.

A part is a complete file of its format (``part-000000.jsonl``, one per block of
:data:`~bookslot_factories.model.BLOCK_SIZE` records): a CSV part starts with the
header, a Parquet part has its own footer. JSON Lines has no framing, so the parts,
in name order, are byte for byte the single file of the same run.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from . import bulk, files
from .errors import BookslotError, DataFileError
from .variants import check_count, check_workers
from .workers import interrupts_held

__all__ = ["CONNECT_TIMEOUT", "PART_PATTERN", "dask_bag", "dask_setup", "part_name", "write_parts"]

_INSTALL = "pip install 'bookslot-factories[dask]'"

#: The names of the parts a run writes (and of the temporary files of their writes).
PART_PATTERN = re.compile(r"\.?part-\d{6}\.[a-z]+(\.[^/]*\.tmp)?")


def _dask() -> Any:
    try:
        import dask
        import dask.bag
    except ImportError:
        raise BookslotError(f"Dask runs need dask: {_INSTALL}") from None
    return dask


def _sizes(count: int) -> list[int]:
    """The record count of each block of a run of ``count`` records."""
    total = math.ceil(check_count(count) / bulk.BLOCK_SIZE)
    return [bulk.block_count(number, count) for number in range(total)]


def dask_bag(count: int, seed: int, *, as_of: Any = None, cfg: Any = None, **variants: Any) -> Any:
    """Return a ``dask.bag.Bag`` of the run's records, one partition per block.

    The records are those of :func:`bookslot_factories.bulk.blocks` for the same
    arguments, in order, whichever scheduler computes the bag.

    Args:
        count: The number of records.
        seed: The run's seed.
        as_of: The reference date for ages; fix it so that runs on other days agree.
        cfg: The config (default: the active one).
        **variants: As for :class:`~bookslot_factories.BookslotPayloadFactory`.

    Raises:
        BookslotError: Dask is not installed (the message names the extra).
        VariantError: A bad count, seed, date or variant.
    """
    dask = _dask()
    job = bulk.Job.make(seed, as_of=as_of, cfg=cfg, **variants)
    sizes = _sizes(count)
    token = dask.base.tokenize(pickle.dumps(job), count)
    parts = [
        dask.delayed(bulk.job_block, pure=True)(
            job, number, size, dask_key_name=f"bookslot-block-{token}-{number}"
        )
        for number, size in enumerate(sizes)
    ]
    return dask.bag.from_delayed(parts)


def part_name(number: int, fmt: files.Format) -> str:
    """The file name of part ``number``: ``part-000007.jsonl``."""
    return f"part-{number:06d}{fmt.suffixes[0]}"


def _write_part(
    job: bulk.Job, number: int, size: int, fmt: files.Format, folder: str, shown: str
) -> tuple[str, int]:
    """Make block ``number`` and write it as its part into ``folder``: runs on a worker.

    Errors name the part as it will be in ``shown``, the output folder, not in the
    temporary folder that is gone by the time the user reads them.
    """
    name = part_name(number, fmt)
    data = fmt.encode(bulk.job_block(job, number, size), True)
    try:
        files.write_blocks(os.path.join(folder, name), fmt, [data])
    except DataFileError as exc:
        # A DataFileError does not survive pickling (keyword-only fields): send its
        # message back as a plain BookslotError.
        raise BookslotError(f"{os.path.join(shown, name)}: {exc.reason}") from None
    return name, size


def _check_folder(folder: str) -> None:
    """Check that the folder, if there is one, holds nothing but the parts of a run."""
    if not os.path.lexists(folder):
        return
    try:
        with os.scandir(folder) as entries:
            foreign = sorted(
                entry.name
                for entry in entries
                if not (PART_PATTERN.fullmatch(entry.name) and entry.is_file(follow_symlinks=False))
            )
    except OSError as exc:
        raise DataFileError(
            f"cannot use it as the output folder: {exc.strerror}", path=folder
        ) from None
    if foreign:
        # The whole folder is replaced: whatever is not a part would be lost.
        raise DataFileError(
            f"the output folder holds {foreign[0]!r}, not a part of a run; expected an "
            "empty folder or one holding only part-NNNNNN files",
            path=folder,
        )


_ADDRESSES = ("tcp://", "tls://", "inproc://", "ucx://")

#: Seconds to wait for a scheduler's address to answer, then for its handshake.
CONNECT_TIMEOUT = 3.0


def _check_scheduler(scheduler: str) -> None:
    if scheduler not in ("local", "synchronous", "sync") and not scheduler.startswith(_ADDRESSES):
        raise BookslotError(
            f"unknown Dask scheduler {scheduler!r}; expected 'local', 'synchronous' or an "
            "address such as tcp://host:8786"
        )


def _no_scheduler(address: str, reason: str) -> BookslotError:
    return BookslotError(
        f"no Dask scheduler answers at {address} ({reason}); start one with "
        "`dask scheduler` or use --dask local"
    )


def _check_reachable(address: str, timeout: float) -> None:
    """Ask the address for a Dask handshake, within ``timeout`` seconds.

    ``Client(timeout=...)`` bounds only the TCP connection: a refusal still costs the
    whole timeout in retries, and a port that accepts but never answers (a proxy, a
    firewall, another service) holds the client for as long as it likes.
    """
    import asyncio

    from distributed.comm import core
    from distributed.comm.addressing import parse_address, parse_host_port

    protocol, location = parse_address(address)
    if protocol not in ("tcp", "tls"):
        return
    try:
        host, port = parse_host_port(location, default_port=8786)
    except ValueError as exc:
        raise BookslotError(
            f"bad Dask scheduler address {address!r}: {exc}; expected tcp://host:port"
        ) from None
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except TimeoutError:
        raise _no_scheduler(address, f"no answer in {timeout:g} s") from None
    except OSError as exc:
        raise _no_scheduler(address, (exc.strerror or str(exc)).lower()) from None
    if protocol != "tcp":
        return  # a TLS handshake needs the cluster's certificates: the Client does it

    async def handshake() -> None:
        # Untyped: used through Any.
        connect: Any = core.connect
        comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout)
        await comm.close()

    try:
        asyncio.run(handshake())
    except (TimeoutError, asyncio.TimeoutError):
        raise _no_scheduler(address, f"no Dask handshake in {timeout:g} s") from None
    except OSError:
        raise _no_scheduler(address, "the port hung up without a Dask handshake") from None
    # The other end may send anything: whatever the handshake fails with, it is not
    # a Dask scheduler (an HTTP reply is read as a frame length: a MemoryError).
    except Exception:
        raise _no_scheduler(address, "the port answers, but not as a Dask scheduler") from None


Run = Callable[[list[Any]], list[Any]]


def dask_setup(worker: Any) -> None:
    """Make a worker process of ``--dask local`` ignore Ctrl-C (a Dask preload hook)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _scheduler(scheduler: str, workers: int, timeout: float) -> Iterator[Run]:
    """Yield a function that computes the tasks on the named scheduler."""
    dask = _dask()
    if scheduler in ("synchronous", "sync"):
        yield lambda tasks: list(dask.compute(*tasks, scheduler="synchronous"))
        return
    try:
        import distributed as imported
    except ImportError:
        raise BookslotError(f"Dask clusters need distributed: {_INSTALL}") from None
    # Untyped in part: used through Any.
    dist: Any = imported
    if scheduler == "local":
        check_workers(workers)
        with interrupts_held():
            cluster = dist.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
                # Workers' logs (a task cancelled by Ctrl-C, a worker restarted, the
                # traceback of a part that failed) are not the user's business: the
                # outcome is one error line, naming the part, or none.
                silence_logs=logging.CRITICAL,
                preload=[__name__],
            )
            try:
                client = dist.Client(cluster)
            except BaseException:
                cluster.close()
                raise
        with cluster, client:
            yield lambda tasks: _run(client, tasks)
        return
    _check_reachable(scheduler, timeout)
    try:
        client = dist.Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise _no_scheduler(scheduler, str(exc)) from None
    with client:
        yield lambda tasks: _run(client, tasks)


def _run(client: Any, tasks: list[Any]) -> list[Any]:
    """Compute the tasks on a cluster; Ctrl-C or the first failure cancels the rest.

    This thread waits on an event that the futures' callbacks set, not in
    ``client.gather``: a gather cut short by Ctrl-C leaves Dask's own waits behind,
    each printing a traceback when the client closes.
    """
    from distributed import KilledWorker

    futures = client.compute(tasks)
    done = threading.Event()
    lock = threading.Lock()
    left = [len(futures)]

    def finished(future: Any) -> None:
        with lock:
            left[0] -= 1
            if not left[0] or future.status != "finished":
                done.set()

    for future in futures:
        future.add_done_callback(finished)
    try:
        done.wait()
        for future in futures:
            if future.status == "error":
                exc = future.exception()
                if isinstance(exc, KilledWorker):
                    raise BookslotError(f"Dask workers died making a part, again and again: {exc}")
                raise exc
            if future.status not in ("finished", "pending"):
                raise BookslotError(
                    f"the Dask scheduler dropped a part ({future.status}); run again"
                )
        return list(client.gather(futures))
    except BaseException:
        client.cancel(futures, force=True)
        raise


def write_parts(
    folder: str,
    count: int,
    job: bulk.Job,
    fmt: files.Format,
    *,
    scheduler: str = "local",
    workers: int = 1,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> list[tuple[str, int]]:
    """Write a run as one part per block into ``folder``, each part by a Dask task.

    Each task makes its block and writes its part on the worker, and returns only the
    part's name and record count, so nothing large crosses the network. The parts go
    into a new folder beside ``folder``, which must be shared by the workers (a local
    folder with ``local``), and that folder takes the place of ``folder`` only once
    every part is written (:func:`~bookslot_factories.files.replacing_folder`): a
    failure, or Ctrl-C, leaves ``folder`` as it was.

    The folder may be missing, empty, or hold only parts of an earlier run: it is
    replaced as a whole.

    Args:
        folder: The output folder.
        count: The number of records.
        job: The checked run parameters.
        fmt: The format of the parts.
        scheduler: ``local`` (a ``LocalCluster`` of ``workers`` processes),
            ``synchronous`` (this process), or a scheduler address (``tcp://host:8786``).
        workers: The processes of a ``local`` cluster.
        connect_timeout: Seconds a scheduler address has to answer.

    Returns:
        The name and record count of each part, in order.

    Raises:
        BookslotError: Dask is missing, the scheduler is unknown or unreachable, or
            a part cannot be written (the message names it).
        DataFileError: The folder holds other files, or cannot be replaced.
    """
    dask = _dask()
    _check_scheduler(scheduler)
    sizes = _sizes(count)
    _check_folder(folder)  # before a cluster starts or a scheduler is reached
    with files.replacing_folder(folder) as temporary:
        token = dask.base.tokenize(pickle.dumps(job), count, fmt.name, temporary)
        tasks = [
            dask.delayed(_write_part, pure=True)(
                job,
                number,
                size,
                fmt,
                temporary,
                os.path.abspath(folder),
                dask_key_name=f"bookslot-part-{token}-{number}",
            )
            for number, size in enumerate(sizes)
        ]
        # The cluster closes, and its workers stop writing, before the folder goes.
        with _scheduler(scheduler, workers, connect_timeout) as run:
            written: list[tuple[str, int]] = [tuple(part) for part in run(tasks)]
        ours = {name for name, _ in written}
        # The temporary files of writes whose worker was killed.
        for name in os.listdir(temporary):
            if name not in ours:
                with suppress(FileNotFoundError):
                    os.remove(os.path.join(temporary, name))
    return written
