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

import math
import os
import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import bulk, files
from .errors import BookslotError, DataFileError
from .variants import check_count, check_workers

__all__ = ["PART_PATTERN", "dask_bag", "part_name", "write_parts"]

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
    job: bulk.Job, number: int, size: int, fmt: files.Format, folder: str
) -> tuple[str, int]:
    """Make block ``number`` and write it as its part: runs on a worker."""
    name = part_name(number, fmt)
    data = fmt.encode(bulk.job_block(job, number, size), True)
    try:
        files.write_blocks(os.path.join(folder, name), fmt, [data])
    except BookslotError as exc:
        # A DataFileError does not survive pickling (keyword-only fields): send its
        # message, which names the part, back as a plain BookslotError.
        raise BookslotError(str(exc)) from None
    return name, size


def _check_folder(folder: str, *, create: bool) -> None:
    """Check that the folder, if any, holds nothing but parts; create it if asked."""
    try:
        if create:
            os.makedirs(folder, exist_ok=True)
        elif not os.path.lexists(folder):
            return
        names = os.listdir(folder)
    except OSError as exc:
        raise DataFileError(
            f"cannot use it as the output folder: {exc.strerror}", path=folder
        ) from None
    foreign = sorted(name for name in names if not PART_PATTERN.fullmatch(name))
    if foreign:
        raise DataFileError(
            f"the output folder holds {foreign[0]!r}, not a part of a run; expected an "
            "empty folder or one holding only part-NNNNNN files",
            path=folder,
        )


_ADDRESSES = ("tcp://", "tls://", "inproc://", "ucx://")


def _check_scheduler(scheduler: str) -> None:
    if scheduler not in ("local", "synchronous", "sync") and not scheduler.startswith(_ADDRESSES):
        raise BookslotError(
            f"unknown Dask scheduler {scheduler!r}; expected 'local', 'synchronous' or an "
            "address such as tcp://host:8786"
        )


@contextmanager
def _scheduler(scheduler: str, workers: int) -> Iterator[dict[str, Any]]:
    """Yield the keyword arguments of ``dask.compute`` for a scheduler name."""
    if scheduler in ("synchronous", "sync"):
        yield {"scheduler": "synchronous"}
        return
    try:
        import distributed as imported
    except ImportError:
        raise BookslotError(f"Dask clusters need distributed: {_INSTALL}") from None
    # Untyped in part: used through Any.
    dist: Any = imported
    if scheduler == "local":
        check_workers(workers)
        with (
            dist.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
            ) as cluster,
            dist.Client(cluster) as client,
        ):
            yield {"scheduler": client}
        return
    try:
        client = dist.Client(scheduler, timeout=10)
    except OSError as exc:
        raise BookslotError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    with client:
        yield {"scheduler": client}


def write_parts(
    folder: str,
    count: int,
    job: bulk.Job,
    fmt: files.Format,
    *,
    scheduler: str = "local",
    workers: int = 1,
) -> list[tuple[str, int]]:
    """Write a run as one part per block into ``folder``, each part by a Dask task.

    Each task makes its block and writes its part atomically on the worker, and returns
    only the part's name and record count, so nothing large crosses the network. The
    folder must be shared by the workers (a local folder with ``local``).

    The folder may be missing, empty, or hold only parts of an earlier run: parts of
    this run replace them, one by one, and parts beyond this run's last are removed
    once every part is written.

    Args:
        folder: The output folder.
        count: The number of records.
        job: The checked run parameters.
        fmt: The format of the parts.
        scheduler: ``local`` (a ``LocalCluster`` of ``workers`` processes),
            ``synchronous`` (this process), or a scheduler address (``tcp://host:8786``).
        workers: The processes of a ``local`` cluster.

    Returns:
        The name and record count of each part, in order.

    Raises:
        BookslotError: Dask is missing, the scheduler is unknown or unreachable.
        DataFileError: The folder holds other files, or a part cannot be written.
    """
    dask = _dask()
    _check_scheduler(scheduler)
    sizes = _sizes(count)
    _check_folder(folder, create=False)  # before a cluster starts or a scheduler is reached
    folder = os.path.abspath(folder)
    token = dask.base.tokenize(pickle.dumps(job), count, fmt.name, folder)
    tasks = [
        dask.delayed(_write_part, pure=True)(
            job, number, size, fmt, folder, dask_key_name=f"bookslot-part-{token}-{number}"
        )
        for number, size in enumerate(sizes)
    ]
    with _scheduler(scheduler, workers) as how:
        _check_folder(folder, create=True)
        written: list[tuple[str, int]] = [tuple(part) for part in dask.compute(*tasks, **how)]
    ours = {name for name, _ in written}
    # An earlier, longer run's parts, and the temporary files of killed writes.
    for name in os.listdir(folder):
        if name not in ours and PART_PATTERN.fullmatch(name):
            try:
                os.remove(os.path.join(folder, name))
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise DataFileError(
                    f"cannot remove an earlier run's part: {exc.strerror}",
                    path=os.path.join(folder, name),
                ) from None
    return written
