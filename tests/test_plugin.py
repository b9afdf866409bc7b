"""The pytest plugin, through real inner pytest runs (``pytester``).

Each test writes a test project, runs pytest on it and checks outcomes and output.
Reproducibility tests have the inner tests write their payloads to files keyed by
node id, then compare the records of two runs.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

# PyYAML is imported here, before pytester snapshots sys.modules: an in-process inner run that
# imported PyYAML afresh would pair a new module with its already loaded C parser.
import yaml
from bookslot_factories import BookslotPayloadFactory, config, seeding
from bookslot_factories import plugin as bookslot_plugin
from oracles import loaded_by

AS_OF = "2030-06-15"
SEED = 7
HEADER = f"bookslot: --bookslot-seed={SEED} --bookslot-as-of={AS_OF}"
FIXED = (f"--bookslot-seed={SEED}", f"--bookslot-as-of={AS_OF}", "-p", "no:cacheprovider")
NO_RANDOMLY = ("-p", "no:randomly")

Records = dict[str, Any]
_RUNS = itertools.count()

# --- a project whose tests record their data ------------------------------------------

RECORDING_CONFTEST = """
import hashlib
import json
import os
from pathlib import Path

import pytest


@pytest.fixture
def record(request):
    def write(data):
        out = Path(os.environ["BOOKSLOT_RECORDS"])
        name = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
        text = json.dumps({"nodeid": request.node.nodeid, "data": data})
        (out / f"{name}.json").write_text(text)

    return write


def pytest_collection_modifyitems(items):
    if os.environ.get("BOOKSLOT_REVERSE"):
        items.reverse()
"""

RECORDING_A = """
import random

import factory.random
import pytest

from bookslot_factories import BookslotPayloadFactory, seeding

AT_IMPORT = BookslotPayloadFactory.build_batch(2)


@pytest.fixture(scope="module")
def shared(request, bookslot_seed):
    with seeding.seeded(seeding.derive(bookslot_seed, request.node.nodeid)):
        return BookslotPayloadFactory.build_batch(2)


def test_payload(bookslot_payload, record):
    record(bookslot_payload)


def test_batch(bookslot_batch, record):
    record(bookslot_batch)


def test_variants(senior_bookslot_payload, young_bookslot_payload, fake_bookslot_data, record):
    record([senior_bookslot_payload, young_bookslot_payload, fake_bookslot_data])


def test_body_after_global_random(record):
    # pytest-randomly reseeds these around each test; our data must not follow them.
    random.random()
    factory.random.randgen.random()
    record(BookslotPayloadFactory.build_batch(2))


def test_after_faker(faker, record):
    faker.name()
    record(BookslotPayloadFactory.build())


@pytest.mark.parametrize("payload", BookslotPayloadFactory.build_batch(2))
def test_parametrized(payload, record):
    record(payload)


def test_import_time(record):
    record(AT_IMPORT)


def test_shared_first(shared, bookslot_payload, record):
    record([shared, bookslot_payload])


def test_shared_second(shared, bookslot_payload, record):
    record([shared, bookslot_payload])
"""

RECORDING_B = """
import pytest

from bookslot_factories import BookslotPayloadFactory

AT_IMPORT = BookslotPayloadFactory.build()


@pytest.mark.parametrize("payload", BookslotPayloadFactory.build_batch(2), ids=lambda p: p["email"])
def test_ids_from_data(payload, record):
    record(payload)


def test_import_time(record):
    record(AT_IMPORT)


@pytest.mark.parametrize("bookslot_payload__senior", [True])
def test_senior_by_parameter(bookslot_payload, fake_bookslot_batch, record):
    record([bookslot_payload, fake_bookslot_batch])
"""


@pytest.fixture
def recording(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project of two test modules whose tests record their payloads."""
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_a=RECORDING_A, test_b=RECORDING_B)
    return pytester


