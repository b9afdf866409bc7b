"""The bulk engine: millions of payloads, column by column, in deterministic blocks.

Records come in blocks of :data:`~bookslot_factories.model.BLOCK_SIZE`. A block
depends only on (seed, block number, variants, reference date, config), so any
block, and any record, can be regenerated alone, and a run gives the same bytes with
one worker or many.

Each column of a block draws from its own random stream, so the first ``k``
records of a block do not depend on how many follow: a run of 10 records is the
first 10 records of a run of a million.

Each column follows its field's rule in :mod:`~bookslot_factories.draws`, the rules
the factory follows too; only the order of the draws differs, so the factory and the
bulk engine agree in distribution, not record for record.

Running blocks on another engine (Dask, Spark, a job queue) gives the same data::

    from bookslot_factories.bulk import block, block_count
    records = [block(seed=7, number=n, count=block_count(n, total=25_000_000)) ...]
"""

from __future__ import annotations

import itertools
import math
import os
import random
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, TYPE_CHECKING, Any

from . import config, draws, seeding
from .config import Config
from .errors import DataFileError, VariantError, excerpt
from .model import BLOCK_SIZE
from .variants import (
    MAX_COUNT,
    Variants,
    as_date,
    check_count,
    check_seed,
    check_workers,
    default_workers,
)
from .workers import WriteError, can_fork, ignore_interrupts, interrupts_held, write_in_turns

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Executor, Future

__all__ = [
    "BLOCK_SIZE",
    "MAX_COUNT",
    "EncodedBlocks",
    "Job",
    "block",
    "block_count",
    "blocks",
    "dask_bag",
    "default_workers",
    "encoded_blocks",
    "job_block",
    "keep_block_buffers",
]


@dataclass(frozen=True)
class Job:
    """Everything a block depends on, checked once and sent to worker processes."""

    seed: int
    variants: Variants
    as_of: date
    cfg: Config

    @classmethod
    def make(
        cls,
        seed: int,
        *,
        as_of: date | str | None = None,
        cfg: Config | None = None,
        **variants: Any,
    ) -> Job:
        """Check the arguments and fix the reference date and config.

        Raises:
            VariantError: A bad seed, date, config or variant.
        """
        if cfg is not None and not isinstance(cfg, Config):
            raise VariantError(
                f"cfg {excerpt(cfg)} is not a Config; expected one from "
                "bookslot_factories.config.load_config() or configure()"
            )
        checked = Variants.check(variants)
        job = cls(
            seed=check_seed(seed),
            variants=checked,
            as_of=as_date(as_of) or config.reference_date(),
            cfg=cfg or config.current(),
        )
        job.zip_rule()  # a near ZIP without neighbours fails here, not inside a worker
        return job

    def zip_rule(self) -> draws.ZipDraw:
        """The ``zip`` draw of this job's variants (not for ``dynamic_location``)."""
        v = self.variants
        return draws.zip_code(self.cfg, dynamic=v.dynamic_zip, state=v.state, near=v.near)


def block_count(number: int, total: int) -> int:
    """Return how many records block ``number`` holds in a run of ``total`` records."""
    return max(0, min(BLOCK_SIZE, total - number * BLOCK_SIZE))


def _columns(job: Job, number: int, count: int) -> dict[str, list[str]]:
    """Draw the columns of block ``number``: one random stream per column."""

    def rng(column: str) -> random.Random:
        return random.Random(seeding.derive(job.seed, "bulk", number, column))

    cfg, variants = job.cfg, job.variants
    first = draws.first_name().many(rng("first_name"), count)
    last = draws.last_name().many(rng("last_name"), count)
    start = number * BLOCK_SIZE
    domains = draws.email_domain(cfg).many(rng("email"), count)
    distances = draws.zip_distance(cfg, variants.near, variants.state).many(
        rng("zip_distance"), count
    )
    if variants.dynamic_location:
        zips = draws.locations(cfg, start, count)
    else:
        zips = job.zip_rule().many(rng("zip"), distances)
    payers = draws.payer(cfg).many(rng("PayerName"), count)
    if variants.dynamic_phone:
        phones = draws.phones(zips, rng("phone_number"))
    else:
        phones = [cfg.phone] * count
    columns = {
        "first_name": first,
        "last_name": last,
        "email": draws.emails(first, last, _email_tag(job), start + 1, domains),
        "phone_number": phones,
        "zip": zips,
        "contact_method": draws.contact_method(cfg).many(rng("contact_method"), count),
        "verification_code": [cfg.verification_code] * count,
        "zip_distance": distances,
        "dob": draws.dob(cfg, variants.band, job.as_of).many(rng("dob"), count),
        "MemberName": [draws.member_name(f, s) for f, s in zip(first, last, strict=True)],
        "idNumber": draws.id_number(cfg).many(rng("idNumber"), count),
        "GroupNumber": draws.group_number(cfg).many(rng("GroupNumber"), count),
        "PayerName": payers,
    }
    if cfg.payer_formats:  # each id in its payer's format (without them: as before)
        columns["idNumber"] = draws.member_ids(cfg, payers, rng("idNumber"))
    return columns


