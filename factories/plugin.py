"""pytest plugin: booking-payload fixtures whose data every failure can replay.

Registered by the ``pytest11`` entry point ``bookslot``; the only module of the
package that imports pytest.

Fixtures (all function-scoped unless noted):

- ``bookslot_payload``, ``bookslot_payload_factory`` and ``bookslot_payload__<field>``
  (pytest-factoryboy), so ``@pytest.mark.parametrize("bookslot_payload__state", ["TX"])``
  picks a field or a variant for one test;
- ``young_bookslot_payload``, ``senior_bookslot_payload``,
  ``dynamic_zip_bookslot_payload``, ``dynamic_location_bookslot_payload``;
- ``bookslot_batch``: five payloads with distinct emails;
- ``fake_bookslot_data`` and ``fake_bookslot_batch``: the original design's names;
- ``bookslot_data_file``: the records of a data file, loaded and validated;
- ``patient_intake``, ``patient_intake_factory``, ``patient_intake__<field>`` and
  ``insurance``, ``insurance_factory``, ``insurance__<field>``: the intake (whose
  ``patient`` is the test's ``bookslot_payload``, and whose ``insurance`` carries its
  payer and ids) and a standalone insurance record;
- ``bookslot_seed`` (session): the run's seed, for fixtures of a wider scope.

Seeding: the run has one seed (``--bookslot-seed``, else random) and one date
(``--bookslot-as-of``, else today). Before each test's fixtures are set up, our own
data stream is seeded from the run seed and the test's node id; a test module is
collected under a seed derived from its own node id. So a test gets the same
payloads whatever the order, selection, pytest-randomly shuffling or xdist
distribution.

A guest in every run: the plugin is loaded by every pytest process of the
environment, so a run that uses nothing of ours sees nothing of ours. It never
touches the ``random`` module, factory_boy's or Faker's randomness (our factories
borrow them only while they build, see :mod:`~bookslot_factories.seeding`), loads
neither PyYAML, the ZIP data nor the file layer at start-up, and prints the replay
line ``bookslot: --bookslot-seed=N --bookslot-as-of=D`` only for a run that uses the
plugin:

- in the header, when a ``--bookslot-*`` option or a ``bookslot_*`` ini option is set;
- after collection, when a collected test uses one of our fixtures (or
  parametrizes one, ``bookslot_payload__state``); not under xdist, whose workers
  collect;
- in the summary, when a test failed that used one of our fixtures or built
  payloads itself, or an option is set.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Generator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pytest
from pytest_factoryboy import register

from . import config as _config
from . import seeding
from .bookslot import BookslotPayloadFactory
from .config import CONFIG_ENV
from .datasets import DEFAULT_FILE as DEFAULT_DATA_FILE
from .errors import ConfigError, DatabaseError, DataFileError, VariantError
from .insurance import InsuranceFactory
from .intake import INSURANCE_OF_PATIENT, PatientIntakeFactory
from .model import BookslotPayload
from .variants import parse_date, parse_seed

#: Payloads in ``bookslot_batch`` (the original ``fake_bookslot_batch`` made five).
BATCH_SIZE = 5
#: A random run seed is drawn below this: short enough to read and type back.
RANDOM_SEED_LIMIT = 2**32


@dataclass(frozen=True)
class _Run:
    """The run's seed and reference date: all that a replay needs."""

    seed: int
    as_of: date

    @property
    def replay(self) -> str:
        """The options that reproduce this run's data."""
        return f"--bookslot-seed={self.seed} --bookslot-as-of={self.as_of.isoformat()}"


_RUN = pytest.StashKey[_Run]()
_UNDO = pytest.StashKey[ExitStack]()
#: Whether the run asked for us by an option or an ini option.
_ASKED = pytest.StashKey[bool]()
#: Whether the replay line has been shown already.
_SHOWN = pytest.StashKey[bool]()
#: The attribute of a failed report whose test used our data (it crosses xdist).
REPLAY_ATTRIBUTE = "bookslot_replay"


# --- options -------------------------------------------------------------------------