def run_recorded(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    reverse: bool = False,
    in_subprocess: bool = False,
) -> tuple[pytest.RunResult, Records]:
    """Run pytest on the recording project; return the result and {node id: data}."""
    out = Path(pytester.path.parent, "records", str(next(_RUNS)))
    out.mkdir(parents=True)
    monkeypatch.setenv("BOOKSLOT_RECORDS", str(out))
    if reverse:
        monkeypatch.setenv("BOOKSLOT_REVERSE", "1")
    else:
        monkeypatch.delenv("BOOKSLOT_REVERSE", raising=False)
    run = pytester.runpytest_subprocess if in_subprocess else pytester.runpytest
    result = run("-v", *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    records = {}
    for path in out.glob("*.json"):
        entry = json.loads(path.read_text())
        records[entry["nodeid"]] = entry["data"]
    return result, records


def run_order(result: pytest.RunResult) -> list[str]:
    """The node ids of the tests in the order they ran (needs ``-v``)."""
    return [m.group(1) for line in result.outlines if (m := re.match(r"(\S+::\S+) PASSED", line))]


def common_records(full: Records, part: Records) -> Records:
    assert part, "the partial run recorded nothing"
    assert set(part) <= set(full)
    return {nodeid: full[nodeid] for nodeid in part}


# --- fixtures and variants -----------------------------------------------------------

FIXTURE_TESTS = f"""
from datetime import date, datetime

import pytest
import zipcodes

from bookslot_factories import BookslotPayloadFactory, config, seeding, validate

AS_OF = date.fromisoformat({AS_OF!r})
LOCATIONS = {{"20678", "10001", "60614", "30303", "94110", "75201", "98101", "33130"}}


def age(payload):
    born = datetime.strptime(payload["dob"], "%m/%d/%Y").date()
    return AS_OF.year - born.year - ((AS_OF.month, AS_OF.day) < (born.month, born.day))


def state(payload):
    return zipcodes.matching(payload["zip"])[0]["state"]


def test_payload(bookslot_payload):
    assert type(bookslot_payload).__name__ == "BookslotPayload"
    validate(bookslot_payload, as_of=AS_OF)
    assert 18 <= age(bookslot_payload) <= 85
    assert bookslot_payload["zip"] == "20678"


def test_factory(bookslot_payload_factory):
    assert bookslot_payload_factory is BookslotPayloadFactory
    validate(bookslot_payload_factory.build(), as_of=AS_OF)


def test_young(young_bookslot_payload):
    validate(young_bookslot_payload, as_of=AS_OF)
    assert 18 <= age(young_bookslot_payload) <= 30


def test_senior(senior_bookslot_payload):
    validate(senior_bookslot_payload, as_of=AS_OF)
    assert 65 <= age(senior_bookslot_payload) <= 90


def test_dynamic_zip(dynamic_zip_bookslot_payload):
    validate(dynamic_zip_bookslot_payload, as_of=AS_OF)
    assert zipcodes.is_real(dynamic_zip_bookslot_payload["zip"])


def test_dynamic_location(dynamic_location_bookslot_payload):
    validate(dynamic_location_bookslot_payload, as_of=AS_OF)
    assert dynamic_location_bookslot_payload["zip"] in LOCATIONS


def test_batch(bookslot_batch):
    assert len(bookslot_batch) == 5
    for payload in bookslot_batch:
        validate(payload, as_of=AS_OF)
    assert len({{payload["email"] for payload in bookslot_batch}}) == 5


def test_aliases(fake_bookslot_data, bookslot_payload, fake_bookslot_batch, bookslot_batch):
    assert fake_bookslot_data == bookslot_payload
    validate(fake_bookslot_data, as_of=AS_OF)
    assert fake_bookslot_batch == bookslot_batch
    assert len({{payload["email"] for payload in fake_bookslot_batch}}) == 5
    for payload in fake_bookslot_batch:
        validate(payload, as_of=AS_OF)


def test_variant_fixtures_exist_and_default_to_off(
    bookslot_payload__senior, bookslot_payload__young, bookslot_payload__state
):
    assert bookslot_payload__senior is False
    assert bookslot_payload__young is False
    assert bookslot_payload__state is None


@pytest.mark.parametrize("bookslot_payload__contact_method", ["Text", "Email", "Call"])
def test_field_parameter(bookslot_payload, bookslot_payload__contact_method):
    assert bookslot_payload["contact_method"] == bookslot_payload__contact_method


@pytest.mark.parametrize("bookslot_payload__first_name", ["Zelda"])
def test_field_parameter_feeds_derived_fields(bookslot_payload):
    assert bookslot_payload["MemberName"].startswith("Zelda ")
    assert bookslot_payload["email"].startswith("zelda.")


@pytest.mark.parametrize("bookslot_payload__senior", [True])
def test_senior_by_parameter(bookslot_payload):
    validate(bookslot_payload, as_of=AS_OF)
    assert 65 <= age(bookslot_payload) <= 90


@pytest.mark.parametrize("bookslot_payload__state", ["TX", "VT"])
def test_state_by_parameter(bookslot_payload, bookslot_payload__state):
    validate(bookslot_payload, as_of=AS_OF)
    assert state(bookslot_payload) == bookslot_payload__state


@pytest.mark.parametrize("bookslot_payload__young", [True])
@pytest.mark.parametrize("bookslot_payload__state", ["CA"])
def test_variants_combined_by_parameter(bookslot_payload):
    assert 18 <= age(bookslot_payload) <= 30
    assert state(bookslot_payload) == "CA"


@pytest.mark.parametrize("bookslot_payload__senior", [True])
@pytest.mark.parametrize("bookslot_payload__state", ["NY"])
def test_variant_fixture_is_the_registered_one_with_its_flag(
    bookslot_payload, senior_bookslot_payload
):
    assert 65 <= age(senior_bookslot_payload) <= 90
    assert 65 <= age(bookslot_payload) <= 90
    assert state(bookslot_payload) == "NY"


def test_seed_is_derived_from_run_seed_and_node_id(request, bookslot_seed):
    assert bookslot_seed == {SEED}
    assert request.config.getoption("bookslot_seed") == {SEED}
    assert seeding.current_seed() == seeding.derive({SEED}, request.node.nodeid)
    assert config.reference_date() == AS_OF
"""


def test_every_fixture_alias_and_variant_gives_valid_payloads(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fixtures=FIXTURE_TESTS)
    result = pytester.runpytest(*FIXED)
    result.assert_outcomes(passed=19)


def test_an_overridden_factory_fixture_feeds_the_batch(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from bookslot_factories import BookslotPayloadFactory

        class AetnaFactory(BookslotPayloadFactory):
            PayerName = "Aetna Health"

        @pytest.fixture
        def bookslot_payload_factory():
            return AetnaFactory

        def test_batch(bookslot_batch):
            assert {p["PayerName"] for p in bookslot_batch} == {"Aetna Health"}
        """
    )
    pytester.runpytest(*FIXED).assert_outcomes(passed=1)


def test_the_plugin_defines_no_faker_fixtures() -> None:
    # Faker's own pytest plugin owns them.
    assert not [name for name in vars(bookslot_plugin) if name.startswith("faker")]


def test_importing_the_plugin_does_not_load_the_zip_data_set() -> None:
    assert loaded_by("bookslot_factories.plugin", {"zipcodes"}) == []


# --- header and replay line ----------------------------------------------------------

HEADER_TESTS = """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

def test_passes():
    pass

def test_fails():
    assert False

def test_errors(broken):
    pass
"""


@pytest.mark.parametrize(
    ("args", "count"),
    [
        pytest.param(("-k", "passes"), 1, id="pass: header only"),
        pytest.param(("-k", "fails"), 2, id="failure: header and summary"),
        pytest.param(("-k", "errors"), 2, id="error: header and summary"),
        pytest.param(("-q", "-k", "passes"), 0, id="quiet pass: nothing"),
        pytest.param(("-q", "-k", "fails"), 1, id="quiet failure: summary"),
        pytest.param(("-q", "-k", "errors"), 1, id="quiet error: summary"),
    ],
)
def test_header_and_replay_line(
    pytester: pytest.Pytester, args: tuple[str, ...], count: int
) -> None:
    pytester.makepyfile(HEADER_TESTS)
    result = pytester.runpytest(*FIXED, *args)
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    assert result.outlines.count(HEADER) == count, result.stdout.str()
    if count == 2:  # the replay line comes after the failure report, before the summary
        lines = result.outlines
        assert lines.index(
            "=========================== short test summary info ============================"
        ) > max(i for i, line in enumerate(lines) if line == HEADER)


def test_without_options_the_seed_is_random_and_the_date_is_today(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_x(bookslot_payload): pass")
    headers = []
    for _ in range(2):
        result = pytester.runpytest("-p", "no:cacheprovider")
        line = next(line for line in result.outlines if line.startswith("bookslot:"))
        match = re.fullmatch(r"bookslot: --bookslot-seed=(\d+) --bookslot-as-of=(\S+)", line)
        assert match, line
        assert int(match.group(1)) < 2**32
        assert match.group(2) in (
            date.today().isoformat(),
            date.fromordinal(date.today().toordinal() - 1).isoformat(),
        )
        headers.append(line)
    assert headers[0] != headers[1]


# --- options, ini options and usage errors -------------------------------------------


def test_ini_options_apply_and_the_command_line_wins(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nbookslot_seed = 11\nbookslot_as_of = 2031-01-02\n")
    pytester.makepyfile(
        """
        from datetime import date
        from bookslot_factories import config

        def test_date(request):
            assert config.reference_date() == date(2031, 1, 2)
            assert request.config.getoption("bookslot_seed") == 11
            assert request.config.getoption("bookslot_as_of") == "2031-01-02"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["bookslot: --bookslot-seed=11 --bookslot-as-of=2031-01-02"])
    result = pytester.runpytest("-p", "no:cacheprovider", "--bookslot-seed=12")
    result.stdout.fnmatch_lines(["bookslot: --bookslot-seed=12 --bookslot-as-of=2031-01-02"])


def test_toml_ini_options_may_be_a_number_and_a_date(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        "[tool.pytest.ini_options]\nbookslot_seed = 11\nbookslot_as_of = 2031-01-02\n"
    )
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["bookslot: --bookslot-seed=11 --bookslot-as-of=2031-01-02"])


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--bookslot-seed=abc"], "", "argument --bookslot-seed: 'abc' is not a whole number"),
        (["--bookslot-seed=-1"], "", "-1 is out of range"),
        ([f"--bookslot-seed={2**64}"], "", "is out of range; expected 0 <= seed < 2**64"),
        (
            ["--bookslot-as-of=2030-02-30"],
            "",
            "argument --bookslot-as-of: '2030-02-30' is not a date",
        ),
        (["--bookslot-as-of=20300101"], "", "'20300101' is not a date; expected YYYY-MM-DD"),
        ([], "bookslot_seed = 1.5", "ini option bookslot_seed: '1.5' is not a whole number"),
        ([], "bookslot_as_of = soon", "ini option bookslot_as_of: 'soon' is not a date"),
    ],
)
def test_bad_seed_or_date_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