def _email_tag(job: Job) -> str:
    # A tenant's emails have their own stream tag, so two tenants never share one.
    if job.cfg.tenant is None:
        return seeding.email_tag(job.seed, "bulk")
    return seeding.email_tag(job.seed, "bulk", "tenant", job.cfg.tenant)


def _rows(columns: dict[str, list[str]]) -> list[dict[str, str]]:
    # Each value is taken from its column by name and the keys are written in FIELDS
    # order: a dict display is ~1.6x faster than dict(zip(FIELDS, row)).
    return [
        {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "phone_number": phone_number,
            "zip": zip_code,
            "contact_method": contact_method,
            "verification_code": verification_code,
            "zip_distance": zip_distance,
            "dob": dob,
            "MemberName": member_name,
            "idNumber": id_number,
            "GroupNumber": group_number,
            "PayerName": payer_name,
        }
        for (
            first_name,
            last_name,
            email,
            phone_number,
            zip_code,
            contact_method,
            verification_code,
            zip_distance,
            dob,
            member_name,
            id_number,
            group_number,
            payer_name,
        ) in zip(
            columns["first_name"],
            columns["last_name"],
            columns["email"],
            columns["phone_number"],
            columns["zip"],
            columns["contact_method"],
            columns["verification_code"],
            columns["zip_distance"],
            columns["dob"],
            columns["MemberName"],
            columns["idNumber"],
            columns["GroupNumber"],
            columns["PayerName"],
            strict=True,
        )
    ]


