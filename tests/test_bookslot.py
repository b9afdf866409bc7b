"""Tests of the payload factory: shape, the original design's rules, emails and variants.

Everything is checked against independent computations (our own age arithmetic, the
``zipcodes`` package, a law-of-cosines distance), never against Faker's strings.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import bookslot_factories
import pytest
import zipcodes
from bookslot_factories import (
    FIELDS,
    BookslotPayload,
    BookslotPayloadFactory,
    VariantError,
    config,
    generate_bookslot_payload,
    generate_bookslot_payload_with_options,
    locations,
    seeding,
)
from bookslot_factories.config import (
    ALLOWED_EMAIL_DOMAINS,
    CONTACT_METHODS,
    LOCATIONS,
    PAYERS,
    ZIP_DISTANCES,
)
from oracles import (
    assert_real_residential_zip,
    born_on,
    coords,
    cosine_miles,
    residential_rows,
    years_old,
    zip_row,
)

AS_OF = date(2026, 6, 15)
TOLERANCE_MILES = 0.01
BANDS = {"default": (18, 85), "young": (18, 30), "senior": (65, 90)}

# RFC 5321 (section 4.1.2) dot-atom local part and a hostname domain, strictly: no leading,
# trailing or double dots; local part at most 64 octets, address at most 254.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
RFC_5321 = re.compile(
    rf"(?=[^@]{{1,64}}@)(?=.{{1,254}}$){_ATEXT}+(?:\.{_ATEXT}+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}",
    re.ASCII,
)
# Our own shape: first.last.tag.counter, tag fixed width, counter not zero-padded.
EMAIL_SHAPE = re.compile(r"([a-z]+)\.([a-z]+)\.([0-9a-z]{7})\.([1-9][0-9]*)@([a-z.]+)", re.ASCII)
PHONE_SHAPE = re.compile(r"[0-9]{10}", re.ASCII)


@pytest.fixture(autouse=True)
def _default_config_and_seed() -> Any:
    bookslot_factories.configure(None)
    bookslot_factories.seed(33)
    yield
    bookslot_factories.configure(None)


# --- independent helpers -------------------------------------------------------------


def letters(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(ch for ch in decomposed if "a" <= ch <= "z")


def assert_fictional_phone_of(phone: str, code: str) -> None:
    assert PHONE_SHAPE.fullmatch(phone), phone
    assert phone[:3] in zip_row(code)["area_codes"], (phone, code)
    assert 5550100 <= int(phone[3:]) <= 5550199, phone


def nearest_residential_miles(code: str, exclude_self: bool) -> float:
    origin = coords(code)
    return min(
        (
            cosine_miles(origin, (lat, lon))
            for z, (_, lat, lon) in residential_rows().items()
            if abs(lat - origin[0]) < 1.6 and not (exclude_self and z == code)
        ),
        default=math.inf,
    )


@functools.cache
def remote_centres() -> tuple[str, str]:
    """Return two centres in Alaska or Hawaii, found by computation, not guessed.

    The first is a real but non-residential ZIP with no residential ZIP within 25 miles
    and at least one within 100; the second a residential ZIP with no other
    residential ZIP within 25 miles.
    """
    empty_25 = isolated = None
    rows = sorted(
        zipcodes.filter_by(state="AK") + zipcodes.filter_by(state="HI"),
        key=lambda row: row["zip_code"],
    )
    for row in rows:
        code = row["zip_code"]
        if not (row["lat"] and row["long"]):
            continue
        if code in residential_rows():
            if isolated is None and nearest_residential_miles(code, True) > 25 + TOLERANCE_MILES:
                isolated = code
        elif empty_25 is None and 25 + TOLERANCE_MILES < nearest_residential_miles(code, False) < (
            100 - TOLERANCE_MILES
        ):
            empty_25 = code
        if empty_25 and isolated:
            break
    assert empty_25
    assert isolated
    # The library agrees: nothing within 25 miles of the first, only itself around the second.
    assert not locations.neighbours(empty_25, 25, 100)
    assert locations.neighbours(empty_25, 100, 100)
    assert tuple(locations.neighbours(isolated, 25, 100)) == (isolated,)
    return empty_25, isolated


@pytest.fixture(scope="module")
def batch() -> list[BookslotPayload]:
    """Four hundred default payloads, independent of which test runs first."""
    with seeding.seeded(2026):
        return BookslotPayloadFactory.build_batch(400, as_of=AS_OF)


# --- the payload -----------------------------------------------------------------------

BUILDERS: dict[str, Callable[[], list[Any]]] = {
    "build": lambda: [BookslotPayloadFactory.build()],
    "create": lambda: [BookslotPayloadFactory.create()],
    "build_batch": lambda: BookslotPayloadFactory.build_batch(3),
    "create_batch": lambda: BookslotPayloadFactory.create_batch(3),
    "generate_bookslot_payload": lambda: [generate_bookslot_payload()],
    "with_options": lambda: [generate_bookslot_payload_with_options(use_dynamic_zip=True)],
}


@pytest.mark.parametrize("how", list(BUILDERS))
def test_payload_is_a_named_dict_of_strings_in_field_order(how: str) -> None:
    bookslot_factories.seed(1)
    payloads = BUILDERS[how]()
    assert payloads
    for payload in payloads:
        assert isinstance(payload, dict)
        assert type(payload) is BookslotPayload
        assert type(payload).__name__ == "BookslotPayload"
        assert tuple(payload) == FIELDS
        assert all(type(value) is str for value in payload.values())
        assert json.loads(json.dumps(payload)) == payload
        assert list(json.loads(json.dumps(payload))) == list(FIELDS)


def test_overridden_fields_keep_field_order() -> None:
    bookslot_factories.seed(2)
    payload = BookslotPayloadFactory.build(PayerName="Humana", first_name="Ann", dob="01/02/1990")
    assert tuple(payload) == FIELDS
    assert (payload["PayerName"], payload["first_name"], payload["dob"]) == (
        "Humana",
        "Ann",
        "01/02/1990",
    )
    assert payload["MemberName"] == f"Ann {payload['last_name']}"


def test_every_payload_validates(batch: list[BookslotPayload]) -> None:
    bookslot_factories.seed(3)
    for payload in batch:
        bookslot_factories.validate(payload, as_of=AS_OF)


# --- the original design's validation tests, one each -----------------------------------


def test_email_domains_are_allowed(batch: list[BookslotPayload]) -> None:
    domains = Counter(p["email"].rpartition("@")[2] for p in batch)
    assert ALLOWED_EMAIL_DOMAINS == ("mailinator.com", "yopmail.com")
    assert set(domains) == set(ALLOWED_EMAIL_DOMAINS)


def test_insurance_payer_is_one_of_the_payers(batch: list[BookslotPayload]) -> None:
    assert len(PAYERS) == 5
    assert {p["PayerName"] for p in batch} == set(PAYERS)


def test_static_fields(batch: list[BookslotPayload]) -> None:
    for payload in batch:
        assert payload["phone_number"] == "1234567890"
        assert payload["zip"] == "20678"
        assert payload["verification_code"] == "123456"


def test_insurance_id_format(batch: list[BookslotPayload]) -> None:
    ids = [p["idNumber"] for p in batch]
    assert all(re.fullmatch(r"INS-[0-9]{5}", value, re.ASCII) for value in ids)
    assert len(set(ids)) > 350


def test_group_number_format(batch: list[BookslotPayload]) -> None:
    numbers = [p["GroupNumber"] for p in batch]
    assert all(re.fullmatch(r"GRP-[0-9]{4}", value, re.ASCII) for value in numbers)
    assert len(set(numbers)) > 300


def test_dob_format_and_real_date(batch: list[BookslotPayload]) -> None:
    for payload in batch:
        born = born_on(payload["dob"])
        assert datetime.strptime(payload["dob"], "%m/%d/%Y").date() == born
        assert born < AS_OF


def test_zip_distance_is_one_of_the_distances(batch: list[BookslotPayload]) -> None:
    assert ZIP_DISTANCES == ("25", "50", "75", "100")
    assert {p["zip_distance"] for p in batch} == set(ZIP_DISTANCES)


def test_contact_method_is_one_of_the_methods(batch: list[BookslotPayload]) -> None:
    assert CONTACT_METHODS == ("Text", "Email", "Call")
    assert {p["contact_method"] for p in batch} == set(CONTACT_METHODS)


def test_member_name_is_first_and_last_name(batch: list[BookslotPayload]) -> None:
    for payload in batch:
        assert payload["MemberName"] == payload["first_name"] + " " + payload["last_name"]
    assert len({p["MemberName"] for p in batch}) > 350


# --- emails ----------------------------------------------------------------------------


def test_email_is_derived_from_the_names(batch: list[BookslotPayload]) -> None:
    for payload in batch:
        match = EMAIL_SHAPE.fullmatch(payload["email"])
        assert match, payload["email"]
        assert match[1] == letters(payload["first_name"])
        assert match[2] == letters(payload["last_name"])
        assert match[5] in ALLOWED_EMAIL_DOMAINS


def test_email_is_a_valid_rfc_5321_address(batch: list[BookslotPayload]) -> None:
    for payload in batch:
        assert RFC_5321.fullmatch(payload["email"]), payload["email"]
        assert payload["email"] == payload["email"].lower()


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("María-José", "O'Connor", "mariajose.oconnor."),
        ("Zoë", "Nguyễn", "zoe.nguyen."),
        ("Jean Paul", "St. John", "jeanpaul.stjohn."),
    ],
)
def test_email_drops_accents_and_non_letters(first: str, last: str, expected: str) -> None:
    bookslot_factories.seed(4)
    payload = BookslotPayloadFactory.build(first_name=first, last_name=last)
    assert payload["email"].startswith(expected)
    assert RFC_5321.fullmatch(payload["email"])
    assert EMAIL_SHAPE.fullmatch(payload["email"])
    assert payload["MemberName"] == f"{first} {last}"


def test_email_of_names_without_ascii_letters_is_still_valid() -> None:
    bookslot_factories.seed(5)
    payload = BookslotPayloadFactory.build(first_name="李", last_name="Ωμέγα")
    assert RFC_5321.fullmatch(payload["email"]), payload["email"]
    assert EMAIL_SHAPE.fullmatch(payload["email"]), payload["email"]


def test_email_stays_valid_for_long_real_names() -> None:
    # Both names are valid for the validator (letters and hyphens, at most 100 characters);
    # a local part over 64 octets is not a valid address (RFC 5321, 4.5.3.1.1).
    bookslot_factories.seed(6)
    payload = BookslotPayloadFactory.build(
        first_name="Maximilian-Alexander", last_name="Wolfeschlegelsteinhausenbergerdorff"
    )
    local = payload["email"].rpartition("@")[0]
    assert len(local) <= 64, payload["email"]
    assert RFC_5321.fullmatch(payload["email"])
    bookslot_factories.validate(payload)


def test_email_tag_is_fixed_width_and_the_counter_widens() -> None:
    bookslot_factories.seed(7)
    emails = [p["email"] for p in BookslotPayloadFactory.build_batch(1200)]
    matches = [EMAIL_SHAPE.fullmatch(address) for address in emails]
    assert all(matches)
    assert {m[3] for m in matches if m} == {seeding.email_tag(7)}
    assert [m[4] for m in matches if m] == [str(n) for n in range(1, 1201)]
    assert {len(m[4]) for m in matches if m} == {1, 2, 3, 4}


def test_different_seeds_give_different_email_tags() -> None:
    tags = []
    for value in range(300):
        bookslot_factories.seed(value)
        match = EMAIL_SHAPE.fullmatch(BookslotPayloadFactory.build()["email"])
        assert match
        tags.append(match[3])
    assert len(set(tags)) == len(tags)


@pytest.mark.slow
def test_emails_are_unique_over_100_000_payloads_of_one_stream() -> None:
    bookslot_factories.seed(8)
    emails = [p["email"] for p in BookslotPayloadFactory.build_batch(100_000)]
    assert len(set(emails)) == len(emails) == 100_000
    assert len({address.partition(".")[0] for address in emails}) > 300  # names do vary
    counters = [int(address.rpartition("@")[0].rpartition(".")[2]) for address in emails]
    assert counters == list(range(1, 100_001))


# --- ages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("band", "as_of"),
    [
        ("default", date(2026, 6, 15)),
        ("default", "2024-02-29"),
        ("young", date(2023, 3, 1)),
        ("young", "2026-06-15"),
        ("senior", date(2024, 2, 29)),
        ("senior", "2023-02-28"),
    ],
)
def test_ages_stay_in_the_band_and_reach_both_ends(band: str, as_of: date | str) -> None:
    bookslot_factories.seed(9)
    flags = {band: True} if band != "default" else {}
    payloads = BookslotPayloadFactory.build_batch(800, as_of=as_of, **flags)
    on = as_of if isinstance(as_of, date) else date.fromisoformat(as_of)
    ages = [years_old(born_on(p["dob"]), on) for p in payloads]
    assert (min(ages), max(ages)) == BANDS[band]


def test_as_of_as_a_string_is_the_same_as_a_date() -> None:
    bookslot_factories.seed(10)
    from_date = BookslotPayloadFactory.build_batch(20, as_of=date(2024, 2, 29), senior=True)
    bookslot_factories.seed(10)
    from_text = BookslotPayloadFactory.build_batch(20, as_of="2024-02-29", senior=True)
    assert from_date == from_text


@pytest.fixture
def restore_reference_date() -> Any:
    previous = config.reference_date()  # the run's --bookslot-as-of, or today
    yield
    config.set_reference_date(previous)


@pytest.mark.usefixtures("restore_reference_date")
def test_ages_default_to_the_reference_date() -> None:
    bookslot_factories.seed(11)
    config.set_reference_date(date(2001, 1, 1))
    payloads = BookslotPayloadFactory.build_batch(200, young=True)
    ages = {years_old(born_on(p["dob"]), date(2001, 1, 1)) for p in payloads}
    assert (min(ages), max(ages)) == (18, 30)
    bookslot_factories.validate(payloads[0])  # the validator uses the same reference date


@pytest.mark.usefixtures("restore_reference_date")
def test_ages_default_to_today() -> None:
    bookslot_factories.seed(12)
    config.set_reference_date(None)
    today = date.today()
    payloads = BookslotPayloadFactory.build_batch(300)
    ages = [years_old(born_on(p["dob"]), today) for p in payloads]
    assert 18 <= min(ages) <= max(ages) <= 85


@pytest.mark.parametrize("as_of", [date(2024, 2, 29), date(2023, 3, 1)], ids=str)
def test_a_one_year_band_reaches_its_first_and_last_day(as_of: date) -> None:
    bookslot_factories.configure({"age_bands": {"default": [18, 18]}})
    bookslot_factories.seed(13)
    dobs = {born_on(p["dob"]) for p in BookslotPayloadFactory.build_batch(3000, as_of=as_of)}
    assert {years_old(born, as_of) for born in dobs} == {18}
    oldest, youngest = min(dobs), max(dobs)
    assert years_old(date.fromordinal(oldest.toordinal() - 1), as_of) == 19
    assert years_old(date.fromordinal(youngest.toordinal() + 1), as_of) == 17
    assert len(dobs) == youngest.toordinal() - oldest.toordinal() + 1


def test_young_and_senior_exclude_each_other() -> None:
    bookslot_factories.seed(14)
    with pytest.raises(VariantError) as info:
        BookslotPayloadFactory.build(young=True, senior=True)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "young" in message
    assert "senior" in message
    assert "exclude each other" in message


# --- ZIP variants ------------------------------------------------------------------------


def test_dynamic_zip_is_a_real_active_standard_zip() -> None:
    bookslot_factories.seed(15)
    zips = [p["zip"] for p in BookslotPayloadFactory.build_batch(200, dynamic_zip=True)]
    for code in zips:
        assert_real_residential_zip(code)
    assert len(set(zips)) > 150
    assert len({zip_row(code)["state"] for code in zips}) > 20


@pytest.mark.parametrize("state", ["CA", "TX", "AK"])
def test_state_draws_a_zip_of_that_state(state: str) -> None:
    bookslot_factories.seed(16)
    zips = [p["zip"] for p in BookslotPayloadFactory.build_batch(100, state=state)]
    for code in zips:
        assert assert_real_residential_zip(code)["state"] == state
    assert len(set(zips)) > 30


@pytest.mark.parametrize("state", ["XX", "ca", "California", ""])
def test_unknown_state_names_the_value_and_lists_valid_codes(state: str) -> None:
    bookslot_factories.seed(17)
    with pytest.raises(VariantError) as info:
        BookslotPayloadFactory.build(state=state)
    message = str(info.value)
    assert repr(state) in message
    assert all(code in message for code in ("AK", "CA", "MD", "NY", "TX", "WY"))


def test_dynamic_location_batch_covers_each_location_once() -> None:
    bookslot_factories.seed(18)
    for _ in range(3):  # whatever the position in the cycle
        zips = [
            p["zip"]
            for p in BookslotPayloadFactory.build_batch(len(LOCATIONS), dynamic_location=True)
        ]
        assert sorted(zips) == sorted(LOCATIONS)
        BookslotPayloadFactory.build(dynamic_location=True)


def test_near_draws_zips_within_the_payload_distance() -> None:
    bookslot_factories.seed(19)
    payloads = BookslotPayloadFactory.build_batch(300, near="20678")
    centre = coords("20678")
    for payload in payloads:
        assert_real_residential_zip(payload["zip"])
        miles = cosine_miles(centre, coords(payload["zip"]))
        assert miles <= int(payload["zip_distance"]) + TOLERANCE_MILES, payload
    assert {p["zip_distance"] for p in payloads} == set(ZIP_DISTANCES)
    assert len({p["zip"] for p in payloads}) > 100


def test_near_can_draw_the_centre_itself() -> None:
    bookslot_factories.seed(20)
    _, isolated = remote_centres()
    payloads = BookslotPayloadFactory.build_batch(30, near=isolated, zip_distance="25")
    assert {p["zip"] for p in payloads} == {isolated}


def test_near_draws_only_distances_that_have_a_neighbour() -> None:
    bookslot_factories.seed(21)
    empty_25, _ = remote_centres()
    nearest = nearest_residential_miles(empty_25, False)
    reachable = {d for d in ZIP_DISTANCES if int(d) >= nearest + TOLERANCE_MILES}
    assert "25" not in reachable
    assert reachable
    payloads = BookslotPayloadFactory.build_batch(200, near=empty_25)
    assert {p["zip_distance"] for p in payloads} == reachable
    for payload in payloads:
        miles = cosine_miles(coords(empty_25), coords(payload["zip"]))
        assert miles <= int(payload["zip_distance"]) + TOLERANCE_MILES


def test_near_with_an_empty_distance_forced_is_a_variant_error() -> None:
    bookslot_factories.seed(22)
    empty_25, _ = remote_centres()
    with pytest.raises(VariantError, match=re.escape(repr(empty_25))):
        BookslotPayloadFactory.build(near=empty_25, zip_distance="25")


@pytest.mark.parametrize(("state", "near"), [("VA", "20678"), ("NJ", "10001")])
def test_state_and_near_is_the_intersection(state: str, near: str) -> None:
    bookslot_factories.seed(23)
    payloads = BookslotPayloadFactory.build_batch(200, state=state, near=near)
    for payload in payloads:
        assert assert_real_residential_zip(payload["zip"])["state"] == state
        miles = cosine_miles(coords(near), coords(payload["zip"]))
        assert miles <= int(payload["zip_distance"]) + TOLERANCE_MILES
    # Every distance with a ZIP of the state within it is drawn, and no other.
    in_state = [
        cosine_miles(coords(near), (lat, lon))
        for st, lat, lon in residential_rows().values()
        if st == state
    ]
    reachable = {d for d in ZIP_DISTANCES if any(m <= int(d) for m in in_state)}
    assert {p["zip_distance"] for p in payloads} == reachable


def test_state_and_near_with_no_common_zip_is_a_variant_error() -> None:
    bookslot_factories.seed(24)
    with pytest.raises(VariantError) as info:
        BookslotPayloadFactory.build(state="CA", near="20678")
    assert "'CA'" in str(info.value)
    assert "'20678'" in str(info.value)


@pytest.mark.parametrize("other", [{"state": "CA"}, {"near": "20678"}])
def test_dynamic_location_excludes_state_and_near(other: dict[str, str]) -> None:
    bookslot_factories.seed(25)
    with pytest.raises(VariantError, match="dynamic_location"):
        BookslotPayloadFactory.build(dynamic_location=True, **other)


@pytest.mark.parametrize(
    "variant", [{"state": "NY"}, {"near": "10001"}, {"dynamic_location": True}], ids=str
)
@pytest.mark.parametrize("dynamic_zip", [None, False])
def test_state_near_and_dynamic_location_imply_a_dynamic_zip(
    variant: dict[str, Any], dynamic_zip: bool | None
) -> None:
    bookslot_factories.seed(26)
    extra = {} if dynamic_zip is None else {"dynamic_zip": dynamic_zip}
    zips = {p["zip"] for p in BookslotPayloadFactory.build_batch(16, **variant, **extra)}
    assert len(zips) > 1
    if "dynamic_location" not in variant:
        assert "20678" not in zips  # the static ZIP is in Maryland, far from New York


# --- phones -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [{}, {"dynamic_zip": True}, {"state": "CA"}, {"near": "10001"}, {"dynamic_location": True}],
    ids=str,
)
def test_dynamic_phone_has_an_area_code_of_the_zip_and_a_fictional_number(
    variant: dict[str, Any],
) -> None:
    bookslot_factories.seed(27)
    payloads = BookslotPayloadFactory.build_batch(150, dynamic_phone=True, **variant)
    for payload in payloads:
        assert_fictional_phone_of(payload["phone_number"], payload["zip"])
    assert len({p["phone_number"][3:] for p in payloads}) > 60


def test_a_zip_without_area_codes_is_refused_with_its_name() -> None:
    # 09001 is a real military ZIP without area codes: the config refuses it as the
    # static ZIP, and a per-build override fails naming it.
    with pytest.raises(bookslot_factories.ConfigError, match=r"'09001'.*residential"):
        bookslot_factories.configure({"zip": "09001"})
    bookslot_factories.seed(28)
    with pytest.raises(bookslot_factories.VariantError, match=r"'09001'.*area code"):
        BookslotPayloadFactory.build(zip="09001", dynamic_phone=True)


# --- every combination of variants ---------------------------------------------------------

ZIP_VARIANTS: dict[str, dict[str, Any]] = {
    "static": {},
    "dynamic_zip": {"dynamic_zip": True},
    "state": {"state": "CA"},
    "near": {"near": "10001"},
    "state+near": {"state": "NJ", "near": "10001"},
    "dynamic_location": {"dynamic_location": True},
}


def assert_zip_follows(variant: dict[str, Any], payload: BookslotPayload) -> None:
    code = payload["zip"]
    if not variant:
        assert code == "20678"
        return
    assert_real_residential_zip(code)
    if "dynamic_location" in variant:
        assert code in LOCATIONS
    if "state" in variant:
        assert zip_row(code)["state"] == variant["state"]
    if "near" in variant:
        miles = cosine_miles(coords(variant["near"]), coords(code))
        assert miles <= int(payload["zip_distance"]) + TOLERANCE_MILES


@pytest.mark.parametrize("dynamic_phone", [False, True], ids=["static_phone", "dynamic_phone"])
@pytest.mark.parametrize("zip_variant", list(ZIP_VARIANTS))
@pytest.mark.parametrize("band", list(BANDS))
def test_every_combination_of_variants(band: str, zip_variant: str, dynamic_phone: bool) -> None:
    bookslot_factories.seed(29)
    variant = ZIP_VARIANTS[zip_variant]
    flags: dict[str, Any] = {band: True} if band != "default" else {}
    if dynamic_phone:
        flags["dynamic_phone"] = True
    payloads = BookslotPayloadFactory.build_batch(25, as_of=AS_OF, **variant, **flags)
    low, high = BANDS[band]
    for payload in payloads:
        assert low <= years_old(born_on(payload["dob"]), AS_OF) <= high
        assert_zip_follows(variant, payload)
        if dynamic_phone:
            assert_fictional_phone_of(payload["phone_number"], payload["zip"])
        else:
            assert payload["phone_number"] == "1234567890"
        bookslot_factories.validate(payload, as_of=AS_OF)


# --- bad parameters ----------------------------------------------------------------------------


def test_unknown_keyword_is_a_variant_error() -> None:
    bookslot_factories.seed(30)
    with pytest.raises(VariantError) as info:
        BookslotPayloadFactory.build(foo=1)
    assert "'foo'" in str(info.value)
    assert "young" in str(info.value)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("young", 1),
        ("senior", "yes"),
        ("dynamic_zip", None),
        ("dynamic_location", 0),
        ("dynamic_phone", "True"),
    ],
)
def test_a_flag_that_is_not_a_bool_is_a_variant_error(flag: str, value: object) -> None:
    bookslot_factories.seed(31)
    with pytest.raises(VariantError) as info:
        BookslotPayloadFactory.build(**{flag: value})
    assert flag in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    "as_of", ["2023-02-29", "tomorrow", "", 20260615, datetime(2026, 6, 15, 12), "06/15/2026"]
)
def test_a_bad_as_of_is_a_variant_error(as_of: object) -> None:
    bookslot_factories.seed(32)
    with pytest.raises(VariantError) as info:
        BookslotPayloadFactory.build(as_of=as_of)
    assert "as_of" in str(info.value)
    assert repr(as_of) in str(info.value)


@pytest.mark.parametrize("as_of", ["20260615", "2026-W24-1"])
def test_as_of_accepts_only_yyyy_mm_dd_strings(as_of: str) -> None:
    # Python 3.11's date.fromisoformat also reads these; Python 3.10 (supported) does not.
    bookslot_factories.seed(33)
    with pytest.raises(VariantError, match="as_of"):
        BookslotPayloadFactory.build(as_of=as_of)


@pytest.mark.parametrize("near", ["2067", 20678, "00000", "2067a"])
def test_a_bad_near_is_a_variant_error(near: object) -> None:
    bookslot_factories.seed(34)
    with pytest.raises(VariantError, match=re.escape(repr(near))):
        BookslotPayloadFactory.build(near=near)


# --- the functional API ----------------------------------------------------------------------


def test_payload_serialises_with_every_common_tool() -> None:
    import copy
    import pickle

    import yaml

    bookslot_factories.seed(41)
    payload = BookslotPayloadFactory.build(dynamic_phone=True)
    as_dict = dict(payload)
    assert json.loads(json.dumps(payload)) == as_dict
    # PyYAML finds representers by exact type: a dict subclass needs registering.
    assert yaml.safe_load(yaml.safe_dump(payload, sort_keys=False)) == as_dict
    assert yaml.safe_load(yaml.dump(payload)) == as_dict
    assert "!!python" not in yaml.dump([payload])
    assert pickle.loads(pickle.dumps(payload)) == payload
    assert copy.deepcopy(payload) == payload


@pytest.mark.parametrize("size", [-1, "3", 2.5, True, None, 10**12])
@pytest.mark.parametrize("method", ["build_batch", "create_batch"])
def test_batch_size_must_be_a_sane_whole_number(method: str, size: object) -> None:
    # factory_boy would return [] for -1 and run for ever on 10**12.
    with pytest.raises(bookslot_factories.VariantError, match="batch size"):
        getattr(BookslotPayloadFactory, method)(size)


def test_batch_of_zero_is_empty() -> None:
    assert BookslotPayloadFactory.build_batch(0) == []
    assert BookslotPayloadFactory.create_batch(0) == []