CONFIG_TEST = """
from bookslot_factories import validate

def test_payer(bookslot_payload):
    validate(bookslot_payload)
    print("PAYER", bookslot_payload["PayerName"], bookslot_payload["phone_number"])
"""


@pytest.mark.parametrize(
    ("option", "ini", "env", "payer"),
    [
        ("option.yaml", None, None, "Option Payer"),
        (None, "ini.yaml", None, "Ini Payer"),
        (None, None, "env.yaml", "Env Payer"),
        ("option.yaml", None, "env.yaml", "Option Payer"),
        (None, "ini.yaml", "env.yaml", "Ini Payer"),
        ("option.yaml", "ini.yaml", "env.yaml", "Option Payer"),
        (None, None, None, None),
    ],
)
def test_config_file_takes_effect_by_precedence(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    option: str | None,
    ini: str | None,
    env: str | None,
    payer: str | None,
) -> None:
    for name in ("option", "ini", "env"):
        data = {"payers": [f"{name.title()} Payer"], "phone": "5550001234"}
        pytester.path.joinpath(f"{name}.yaml").write_text(yaml.safe_dump(data))
    pytester.makepyfile(CONFIG_TEST)
    # This process reads BOOKSLOT_CONFIG on first use: do that before changing it.
    before = config.current()
    if ini:
        pytester.makeini(f"[pytest]\nbookslot_config = {ini}\n")
    if env:
        monkeypatch.setenv("BOOKSLOT_CONFIG", str(pytester.path / env))
    else:
        monkeypatch.delenv("BOOKSLOT_CONFIG", raising=False)
    result = pytester.runpytest("-s", *FIXED, *([f"--bookslot-config={option}"] if option else []))
    result.assert_outcomes(passed=1)
    if payer:
        result.stdout.fnmatch_lines([f"*PAYER {payer} 5550001234"])
    else:
        result.stdout.fnmatch_lines(["*PAYER * 1234567890"])
    # The inner run leaves this process's config as it was.
    assert config.current() is before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "config file 'missing.yaml' does not exist (given by --bookslot-config)"),
        (
            "payers: 3\n",
            "key 'payers' is 3; expected a list of strings (given by --bookslot-config)",
        ),
        ("payer: [X]\n", "key 'payer' is not a known key; did you mean 'payers'?"),
    ],
)
def test_bad_config_is_a_usage_error(
    pytester: pytest.Pytester, content: str | None, message: str
) -> None:
    pytester.makepyfile("def test_x(): pass")
    name = "missing.yaml"
    if content is not None:
        name = "bad.yaml"
        pytester.path.joinpath(name).write_text(content)
    result = pytester.runpytest("-p", "no:cacheprovider", f"--bookslot-config={name}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message.replace("missing.yaml", str(pytester.path / name)) in result.stderr.str()


def test_a_bad_config_in_the_environment_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_x(): pass")
    monkeypatch.setenv("BOOKSLOT_CONFIG", "nowhere.yaml")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'nowhere.yaml' does not exist (given by environment variable BOOKSLOT_CONFIG)" in (
        result.stderr.str()
    )