def block(
    seed: int,
    number: int,
    *,
    count: int = BLOCK_SIZE,
    as_of: date | str | None = None,
    cfg: Config | None = None,
    **variants: Any,
) -> list[dict[str, str]]:
    """Return the records of one block: a plain function to run on any engine.

    Args:
        seed: The run's seed.
        number: The block number, from 0; block ``n`` holds records
            ``n * BLOCK_SIZE`` to ``(n + 1) * BLOCK_SIZE - 1`` of the run.
        count: How many of the block's records to return (the last block of a run
            is short); always a prefix of the full block.
        as_of: The reference date for ages; fix it so that runs on other days agree.
        cfg: The config (default: the active one).
        **variants: As for :class:`~bookslot_factories.BookslotPayloadFactory`.

    Raises:
        VariantError: A bad seed, block number, count or variant.
    """
    job = Job.make(seed, as_of=as_of, cfg=cfg, **variants)
    # A run of at most MAX_COUNT records has blocks 0 to MAX_COUNT // BLOCK_SIZE - 1.
    check_count(number, MAX_COUNT // BLOCK_SIZE - 1, "block number")
    check_count(count, BLOCK_SIZE)
    return _rows(_columns(job, number, count))


def job_block(job: Job, number: int, count: int) -> list[dict[str, str]]:
    """Return the records of block ``number`` of a checked job (for engines that ship a Job)."""
    return _rows(_columns(job, number, count))


def dask_bag(count: int, seed: int, *, as_of: date | str | None = None, **variants: Any) -> Any:
    """Return a ``dask.bag.Bag`` of a run's records, one partition per block.

    See :func:`bookslot_factories.distributed.dask_bag` (needs the ``dask`` extra).
    """
    from .distributed import dask_bag

    return dask_bag(count, seed, as_of=as_of, **variants)


def blocks(job: Job, count: int) -> Iterator[list[dict[str, str]]]:
    """Yield the records of a run of ``count`` records, block by block, in one process."""
    for number in range(math.ceil(check_count(count) / BLOCK_SIZE)):
        yield _rows(_columns(job, number, block_count(number, count)))


def _encode_block(
    job: Job, number: int, count: int, encode: Callable[[Sequence[dict[str, str]], bool], bytes]
) -> bytes:
    return encode(_rows(_columns(job, number, count)), number == 0)


def encoded_blocks(
    job: Job,
    count: int,
    encode: Callable[[Sequence[dict[str, str]], bool], bytes],
    *,
    workers: int = 1,
    on_block: Callable[[int], None] | None = None,
) -> EncodedBlocks:
    """The encoded blocks of a run, in order, generated by ``workers`` processes.

    Iterate them, or (faster with workers) let them write themselves to a file with
    :meth:`EncodedBlocks.write_into`; the files layer does when it can. The bytes do
    not depend on ``workers``. Memory stays flat however large the run.

    Args:
        job: The checked run parameters.
        count: The number of records.
        encode: A picklable function ``(records, first) -> bytes`` (an exporter's
            ``Writer.encode``).
        workers: Processes that generate, this one included; 1 generates here alone.
        on_block: Called with each block's record count once it is yielded or
            written (progress).
    """
    check_count(count)
    check_workers(workers)
    return EncodedBlocks(job, count, encode, workers, on_block)


class EncodedBlocks(Iterator[bytes]):
    """The encoded blocks of a run: an iterator, or a writer of them all to a file.

    Made by :func:`encoded_blocks`.
    """

    def __init__(
        self,
        job: Job,
        count: int,
        encode: Callable[[Sequence[dict[str, str]], bool], bytes],
        workers: int,
        on_block: Callable[[int], None] | None,
    ) -> None:
        self._job, self._count, self._encode = job, count, encode
        self._workers, self._on_block = workers, on_block
        self._blocks = math.ceil(count / BLOCK_SIZE)
        self._iterator: Iterator[bytes] | None = None

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = self._iterate()
        return next(self._iterator)

    def close(self) -> None:
        """Stop early: the workers stop and their temporary files go."""
        if isinstance(self._iterator, Generator):
            self._iterator.close()

    def _make(self, number: int) -> bytes:
        return _encode_block(self._job, number, block_count(number, self._count), self._encode)

    def write_into(self, file: IO[bytes], failed: Callable[[OSError], Exception]) -> bool:
        """Write every block to a binary file, in order; return whether there was any.

        With workers, where processes can fork and the file has a descriptor, each
        process writes the blocks it makes straight to the file in turn: no block
        crosses from one process to another. The bytes are those of iterating. Call
        it once, instead of iterating.

        Args:
            file: The file, open for writing.
            failed: The exception to raise for a write's ``OSError``; an ``OSError``
                of ``encode`` propagates unchanged, as when iterating.
        """
        if self._iterator is not None:
            raise RuntimeError("these blocks are already being iterated")
        self._iterator = iter(())
        fd = _descriptor(file) if self._workers > 1 and self._blocks > 1 and can_fork() else None
        if fd is None:
            for data in self._iterate():
                try:
                    file.write(data)
                except OSError as exc:
                    raise failed(exc) from None
            return self._blocks > 0
        try:
            file.flush()  # what the file holds goes first; the workers write past it
        except OSError as exc:
            raise failed(exc) from None
        _warm(self._job)  # build the tables once, before fork, so workers share them
        on_block, count = self._on_block, self._count
        try:
            write_in_turns(
                fd,
                self._blocks,
                self._make,
                processes=min(self._workers, self._blocks),
                on_written=None if on_block is None else lambda n: on_block(block_count(n, count)),
            )
        except WriteError as error:
            raise failed(error.args[0]) from None
        return True

    def _iterate(self) -> Iterator[bytes]:
        job, count, encode, workers = self._job, self._count, self._encode, self._workers
        on_block, total_blocks = self._on_block, self._blocks
        if workers == 1 or total_blocks <= 1:
            for number in range(total_blocks):
                yield self._make(number)
                if on_block:
                    on_block(block_count(number, count))
            return
        _warm(job)  # build the tables once, before fork, so workers share them
        # The other workers hand their blocks over in files, not through the pool's
        # pipe: this process reads a pipe 64 KB at a time, each read waiting for the
        # GIL while it makes a block of its own (3.4 MB took 220 ms to cross, 6 ms idle).
        try:
            folder = tempfile.mkdtemp(prefix=".bookslot-blocks-", suffix=".tmp")
        except OSError as exc:
            raise _handover_error(tempfile.gettempdir(), exc) from None
        try:
            yield from _shared_blocks(job, count, encode, workers, total_blocks, folder, on_block)
        except _HandoverFailed as failed:  # the temporary folder is full or gone
            raise _handover_error(folder, failed.args[0]) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _descriptor(file: IO[bytes]) -> int | None:
    try:
        return file.fileno()
    except (AttributeError, OSError, ValueError):  # io.BytesIO, a closed or replaced file
        return None


class _HandoverFailed(Exception):
    """A block file could not be written or read: only the OSError, which pickles."""


def _handover_error(folder: str, exc: OSError) -> DataFileError:
    return DataFileError(
        f"cannot hand the workers' blocks over in this temporary folder: "
        f"{exc.strerror or exc}; set TMPDIR to a folder with room",
        path=folder,
    )


def _shared_blocks(
    job: Job,
    count: int,
    encode: Callable[[Sequence[dict[str, str]], bool], bytes],
    workers: int,
    total_blocks: int,
    folder: str,
    on_block: Callable[[int], None] | None,
) -> Iterator[bytes]:
    # This process writes what it yields, so it takes part in generating rather than
    # waiting: with 2 cores, 2 workers are this process and one more, not 3 processes.
    with _pool(min(workers, total_blocks) - 1) as pool:
        pending: deque[tuple[int, Future[str] | bytes]] = deque()
        numbers = iter(range(total_blocks))
        limit = 2 * workers

        def submit(number: int) -> None:
            size = block_count(number, count)
            task = pool.submit(_encode_block_to, folder, job, number, size, encode)
            pending.append((size, task))

        try:
            with interrupts_held():
                # The first submissions start the workers: they begin with Ctrl-C held.
                for number in itertools.islice(numbers, limit - 1):
                    submit(number)
            while pending:
                size, head = pending[0]
                if not isinstance(head, bytes) and not head.done() and len(pending) < limit:
                    here = next(numbers, None)
                    if here is not None:  # make the next block here meanwhile
                        made = block_count(here, count)
                        pending.append((made, _encode_block(job, here, made, encode)))
                        continue
                pending.popleft()
                yield head if isinstance(head, bytes) else _taken(head.result())
                if on_block:
                    on_block(size)
                for number in itertools.islice(numbers, max(0, limit - 1 - len(pending))):
                    submit(number)
        finally:
            for _, future in pending:
                if not isinstance(future, bytes):
                    future.cancel()


def _encode_block_to(
    folder: str,
    job: Job,
    number: int,
    count: int,
    encode: Callable[[Sequence[dict[str, str]], bool], bytes],
) -> str:
    """Encode block ``number`` into a file of ``folder`` (in a worker) and return its path."""
    data = _encode_block(job, number, count, encode)  # its errors are its own
    path = os.path.join(folder, f"{number}.block")
    try:
        with open(path, "wb") as part:
            part.write(data)
    except OSError as exc:
        raise _HandoverFailed(exc) from None
    return path


def _taken(path: str) -> bytes:
    try:
        with open(path, "rb") as part:
            data = part.read()
        os.remove(path)
    except OSError as exc:
        raise _HandoverFailed(exc) from None
    return data


def keep_block_buffers() -> None:
    """Let this process keep freed block-sized buffers instead of returning them.

    For a process that makes big runs, such as the command line's: glibc's malloc
    otherwise gives each block's multi-megabyte buffers back to the kernel and faults
    them in again for the next block (half the page faults of a run, a quarter of its
    system time; peak memory unchanged). It changes process-wide malloc settings, so
    the library never calls it for you. Does nothing where malloc is not glibc's.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - musl and other C libraries
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h>
    mallopt(m_mmap_threshold, 64 << 20)
    mallopt(m_trim_threshold, 256 << 20)


def _warm(job: Job) -> None:
    _columns(job, 0, 1)


def _pool(workers: int) -> Executor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork shares the loaded tables and ZIP data with the workers for free; where it
    # is unavailable (macOS, Windows) the workers rebuild them.
    method = "fork" if can_fork() else None
    context = multiprocessing.get_context(method)
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=ignore_interrupts
    )
