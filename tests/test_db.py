"""Database storage (``bookslot_factories.db``) against a real SQLite file and a real PostgreSQL.

Every test that takes ``url`` runs twice: on a SQLite file in ``tmp_path`` and in a schema
of its own on the PostgreSQL server of ``BOOKSLOT_TEST_POSTGRES_URL`` (``.ci/with-postgres.sh``
starts one; without it the PostgreSQL runs skip, except under CI, where they fail).
"""

from __future__ import annotations

import json
import resource
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from bookslot_factories import BookslotPayloadFactory, seed
from bookslot_factories.cli import main
from bookslot_factories.db import (
    TABLE,
    BookslotRecord,
    BookslotRecordFactory,
    check,
    iter_load,
    save,
)
from bookslot_factories.errors import BookslotError, DatabaseError, MissingExtraError
from bookslot_factories.model import FIELDS
from oracles import AS_OF, Boom, born_on, make_records, postgres_base, years_old


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema: the test's own tables."""
    base = sa.make_url(postgres_base())
    schema = f"t_{uuid.uuid4().hex}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bookslot.db'}"
    return str(request.getfixturevalue("pg_url"))


def rows(url: str, table: str = TABLE) -> list[tuple[Any, ...]]:
    """The table's rows in id order, read with plain SQL (not through our reader)."""
    made = sa.create_engine(url)
    try:
        with made.connect() as connection:
            return [
                tuple(r) for r in connection.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY id')
            ]
    finally:
        made.dispose()


def tables(url: str) -> set[str]:
    made = sa.create_engine(url)
    try:
        with made.connect() as connection:
            return set(sa.inspect(connection).get_table_names())
    finally:
        made.dispose()


def as_rows(records: list[dict[str, str]], first: int = 1) -> list[tuple[Any, ...]]:
    return [(first + i, *(r[f] for f in FIELDS)) for i, r in enumerate(records)]


# --- save and iter_load ------------------------------------------------------------------


def test_round_trip_in_id_order(url: str) -> None:
    records = make_records(30)
    assert save(records, url) == 30
    assert rows(url) == as_rows(records)
    loaded = list(iter_load(url, as_of=AS_OF))
    assert loaded == records
    assert all(list(r) == list(FIELDS) for r in loaded)


def test_the_table_has_the_documented_shape(url: str) -> None:
    save(make_records(2), url)
    made = sa.create_engine(url)
    with made.connect() as connection:
        inspector = sa.inspect(connection)
        columns = inspector.get_columns(TABLE)
        uniques = inspector.get_unique_constraints(TABLE)
        primary = inspector.get_pk_constraint(TABLE)
    made.dispose()
    assert [c["name"] for c in columns] == ["id", *FIELDS]
    assert all(not c["nullable"] for c in columns)
    assert all(isinstance(c["type"], sa.Text) for c in columns[1:])
    assert primary["constrained_columns"] == ["id"]
    assert [u["column_names"] for u in uniques] == [["email"]]


def test_a_large_save_streams_blocks(url: str) -> None:
    seed(3)
    records = BookslotPayloadFactory.build_batch(25_000, as_of=AS_OF)
    assert save(iter(records), url) == 25_000
    got = rows(url)
    assert [r[0] for r in got] == list(range(1, 25_001))
    assert got[-1][1:] == tuple(records[-1][f] for f in FIELDS)


def test_append_continues_the_ids_and_replace_starts_over(url: str) -> None:
    first, second = make_records(5, seed=1), make_records(4, seed=2)
    save(first, url)
    assert save(second, url, if_exists="append") == 4
    assert rows(url) == as_rows(first) + as_rows(second, first=6)
    assert save(second, url, if_exists="replace") == 4
    assert rows(url) == as_rows(second)


def test_fail_leaves_an_existing_table(url: str) -> None:
    records = make_records(3)
    save(records, url)
    with pytest.raises(
        DatabaseError, match=r"table 'bookslot_payloads': the table exists; .*append.*replace"
    ):
        save(make_records(3, seed=9), url)
    assert rows(url) == as_rows(records)


def test_other_table_names_are_copies_of_the_model(url: str) -> None:
    save(make_records(3), url, table="Seeded_Rows2")
    assert len(list(iter_load(url, table="Seeded_Rows2", as_of=AS_OF))) == 3
    assert "Seeded_Rows2" in tables(url)