def test_an_inner_run_leaves_the_host_stream_and_date_as_they_were(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_x(bookslot_payload): pass")
    host_date = config.reference_date()
    config.set_reference_date(date(2040, 1, 1))
    try:
        with seeding.seeded(123):
            expected = BookslotPayloadFactory.build()
        with seeding.seeded(123):
            pytester.runpytest(*FIXED).assert_outcomes(passed=1)
            assert seeding.current_seed() == 123
            assert BookslotPayloadFactory.build() == expected
        assert config.reference_date() == date(2040, 1, 1)
    finally:
        config.set_reference_date(host_date)


# --- bookslot_data_file -------------------------------------------------------------

DATA_FILE_TEST = """
import json

def test_records(bookslot_data_file):
    assert len(bookslot_data_file) == 3
    print("RECORDS", json.dumps(bookslot_data_file))
    bookslot_data_file.clear()  # each test gets its own copy

def test_records_again(bookslot_data_file):
    assert len(bookslot_data_file) == 3
"""


def write_payloads(path: Path, count: int = 3) -> list[dict[str, str]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with seeding.seeded(5):
        payloads = [dict(p) for p in BookslotPayloadFactory.build_batch(count)]
    with path.open("w", encoding="utf-8") as file:
        json.dump(payloads, file)
    return payloads


@pytest.mark.parametrize("where", ["option", "default"])
def test_bookslot_data_file_loads_the_file(pytester: pytest.Pytester, where: str) -> None:
    pytester.makepyfile(DATA_FILE_TEST)
    if where == "option":
        payloads = write_payloads(pytester.path / "mine" / "patients.json")
        args = ["--bookslot-data-file=mine/patients.json"]
    else:
        payloads = write_payloads(pytester.path / "test_data" / "bookslot" / "bookslot_data.json")
        args = []
    result = pytester.runpytest("-s", "-p", "no:randomly", *FIXED, *args)
    result.assert_outcomes(passed=2)
    line = next(line for line in result.outlines if "RECORDS " in line)
    assert json.loads(line.split("RECORDS ", 1)[1]) == payloads


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (
            '[{"first_name": "Ann"}]',
            ["--bookslot-data-file=broken.json"],
            "bookslot_data_file: */broken.json, record 1*: field 'last_name' is missing; *",
        ),
        ("{not json", ["--bookslot-data-file=broken.json"], "bookslot_data_file: */broken.json*"),
        (
            None,
            [],
            "bookslot_data_file: */test_data/bookslot/bookslot_data.json*bookslot-data generate*",
        ),
    ],
    ids=["invalid record", "not JSON", "missing default"],
)
def test_bookslot_data_file_fails_with_the_file_name(
    pytester: pytest.Pytester, content: str | None, args: list[str], expected: str
) -> None:
    pytester.makepyfile("def test_records(bookslot_data_file):\n    pass\n")
    if content is not None:
        pytester.path.joinpath("broken.json").write_text(content)
    result = pytester.runpytest(*FIXED, *args)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([expected])
    assert "During handling" not in result.stdout.str()