def _seed_arg(text: str) -> int:
    try:
        return parse_seed(text)
    except VariantError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _as_of_arg(text: str) -> str:
    # Checked here, kept as text: option values stay plain for plugins that dump them.
    try:
        return parse_date(text).isoformat()
    except VariantError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``bookslot`` option group and its ini options."""
    group = parser.getgroup("bookslot", "bookslot-factories")
    group.addoption(
        "--bookslot-seed",
        dest="bookslot_seed",
        metavar="N",
        type=_seed_arg,
        default=None,
        help="Seed of the run's fake booking data, 0 <= N < 2**64 "
        "(default: ini bookslot_seed, else random; shown in the header).",
    )
    group.addoption(
        "--bookslot-as-of",
        dest="bookslot_as_of",
        metavar="YYYY-MM-DD",
        type=_as_of_arg,
        default=None,
        help="Date that payload ages are computed on (default: ini bookslot_as_of, else today).",
    )
    group.addoption(
        "--bookslot-config",
        dest="bookslot_config",
        metavar="FILE",
        default=None,
        help="YAML config file of the payloads "
        f"(default: ini bookslot_config, else ${CONFIG_ENV}).",
    )
    group.addoption(
        "--bookslot-tenant",
        dest="bookslot_tenant",
        metavar="NAME",
        default=None,
        help="Tenant profile of the config file (its tenants: key).",
    )
    group.addoption(
        "--bookslot-data-file",
        dest="bookslot_data_file",
        metavar="PATH",
        default=None,
        help="Data file of the bookslot_data_file fixture "
        f"(default: <rootdir>/{DEFAULT_DATA_FILE}).",
    )
    group.addoption(
        "--bookslot-db",
        dest="bookslot_db",
        metavar="URL",
        default=None,
        help="Database of the bookslot_db fixture, sqlite:///FILE or postgresql://... "
        "(default: ini bookslot_db, else a SQLite file in the session's temporary folder).",
    )
    parser.addini("bookslot_db", "Database URL of the bookslot_db fixture (--bookslot-db wins).")
    parser.addini("bookslot_seed", "Seed of the fake booking data (--bookslot-seed wins).")
    parser.addini("bookslot_as_of", "Date ages are computed on (--bookslot-as-of wins).")
    parser.addini(
        "bookslot_config",
        "YAML config file, relative to this file "
        f"(--bookslot-config wins; both win over ${CONFIG_ENV}).",
    )


def _from_ini(config: pytest.Config, name: str) -> str | None:
    value = config.getini(name)
    # A TOML file may hold a number or a date: read them as text.
    text = str(value).strip() if value is not None else ""
    return text or None


def _run_from_options(config: pytest.Config) -> _Run:
    seed_value: int | None = config.getoption("bookslot_seed")
    if seed_value is None:
        text = _from_ini(config, "bookslot_seed")
        if text is None:
            seed_value = secrets.randbelow(RANDOM_SEED_LIMIT)
        else:
            try:
                seed_value = parse_seed(text)
            except VariantError as exc:
                raise pytest.UsageError(f"ini option bookslot_seed: {exc}") from None
    as_of_text: str | None = config.getoption("bookslot_as_of")
    if as_of_text is not None:
        as_of = date.fromisoformat(as_of_text)
    else:
        text = _from_ini(config, "bookslot_as_of")
        try:
            as_of = date.today() if text is None else parse_date(text)
        except VariantError as exc:
            raise pytest.UsageError(f"ini option bookslot_as_of: {exc}") from None
    return _Run(seed_value, as_of)


def _asked(config: pytest.Config) -> bool:
    """Whether a ``--bookslot-*`` option or a ``bookslot_*`` ini option is set."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        return bool(workerinput.get("bookslot_asked"))
    options = (
        "bookslot_seed",
        "bookslot_as_of",
        "bookslot_config",
        "bookslot_data_file",
        "bookslot_tenant",
        "bookslot_db",
    )
    inis = ("bookslot_seed", "bookslot_as_of", "bookslot_config", "bookslot_db")
    return any(config.getoption(name) is not None for name in options) or any(
        _from_ini(config, name) is not None for name in inis
    )


def _config_source(config: pytest.Config) -> tuple[str, str] | None:
    """Return the config file to use and where it was named, or ``None``."""
    option: str | None = config.getoption("bookslot_config")
    if option:
        return str(config.invocation_params.dir / option), "--bookslot-config"
    ini = _from_ini(config, "bookslot_config")
    if ini is not None:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return str(base / ini), "ini option bookslot_config"
    env = os.environ.get(CONFIG_ENV)
    if env:
        return env, f"environment variable {CONFIG_ENV}"
    return None


# --- run set-up ----------------------------------------------------------------------


class _WorkerNode(Protocol):
    """The part of an xdist ``WorkerController`` that the plugin uses."""

    workerinput: dict[str, Any]


