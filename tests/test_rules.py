"""Tests of bookslot_factories.validate: every rule, every failure and its message, and properties."""

from __future__ import annotations

from datetime import date
from typing import Any

import bookslot_factories
import pytest
import zipcodes
from bookslot_factories import FIELDS, BookslotPayloadFactory, PayloadError, validate
from bookslot_factories.errors import BookslotError
from hypothesis import given
from hypothesis import strategies as st

AS_OF = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _default_config_and_seed() -> Any:
    bookslot_factories.configure(None)
    bookslot_factories.seed(55)
    yield
    bookslot_factories.configure(None)


@pytest.fixture
def payload() -> dict[str, str]:
    bookslot_factories.seed(56)
    built = dict(BookslotPayloadFactory.build(as_of=AS_OF))
    validate(built, as_of=AS_OF)  # the starting point is valid
    return built


def quoted(value: object) -> str:
    """What the message must show of a value: its repr, or the start of it if long."""
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:30])[:-1]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    return type(value).__name__


def assert_rejected(payload: dict[str, Any], field: str | None, value: object) -> PayloadError:
    with pytest.raises(PayloadError) as info:
        validate(payload, as_of=AS_OF)
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, BookslotError)
    assert error.field == field
    message = str(error)
    if field is not None:
        assert repr(field) in message
    assert quoted(value) in message
    assert "expected" in message or "missing" in message
    return error


# --- each rule, each failure ---------------------------------------------------------------