# --- the same data for the same test --------------------------------------------------


def test_same_data_whatever_the_selection(
    recording: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, full = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY)
    assert len(full) == 14
    # Each test has a stream of its own: the same fixture differs between tests.
    payload = full["test_a.py::test_payload"]
    assert payload != full["test_a.py::test_shared_first"][1]
    assert payload != full["test_a.py::test_shared_second"][1]
    assert full["test_a.py::test_import_time"][0] != full["test_b.py::test_import_time"]
    _, part = run_recorded(
        recording,
        monkeypatch,
        *FIXED,
        *NO_RANDOMLY,
        "-k",
        "import or parametrized or shared_second",
    )
    assert len(part) == 5
    assert part == common_records(full, part)
    # Collecting test_b.py alone: its import-time data does not depend on test_a.py.
    _, alone = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY, "test_b.py")
    assert len(alone) == 4
    assert alone == common_records(full, alone)


def test_same_data_in_reversed_order(
    recording: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward_run, forward = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY)
    backward_run, backward = run_recorded(
        recording, monkeypatch, *FIXED, *NO_RANDOMLY, reverse=True
    )
    assert run_order(backward_run) == run_order(forward_run)[::-1] != []
    assert backward == forward


def test_same_data_under_pytest_randomly(
    recording: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain_run, plain = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY)
    for randomly_seed in (1, 2):
        shuffled_run, shuffled = run_recorded(
            recording, monkeypatch, *FIXED, "-p", "randomly", f"--randomly-seed={randomly_seed}"
        )
        assert f"Using --randomly-seed={randomly_seed}" in shuffled_run.stdout.str()
        assert run_order(shuffled_run) != run_order(plain_run)
        assert shuffled == plain


