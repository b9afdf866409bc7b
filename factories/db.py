"""Database storage: payloads as table rows, in SQLite or PostgreSQL, in bulk.

Needs the ``db`` extra (SQLAlchemy 2), and for PostgreSQL the ``postgres`` extra
(psycopg 3). URLs are SQLAlchemy URLs: ``sqlite:///bookslot.db`` or
``postgresql://user@host:port/db`` (a bare ``postgresql://`` means psycopg 3).

The table (``bookslot_payloads`` by default) has an ``id`` integer primary key
(1, 2, 3, ... in generation order) and the 13 payload fields as NOT NULL text
columns under the payload's names, ``email`` UNIQUE: :class:`BookslotRecord` is its
model, and the one definition every other table name copies.

Writes are all or nothing: :func:`save` runs in one transaction (SQLite's DDL too,
so ``if_exists="replace"`` keeps the old table when the load fails). Blocks of rows
go to SQLite through ``executemany`` of tuples and to PostgreSQL through ``COPY``.
Table names are checked (a plain SQL identifier) and always quoted; values are
always bound parameters or COPY data.
"""

from __future__ import annotations

import functools
import os
import pickle
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .errors import BookslotError, DatabaseError, MissingExtraError, PayloadError, excerpt
from .model import BLOCK_SIZE, FIELDS, BookslotPayload

try:
    import sqlalchemy as sa
    from sqlalchemy import event, exc
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
except ModuleNotFoundError as _missing:  # pragma: no cover - tested in a venv without it
    raise MissingExtraError(
        "bookslot_factories.db needs SQLAlchemy: pip install 'bookslot-factories[db]'"
    ) from _missing

if TYPE_CHECKING:  # pragma: no cover
    from .bulk import Job
    from .config import Config

__all__ = [
    "DEFAULT_URL",
    "TABLE",
    "URL_ENV",
    "BookslotRecord",
    "BookslotRecordFactory",
    "check",
    "check_table_name",
    "engine",
    "iter_load",
    "save",
    "save_job",
    "session",
    "set_session",
]

#: The default table.
TABLE = "bookslot_payloads"
#: The environment variable naming the default database of :func:`session`.
URL_ENV = "BOOKSLOT_DB_URL"
#: The default database of :func:`session`, when ``BOOKSLOT_DB_URL`` is unset.
DEFAULT_URL = "sqlite:///bookslot.db"
#: How long SQLite waits for another writer before "database is locked", in seconds.
BUSY_TIMEOUT = 60.0

IfExists = Literal["fail", "append", "replace"]
_IF_EXISTS = ("fail", "append", "replace")
# PostgreSQL truncates identifiers beyond 63 bytes; SQLite reserves sqlite_*.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
_COLUMNS = ("id", *FIELDS)


class _Base(DeclarativeBase):
    pass


class BookslotRecord(_Base):
    """One payload as a row of ``bookslot_payloads``."""

    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.Text)
    last_name: Mapped[str] = mapped_column(sa.Text)
    email: Mapped[str] = mapped_column(sa.Text, unique=True)
    phone_number: Mapped[str] = mapped_column(sa.Text)
    zip: Mapped[str] = mapped_column(sa.Text)
    contact_method: Mapped[str] = mapped_column(sa.Text)
    verification_code: Mapped[str] = mapped_column(sa.Text)
    zip_distance: Mapped[str] = mapped_column(sa.Text)
    dob: Mapped[str] = mapped_column(sa.Text)
    MemberName: Mapped[str] = mapped_column(sa.Text)
    idNumber: Mapped[str] = mapped_column(sa.Text)
    GroupNumber: Mapped[str] = mapped_column(sa.Text)
    PayerName: Mapped[str] = mapped_column(sa.Text)

    def payload(self) -> BookslotPayload:
        """Return the row as a payload (without its ``id``)."""
        return BookslotPayload({name: getattr(self, name) for name in FIELDS})

    def __repr__(self) -> str:
        return f"BookslotRecord(id={self.id!r}, email={self.email!r})"


# The model is the one definition of the columns: a drift from FIELDS fails at import.
if tuple(BookslotRecord.__table__.columns.keys()) != _COLUMNS:  # pragma: no cover
    raise RuntimeError("BookslotRecord's columns are not id and FIELDS in order")