BAD_VALUES: list[tuple[str, str]] = [
    ("first_name", ""),
    ("first_name", "1Ann"),
    ("first_name", " Ann"),
    ("first_name", "Ann@"),
    ("first_name", "A" * 101),
    ("last_name", ""),
    ("last_name", "-Smith"),
    ("last_name", "O'Connor!"),
    ("email", "ann.lee.abc1234.1@gmail.com"),
    ("email", "Ann.Lee.abc1234.1@mailinator.com"),
    ("email", "ann@MAILINATOR.COM"),
    ("email", ".ann.lee@mailinator.com"),
    ("email", "ann.lee.@mailinator.com"),
    ("email", "ann..lee@mailinator.com"),
    ("email", "ann lee@mailinator.com"),
    ("email", "ann.lee@"),
    ("email", "annlee"),
    ("email", "a" * 65 + "@mailinator.com"),
    ("phone_number", ""),
    ("phone_number", "123456789"),
    ("phone_number", "12345678901"),
    ("phone_number", "123-456-7890"),
    ("phone_number", "١٢٣٤٥٦٧٨٩٠"),  # Arabic-Indic digits: isdigit() but not ASCII
    ("zip", ""),
    ("zip", "2067"),
    ("zip", "206789"),
    ("zip", "2067a"),
    ("zip", "٢٠٦٧٨"),
    ("verification_code", ""),
    ("verification_code", "1234567890123"),
    ("verification_code", "12a456"),
    ("verification_code", "١٢٣٤٥٦"),
    ("contact_method", "SMS"),
    ("contact_method", "text"),
    ("contact_method", ""),
    ("zip_distance", "30"),
    ("zip_distance", "25 "),
    ("zip_distance", "0"),
    ("PayerName", "Kaiser"),
    ("PayerName", "aetna health"),
    ("PayerName", ""),
    ("dob", ""),
    ("dob", "1990-01-01"),
    ("dob", "02/31/1990"),  # 31 February
    ("dob", "02/29/2023"),  # not a leap year
    ("dob", "13/01/1990"),
    ("dob", "00/10/1990"),
    ("dob", "2/3/1990"),
    ("dob", "01/01/0000"),
    ("dob", "06/16/2026"),  # the day after the reference date
    ("dob", "01/01/2100"),
    ("dob", "06/15/1905"),  # 121 on the reference date
    ("dob", "01/01/1800"),
    ("MemberName", "Someone Else"),
    ("idNumber", "INS-1234"),
    ("idNumber", "INS-123456"),
    ("idNumber", "ins-12345"),
    ("idNumber", "INS-1234a"),
    ("idNumber", "INS12345"),
    ("idNumber", "INS-١٢٣٤٥"),
    ("idNumber", "GRP-12345"),
    ("GroupNumber", "GRP-123"),
    ("GroupNumber", "GRP-12345"),
    ("GroupNumber", "grp-1234"),
    ("GroupNumber", "INS-1234"),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_each_broken_rule_is_a_payload_error_naming_field_value_and_expectation(
    payload: dict[str, str], field: str, value: str
) -> None:
    payload[field] = value
    assert_rejected(payload, field, value)


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_member_name_must_follow_the_names(payload: dict[str, str], field: str) -> None:
    payload[field] = "Zed"
    assert_rejected(payload, "MemberName", payload["MemberName"])
    payload["MemberName"] = f"{payload['first_name']} {payload['last_name']}"
    validate(payload, as_of=AS_OF)
    payload["MemberName"] = f"{payload['first_name']}  {payload['last_name']}"
    assert_rejected(payload, "MemberName", payload["MemberName"])


@pytest.mark.parametrize(
    "dob",
    [
        "06/15/2026",  # born on the reference date: age 0
        "06/16/1905",  # 120 on the reference date
        "02/29/2024",
    ],
)
def test_dob_edges_that_are_accepted(payload: dict[str, str], dob: str) -> None:
    payload["dob"] = dob
    validate(payload, as_of=AS_OF)


def test_dob_is_checked_on_the_given_date(payload: dict[str, str]) -> None:
    payload["dob"] = "06/15/1905"
    validate(payload, as_of=date(2025, 6, 15))  # 120
    assert_rejected(payload, "dob", "06/15/1905")  # 121 on AS_OF


def test_valid_variants_of_each_field_are_accepted(payload: dict[str, str]) -> None:
    payload.update(
        first_name="María-José",
        last_name="O'Connor Jr.",
        MemberName="María-José O'Connor Jr.",
        email="maria.jose.1@yopmail.com",
        phone_number="3015550142",
        zip="94110",
        verification_code="0",
        contact_method="Call",
        zip_distance="100",
        idNumber="INS-00000",
        GroupNumber="GRP-9999",
        PayerName="Humana",
    )
    validate(payload, as_of=AS_OF)


def test_a_missing_field_is_named(payload: dict[str, str]) -> None:
    del payload["dob"]
    error = assert_rejected(payload, "dob", "dob")
    assert "missing" in str(error)


def test_a_missing_field_is_named_even_with_an_extra_one(payload: dict[str, str]) -> None:
    del payload["zip"]
    payload["zipcode"] = "20678"
    assert_rejected(payload, "zip", "zip")


def test_an_extra_field_is_named(payload: dict[str, str]) -> None:
    payload["insurance"] = "x"
    error = assert_rejected(payload, "insurance", "insurance")
    assert all(name in str(error) for name in FIELDS)


@pytest.mark.parametrize(
    ("field", "value"), [("zip", 20678), ("dob", None), ("email", ["a@b.c"]), ("idNumber", 1.5)]
)
def test_a_value_that_is_not_a_string_is_named(
    payload: dict[str, Any], field: str, value: object
) -> None:
    payload[field] = value
    error = assert_rejected(payload, field, value)
    assert "a string" in str(error)


@pytest.mark.parametrize("value", [None, [], "payload", 5, [("zip", "20678")]])
def test_a_payload_that_is_not_a_mapping(value: object) -> None:
    with pytest.raises(PayloadError) as info:
        validate(value)  # type: ignore[arg-type]
    assert info.value.field is None
    assert quoted(value) in str(info.value)
    assert "expected a mapping" in str(info.value)


def test_validate_reads_as_of_like_the_factory(payload: dict[str, str]) -> None:
    # The factory takes as_of="YYYY-MM-DD"; the validator given the same must not crash
    # with an AttributeError: it checks on that date, or raises one of our errors.
    payload["dob"] = "06/15/1905"  # 121 on AS_OF, 120 a year earlier
    with pytest.raises(BookslotError, match=r"as_of|dob"):
        validate(payload, as_of="2026-06-15")  # type: ignore[arg-type]


def test_any_mapping_is_accepted(payload: dict[str, str]) -> None:
    from types import MappingProxyType

    validate(MappingProxyType(payload), as_of=AS_OF)


# --- the validator follows the config -----------------------------------------------------------


def test_validator_follows_the_active_config(payload: dict[str, str]) -> None:
    payload["PayerName"] = "Kaiser Permanente"
    assert_rejected(payload, "PayerName", "Kaiser Permanente")
    bookslot_factories.configure({"payers": ["Kaiser Permanente"]})
    validate(payload, as_of=AS_OF)
    payload["PayerName"] = "Humana"
    assert_rejected(payload, "PayerName", "Humana")
    bookslot_factories.configure(None)
    validate(payload, as_of=AS_OF)


def test_validator_takes_a_config_argument(payload: dict[str, str]) -> None:
    cfg = bookslot_factories.config.from_mapping({"contact_methods": ["Portal"]})
    payload["contact_method"] = "Portal"
    validate(payload, as_of=AS_OF, cfg=cfg)
    assert_rejected(payload, "contact_method", "Portal")


# --- properties --------------------------------------------------------------------------------

TEXTISH = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", fullmatch=True),
    st.from_regex(r"[a-z.]{0,8}@(mailinator\.com|yopmail\.com|x)", fullmatch=True),
    st.from_regex(r"(INS|GRP)-[0-9]{3,6}", fullmatch=True),
    st.from_regex(r"[0-9]{0,12}", fullmatch=True),
    st.sampled_from(["Text", "Email", "Call", "25", "50", "Humana", "20678", "Ann", "Lee"]),
)
ANY_VALUE = st.one_of(
    TEXTISH, st.none(), st.integers(), st.floats(), st.lists(st.text(), max_size=2)
)
PAYLOAD_LIKE = st.one_of(
    st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=15),
    st.fixed_dictionaries({key: TEXTISH for key in FIELDS}),
    st.fixed_dictionaries({key: ANY_VALUE for key in FIELDS}),
    st.fixed_dictionaries(
        {key: TEXTISH for key in FIELDS if key != "dob"},
        optional={"extra": st.text(), "dob": TEXTISH},
    ),
    st.one_of(st.none(), st.text(), st.integers(), st.lists(st.text(), max_size=3)),
)