def payers(records: Records) -> set[str]:
    """The payer names anywhere in the records."""
    found: set[str] = set()
    for data in records.values():
        for item in data if isinstance(data, list) else [data]:
            for payload in item if isinstance(item, list) else [item]:
                found.add(payload["PayerName"])
    return found


def test_xdist_workers_use_the_controller_seed_date_and_config(
    recording: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No --bookslot-seed: each worker would draw its own seed if the controller's did
    # not reach it, and test_b.py's data-derived ids would differ between workers.
    recording.path.joinpath("cfg.yaml").write_text(yaml.safe_dump({"payers": ["Xdist Payer"]}))
    options = ("-p", "no:cacheprovider", "--bookslot-config=cfg.yaml")
    parallel_run, parallel = run_recorded(
        recording, monkeypatch, *options, "-n", "2", in_subprocess=True
    )
    parallel_run.stdout.fnmatch_lines(["bookslot: *", "*created: 2/2 workers*"])
    assert payers(parallel) == {"Xdist Payer"}
    header = next(line for line in parallel_run.outlines if line.startswith("bookslot: "))
    # The header replays the parallel run in a serial one.
    _, serial = run_recorded(recording, monkeypatch, *header.split()[1:], *options, *NO_RANDOMLY)
    assert len(serial) == 14
    assert parallel == serial


def test_another_seed_gives_other_data(
    recording: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, first = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY)
    _, second = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY, "--bookslot-seed=8")
    # test_ids_from_data takes its ids from the data: other seed, other node ids.
    assert len([nodeid for nodeid in first if nodeid not in second]) == 2
    common = [nodeid for nodeid in first if nodeid in second]
    assert len(common) == 12
    for nodeid in common:
        assert first[nodeid] != second[nodeid], nodeid


def test_same_seed_and_date_on_another_day(
    recording: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, today = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY)

    class OtherDay(date):
        @classmethod
        def today(cls) -> OtherDay:
            return cls(2033, 3, 3)

    monkeypatch.setattr(bookslot_plugin, "date", OtherDay)
    monkeypatch.setattr(config, "date", OtherDay)
    _, later = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY)
    assert later == today
    # The clock was moved: without --bookslot-as-of the run takes that day.
    clock_run, _ = run_recorded(recording, monkeypatch, f"--bookslot-seed={SEED}", "-k", "payload")
    clock_run.stdout.fnmatch_lines(
        [f"bookslot: --bookslot-seed={SEED} --bookslot-as-of=2033-03-03"]
    )