@pytest.mark.parametrize(
    "name",
    ["x; DROP TABLE y", 'a"b', "1abc", "", "sqlite_master", "a" * 64, "tab le", "ü"],
)
def test_a_table_name_that_is_not_an_identifier_is_refused(url: str, name: str) -> None:
    save(make_records(2), url, table="y")
    with pytest.raises(DatabaseError, match="is not a plain SQL identifier"):
        save(make_records(2, seed=4), url, table=name)
    with pytest.raises(DatabaseError, match="is not a plain SQL identifier"):
        list(iter_load(url, table=name))
    assert tables(url) == {"y"}
    assert len(rows(url, "y")) == 2


def test_quotes_and_semicolons_in_values_are_data(url: str) -> None:
    records = make_records(3)
    records[1]["first_name"] = "O'Brien\"; DROP TABLE bookslot_payloads; --"
    records[2]["PayerName"] = "a\tb\nc\\d,'\""
    save(records, url)
    assert rows(url) == as_rows(records)


def test_a_generator_raising_midway_writes_nothing(url: str) -> None:
    def records() -> Iterator[dict[str, str]]:
        yield from make_records(15_000)  # more than a block: the first one is sent
        raise Boom("the source failed")

    with pytest.raises(Boom):
        save(records(), url)
    assert TABLE not in tables(url)


def test_replace_keeps_the_old_table_when_the_load_fails(url: str) -> None:
    old = make_records(4)
    save(old, url)

    def records() -> Iterator[dict[str, str]]:
        yield from make_records(12_000, seed=5)
        raise Boom("midway")

    with pytest.raises(Boom):
        save(records(), url, if_exists="replace")
    assert rows(url) == as_rows(old)


def test_a_unique_violation_on_append_names_the_row_and_writes_nothing(url: str) -> None:
    old = make_records(5)
    save(old, url)
    again = [*make_records(3, seed=8), old[2]]
    with pytest.raises(DatabaseError) as caught:
        save(again, url, if_exists="append")
    message = str(caught.value)
    assert message.startswith("table 'bookslot_payloads', row 9: field 'email' is ")
    assert "already in the table" in message
    assert caught.value.row == 9
    assert caught.value.field == "email"
    assert rows(url) == as_rows(old)


def test_a_repeated_email_within_one_load_is_named(url: str) -> None:
    records = make_records(4)
    records[3]["email"] = records[1]["email"]
    with pytest.raises(DatabaseError, match=r"row 4: field 'email' .* repeats an earlier row"):
        save(records, url)
    assert TABLE not in tables(url)


def test_a_repeat_blocks_apart_names_the_later_row_and_replace_keeps_the_old_table(
    url: str,
) -> None:
    old = make_records(3, seed=2)
    save(old, url)
    records = make_records(23_000)
    records[21_500]["email"] = records[7]["email"]
    records[22_000]["email"] = records[9_999]["email"]
    with pytest.raises(DatabaseError) as caught:
        save(records, url, if_exists="replace")
    assert (caught.value.row, caught.value.field) == (21_501, "email")
    assert "repeats an earlier row" in str(caught.value)
    assert rows(url) == as_rows(old)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("dob"), r"row 2: field 'dob' is missing"),
        (lambda r: r.update(dob=19900101), r"row 2: field 'dob' is 19900101; expected a string"),
        (lambda r: r.update(extra="x"), r"row 2: unknown field 'extra'"),
    ],
)
def test_a_malformed_record_is_named(url: str, change: Any, message: str) -> None:
    records = make_records(3)
    change(records[1])
    with pytest.raises(DatabaseError, match=message):
        save(records, url)
    assert TABLE not in tables(url)


class _Miscounted(dict[str, str]):
    """A mapping whose len() disagrees with its keys: the fast shape check cannot trust it."""

    def __len__(self) -> int:
        return super().__len__() + 1


def test_a_mapping_whose_len_disagrees_is_checked_and_saved(url: str) -> None:
    records = make_records(3)
    save([records[0], _Miscounted(records[1]), records[2]], url)
    assert rows(url) == as_rows(records)