def outcome(candidate: Any) -> PayloadError | None:
    """Return what validate returns, or the PayloadError it raises (others propagate)."""
    try:
        return validate(candidate, as_of=AS_OF)  # type: ignore[func-returns-value]
    except PayloadError as error:
        return error


@given(PAYLOAD_LIKE)
def test_validate_returns_none_or_raises_payload_error(candidate: Any) -> None:
    bookslot_factories.seed(57)
    result = outcome(candidate)
    assert result is None or isinstance(result, PayloadError)
    if result is not None:
        assert str(result)
        assert result.field is None or result.field in str(result)


@given(st.sampled_from(FIELDS), TEXTISH)
def test_an_error_blames_the_changed_field(field: str, value: str) -> None:
    bookslot_factories.seed(58)
    payload = dict(BookslotPayloadFactory.build(as_of=AS_OF))
    payload[field] = value
    result = outcome(payload)
    if result is not None:
        blamed = {field, "MemberName"} if field in ("first_name", "last_name") else {field}
        assert result.field in blamed


CENTRES = ["20678", "10001", "94110", "60614", "99501"]


@given(
    seed=st.integers(0, 2**64 - 1),
    band=st.sampled_from(["default", "young", "senior"]),
    zip_variant=st.sampled_from(["static", "dynamic_zip", "state", "near", "state+near", "loc"]),
    dynamic_phone=st.booleans(),
    as_of=st.one_of(st.none(), st.dates(date(1980, 1, 1), date(2100, 12, 31))),
    state=st.sampled_from(["CA", "TX", "NY", "AK", "PR"]),
    near=st.sampled_from(CENTRES),
    count=st.integers(1, 4),
)
def test_every_factory_payload_validates(
    seed: int,
    band: str,
    zip_variant: str,
    dynamic_phone: bool,
    as_of: date | None,
    state: str,
    near: str,
    count: int,
) -> None:
    bookslot_factories.seed(seed)
    kwargs: dict[str, Any] = {"as_of": as_of, "dynamic_phone": dynamic_phone}
    if band != "default":
        kwargs[band] = True
    if zip_variant == "dynamic_zip":
        kwargs["dynamic_zip"] = True
    elif zip_variant == "state":
        kwargs["state"] = state
    elif zip_variant == "near":
        kwargs["near"] = near
    elif zip_variant == "state+near":
        kwargs.update(near=near, state=zipcodes.matching(near)[0]["state"])
    elif zip_variant == "loc":
        kwargs["dynamic_location"] = True
    for built in BookslotPayloadFactory.build_batch(count, **kwargs):
        validate(built, as_of=as_of or bookslot_factories.config.reference_date())
