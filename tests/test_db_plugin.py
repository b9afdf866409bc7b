"""The database fixtures of the pytest plugin, through real inner pytest runs (``pytester``)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

# pytester takes sys.modules back to what it was before each test: a dialect first
# imported inside one is dropped, and importing it again makes SQLAlchemy warn that
# its functions are registered twice (an error under filterwarnings=error).
import sqlalchemy.dialects.postgresql

# The same for the driver: a psycopg imported afresh has new exception classes, which
# SQLAlchemy (holding the old module) no longer wraps.
with contextlib.suppress(ImportError):  # a machine without the postgres extra
    import psycopg  # noqa: F401
from oracles import postgres_base

ROLLBACK_TESTS = """
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from bookslot_factories.db import BookslotRecord


def count(session):
    return session.scalar(sa.select(sa.func.count()).select_from(BookslotRecord))


@pytest.mark.parametrize("n", range(4))
def test_each_test_starts_empty(bookslot_db, bookslot_record_factory, n):
    assert count(bookslot_db) == 0
    bookslot_record_factory.create_batch(3, senior=True)
    bookslot_record_factory.create(state="TX")
    bookslot_db.commit()  # releases a savepoint only: the test's rollback still undoes it
    assert count(bookslot_db) == 4


def test_record(bookslot_record, bookslot_db):
    assert bookslot_db.get(BookslotRecord, bookslot_record.id) is bookslot_record
    assert bookslot_record.MemberName == f"{bookslot_record.first_name} {bookslot_record.last_name}"
    assert count(bookslot_db) == 1


def test_where(bookslot_db, worker_id):
    url = bookslot_db.get_bind().engine.url
    schema = bookslot_db.scalar(sa.text("SELECT current_schema()")) if url.get_backend_name() == "postgresql" else None
    out = Path(os.environ["BOOKSLOT_WHERE"]) / f"{worker_id}.json"
    out.write_text(json.dumps({"url": url.render_as_string(), "schema": schema}))
"""


def where(folder: Path) -> list[dict[str, str | None]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_every_test_is_rolled_back(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "given.db"
    monkeypatch.setenv("BOOKSLOT_WHERE", str(tmp_path))
    pytester.makepyfile(test_rollback=ROLLBACK_TESTS)
    result = pytester.runpytest_subprocess(f"--bookslot-db=sqlite:///{target}", "-p", "no:randomly")
    result.assert_outcomes(passed=6)
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT count(*) FROM bookslot_payloads").fetchone() == (0,)


def test_the_default_is_a_sqlite_file_per_xdist_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOOKSLOT_WHERE", str(tmp_path))
    pytester.makepyfile(test_rollback=ROLLBACK_TESTS)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "randomly")
    result.assert_outcomes(passed=6)
    urls = {entry["url"] for entry in where(tmp_path)}
    assert len(urls) == len(where(tmp_path)) >= 1
    assert all(str(u).startswith("sqlite") and "gw" in str(u) for u in urls)


def test_a_given_sqlite_file_gets_one_file_per_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOOKSLOT_WHERE", str(tmp_path))
    pytester.makeini(f"[pytest]\nbookslot_db = sqlite:///{tmp_path / 'shared.db'}\n")
    pytester.makepyfile(test_rollback=ROLLBACK_TESTS)
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=6)
    made = sorted(p.name for p in tmp_path.glob("shared-gw*.db"))
    assert made
    assert set(made) <= {"shared-gw0.db", "shared-gw1.db"}


def test_postgresql_gives_each_worker_its_own_schema(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base = postgres_base()
    monkeypatch.setenv("BOOKSLOT_WHERE", str(tmp_path))
    pytester.makepyfile(test_rollback=ROLLBACK_TESTS)
    result = pytester.runpytest_subprocess(f"--bookslot-db={base}", "-n", "2")
    result.assert_outcomes(passed=6)
    schemas = [entry["schema"] for entry in where(tmp_path)]
    assert len(set(schemas)) == len(schemas) >= 1
    assert all(str(s).startswith("bookslot_gw") for s in schemas)
    made = sa.create_engine(base)
    with made.connect() as connection:  # dropped at the end of the session
        left = connection.exec_driver_sql(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bookslot_gw%%'"
        ).all()
    made.dispose()
    assert not {row[0] for row in left} & set(schemas)


def test_a_run_without_the_fixtures_never_imports_the_db_module(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_plain():
            assert "bookslot_factories.db" not in sys.modules
        """
    )
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)


def test_an_unreachable_database_fails_the_test_with_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_db(bookslot_db):\n    pass\n")
    result = pytester.runpytest_subprocess("--bookslot-db=postgresql://me:hunter2@127.0.0.1:1/x")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bookslot_db: *refused*"])
    assert "hunter2" not in result.stdout.str()


def test_the_readme_database_example_passes(pytester: pytest.Pytester) -> None:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    (example,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
        if "def test_create_is_rolled_back" in block
    ]
    pytester.makepyfile(test_readme_db=example + "\n\ntest_again = test_create_is_rolled_back\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
