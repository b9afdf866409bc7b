"""Tests of bookslot_factories.config: overrides reach the factory and the validator; bad configs fail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import bookslot_factories
import pytest
import zipcodes
from bookslot_factories import BookslotPayloadFactory, ConfigError, PayloadError, config, validate
from bookslot_factories.config import DEFAULT, Config, current, load_config

AS_OF = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def default_config() -> Iterator[None]:
    bookslot_factories.configure(None)
    bookslot_factories.seed(66)
    yield
    bookslot_factories.configure(None)


def years_old(born: date, on: date) -> int:
    try:
        birthday = born.replace(year=on.year)
    except ValueError:  # 29 February in a common year
        birthday = date(on.year, 3, 1)
    return on.year - born.year - (birthday > on)


def born_on(dob: str) -> date:
    return date(int(dob[6:]), int(dob[:2]), int(dob[3:5]))


def write(tmp_path: Path, text: str, name: str = "bookslot.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- each key takes effect in the factory and in the validator ------------------------------


def test_email_domains(tmp_path: Path) -> None:
    bookslot_factories.seed(1)
    before = BookslotPayloadFactory.build(as_of=AS_OF)
    bookslot_factories.configure({"email_domains": ["guerrillamail.com", "sharklasers.com"]})
    payloads = BookslotPayloadFactory.build_batch(100, as_of=AS_OF)
    assert {p["email"].rpartition("@")[2] for p in payloads} == {
        "guerrillamail.com",
        "sharklasers.com",
    }
    for payload in payloads:
        validate(payload, as_of=AS_OF)
    with pytest.raises(PayloadError, match="'email'"):
        validate(before, as_of=AS_OF)


def test_payers() -> None:
    bookslot_factories.seed(2)
    before = BookslotPayloadFactory.build(as_of=AS_OF)
    kaiser = dict(before, PayerName="Kaiser Permanente")
    with pytest.raises(PayloadError, match="'PayerName'"):
        validate(kaiser, as_of=AS_OF)
    bookslot_factories.configure({"payers": ["Kaiser Permanente", "Medicare"]})
    validate(kaiser, as_of=AS_OF)
    payloads = BookslotPayloadFactory.build_batch(60, as_of=AS_OF)
    assert {p["PayerName"] for p in payloads} == {"Kaiser Permanente", "Medicare"}
    for payload in payloads:
        validate(payload, as_of=AS_OF)
    with pytest.raises(PayloadError, match="'PayerName'"):
        validate(before, as_of=AS_OF)


def test_contact_methods() -> None:
    bookslot_factories.seed(3)
    before = BookslotPayloadFactory.build(as_of=AS_OF)
    bookslot_factories.configure({"contact_methods": ["Portal"]})
    payloads = BookslotPayloadFactory.build_batch(20, as_of=AS_OF)
    assert {p["contact_method"] for p in payloads} == {"Portal"}
    for payload in payloads:
        validate(payload, as_of=AS_OF)
    with pytest.raises(PayloadError, match="'contact_method'"):
        validate(before, as_of=AS_OF)


def test_zip_distances() -> None:
    bookslot_factories.seed(4)
    bookslot_factories.configure({"zip_distances": ["10", 200]})
    payloads = BookslotPayloadFactory.build_batch(60, as_of=AS_OF)
    assert {p["zip_distance"] for p in payloads} == {"10", "200"}
    for payload in payloads:
        validate(payload, as_of=AS_OF)
    near = BookslotPayloadFactory.build_batch(30, near="20678", as_of=AS_OF)
    assert {p["zip_distance"] for p in near} <= {"10", "200"}
    with pytest.raises(PayloadError, match="'zip_distance'"):
        validate(dict(payloads[0], zip_distance="25"), as_of=AS_OF)


def test_id_formats() -> None:
    bookslot_factories.seed(5)
    before = BookslotPayloadFactory.build(as_of=AS_OF)
    bookslot_factories.configure({"id_formats": {"idNumber": "MBR-#######", "GroupNumber": "G##"}})
    payloads = BookslotPayloadFactory.build_batch(60, as_of=AS_OF)
    for payload in payloads:
        assert re.fullmatch(r"MBR-[0-9]{7}", payload["idNumber"], re.ASCII)
        assert re.fullmatch(r"G[0-9]{2}", payload["GroupNumber"], re.ASCII)
        validate(payload, as_of=AS_OF)
    with pytest.raises(PayloadError, match=r"'idNumber'.*MBR-#######"):
        validate(before, as_of=AS_OF)


def test_phone_zip_and_verification_code() -> None:
    bookslot_factories.seed(6)
    bookslot_factories.configure(
        {"phone": "2025550143", "zip": "10001", "verification_code": "98765432"}
    )
    payloads = BookslotPayloadFactory.build_batch(20, as_of=AS_OF)
    for payload in payloads:
        assert payload["phone_number"] == "2025550143"
        assert payload["zip"] == "10001"
        assert payload["verification_code"] == "98765432"
        validate(payload, as_of=AS_OF)


def test_age_bands() -> None:
    bookslot_factories.seed(7)
    bookslot_factories.configure(
        {"age_bands": {"default": [40, 41], "young": [20, 20], "senior": [99, 120]}}
    )
    for flags, (low, high) in [
        ({}, (40, 41)),
        ({"young": True}, (20, 20)),
        ({"senior": True}, (99, 120)),
    ]:
        payloads = BookslotPayloadFactory.build_batch(300, as_of=AS_OF, **flags)
        ages = [years_old(born_on(p["dob"]), AS_OF) for p in payloads]
        assert (min(ages), max(ages)) == (low, high)
        for payload in payloads:
            validate(payload, as_of=AS_OF)


def test_locations() -> None:
    bookslot_factories.seed(8)
    bookslot_factories.configure({"locations": ["10001", "94110", "60614"]})
    zips = [p["zip"] for p in BookslotPayloadFactory.build_batch(6, dynamic_location=True)]
    assert sorted(zips) == sorted(["10001", "94110", "60614"] * 2)


def test_a_config_file_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # every key of the file
        email_domains: [mailinator.com]
        payers: [Aetna Health, Humana]
        phone: "1234567890"
        zip: "20678"
        verification_code: "123456"
        contact_methods: [Text]
        zip_distances: ["25", "50"]
        age_bands: {default: [18, 85], young: [18, 30], senior: [65, 90]}
        id_formats: {idNumber: "INS-#####", GroupNumber: "GRP-####"}
        locations: ["20678", "10001"]
        """,
    )
    loaded = load_config(path)
    assert current() is DEFAULT  # loading does not activate
    assert loaded.payers == ("Aetna Health", "Humana")
    assert loaded.source == str(path)
    assert bookslot_factories.configure(path) == loaded
    assert bookslot_factories.configure(str(path)) == loaded
    assert current() == loaded
    bookslot_factories.seed(9)
    payloads = BookslotPayloadFactory.build_batch(30, as_of=AS_OF)
    assert {p["contact_method"] for p in payloads} == {"Text"}
    assert {p["email"].rpartition("@")[2] for p in payloads} == {"mailinator.com"}


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")) == DEFAULT