class XdistHooks:
    """Hooks for pytest-xdist, registered only when it is active."""

    def __init__(
        self, run: _Run, source: tuple[str, str] | None, asked: bool, tenant: str | None = None
    ) -> None:
        self.run = run
        self.source = source
        self.asked = asked
        self.tenant = tenant

    def pytest_configure_node(self, node: _WorkerNode) -> None:
        """Send the controller's seed, date and config file to a worker.

        A worker re-reads the command line but would draw its own random seed and
        could see another day: every worker must make the controller's data.
        """
        node.workerinput["bookslot_seed"] = self.run.seed
        node.workerinput["bookslot_as_of"] = self.run.as_of.isoformat()
        node.workerinput["bookslot_config"] = list(self.source) if self.source else None
        node.workerinput["bookslot_asked"] = self.asked
        node.workerinput["bookslot_tenant"] = self.tenant


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Fix the run's seed, date and config before anything is collected.

    Raises:
        pytest.UsageError: A bad ini value or config file.
    """
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    source: tuple[str, str] | None
    tenant: str | None
    if workerinput is not None and "bookslot_seed" in workerinput:
        run = _Run(workerinput["bookslot_seed"], date.fromisoformat(workerinput["bookslot_as_of"]))
        given = workerinput["bookslot_config"]
        source = (given[0], given[1]) if given else None
        tenant = workerinput.get("bookslot_tenant")
    else:
        run = _run_from_options(config)
        source = _config_source(config)
        tenant = config.getoption("bookslot_tenant")
        if tenant is not None and source is None:
            raise pytest.UsageError(
                "--bookslot-tenant needs a config file with tenants: give --bookslot-config FILE"
            )

    # Everything is checked; change the process state and undo it at unconfigure,
    # so a pytest run inside a test (pytester) leaves its host as it was.
    undo = ExitStack()
    config.stash[_UNDO] = undo
    if source is not None:
        path, origin = source
        try:
            previous: _config.Config | None = _config.current()
        except ConfigError:  # a bad BOOKSLOT_CONFIG that the option overrides
            previous = None
        try:
            _config.configure(path, tenant=tenant)
        except ConfigError as exc:
            raise pytest.UsageError(f"{exc} (given by {origin})") from None
        undo.callback(_config.configure, previous)
    undo.enter_context(seeding.seeded(run.seed))
    # Whatever date the host had fixed (none: today) comes back at unconfigure.
    undo.callback(_config.set_reference_date, _config.set_reference_date(run.as_of))
    config.stash[_RUN] = run
    config.stash[_ASKED] = _asked(config)
    # As pytest-randomly does: getoption() then answers with the values in force.
    config.option.bookslot_seed = run.seed
    config.option.bookslot_as_of = run.as_of.isoformat()
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(run, source, config.stash[_ASKED], tenant))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore the data stream, the reference date and the config."""
    undo = config.stash.get(_UNDO, None)
    if undo is not None:
        undo.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    """Show the options that replay this run's data, when the run asked for us."""
    run = config.stash.get(_RUN, None)
    if run is None or not config.stash.get(_ASKED, False):
        return None
    config.stash[_SHOWN] = True
    return f"bookslot: {run.replay}"


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> str | None:
    """Show the replay options once collection shows that a test uses our fixtures."""
    run = config.stash.get(_RUN, None)
    if run is None or config.stash.get(_SHOWN, False) or not any(map(_uses_fixtures, items)):
        return None
    config.stash[_SHOWN] = True
    return f"bookslot: {run.replay}"


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Repeat the replay options after a failure that involved our data (-q hides the header)."""
    run = config.stash.get(_RUN, None)
    if run is None:
        return
    stats = terminalreporter.stats
    failed = [*stats.get("failed", ()), *stats.get("error", ())]
    if not failed:
        return
    if config.stash.get(_ASKED, False) or any(getattr(r, REPLAY_ATTRIBUTE, None) for r in failed):
        terminalreporter.write_line(f"bookslot: {run.replay}")


def _uses_fixtures(item: pytest.Item) -> bool:
    return not OUR_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


# --- per-test and per-module seeding -------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Collect each test module under a seed of its own.

    A module is imported inside its collector's ``collect()``, which runs inside
    this hook: data built at import time (``parametrize`` arguments, module
    constants) then depends only on the run seed and the module, not on which
    other modules were collected first.
    """
    run = collector.config.stash.get(_RUN, None)
    if run is None or not isinstance(collector, pytest.Module):
        return (yield)
    seeding.drawn(reset=True)
    with seeding.seeded(seeding.derive(run.seed, "collect", collector.nodeid)):
        report = yield
    if report.failed and seeding.drawn():
        setattr(report, REPLAY_ATTRIBUTE, run.replay)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Seed the test's data from the run seed and its node id, before any fixture."""
    run = item.config.stash.get(_RUN, None)
    if run is not None:
        seeding.seed(seeding.derive(run.seed, item.nodeid))
        seeding.drawn(reset=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Mark a failed report whose test used our data, for the summary's replay line."""
    report = yield
    run = item.config.stash.get(_RUN, None)
    if run is not None and report.failed and (_uses_fixtures(item) or seeding.drawn()):
        setattr(report, REPLAY_ATTRIBUTE, run.replay)
    return report


# --- fixtures ------------------------------------------------------------------------


def _variant_fixture(flag: str, what: str) -> Any:
    """A fixture ``<flag>_bookslot_payload``: one payload built with ``<flag>=True``."""

    def fixture(bookslot_payload_factory: type[BookslotPayloadFactory]) -> BookslotPayload:
        return bookslot_payload_factory.build(**{flag: True})

    fixture.__doc__ = f"One payload of {what} (``{flag}=True``)."
    return pytest.fixture(name=f"{flag}_bookslot_payload")(fixture)


_BEFORE = set(globals())
register(BookslotPayloadFactory)

# The variants are plain fixtures, not four more registrations: pytest-factoryboy
# makes 22 fixtures per registration, and every pytest run of the environment pays
# for each one at start-up (measured in one process: five registrations, 111
# fixtures, took 6.3 ms to make, one took 1.1 ms; pytest then parses every fixture).
# A variant combines with field overrides through the registered fixture instead:
# parametrize ``bookslot_payload__senior`` and ``bookslot_payload__state`` together.

young_bookslot_payload = _variant_fixture("young", "the young band")
senior_bookslot_payload = _variant_fixture("senior", "the senior band")
dynamic_zip_bookslot_payload = _variant_fixture("dynamic_zip", "a real residential ZIP")
dynamic_location_bookslot_payload = _variant_fixture("dynamic_location", "a booking location")
# pytest-factoryboy passes a SubFactory's model fixture in whole (the intake's
# patient is the test's bookslot_payload), so the intake's insurance is built from
# that patient here, instead of as a separate `insurance` fixture with its own payer.
register(PatientIntakeFactory, insurance=INSURANCE_OF_PATIENT)
register(InsuranceFactory)


@pytest.fixture
def bookslot_batch(
    bookslot_payload_factory: type[BookslotPayloadFactory],
) -> list[BookslotPayload]:
    """Five payloads with distinct emails."""
    return bookslot_payload_factory.build_batch(BATCH_SIZE)


@pytest.fixture
def fake_bookslot_data(bookslot_payload: BookslotPayload) -> BookslotPayload:
    """One payload (the original design's name for ``bookslot_payload``)."""
    return bookslot_payload


@pytest.fixture
def fake_bookslot_batch(bookslot_batch: list[BookslotPayload]) -> list[BookslotPayload]:
    """Five payloads (the original design's name for ``bookslot_batch``)."""
    return bookslot_batch


@pytest.fixture(scope="session")
def bookslot_seed(pytestconfig: pytest.Config) -> int:
    """The run's seed.

    A fixture of a wider scope derives its data from it and its own node, so its
    data does not depend on which test set it up::

        @pytest.fixture(scope="module")
        def patients(request, bookslot_seed):
            with seeding.seeded(seeding.derive(bookslot_seed, request.node.nodeid)):
                return BookslotPayloadFactory.build_batch(20)
    """
    return pytestconfig.stash[_RUN].seed


@pytest.fixture(scope="session")
def _bookslot_data_records(pytestconfig: pytest.Config) -> list[dict[str, str]]:
    option: str | None = pytestconfig.getoption("bookslot_data_file")
    if option:
        path = pytestconfig.invocation_params.dir / option
        hint = "check the file given by --bookslot-data-file"
    else:
        path = pytestconfig.rootpath / DEFAULT_DATA_FILE
        hint = (
            "write it with `bookslot-data generate` (the standard data sets) or name "
            "another file with --bookslot-data-file"
        )
    from . import files  # deferred: most runs never load a data file

    try:
        return files.load(path)
    except DataFileError as exc:
        message = f"bookslot_data_file: {exc}; {hint}"
    # Failed outside the handler, so the report shows the message, not a chained traceback.
    pytest.fail(message, pytrace=False)


@pytest.fixture
def bookslot_data_file(_bookslot_data_records: list[dict[str, str]]) -> list[dict[str, str]]:
    """The records of the data file, validated (a fresh copy for each test).

    The file is ``test_data/bookslot/bookslot_data.json`` under the rootdir, or the
    one given by ``--bookslot-data-file``. It is read once per session; a missing or
    invalid file fails every test that uses this fixture with the loader's message.
    """
    return [dict(record) for record in _bookslot_data_records]


# --- database fixtures (bookslot_factories.db, imported only when one is used) ----------


def _worker_id(config: pytest.Config) -> str | None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    return None if workerinput is None else str(workerinput["workerid"])


@pytest.fixture(scope="session")
def _bookslot_db_engine(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Generator[Any, None, None]:
    try:
        from . import db  # deferred: SQLAlchemy loads only for a test that uses it
    except ImportError as exc:
        pytest.fail(f"bookslot_db: {exc}", pytrace=False)
    import sqlalchemy as sa

    given = pytestconfig.getoption("bookslot_db") or _from_ini(pytestconfig, "bookslot_db")
    worker = _worker_id(pytestconfig)
    if not given:
        # tmp_path_factory's folder is the worker's own under xdist.
        given = f"sqlite:///{tmp_path_factory.getbasetemp() / 'bookslot.db'}"
    url = sa.make_url(given)
    schema = None
    if url.get_backend_name() == "sqlite":
        if worker and url.database and url.database != ":memory:":
            stem, dot, suffix = url.database.rpartition(".")
            name = f"{stem}-{worker}.{suffix}" if dot else f"{url.database}-{worker}"
            url = url.set(database=name)
    elif worker:
        schema = f"bookslot_{worker}"
    try:
        engine = db.engine(url)
        if schema is not None:
            quoted = engine.dialect.identifier_preparer.quote(schema)
            with engine.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
                connection.exec_driver_sql(f"CREATE SCHEMA {quoted}")

            @sa.event.listens_for(engine, "connect")
            def _search_path(dbapi_connection: Any, record: Any) -> None:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute(f"SET search_path TO {quoted}")
                dbapi_connection.commit()

            engine.dispose()  # the connections made before the listener
        with engine.begin() as connection:
            db.BookslotRecord.metadata.create_all(connection)
    except DatabaseError as exc:
        message = f"bookslot_db: {exc}"
    except sa.exc.DBAPIError as exc:  # the driver's first line: no SQL, no password
        first = str(exc.orig).strip().splitlines()
        message = f"bookslot_db: {url.render_as_string()}: {first[0] if first else exc}"
    else:
        yield engine
        if schema is not None:
            with engine.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
        engine.dispose()
        return
    pytest.fail(message, pytrace=False)


@pytest.fixture
def bookslot_db(_bookslot_db_engine: Any) -> Generator[Any, None, None]:
    """A SQLAlchemy ``Session`` whose every change is rolled back after the test.

    The session joins a transaction of its own connection (SQLAlchemy 2's "join a
    session into an external transaction", ``join_transaction_mode=
    "create_savepoint"``): ``commit()`` in the test releases a savepoint, and the
    transaction is rolled back at teardown, so tests never see each other's rows.
    The table ``bookslot_payloads`` is there, empty at the start of every test.
    """
    from sqlalchemy.orm import Session

    connection = _bookslot_db_engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def bookslot_record_factory(bookslot_db: Any) -> Any:
    """``BookslotRecordFactory`` bound to the test's ``bookslot_db`` session."""
    from .db import BookslotRecordFactory

    class BoundRecordFactory(BookslotRecordFactory):
        class Meta:
            sqlalchemy_session = bookslot_db
            sqlalchemy_session_factory = None

    return BoundRecordFactory


@pytest.fixture
def bookslot_record(bookslot_record_factory: Any) -> Any:
    """One ``BookslotRecord``, inserted in the test's ``bookslot_db`` session."""
    return bookslot_record_factory.create()


#: Every fixture this plugin defines: a test that requests one uses the plugin.
OUR_FIXTURES = frozenset(set(globals()) - _BEFORE - {"_BEFORE"})