def test_a_table_with_other_columns_is_refused(url: str) -> None:
    made = sa.create_engine(url)
    with made.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE {TABLE} (id integer primary key, name text)")
    made.dispose()
    with pytest.raises(DatabaseError, match="has the columns id, name; expected id and the 13"):
        save(make_records(2), url, if_exists="append")
    with pytest.raises(DatabaseError, match="has the columns id, name"):
        iter_load(url)
    assert rows(url) == []


def test_iter_load_and_check_name_the_table_row_and_field(url: str) -> None:
    records = make_records(5)
    records[1]["dob"] = "13/45/1990"
    records[3]["zip"] = "1234"
    save(records, url, table="bad")
    loaded = iter_load(url, table="bad", as_of=AS_OF)
    assert next(loaded) == records[0]
    with pytest.raises(DatabaseError, match=r"^table 'bad', row 2: .*'dob'") as caught:
        next(loaded)
    assert (caught.value.row, caught.value.field) == (2, "dob")
    problems = list(check(url, table="bad", as_of=AS_OF))
    assert [(p.table, p.row, p.field) for p in problems] == [("bad", 2, "dob"), ("bad", 4, "zip")]


def test_check_reports_a_missing_table(url: str) -> None:
    save(make_records(1), url)
    (problem,) = check(url, table="nothing_here")
    assert (
        str(problem)
        == "table 'nothing_here': no such table; write one with save() or generate --db"
    )


def test_a_missing_sqlite_file_is_not_created_by_reading(tmp_path: Path) -> None:
    target = tmp_path / "absent.db"
    with pytest.raises(DatabaseError, match="no such file"):
        iter_load(f"sqlite:///{target}")
    assert not target.exists()