def test_configure_takes_a_config_and_none_restores_the_defaults() -> None:
    custom = Config(payers=("Medicare",))
    assert bookslot_factories.configure(custom) is custom
    assert current() is custom
    bookslot_factories.seed(10)
    assert BookslotPayloadFactory.build()["PayerName"] == "Medicare"
    assert bookslot_factories.configure(None) == DEFAULT
    assert current() == DEFAULT


def test_a_bad_config_leaves_the_active_one_unchanged() -> None:
    active = bookslot_factories.configure({"payers": ["Medicare"]})
    with pytest.raises(ConfigError):
        bookslot_factories.configure({"payers": []})
    assert current() is active


# --- bad configs ---------------------------------------------------------------------------

BAD_MAPPINGS: list[tuple[dict[str, Any], str, str]] = [
    # (mapping, the key the message must name, a phrase it must contain)
    ({"payer": ["Humana"]}, "payer", "did you mean 'payers'"),
    ({"email_domain": ["x.com"]}, "email_domain", "did you mean 'email_domains'"),
    ({"colour": "red"}, "colour", "not a known key"),
    ({"payers": 5}, "payers", "expected a list"),
    ({"payers": [5]}, "payers", "expected"),
    ({"payers": ["Humana", "Humana"]}, "payers", "repeated"),
    ({"email_domains": {"a": "b"}}, "email_domains", "expected a list"),
    ({"email_domains": ["Mailinator.com"]}, "email_domains", "expected"),
    ({"phone": 1234567890}, "phone", "expected a string of 10 digits"),
    ({"phone": "123456789"}, "phone", "10 digits"),
    ({"verification_code": "12ab"}, "verification_code", "digits"),
    ({"zip_distances": ["0"]}, "zip_distances", "expected"),
    ({"zip_distances": [True]}, "zip_distances", "expected"),
    ({"age_bands": [18, 85]}, "age_bands", "expected a mapping"),
    ({"age_bands": {"old": [70, 90]}}, "age_bands.old", "not a known band"),
    ({"age_bands": {"young": [18]}}, "age_bands.young", "expected [min, max]"),
    ({"age_bands": {"young": [30, 18]}}, "age_bands.young", "min <= max"),
    ({"age_bands": {"senior": [65, 121]}}, "age_bands.senior", "max <= 120"),
    ({"id_formats": "INS-#####"}, "id_formats", "expected a mapping"),
    ({"id_formats": {"idNumber": "INS-XXXXX"}}, "id_formats.idNumber", "expected"),
    ({"id_formats": {"idNumber": "ins-#####"}}, "id_formats.idNumber", "expected"),
    ({"id_formats": {"idNumber": "INS-" + "#" * 13}}, "id_formats.idNumber", "expected"),
    ({"id_formats": {"GroupNr": "GRP-####"}}, "id_formats.GroupNr", "did you mean 'GroupNumber'"),
    ({"zip": "00000"}, "zip", "not a real"),
    ({"zip": 20678}, "zip", "5-digit"),
    ({"locations": ["20678", "99999"]}, "locations", "not a real"),
    ({"locations": ["20678", "20678"]}, "locations", "repeated"),
]
EMPTY_LISTS = ["email_domains", "payers", "contact_methods", "zip_distances", "locations"]