def check_table_name(name: object) -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise.

    Raises:
        DatabaseError: Not a string of letters, digits and ``_`` (not first), of at
            most 63 characters, or a name SQLite reserves.
    """
    if not isinstance(name, str) or not _NAME.match(name) or name.lower().startswith("sqlite_"):
        raise DatabaseError(
            f"table name {excerpt(name)} is not a plain SQL identifier; expected letters, "
            "digits and '_' (not first), at most 63 characters, not starting with 'sqlite_'"
        )
    return name


def _table(name: str) -> sa.Table:
    """The payload table under another name: a copy of :class:`BookslotRecord`'s."""
    if name == TABLE:
        return BookslotRecord.__table__  # type: ignore[return-value]  # a Table at runtime
    base: sa.Table = BookslotRecord.__table__  # type: ignore[assignment]  # a Table at runtime
    return base.to_metadata(sa.MetaData(), name=check_table_name(name))


# --- engines --------------------------------------------------------------------------


def _url(text: object) -> sa.URL:
    if isinstance(text, sa.URL):
        url = text
    else:
        if not isinstance(text, str):
            raise DatabaseError(f"database URL is {excerpt(text)}; expected a string")
        try:
            url = sa.make_url(text)
        except (exc.ArgumentError, ValueError):
            # The text may hold a password: only its scheme is shown.
            scheme = text.split("://", 1)[0] if "://" in text else ""
            raise DatabaseError(
                f"not a database URL{f' (scheme {excerpt(scheme)})' if scheme else ''}; "
                "expected sqlite:///FILE or postgresql://USER@HOST:PORT/DB"
            ) from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return url.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        try:
            import psycopg  # noqa: F401  # checked here, for a message naming the extra
        except ModuleNotFoundError:
            raise MissingExtraError(
                "a postgresql:// URL needs psycopg 3: pip install 'bookslot-factories[postgres]'"
            ) from None
        return url.set(drivername="postgresql+psycopg")
    raise DatabaseError(
        f"database {_shown(url)}: driver {url.drivername!r} is not supported; expected "
        "sqlite:///FILE or postgresql://USER@HOST:PORT/DB (psycopg 3)"
    )


