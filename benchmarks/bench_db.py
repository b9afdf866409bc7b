"""Database benchmarks, called by ``bench.py`` (``make bench``): one run, ratios side by side.

- ``generate --db sqlite:///x.db --count N``, the whole process, against factory_boy's
  ``SQLAlchemyModelFactory.create_batch`` with default settings (one object per
  flush, measured on fewer rows) and against plain ``sqlite3.executemany`` of
  pre-built tuples (no generation at all) into the same table (NOT NULL columns,
  unique email: what a test can rely on), with a bare table's rate beside it;
- PostgreSQL ``COPY`` (``db.save``, records checked on the way) against psycopg
  ``executemany`` of the same pre-built tuples into the same table, when
  ``BOOKSLOT_TEST_POSTGRES_URL`` names a server (``.ci/with-postgres.sh``);
- the CLI load's peak memory at N and N / 10 rows (flat in the count).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import chain
from pathlib import Path

import factory
import sqlalchemy as sa
from bookslot_factories import bulk, db
from bookslot_factories.model import FIELDS
from sqlalchemy.orm import Session

Record = Callable[[str, str, str, bool], None]


class PeerFactory(factory.alchemy.SQLAlchemyModelFactory):
    """factory_boy's documented way: the same model, Faker fields, default settings."""

    class Meta:
        model = db.BookslotRecord
        sqlalchemy_session_persistence = "flush"

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"person{n}@mailinator.com")
    phone_number = "1234567890"
    zip = "20678"
    contact_method = factory.Faker("random_element", elements=("Text", "Email", "Call"))
    verification_code = "123456"
    zip_distance = factory.Faker("random_element", elements=("25", "50", "75", "100"))
    dob = factory.Faker("date", pattern="%m/%d/%Y")
    MemberName = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}")
    idNumber = factory.Faker("numerify", text="INS-#####")
    GroupNumber = factory.Faker("numerify", text="GRP-####")
    PayerName = "Humana"


def _tuples(count: int) -> list[tuple[object, ...]]:
    job = bulk.Job.make(1, as_of="2026-11-29")
    return [
        (i, *(r[f] for f in FIELDS))
        for i, r in enumerate(chain.from_iterable(bulk.blocks(job, count)), start=1)
    ]


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _best(fn: Callable[[], object], runs: int = 3) -> float:
    """The fastest of ``runs`` timings: a shared machine only ever adds time."""
    return min(_timed(fn) for _ in range(runs))


def main(quick: bool, record: Record, cli: list[str]) -> None:
    big = 100_000 if quick else 1_000_000
    peer_n = 1_000 if quick else 5_000
    folder = Path(tempfile.mkdtemp(prefix="bench-db-"))
    print(f"\nDatabase: SQLite, {big:,} rows")

    def load(rows: int, name: str) -> tuple[float, int]:
        """Seconds and peak RSS (KiB) of ``generate --db`` of ``rows`` rows, whole process."""
        script = (
            "import resource, subprocess, sys, time; s = time.perf_counter(); "
            "subprocess.run(sys.argv[1:], check=True); "
            "print(time.perf_counter() - s, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )
        command = [*cli, "generate", "--db", f"sqlite:///{folder / name}", "--count", str(rows)]
        out = subprocess.run(
            [sys.executable, "-c", script, *command, "--seed", "1"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        return float(out[0]), int(out[1])

    ours_s, peak = load(big, "cli.db")
    _, small_peak = load(big // 10, "small.db")
    ours = big / ours_s
    print(f"  {'bookslot-data generate --db (whole process)':<48} {ours:>12,.0f} rows/s")
    print(f"  {f'peak RSS {big:,} / {big // 10:,} rows':<48} {peak / small_peak:>12.2f}")

    peer_db = folder / "peer.db"
    engine = sa.create_engine(f"sqlite:///{peer_db}")
    db.BookslotRecord.metadata.create_all(engine)
    with Session(engine) as session:
        PeerFactory._meta.sqlalchemy_session = session
        peer_s = _timed(lambda: (PeerFactory.create_batch(peer_n), session.commit()))
    engine.dispose()
    peer = peer_n / peer_s
    print(f"  {f'factory_boy create_batch({peer_n:,})':<48} {peer:>12,.0f} rows/s")

    rows = _tuples(big)

    def plain(name: str, same_table: bool) -> float:
        connection = sqlite3.connect(folder / name)
        if same_table:
            engine = sa.create_engine(f"sqlite:///{folder / name}")
            db.BookslotRecord.metadata.create_all(engine)
            engine.dispose()
            table = db.TABLE
        else:
            columns = ", ".join(f"{f} text" for f in FIELDS)
            connection.execute(f"CREATE TABLE t (id integer primary key, {columns})")
            table = "t"
        start = time.perf_counter()
        with connection:
            connection.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * 14)})", rows)
        connection.close()
        return big / (time.perf_counter() - start)

    bare_rate = plain("bare.db", same_table=False)
    plain_rate = plain("plain.db", same_table=True)
    print(f"  {'plain sqlite3.executemany, the same table':<48} {plain_rate:>12,.0f} rows/s")
    print(f"  {'plain sqlite3.executemany, a bare table':<48} {bare_rate:>12,.0f} rows/s")
    record(
        "--db sqlite / factory_boy create_batch", f"{ours / peer:.1f}x", ">= 10x", ours >= 10 * peer
    )
    record(
        "--db sqlite load, peak RSS N / N/10",
        f"{peak / small_peak:.2f}",
        "<= 1.25",
        peak <= 1.25 * small_peak,
    )
    record(
        "--db sqlite / plain executemany",
        f"{ours / plain_rate:.2f}x",
        ">= 0.5x",
        ours >= 0.5 * plain_rate,
    )

    url = os.environ.get("BOOKSLOT_TEST_POSTGRES_URL")
    if not url:
        print("  (PostgreSQL: BOOKSLOT_TEST_POSTGRES_URL unset; run through .ci/with-postgres.sh)")
        return
    import psycopg

    pg_n = big // 4
    pg_rows = rows[:pg_n]
    records = [dict(zip(FIELDS, r[1:], strict=True)) for r in pg_rows]
    print(f"\nDatabase: PostgreSQL, {pg_n:,} rows")
    copy_rate = pg_n / _best(lambda: db.save(records, url, table="bench_copy", if_exists="replace"))
    print(f"  {'db.save (COPY)':<48} {copy_rate:>12,.0f} rows/s")
    plain_url = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def executemany() -> None:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS bench_many")
        db._table("bench_many").create(engine)
        engine.dispose()
        with psycopg.connect(plain_url) as connection, connection.cursor() as cursor:
            marks = ", ".join(["%s"] * 14)
            cursor.executemany(f"INSERT INTO bench_many VALUES ({marks})", pg_rows)

    many_rate = pg_n / _best(executemany)
    print(f"  {'psycopg executemany':<48} {many_rate:>12,.0f} rows/s")
    record(
        "PostgreSQL COPY / executemany",
        f"{copy_rate / many_rate:.1f}x",
        ">= 3x",
        copy_rate >= 3 * many_rate,
    )