def test_a_full_disk_leaves_the_table_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "small.db"
    old = make_records(5)
    save(old, f"sqlite:///{target}")
    size = target.stat().st_size

    def small_files() -> None:  # runs in the child: files may not grow past 64 KiB more
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 65536, size + 65536))

    done = subprocess.run(
        [sys.executable, "-m", "bookslot_factories", "generate", "--db", f"sqlite:///{target}",
         "--count", "20000", "--seed", "2", "--if-exists", "append"],
        capture_output=True, text=True, preexec_fn=small_files, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: table 'bookslot_payloads': database ")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert rows(f"sqlite:///{target}") == as_rows(old)
    assert sqlite3.connect(target).execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --- URLs and connections ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("nonsense", "not a database URL; expected sqlite:///FILE or postgresql://"),
        ("mysql://me:hunter2@127.0.0.1/x", "driver 'mysql' is not supported"),
        ("postgresql+psycopg2://me:hunter2@127.0.0.1/x", r"driver 'postgresql\+psycopg2'"),
    ],
)
def test_a_bad_url_is_one_clear_error_without_the_password(given: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message) as caught:
        save(make_records(1), given)
    assert "hunter2" not in str(caught.value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_is_one_error_without_the_password() -> None:
    given = f"postgresql://me:hunter2@127.0.0.1:{free_port()}/x"
    code, err = run_cli("generate", "--db", given, "--count", "3")
    assert code == 1
    assert err.startswith("error: ")
    assert "refused" in err.lower()
    assert "hunter2" not in err
    assert "me:***@127.0.0.1" in err


def test_a_wrong_password_is_named_without_the_password() -> None:
    base = sa.make_url(postgres_base())
    role = f"r_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        # .ci/with-postgres.sh trusts everyone but the members of bookslot_password_users.
        connection.exec_driver_sql(
            f"CREATE ROLE {role} LOGIN PASSWORD 'right-one' IN ROLE bookslot_password_users"
        )
    try:
        wrong = base.set(username=role, password="hunter2-wrong").render_as_string(
            hide_password=False
        )
        with pytest.raises(DatabaseError) as caught:
            save(make_records(1), wrong)
        assert "hunter2" not in str(caught.value)
        assert str(caught.value).startswith(
            f"table 'bookslot_payloads': database postgresql+psycopg://{role}:***@"
        )
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def without(module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter in which ``module`` cannot be imported."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from bookslot_factories.cli import main\n"
        f"sys.exit(main({list(argv)!r}))"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_without_sqlalchemy_the_cli_names_the_extra(tmp_path: Path) -> None:
    done = without(
        "sqlalchemy", "generate", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--count", "2"
    )
    assert (done.returncode, done.stderr) == (
        1,
        "error: bookslot_factories.db needs SQLAlchemy: pip install 'bookslot-factories[db]'\n",
    )
    assert not (tmp_path / "x.db").exists()


def test_without_psycopg_a_postgresql_url_names_the_extra() -> None:
    done = without(
        "psycopg", "generate", "--db", "postgresql://me:hunter2@127.0.0.1/x", "--count", "2"
    )
    assert (done.returncode, done.stderr) == (
        1,
        "error: a postgresql:// URL needs psycopg 3: pip install 'bookslot-factories[postgres]'\n",
    )


def test_missing_extra_error_is_ours_and_an_import_error() -> None:
    assert issubclass(MissingExtraError, BookslotError)
    assert issubclass(MissingExtraError, ImportError)


# --- BookslotRecordFactory -----------------------------------------------------------------


@pytest.fixture
def session(url: str) -> Iterator[sa.orm.Session]:
    made = sa.create_engine(url)
    BookslotRecord.metadata.create_all(made)
    with sa.orm.Session(made) as current:
        yield current
    made.dispose()


@pytest.fixture
def factory(session: sa.orm.Session) -> type[BookslotRecordFactory]:
    class Bound(BookslotRecordFactory):
        class Meta:
            sqlalchemy_session = session
            sqlalchemy_session_factory = None

    return Bound


def inserts(session: sa.orm.Session) -> list[str]:
    """Collect the INSERT statements the session's engine sends from now on."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            sent.append(statement)

    sa.event.listen(session.get_bind(), "before_cursor_execute", record)
    return sent


def test_create_inserts_a_row_with_the_traits(
    url: str, factory: type[BookslotRecordFactory]
) -> None:
    seed(11)
    record = factory.create(senior=True, state="TX", as_of=AS_OF)
    assert isinstance(record, BookslotRecord)
    (got,) = rows(url)
    assert got[0] == record.id == 1
    factory.create_batch(3)
    assert [r[0] for r in rows(url)] == [1, 2, 3, 4]
    payload = dict(zip(FIELDS, got[1:], strict=True))
    assert payload == record.payload()
    assert years_old(born_on(payload["dob"]), AS_OF) >= 65
    assert payload["MemberName"] == f"{payload['first_name']} {payload['last_name']}"


def test_create_after_a_bulk_load_continues_the_ids(url: str) -> None:
    # COPY writes the ids itself; PostgreSQL's sequence must still move past them.
    save(make_records(12_000), url)
    made = sa.create_engine(url)
    with sa.orm.Session(made) as session:

        class Bound(BookslotRecordFactory):
            class Meta:
                sqlalchemy_session = session
                sqlalchemy_session_factory = None

        assert [r.id for r in Bound.create_batch(2)] == [12_001, 12_002]
    made.dispose()
    assert len(rows(url)) == 12_002


def test_the_factory_has_every_declaration_of_the_payload_factory() -> None:
    payload_meta: Any = BookslotPayloadFactory._meta
    record_meta: Any = BookslotRecordFactory._meta
    assert record_meta.base_declarations == payload_meta.base_declarations
    assert record_meta.parameters == payload_meta.parameters
    assert all(
        record_meta.base_declarations[k] is v for k, v in payload_meta.base_declarations.items()
    )


def test_the_same_seed_gives_the_payload_factorys_values() -> None:
    seed(5)
    payloads = BookslotPayloadFactory.build_batch(3, young=True, as_of=AS_OF)
    seed(5)
    records = BookslotRecordFactory.build_batch(3, young=True, as_of=AS_OF)
    assert [r.payload() for r in records] == payloads


def test_create_batch_is_one_insert(
    session: sa.orm.Session, factory: type[BookslotRecordFactory], url: str
) -> None:
    sent = inserts(session)
    made = factory.create_batch(200, dynamic_zip=True)
    assert len(sent) == 1
    assert sorted(r.id for r in made) == list(range(1, 201))
    assert len(rows(url)) == 200


def test_build_touches_no_database(
    session: sa.orm.Session, factory: type[BookslotRecordFactory], url: str
) -> None:
    sent = inserts(session)
    record = factory.build()
    factory.build_batch(3)
    assert record.id is None
    assert sent == []
    assert rows(url) == []


def test_an_unknown_field_is_refused(factory: type[BookslotRecordFactory]) -> None:
    with pytest.raises(BookslotError, match="nickname"):
        factory.build(nickname="x")


def test_the_default_session_uses_the_env_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bookslot_factories import db

    target = tmp_path / "default.db"
    monkeypatch.setenv(db.URL_ENV, f"sqlite:///{target}")
    old = db.set_session(None)
    try:
        seed(2)
        record = BookslotRecordFactory.create()
        assert rows(f"sqlite:///{target}") == [(record.id, *record.payload().values())]
    finally:
        db.session().close()
        db.session().get_bind().dispose()  # type: ignore[union-attr]
        db.set_session(old)


# --- the command line ------------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "bookslot_factories", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stderr


def test_cli_rows_equal_the_jsonl_records(
    url: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    args = [
        "--count",
        "12345",
        "--seed",
        "77",
        "--as-of",
        "2026-11-29",
        "--senior",
        "--dynamic-phone",
    ]
    assert main(["generate", "--output", "-", "--format", "jsonl", *args]) == 0
    expected = [json.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    assert main(["generate", "--db", url, "--table", "cli_rows", *args]) == 0
    assert rows(url, "cli_rows") == as_rows(expected)
    assert main(["validate", "--db", url, "--table", "cli_rows", "--as-of", "2026-11-29"]) == 0


def test_cli_workers_give_the_same_rows(url: str) -> None:
    common = ["--count", "25000", "--seed", "4", "--as-of", "2026-11-29"]
    assert main(["generate", "--db", url, "--table", "one", *common]) == 0
    assert main(["generate", "--db", url, "--table", "two", "--workers", "2", *common]) == 0
    assert rows(url, "one") == rows(url, "two")


def test_cli_without_count_writes_the_standard_sets(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bookslot_factories.datasets import STANDARD_SETS

    assert main(["generate", "--db", url, "--seed", "9", "--as-of", "2026-11-29"]) == 0
    assert capsys.readouterr().out.split() == list(STANDARD_SETS)
    assert (
        main(["generate", "--out-dir", str(tmp_path), "--seed", "9", "--as-of", "2026-11-29"]) == 0
    )
    for name in STANDARD_SETS:
        on_file = json.loads((tmp_path / f"{name}.json").read_text())
        assert rows(url, name) == as_rows(on_file)


def test_cli_table_name_injection_is_refused(tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'x.db'}"
    save(make_records(2), target, table="y")
    code, err = run_cli("generate", "--db", target, "--count", "3", "--table", "x; DROP TABLE y")
    assert code == 1
    assert err.startswith("error: table name 'x; DROP TABLE y' is not a plain SQL identifier")
    assert err.count("\n") == 1
    assert len(rows(target, "y")) == 2


def test_cli_validate_reports_every_bad_row(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    records = make_records(4)
    records[0]["email"] = "not-an-email"
    records[2]["dob"] = "1990-01-01"
    save(records, url)
    assert main(["validate", "--db", url, "--as-of", "2026-11-29"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err[:2]] == ["error"] * 2
    assert err[0].startswith("error: table 'bookslot_payloads', row 1: ")
    assert err[1].startswith("error: table 'bookslot_payloads', row 3: ")
    assert err[2] == "2 problem(s) in the table"


def test_cli_usage_errors(tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'x.db'}"
    for argv in (
        ["generate", "--db", target, "--output", "x.json"],
        ["generate", "--table", "t", "--output", "x.json"],
        ["validate", "--db", target, "some.json"],
        ["validate"],
    ):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2


def test_two_cli_loads_into_one_sqlite_file_both_finish(tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'shared.db'}"
    save(make_records(1), target)
    loads = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bookslot_factories",
                "generate",
                "--db",
                target,
                "--count",
                "30000",
                "--seed",
                str(s),
                "--if-exists",
                "append",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in (21, 22)
    ]
    results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in loads]
    for p in loads:
        if p.stderr:
            p.stderr.close()
    assert results == [(0, ""), (0, "")]
    got = rows(target)
    assert [r[0] for r in got] == list(range(1, 60_002))
    assert len({r[1 + FIELDS.index("email")] for r in got}) == 60_001
    assert sqlite3.connect(tmp_path / "shared.db").execute("PRAGMA integrity_check").fetchone() == (
        "ok",
    )