@pytest.mark.parametrize(
    ("mapping", "key", "phrase"),
    BAD_MAPPINGS + [({key: []}, key, "empty list") for key in EMPTY_LISTS],
)
def test_a_bad_mapping_names_the_source_and_the_key(
    mapping: dict[str, Any], key: str, phrase: str
) -> None:
    with pytest.raises(ConfigError) as info:
        bookslot_factories.configure(mapping)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "'<mapping>'" in message
    assert repr(key) in message
    assert phrase in message


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"email_domains": ["mailinator.com\n"]}, "email_domains"),
        ({"payers": ["Humana\n"]}, "payers"),
        ({"contact_methods": ["Text\n"]}, "contact_methods"),
        ({"id_formats": {"idNumber": "INS-#####\n"}}, "id_formats.idNumber"),
    ],
)
def test_a_value_with_a_trailing_newline_is_rejected(mapping: dict[str, Any], key: str) -> None:
    # YAML's "mailinator.com\n" (a quoted string or a |-block) must not slip through: the
    # factory would then write the newline into emails, payer names or ids.
    with pytest.raises(ConfigError) as info:
        bookslot_factories.configure(mapping)
    assert repr(key) in str(info.value)


def test_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "payers: [Humana]\nzip_distance: ['25']\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert repr(str(path)) in str(info.value)
    assert "'zip_distance'" in str(info.value)
    assert "did you mean 'zip_distances'" in str(info.value)


def test_a_yaml_tag_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(
        tmp_path,
        f'payers: !!python/object/apply:os.system ["touch {marker}"]\n',
    )
    with pytest.raises(ConfigError) as info:
        bookslot_factories.configure(path)
    assert not marker.exists()
    assert repr(str(path)) in str(info.value)
    assert "tag" in str(info.value)
    assert current() == DEFAULT
    # The marker path is writable: the same command does create it when really run.
    subprocess.run(["touch", str(marker)], check=True)
    assert marker.exists()


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("payers: [Humana\n", "not valid YAML"),
        ("payers: Humana\n  - x: : y\n", "not valid YAML"),
        ("- Humana\n- Medicare\n", "expected a mapping"),
        ("just text\n", "expected a mapping"),
        ("42\n", "expected a mapping"),
    ],
)
def test_invalid_yaml_or_a_non_mapping_top_level(tmp_path: Path, text: str, phrase: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert repr(str(path)) in str(info.value)
    assert phrase in str(info.value)


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="does not exist") as info:
        bookslot_factories.configure(path)
    assert repr(str(path)) in str(info.value)


def test_a_real_zip_is_checked_against_zipcodes() -> None:
    assert zipcodes.is_real("94110")
    assert bookslot_factories.configure({"zip": "94110"}).zip == "94110"
    assert not zipcodes.is_real("00001")
    with pytest.raises(ConfigError, match="'00001'"):
        bookslot_factories.configure({"zip": "00001"})


# --- BOOKSLOT_CONFIG -----------------------------------------------------------------------------


def run_python(code: str, env_config: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BOOKSLOT_CONFIG=env_config)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_bookslot_config_is_read_on_first_use(tmp_path: Path) -> None:
    path = write(tmp_path, "payers: [Medicare]\ncontact_methods: [Portal]\n")
    code = textwrap.dedent(
        """
        from bookslot_factories import BookslotPayloadFactory, configure, seed
        from bookslot_factories.config import current
        seed(1)
        p = BookslotPayloadFactory.build()
        print(current().source, p["PayerName"], p["contact_method"])
        configure(None)
        print(current().source, BookslotPayloadFactory.build()["PayerName"] != "Medicare")
        """
    )
    done = run_python(code, str(path))
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == f"{path} Medicare Portal"
    assert second == "<defaults> True"


def test_a_bad_bookslot_config_fails_with_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "payer: [Medicare]\n")
    code = (
        "from bookslot_factories import ConfigError\n"
        "from bookslot_factories.config import current\n"
        "try:\n    current()\nexcept ConfigError as e:\n    print('ConfigError', e)\n"
    )
    done = run_python(code, str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ConfigError")
    assert repr(str(path)) in done.stdout
    assert "did you mean 'payers'" in done.stdout


def test_defaults_are_the_module_constants() -> None:
    assert DEFAULT.email_domains == config.ALLOWED_EMAIL_DOMAINS
    assert DEFAULT.payers == config.PAYERS
    assert (DEFAULT.phone, DEFAULT.zip, DEFAULT.verification_code) == (
        "1234567890",
        "20678",
        "123456",
    )
    assert DEFAULT.age_bands == config.AgeBands((18, 85), (18, 30), (65, 90))