def test_a_test_replays_outside_pytest_from_the_seed_and_its_node_id(
    recording: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, records = run_recorded(recording, monkeypatch, *FIXED, *NO_RANDOMLY, "-k", "global_random")
    nodeid = "test_a.py::test_body_after_global_random"
    with seeding.seeded(seeding.derive(SEED, nodeid)):
        replay = BookslotPayloadFactory.build_batch(2, as_of=date.fromisoformat(AS_OF))
    assert records[nodeid] == replay


# --- a guest in every run: a run that uses nothing of ours sees nothing of ours -------
# Each run below is a real pytest process with the installed package; "without us" is the
# same run with our plugin blocked (-p no:bookslot), everything else installed.

WITHOUT_US = ("-p", "no:bookslot")
_DURATION = re.compile(r"\bin [0-9.]+s\b")


def comparable(result: pytest.RunResult) -> list[str]:
    """The output lines, without what differs between any two runs (timings, plugin list)."""
    return [
        _DURATION.sub("in Xs", line) for line in result.outlines if not line.startswith("plugins:")
    ]


FOREIGN_SUITE = """
import random

import factory
import pytest
from faker import Faker


def test_one():
    assert 1


@pytest.mark.parametrize("n", [1, 2])
def test_two(n):
    assert n


def test_fails():
    value = random.Random(1).randrange(10)
    assert value > 20
"""


@pytest.mark.parametrize(
    "args", [(), ("-v",), ("-q",), ("-rA",)], ids=["default", "-v", "-q", "-rA"]
)
def test_a_suite_that_uses_nothing_of_ours_prints_exactly_what_it_prints_without_us(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    # pytest-randomly's own tests assert on output lines by position.
    pytester.makepyfile(test_foreign=FOREIGN_SUITE)
    common = ("-p", "no:randomly", "-p", "no:cacheprovider", *args)
    ours = pytester.runpytest_subprocess(*common)
    theirs = pytester.runpytest_subprocess(*common, *WITHOUT_US)
    assert ours.ret == theirs.ret == pytest.ExitCode.TESTS_FAILED
    assert comparable(ours) == comparable(theirs)
    assert not any("bookslot" in line for line in comparable(ours))


def test_fuzzy_date_without_an_end_date_does_not_warn(pytester: pytest.Pytester) -> None:
    # factory_boy warns when its random state was set; we never set it.
    pytester.makepyfile(
        """
        import datetime

        import factory.fuzzy


        def test_fuzzy_date():
            factory.fuzzy.FuzzyDate(datetime.date(2000, 1, 1))
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "error::UserWarning")
    result.assert_outcomes(passed=1)


IMPORT_TIME_RANDOMNESS = """
import json
import os
import random

from faker import Faker

VALUES = {"faker": Faker().name(), "random": random.random()}


def test_values():
    with open(os.environ["BOOKSLOT_OUT"], "w") as out:
        json.dump(VALUES, out)
"""


def run_values(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    out = pytester.path / f"values-{next(_RUNS)}.json"
    monkeypatch.setenv("BOOKSLOT_OUT", str(out))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    return json.loads(out.read_text())


def test_other_libraries_randomness_at_import_is_as_without_us(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_import_time=IMPORT_TIME_RANDOMNESS)
    randomly = ("-p", "randomly", "--randomly-seed=1")
    first = run_values(pytester, monkeypatch, *randomly)
    assert run_values(pytester, monkeypatch, *randomly) == first  # repeats, run after run
    assert run_values(pytester, monkeypatch, *randomly, *WITHOUT_US) == first


SUBCLASS_TESTS = """
import json
import os

import factory
import factory.fuzzy
import pytest

from bookslot_factories import BookslotPayloadFactory


class NotedFactory(BookslotPayloadFactory):
    notes = factory.Faker("word")
    score = factory.fuzzy.FuzzyInteger(0, 10**9)
    ward = factory.Iterator(["A", "B", "C"])
    ref = factory.Sequence(lambda n: f"REF-{n:05d}")


AT_IMPORT = NotedFactory.build()


def record(name, value):
    with open(os.path.join(os.environ["BOOKSLOT_OUT"], name + ".json"), "w") as out:
        json.dump(value, out)


@pytest.mark.parametrize("n", range(3))
def test_build(n):
    record(f"test_build{n}", NotedFactory.build())


def test_batch():
    record("test_batch", NotedFactory.build_batch(3))


def test_import_time():
    record("test_import_time", AT_IMPORT)
"""


def run_subclass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str
) -> dict[str, Any]:
    out = pytester.path / f"records-{next(_RUNS)}"
    out.mkdir()
    monkeypatch.setenv("BOOKSLOT_OUT", str(out))
    result = pytester.runpytest_subprocess(*FIXED, *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def without_refs(records: dict[str, Any]) -> dict[str, Any]:
    def strip(value: Any) -> Any:
        if isinstance(value, list):
            return [strip(v) for v in value]
        return {k: v for k, v in value.items() if k != "ref"}

    return {name: strip(value) for name, value in records.items()}


@pytest.mark.parametrize(
    "args",
    [(), ("-p", "no:randomly"), ("-n", "2"), ("-n", "2", "-p", "no:randomly")],
    ids=["randomly", "no-randomly", "xdist-randomly", "xdist-no-randomly"],
)
def test_a_subclass_own_fields_replay_with_the_same_seed_and_date(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_subclass=SUBCLASS_TESTS)
    # pytest-randomly, when on, reseeds factory_boy and Faker with a new seed each run.
    first = run_subclass(pytester, monkeypatch, *args)
    second = run_subclass(pytester, monkeypatch, *args)
    assert len(first) == 5
    assert without_refs(second) == without_refs(first)
    assert {r["notes"] for r in first["test_batch"]} | {first["test_build0"]["notes"]}
    # And the same as a plain serial run: data depend on the test, not on the worker.
    serial = run_subclass(pytester, monkeypatch, "-p", "no:randomly")
    assert without_refs(serial) == without_refs(first)


def test_a_sequence_hands_each_test_its_own_number(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_subclass=SUBCLASS_TESTS)
    records = run_subclass(pytester, monkeypatch, "-p", "no:randomly")
    refs = [records[f"test_build{n}"]["ref"] for n in range(3)]
    refs += [r["ref"] for r in records["test_batch"]] + [records["test_import_time"]["ref"]]
    assert len(set(refs)) == len(refs) == 7


@pytest.mark.parametrize(
    ("test", "args", "shown"),
    [
        ("def test_x(): pass", (), False),
        ("def test_x(bookslot_payload): pass", (), True),
        ("def test_x(bookslot_seed): pass", (), True),
        (
            "import pytest\n@pytest.mark.parametrize('bookslot_payload__state', ['TX'])\n"
            "def test_x(bookslot_payload__state): pass",
            (),
            True,
        ),
        ("def test_x(): pass", ("--bookslot-seed=3",), True),
        ("def test_x(): pass", ("--bookslot-as-of=2030-01-01",), True),
    ],
    ids=["nothing", "fixture", "seed-fixture", "parametrized", "seed-option", "date-option"],
)
def test_the_replay_line_appears_when_the_run_uses_the_plugin(
    pytester: pytest.Pytester, test: str, args: tuple[str, ...], shown: bool
) -> None:
    pytester.makepyfile(test)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.OK
    lines = [line for line in result.outlines if line.startswith("bookslot: --bookslot-seed=")]
    assert len(lines) == (1 if shown else 0), result.outlines


def test_an_ini_option_asks_for_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nbookslot_seed = 11\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert "bookslot: --bookslot-seed=11 --bookslot-as-of=" in result.stdout.str()


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_failure_that_used_our_data_gets_the_replay_line_and_others_do_not(
    pytester: pytest.Pytester, xdist: tuple[str, ...]
) -> None:
    pytester.makepyfile(
        test_ours="""
        from bookslot_factories import BookslotPayloadFactory

        def test_built_directly():
            assert BookslotPayloadFactory.build()["zip"] == "nowhere"
        """,
        test_theirs="def test_plain():\n    assert False\n",
    )
    ours = pytester.runpytest_subprocess("-q", *xdist, "test_ours.py")
    assert ours.ret == pytest.ExitCode.TESTS_FAILED
    assert sum(line.startswith("bookslot: --bookslot-seed=") for line in ours.outlines) == 1
    theirs = pytester.runpytest_subprocess("-q", *xdist, "test_theirs.py")
    assert theirs.ret == pytest.ExitCode.TESTS_FAILED
    assert "bookslot" not in theirs.stdout.str()


# --- users' own `factories` modules live beside ours ---------------------------------
# Our package is imported as bookslot_factories: a user's `factories` module or package
# is theirs, and our fixtures work in the same run.

USER_FACTORIES = """
import factory


class User(dict):
    pass


class UserFactory(factory.Factory):
    class Meta:
        model = User

    name = factory.Sequence(lambda n: f"user{n}")
"""

USER_TESTS = """
from factories import UserFactory


def test_theirs(user):
    assert user["name"].startswith("user")
    assert UserFactory.build()["name"].startswith("user")


def test_ours_beside_theirs(user, bookslot_payload):
    assert len(bookslot_payload) == 13
"""


def test_a_users_tests_factories_module_imported_by_their_conftest(
    pytester: pytest.Pytester,
) -> None:
    tests = pytester.mkdir("tests")
    (tests / "factories.py").write_text(USER_FACTORIES)
    (tests / "conftest.py").write_text(
        "from pytest_factoryboy import register\n\nfrom factories import UserFactory\n\n"
        "register(UserFactory)\n"
    )
    (tests / "test_users.py").write_text(USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("how", ["pythonpath", "python -m pytest"])
def test_a_users_root_factories_package(pytester: pytest.Pytester, how: str) -> None:
    package = pytester.mkdir("factories")
    (package / "__init__.py").write_text(USER_FACTORIES)
    tests = pytester.mkdir("tests")
    (tests / "conftest.py").write_text(
        "from pytest_factoryboy import register\n\nfrom factories import UserFactory\n\n"
        "register(UserFactory)\n"
    )
    (tests / "test_users.py").write_text(USER_TESTS)
    if how == "pythonpath":
        pytester.makepyprojecttoml('[tool.pytest.ini_options]\npythonpath = ["."]\n')
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests")
    else:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"],
            cwd=pytester.path,
            capture_output=True,
            text=True,
            check=False,
        )
        result = pytest.RunResult(
            done.returncode, done.stdout.splitlines(), done.stderr.splitlines(), 0
        )
    result.assert_outcomes(passed=2)