def _shown(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


def _is_sqlite(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_file(url: sa.URL) -> str | None:
    name = url.database
    return None if not name or name == ":memory:" or name.startswith("file:") else name


def engine(url: str | sa.URL, *, write: bool = True) -> sa.Engine:
    """Return an engine for ``url``, set up for all-or-nothing writes.

    SQLite: Python's driver would run DDL outside the transaction and begin lazily;
    here each transaction begins with ``BEGIN IMMEDIATE`` (``BEGIN`` to read), so
    that a failed ``replace`` keeps the old table and two writers queue for up to
    :data:`BUSY_TIMEOUT` seconds instead of failing at once.

    Raises:
        DatabaseError: A bad URL or an unsupported driver.
        MissingExtraError: ``postgresql://`` without psycopg.
    """
    checked = _url(url)
    if not _is_sqlite(checked):
        return sa.create_engine(checked, pool_pre_ping=False)
    made = sa.create_engine(checked, connect_args={"timeout": BUSY_TIMEOUT})
    begin = "BEGIN IMMEDIATE" if write else "BEGIN"

    @event.listens_for(made, "connect")
    def _autocommit(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves

    @event.listens_for(made, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql(begin)

    return made


def _reason(error: BaseException) -> str:
    """The driver's own first line, without SQL or parameters (which hold values)."""
    orig = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


@contextmanager
def _translated(url: sa.URL, table: str | None = None) -> Iterator[None]:
    """Turn the driver's errors into one :class:`DatabaseError` line."""
    try:
        yield
    except exc.DBAPIError as error:
        if isinstance(error.orig, Exception) and "password" in str(error.orig).lower():
            reason = "password authentication failed; check the user and password"
        else:
            reason = _reason(error)
        raise DatabaseError(f"database {_shown(url)}: {reason}", table=table) from None


# --- writing --------------------------------------------------------------------------


def save(
    records: Iterable[Mapping[str, str]],
    url: str | sa.URL,
    *,
    table: str = TABLE,
    if_exists: IfExists = "fail",
) -> int:
    """Write payloads as rows, in blocks, all or nothing; return how many.

    Args:
        records: Any iterable of payloads (read a block at a time).
        url: The database.
        table: The table (a plain SQL identifier).
        if_exists: ``"fail"`` (the default), ``"append"`` (ids go on after the
            table's last), or ``"replace"`` (the old table goes only if the load works).

    Raises:
        DatabaseError: A bad URL, table name or record, a table that exists (with
            ``"fail"``) or has other columns, a unique violation, a full disk, a
            server that cannot be reached. The table is left as it was.
    """
    iterator = iter(records)
    return _save_blocks(iter(lambda: list(islice(iterator, BLOCK_SIZE)), []), url, table, if_exists)


def save_job(
    job: Job,
    count: int,
    url: str | sa.URL,
    *,
    table: str = TABLE,
    if_exists: IfExists = "fail",
    workers: int = 1,
    on_block: Callable[[int], None] | None = None,
) -> int:
    """Write ``count`` payloads of the bulk engine: the rows of ``generate --output``.

    Args:
        job: The checked run parameters (:meth:`bookslot_factories.bulk.Job.make`).
        count: The number of rows.
        url: The database.
        table: The table.
        if_exists: As for :func:`save`.
        workers: Worker processes generating the blocks.
        on_block: Called with each block's record count once it is written.

    Raises:
        DatabaseError: As for :func:`save`.
    """
    from . import bulk

    if workers == 1:  # no process to cross: the blocks as they are, without pickle
        return _save_blocks(_reported(bulk.blocks(job, count), on_block), url, table, if_exists)
    encoded = bulk.encoded_blocks(job, count, _encode_block, workers=workers, on_block=on_block)
    return _save_blocks((pickle.loads(data) for data in encoded), url, table, if_exists)


def _reported(
    blocks: Iterator[list[dict[str, str]]], on_block: Callable[[int], None] | None
) -> Iterator[list[dict[str, str]]]:
    for block in blocks:
        yield block
        if on_block:  # the block is written when the next one is asked for
            on_block(len(block))


def _encode_block(records: Sequence[dict[str, str]], first: bool) -> bytes:
    # Blocks cross from worker processes as pickled lists (our own bytes, never a file's).
    return pickle.dumps(list(records), protocol=pickle.HIGHEST_PROTOCOL)


_VALUES = itemgetter(*FIELDS)


class _Checked(NamedTuple):
    """A block's rows, checked: the field values, and each row's values joined by tabs."""

    values: list[tuple[str, ...]]
    lines: list[str]


def _checked(block: list[Any], start: int, table: str) -> _Checked:
    """The block's rows, each record's shape checked (ids from ``start``)."""
    # The fast path checks a whole block at C speed: the 13 keys (itemgetter), no
    # other key (the lengths), strings only (str.join refuses anything else). The
    # joined lines are COPY's text, so PostgreSQL pays for the check only once.
    try:
        values = list(map(_VALUES, block))
        lines = list(map("\t".join, values))
        good = sum(map(len, block)) == len(FIELDS) * len(block)
    except (KeyError, TypeError):
        good = False
    if not good:
        for i, record in enumerate(block):
            _check_record(record, start + i, table)
    return _Checked(values, lines)


def _numbered(first: int, values: list[tuple[str, ...]]) -> list[tuple[Any, ...]]:
    """The rows as ``(id, *fields)`` tuples, the ids counting from ``first``."""
    return [(number, *row) for number, row in enumerate(values, first)]


def _check_record(record: Any, row: int, table: str) -> None:
    if not isinstance(record, Mapping):
        raise DatabaseError(
            f"record is {excerpt(record)}; expected a mapping of the {len(FIELDS)} fields",
            table=table,
            row=row,
        )
    for name in FIELDS:
        if name not in record:
            raise DatabaseError(f"field {name!r} is missing", table=table, row=row, field=name)
        if not isinstance(record[name], str):
            raise DatabaseError(
                f"field {name!r} is {excerpt(record[name])}; expected a string",
                table=table,
                row=row,
                field=name,
            )
    extra = [key for key in record if key not in FIELDS]
    if extra:
        raise DatabaseError(
            f"unknown field {excerpt(extra[0])}; expected only the {len(FIELDS)} payload fields",
            table=table,
            row=row,
            field=str(extra[0]),
        )


def _save_blocks(blocks: Iterator[list[Any]], url: str | sa.URL, table: str, if_exists: str) -> int:
    if if_exists not in _IF_EXISTS:
        raise DatabaseError(
            f"if_exists is {excerpt(if_exists)}; expected one of {', '.join(_IF_EXISTS)}"
        )
    target = _table(table)
    checked = _url(url)
    made = engine(checked)
    written = 0
    try:
        with _translated(checked, table), made.begin() as connection:
            start, fresh = _prepare(connection, target, if_exists)
            postgres = connection.dialect.name == "postgresql"
            # PostgreSQL builds an index from sorted rows several times faster than it
            # grows one row by row: a table this load made gets its keys after the rows.
            rebuild = _drop_keys(connection, target) if postgres and fresh else None
            with _inserter(connection, target, stream=rebuild is not None) as insert:
                for block in blocks:
                    first = start + 1 + written
                    rows = _checked(block, first, table)
                    if rebuild is not None:  # no keys yet, so nothing to break
                        insert(first, rows)
                        written += len(rows.values)
                        continue
                    # A savepoint per block: a repeated email undoes this block alone,
                    # so the rows before it are there to tell which row it repeats.
                    savepoint = connection.begin_nested()
                    try:
                        insert(first, rows)
                    except (exc.IntegrityError, _Duplicate):
                        savepoint.rollback()
                        raise _explain_duplicate(
                            connection, target, first, rows.values, start + 1
                        ) from None
                    savepoint.commit()
                    written += len(rows.values)
            if rebuild is not None:
                rebuild()
            if postgres and written:
                _advance_ids(connection, target)
    finally:
        made.dispose()
    return written


def _drop_keys(connection: sa.Connection, target: sa.Table) -> Callable[[], None]:
    """Drop the new table's primary key and unique email; return what adds them back.

    The keys come back under their own names, so the table is the one
    :meth:`~sqlalchemy.schema.Table.create` made. A repeated email fails the rebuild:
    the first row that repeats an earlier one is then named.
    """
    inspector = sa.inspect(connection)
    quote = connection.dialect.identifier_preparer.quote
    named: list[tuple[str | None, str]] = [
        (inspector.get_pk_constraint(target.name)["name"], "PRIMARY KEY (id)"),
        *((u["name"], 'UNIQUE ("email")') for u in inspector.get_unique_constraints(target.name)),
    ]
    keys = [(key, what) for key, what in named if key]  # PostgreSQL names them all
    name = quote(target.name)
    connection.exec_driver_sql(
        f"ALTER TABLE {name} " + ", ".join(f"DROP CONSTRAINT {quote(k)}" for k, _ in keys)
    )

    def rebuild() -> None:
        nested = connection.begin_nested()
        try:
            connection.exec_driver_sql(
                f"ALTER TABLE {name} "
                + ", ".join(f"ADD CONSTRAINT {quote(k)} {what}" for k, what in keys)
            )
        except exc.IntegrityError:
            nested.rollback()
            raise _repeated(connection, target) from None
        nested.commit()

    return rebuild


def _repeated(connection: sa.Connection, target: sa.Table) -> DatabaseError:
    """The first row whose email an earlier row of the table already has."""
    ranked = sa.select(
        target.c.id,
        target.c.email,
        sa.func.row_number().over(partition_by=target.c.email, order_by=target.c.id).label("n"),
    ).subquery()
    found = connection.execute(
        sa.select(ranked.c.id, ranked.c.email).where(ranked.c.n == 2).order_by(ranked.c.id).limit(1)
    ).first()
    if found is None:  # pragma: no cover - the rebuild failed on an email, so one repeats
        return _repeat_error(target.name)
    return _repeat_error(target.name, found[1], found[0])


def _repeat_error(
    table: str, email: str | None = None, row: int | None = None, where: str = ""
) -> DatabaseError:
    """A repeated email, at ``row`` (``where``: how it repeats) when it is known."""
    if email is None:
        return DatabaseError(
            "a row repeats the email of an earlier row of this load; expected unique emails "
            "(nothing was written)",
            table=table,
        )
    return DatabaseError(
        f"field 'email' is {excerpt(email)} and {where or 'repeats an earlier row'}; "
        "expected unique emails (nothing was written)",
        table=table,
        row=row,
        field="email",
    )


def _advance_ids(connection: sa.Connection, target: sa.Table) -> None:
    # COPY writes the ids itself, so PostgreSQL's id sequence would still start at 1:
    # the next ORM insert (BookslotRecordFactory.create) would repeat an id.
    connection.execute(
        sa.select(
            sa.func.setval(
                sa.func.pg_get_serial_sequence(
                    connection.dialect.identifier_preparer.quote(target.name), "id"
                ),
                sa.select(sa.func.max(target.c.id)).scalar_subquery(),
            )
        )
    )


class _Duplicate(Exception):
    """COPY met a repeated email (psycopg's own error, not SQLAlchemy's)."""


def _prepare(connection: sa.Connection, target: sa.Table, if_exists: str) -> tuple[int, bool]:
    """Make the table ready in the transaction: its last id, and whether it is new."""
    name = target.name
    exists = sa.inspect(connection).has_table(name)
    if exists and if_exists == "fail":
        raise DatabaseError(
            "the table exists; choose if_exists 'append' to add rows or 'replace' to "
            "write a new table (--if-exists in the CLI)",
            table=name,
        )
    if exists and if_exists == "replace":
        target.drop(connection)
        exists = False
    if not exists:
        target.create(connection)
        return 0, True
    _check_columns(connection, name)
    last = connection.execute(sa.select(sa.func.max(target.c.id))).scalar()
    return int(last or 0), False


def _check_columns(connection: sa.Connection, name: str) -> None:
    found = tuple(column["name"] for column in sa.inspect(connection).get_columns(name))
    if sorted(found) != sorted(_COLUMNS):
        raise DatabaseError(
            f"the table has the columns {', '.join(found)}; expected id and the "
            f"{len(FIELDS)} payload fields ({', '.join(FIELDS)})",
            table=name,
        )


@contextmanager
def _inserter(
    connection: sa.Connection, target: sa.Table, *, stream: bool
) -> Iterator[Callable[[int, _Checked], None]]:
    """Yield ``insert(first_id, rows)``: a block's rows, in this transaction.

    With ``stream`` (PostgreSQL, a table without keys yet) every block goes into one
    COPY, written by psycopg's queue thread: the server stores a block while this
    process makes the next. Otherwise each block is its own statement, so a
    savepoint can undo it alone.
    """
    if connection.dialect.name != "postgresql":
        # The statement is compiled by SQLAlchemy from the table (quoted identifiers,
        # qmark parameters); tuples go straight to the driver's executemany.
        text = str(sa.insert(target).compile(dialect=connection.dialect))

        def executemany(first: int, rows: _Checked) -> None:
            if rows.values:
                connection.exec_driver_sql(text, _numbered(first, rows.values))

        yield executemany
        return
    import psycopg
    from psycopg import sql
    from psycopg.copy import QueuedLibpqWriter

    raw: Any = connection.connection.driver_connection
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(target.name), sql.SQL(", ").join(map(sql.Identifier, _COLUMNS))
    )

    @contextmanager
    def translated() -> Iterator[None]:
        # COPY runs on the raw connection, in SQLAlchemy's transaction: its errors
        # are psycopg's own, not wrapped.
        try:
            yield
        except psycopg.errors.UniqueViolation:
            raise _Duplicate from None
        except psycopg.Error as error:
            raise DatabaseError(
                f"database {_shown(connection.engine.url)}: {_reason(error)}",
                table=target.name,
            ) from None

    def write(writer: Any, first: int, rows: _Checked) -> None:
        text = _copy_text(first, rows.lines)
        if text is not None:
            writer.write(text)
        else:
            for row in _numbered(first, rows.values):
                writer.write_row(row)

    if stream:
        # An error of a write comes back into this generator at the yield, so the
        # outer translated() names it: the queued writer needs no wrapper of its own.
        with (
            translated(),
            raw.cursor() as cursor,
            cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as writer,
        ):
            yield functools.partial(write, writer)
        return

    def copy(first: int, rows: _Checked) -> None:
        with translated(), raw.cursor() as cursor, cursor.copy(statement) as writer:
            write(writer, first, rows)

    yield copy


def _copy_text(first: int, lines: list[str]) -> str | None:
    """The rows in COPY's text format, or None when a value needs escaping.

    A block is joined and checked at C speed: it needs no escapes when it has exactly
    one tab between columns and one newline per row, and no backslash or carriage
    return. Any other block goes row by row through psycopg's own escaping.
    """
    numbered = zip(range(first, first + len(lines)), lines, strict=True)
    text = "".join([f"{number}\t{line}\n" for number, line in numbered])
    plain = (
        text.count("\t") == len(FIELDS) * len(lines)
        and text.count("\n") == len(lines)
        and "\\" not in text
        and "\r" not in text
    )
    return text if plain else None


def _explain_duplicate(
    connection: sa.Connection,
    target: sa.Table,
    first: int,
    values: list[tuple[str, ...]],
    first_new: int,
) -> DatabaseError:
    """Name the block's first row whose email the table (or the block) already has.

    Called after the block's savepoint is rolled back: the table then holds the old
    rows (ids below ``first_new``) and the earlier blocks of this load.
    """
    email_at = FIELDS.index("email")
    emails = [row[email_at] for row in values]
    known: dict[str, int] = {}
    for i in range(0, len(emails), 500):
        found = connection.execute(
            sa.select(target.c.email, target.c.id).where(target.c.email.in_(emails[i : i + 500]))
        )
        known.update((row[0], row[1]) for row in found)
    seen: set[str] = set()
    for number, email in enumerate(emails, first):
        if email in known or email in seen:
            old = email in known and known[email] < first_new
            where = "is already in the table" if old else "repeats an earlier row"
            return _repeat_error(target.name, email, number, where)
        seen.add(email)
    return _repeat_error(target.name)  # pragma: no cover - an IntegrityError is a repeat


# --- reading --------------------------------------------------------------------------


def iter_load(
    url: str | sa.URL,
    *,
    table: str = TABLE,
    as_of: date | str | None = None,
    cfg: Config | None = None,
) -> Iterator[BookslotPayload]:
    """Stream the rows back as validated payloads, in id order.

    The URL, the table and its columns are checked at once; the rows as they are read.

    Raises:
        DatabaseError: A bad URL, a missing table or one with other columns, or a row
            that breaks a payload rule (naming the table, the row id and the field).
    """
    checked, target = _url(url), _table(table)
    rows = _rows(checked, target)
    next(rows)  # opens the connection and checks the table now, not at the first row
    return _validated(rows, target.name, as_of, cfg)


def _rows(url: sa.URL, target: sa.Table) -> Generator[Any, None, None]:
    path = _sqlite_file(url) if _is_sqlite(url) else None
    if path is not None and not os.path.exists(path):
        raise DatabaseError(f"database {_shown(url)}: no such file {path!r}")
    made = engine(url, write=False)
    try:
        with _translated(url, target.name), made.connect() as connection:
            if not sa.inspect(connection).has_table(target.name):
                raise DatabaseError(
                    "no such table; write one with save() or generate --db", table=target.name
                )
            _check_columns(connection, target.name)
            yield None
            columns = [target.c[name] for name in _COLUMNS]
            streaming = connection.execution_options(stream_results=True, yield_per=BLOCK_SIZE)
            result = streaming.execute(sa.select(*columns).order_by(target.c.id))
            try:
                yield from result
            finally:
                result.close()  # the server-side cursor, before its connection
    finally:
        made.dispose()


def _validated(
    rows: Generator[Any, None, None], table: str, as_of: date | str | None, cfg: Config | None
) -> Iterator[BookslotPayload]:
    from .rules import validate

    try:
        for row in rows:
            payload = BookslotPayload(zip(FIELDS, row[1:], strict=True))
            try:
                validate(payload, as_of=as_of, cfg=cfg)
            except PayloadError as error:
                raise DatabaseError(
                    str(error), table=table, row=row[0], field=error.field
                ) from None
            yield payload
    finally:
        # Closed now, not when the error's traceback goes: an open read holds locks.
        rows.close()


def check(
    url: str | sa.URL,
    *,
    table: str = TABLE,
    as_of: date | str | None = None,
    cfg: Config | None = None,
) -> Iterator[DatabaseError]:
    """Yield every problem of a table, for a report (:func:`iter_load` stops at the first).

    Each row that breaks a rule gives one error and reading goes on; a problem that
    stops reading (no database, no table, other columns) comes last.
    """
    from .rules import validate

    try:
        checked, target = _url(url), _table(table)
        rows = _rows(checked, target)
        try:
            next(rows)
            for row in rows:
                payload = BookslotPayload(zip(FIELDS, row[1:], strict=True))
                try:
                    validate(payload, as_of=as_of, cfg=cfg)
                except PayloadError as error:
                    yield DatabaseError(
                        str(error), table=target.name, row=row[0], field=error.field
                    )
        finally:
            rows.close()
    except BookslotError as error:
        yield error if isinstance(error, DatabaseError) else DatabaseError(str(error))


# --- sessions -------------------------------------------------------------------------

_SESSION: list[Session] = []


def session() -> Session:
    """Return the process's default session, made at first use.

    Its database is ``$BOOKSLOT_DB_URL`` or ``sqlite:///bookslot.db``; the payload
    table is created there if missing. :class:`BookslotRecordFactory` uses it unless
    its ``Meta.sqlalchemy_session`` (or ``_factory``) is set, or :func:`set_session` is
    called.

    Raises:
        DatabaseError: A bad URL or a database that cannot be reached.
    """
    if not _SESSION:
        url = _url(os.environ.get(URL_ENV) or DEFAULT_URL)
        made = engine(url)
        with _translated(url, TABLE), made.begin() as connection:
            _Base.metadata.create_all(connection)
        _SESSION.append(Session(made))
    return _SESSION[0]


def set_session(new: Session | None) -> Session | None:
    """Make ``new`` the default session (``None``: back to the default); return the old."""
    old = _SESSION.pop() if _SESSION else None
    if new is not None:
        _SESSION.append(new)
    return old


# --- the factory ------------------------------------------------------------------------


from factory.alchemy import SQLAlchemyModelFactory  # noqa: E402  # needs SQLAlchemy, checked above

from .bookslot import BookslotPayloadFactory  # noqa: E402
from .variants import VARIANT_FLAGS, VARIANT_OPTIONS  # noqa: E402
from .variants import check_names as _check_names  # noqa: E402


class BookslotRecordFactory(SQLAlchemyModelFactory, BookslotPayloadFactory):
    """Rows of ``bookslot_payloads``, with everything of ``BookslotPayloadFactory``.

    Every declaration, Trait and parameter of
    :class:`~bookslot_factories.BookslotPayloadFactory` is inherited, not copied.

    ``create()`` inserts one row and commits (inside the ``bookslot_db`` fixture the
    commit only releases a savepoint, and the test's rollback undoes it);
    ``create_batch(n)`` adds all ``n`` rows in one flush, which SQLAlchemy sends as
    one batched INSERT; ``build()`` touches no database. The session is
    :func:`session` unless ``Meta.sqlalchemy_session`` or
    ``Meta.sqlalchemy_session_factory`` is set.
    """

    class Meta:
        model = BookslotRecord
        sqlalchemy_session_factory = session
        sqlalchemy_session_persistence = "commit"

    @classmethod
    def _build(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        fields = cls._meta.base_declarations
        if args:
            raise TypeError(f"{cls.__name__} takes keyword arguments only")
        if any(key not in fields for key in kwargs):
            _check_names(kwargs, {*fields, *VARIANT_FLAGS, *VARIANT_OPTIONS, "as_of"}, "field")
        return model_class(**kwargs)

    @classmethod
    def _session(cls) -> Session:
        meta: Any = cls._meta
        if meta.sqlalchemy_session_factory:
            meta.sqlalchemy_session = meta.sqlalchemy_session_factory()
        if meta.sqlalchemy_session is None:
            raise DatabaseError(f"{cls.__name__} has no session: set Meta.sqlalchemy_session")
        current: Session = meta.sqlalchemy_session
        return current

    @classmethod
    def create_batch(cls, size: int, **kwargs: Any) -> list[BookslotRecord]:  # type: ignore[override]
        """Create ``size`` rows in one flush (factory_boy flushes once per row)."""
        records: list[BookslotRecord] = cls.build_batch(size, **kwargs)  # type: ignore[assignment]
        current = cls._session()
        if current.get_bind().dialect.name == "sqlite":
            # SQLite cannot batch an INSERT ... RETURNING of ids in a known order; with
            # the ids given (what SQLite would pick: max + 1), the flush is one
            # executemany. PostgreSQL batches RETURNING from its sequence as it is.
            last = current.scalar(sa.select(sa.func.max(BookslotRecord.id))) or 0
            for number, record in enumerate(records, start=last + 1):
                if record.id is None:
                    record.id = number
        current.add_all(records)
        meta: Any = cls._meta
        if meta.sqlalchemy_session_persistence == "commit":
            current.commit()
        else:
            current.flush()
        return records
