"""Tests of bookslot_factories.tables and .draws: ages and birth dates, emails, ids, ZIP pools, phones."""

from __future__ import annotations

import itertools
import random
import re
import unicodedata
from datetime import date, datetime, timedelta

import bookslot_factories
import pytest
import zipcodes
from bookslot_factories import draws, tables
from bookslot_factories.config import DEFAULT
from bookslot_factories.errors import VariantError
from oracles import cosine_miles, residential_rows

RADIUS_MILES = 6371.0088 / 1.609344
TOLERANCE_MILES = 0.01


@pytest.fixture(autouse=True)
def _seeded() -> None:
    bookslot_factories.seed(22)


# --- an age computation of our own ---------------------------------------------------


def birthday_in(born: date, year: int) -> date:
    """The day someone born on ``born`` has a birthday in ``year`` (29 Feb -> 1 March)."""
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a common year: the birthday is 1 March
        return date(year, 3, 1)


def years_old(born: date, on: date) -> int:
    years = on.year - born.year
    return years if birthday_in(born, on.year) <= on else years - 1


def _as_of_dates() -> list[date]:
    fixed = [
        date(2024, 2, 29),  # leap day
        date(2024, 2, 28),
        date(2024, 3, 1),
        date(2023, 2, 28),  # non-leap year
        date(2023, 3, 1),
        date(2000, 2, 29),  # leap (divisible by 400)
        date(2100, 2, 28),  # 2100 is not a leap year
        date(2100, 3, 1),
        date(2026, 1, 1),
        date(2026, 12, 31),
        date(2026, 6, 15),
    ]
    rng = random.Random(20261129)
    start = date(1990, 1, 1).toordinal()
    fixed += [date.fromordinal(start + rng.randrange(365 * 60)) for _ in range(15)]
    return fixed


AS_OF_DATES = _as_of_dates()
BANDS = [(18, 85), (18, 30), (65, 90), (18, 18), (0, 0), (0, 120)]


def test_the_age_computation_of_the_tests_knows_leap_days() -> None:
    # The reference the other tests use: checked on calendar facts, not on the library.
    assert years_old(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert years_old(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert years_old(date(2008, 2, 29), date(2028, 2, 29)) == 20
    assert years_old(date(2000, 6, 15), date(2026, 6, 14)) == 25
    assert years_old(date(2000, 6, 15), date(2026, 6, 15)) == 26


def test_age_agrees_with_an_independent_computation() -> None:
    births = [date(2008, 2, 29), date(2007, 2, 28), date(2007, 3, 1), date(1950, 12, 31)]
    births += [date(1940, 1, 1) + timedelta(days=n) for n in range(0, 30000, 97)]
    for on in AS_OF_DATES:
        for born in births:
            if born <= on:
                assert tables.age(born, on) == years_old(born, on), (born, on)


def test_someone_born_on_29_february_is_a_year_older_on_1_march_of_a_common_year() -> None:
    born = date(2008, 2, 29)
    assert tables.age(born, date(2026, 2, 28)) == 17
    assert tables.age(born, date(2026, 3, 1)) == 18
    # ...so the band of 18-year-olds on 1 March 2026 includes that person, on 28 Feb it does not.
    earliest, latest = tables.birth_date_range(18, 18, date(2026, 3, 1))
    assert (earliest, latest) == (date(2007, 3, 2), date(2008, 3, 1))
    earliest, latest = tables.birth_date_range(18, 18, date(2026, 2, 28))
    assert (earliest, latest) == (date(2007, 3, 1), date(2008, 2, 28))
    earliest, latest = tables.birth_date_range(17, 17, date(2026, 2, 28))
    assert earliest <= born <= latest


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
def test_birth_date_range_matches_brute_force_near_both_ends(as_of: date) -> None:
    for low, high in BANDS:
        earliest, latest = tables.birth_date_range(low, high, as_of)
        assert years_old(earliest, as_of) == high
        assert years_old(latest, as_of) == low
        assert years_old(earliest - timedelta(days=1), as_of) == high + 1
        if latest < as_of:
            assert years_old(latest + timedelta(days=1), as_of) == low - 1
        for end in (earliest, latest):
            for offset in range(-400, 401):
                day = end + timedelta(days=offset)
                if day > as_of:
                    continue
                in_band = low <= years_old(day, as_of) <= high
                assert (earliest <= day <= latest) is in_band, (low, high, as_of, day)


@pytest.mark.parametrize(
    "as_of", [date(2024, 2, 29), date(2023, 2, 28), date(2023, 3, 1), date(2026, 6, 15)], ids=str
)
@pytest.mark.parametrize(("low", "high"), [(18, 85), (18, 30), (65, 90)])
def test_birth_dates_table_is_every_day_of_the_band(low: int, high: int, as_of: date) -> None:
    table = tables.birth_dates(low, high, as_of).table
    days = [date(int(text[6:]), int(text[:2]), int(text[3:5])) for text in table]
    assert all(re.fullmatch(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", text) for text in table)
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(days))
    assert years_old(days[0], as_of) == high
    assert years_old(days[0] - timedelta(days=1), as_of) == high + 1
    assert years_old(days[-1], as_of) == low
    assert years_old(days[-1] + timedelta(days=1), as_of) == low - 1


@pytest.mark.parametrize("as_of", [date(2024, 2, 29), date(2023, 2, 28), date(2023, 3, 1)], ids=str)
def test_birth_date_draws_reach_every_day_of_a_one_year_band_and_no_other(as_of: date) -> None:
    sampler = tables.birth_dates(30, 30, as_of)
    rng = random.Random(as_of.toordinal())
    one_by_one = {sampler.one(rng) for _ in range(4000)}
    in_bulk = set(sampler.many(rng, 4000))
    assert one_by_one == in_bulk == set(sampler.table)
    ages = {years_old(datetime.strptime(text, "%m/%d/%Y").date(), as_of) for text in in_bulk}
    assert ages == {30}


def test_birth_date_range_before_year_one_is_a_variant_error() -> None:
    with pytest.raises(VariantError, match="85"):
        tables.birth_date_range(18, 85, date(50, 1, 1))


# --- emails ------------------------------------------------------------------------


def letters(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(ch for ch in decomposed if "a" <= ch <= "z")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("María-José", "mariajose"),
        ("O'Connor", "oconnor"),
        ("Zoë", "zoe"),
        ("Nguyễn", "nguyen"),
        ("Jean Paul", "jeanpaul"),
        ("McDONALD", "mcdonald"),
        ("St. John", "stjohn"),
    ],
)
def test_email_slug_keeps_lowercase_ascii_letters(name: str, slug: str) -> None:
    assert tables.email_slug(name) == slug == letters(name)


@pytest.mark.parametrize("name", ["李", "---", "Ωμέγα"])
def test_email_slug_of_a_name_without_ascii_letters_is_still_a_word(name: str) -> None:
    assert re.fullmatch(r"[a-z]+", tables.email_slug(name))


def test_email_joins_slugs_tag_counter_and_domain() -> None:
    address = draws.email("María", "O'Connor", "abc1234", 17, "yopmail.com")
    assert address == "maria.oconnor.abc1234.17@yopmail.com"


def test_faker_name_tables_give_sluggable_names() -> None:
    rng = random.Random(3)
    names = tables.first_names().many(rng, 2000) + tables.last_names().many(rng, 2000)
    assert len(set(names)) > 500
    for name in names:
        assert tables.email_slug(name) == letters(name)
        assert letters(name)


# --- choices and ids ------------------------------------------------------------------


def test_choice_respects_weights() -> None:
    rng = random.Random(1)
    assert set(tables.Choice(("a", "b"), (1.0, 0.0)).many(rng, 200)) == {"a"}
    assert set(tables.Choice(("a", "b")).many(rng, 200)) == {"a", "b"}
    assert tables.Choice(("a", "b", "c")).one(rng) in ("a", "b", "c")
    assert len(tables.Choice(("a", "b", "c"))) == 3


@pytest.mark.parametrize(
    ("fmt", "prefix", "width"), [("INS-#####", "INS-", 5), ("GRP-####", "GRP-", 4), ("M#", "M", 1)]
)
def test_id_format(fmt: str, prefix: str, width: int) -> None:
    id_format = tables.IdFormat.parse(fmt)
    assert (id_format.prefix, id_format.width) == (prefix, width)
    rng = random.Random(5)
    drawn = [id_format.one(rng) for _ in range(300)] + id_format.many(rng, 300)
    shape = re.compile(rf"{re.escape(prefix)}[0-9]{{{width}}}")
    assert all(shape.fullmatch(value) for value in drawn)
    assert all(id_format.pattern.fullmatch(value) for value in drawn)
    assert len(set(drawn)) > min(100, 10**width // 2)
    assert not id_format.pattern.fullmatch(prefix + "0" * (width + 1))
    assert not id_format.pattern.fullmatch(prefix + "٣" * width)  # Arabic-Indic digits


def test_tables_follow_the_config() -> None:
    table = tables.tables(DEFAULT)
    assert table.payers.values == DEFAULT.payers
    assert table.max_distance == max(int(d) for d in DEFAULT.zip_distances)
    assert table.band("young") == DEFAULT.age_bands.young
    assert tables.tables(DEFAULT) is table


# --- ZIPs and phones -------------------------------------------------------------------


def test_zip_pool_of_a_state_is_its_residential_zips() -> None:
    expected = sorted(z for z, (state, _, _) in residential_rows().items() if state == "CA")
    assert list(tables.zip_pool("CA")) == expected
    assert set(tables.zip_pool(None)) == set(residential_rows())


@pytest.mark.parametrize("state", ["XX", 5])
def test_zip_pool_of_a_bad_state_is_a_variant_error(state: object) -> None:
    with pytest.raises(VariantError, match=re.escape(repr(state))):
        tables.zip_pool(state)  # type: ignore[arg-type]


@pytest.mark.parametrize(("center", "state"), [("20678", None), ("20678", "VA"), ("20678", "DE")])
def test_near_choices_is_the_intersection_of_state_and_radius(
    center: str, state: str | None
) -> None:
    row = zipcodes.matching(center)[0]
    origin = (float(row["lat"]), float(row["long"]))
    choices = dict(tables.near_choices(center, state, DEFAULT.zip_distances))
    for distance in DEFAULT.zip_distances:
        miles = int(distance)
        within = {
            z: cosine_miles(origin, (lat, lon))
            for z, (st, lat, lon) in residential_rows().items()
            if state is None or st == state
        }
        surely = {z for z, d in within.items() if d <= miles - TOLERANCE_MILES}
        maybe = {z for z, d in within.items() if d <= miles + TOLERANCE_MILES}
        if not maybe:
            assert distance not in choices
            continue
        assert surely <= set(choices[distance]) <= maybe
        if state is None:
            assert center in choices[distance]
    assert list(choices) == [d for d in DEFAULT.zip_distances if d in choices]


def test_near_choices_with_an_empty_intersection_is_a_variant_error() -> None:
    with pytest.raises(VariantError) as info:
        tables.near_choices("20678", "CA", DEFAULT.zip_distances)
    assert "'CA'" in str(info.value)
    assert "'20678'" in str(info.value)


@pytest.mark.parametrize("center", ["00000", 20678])
def test_near_choices_of_a_bad_centre_is_a_variant_error(center: object) -> None:
    with pytest.raises(VariantError, match=re.escape(repr(center))):
        tables.near_choices(center, None, DEFAULT.zip_distances)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["20678", "10001", "94110", "99501", "00901"])
def test_fictional_phone_uses_an_area_code_of_the_zip_and_the_555_01xx_range(code: str) -> None:
    area_codes = set(zipcodes.matching(code)[0]["area_codes"])
    rng = random.Random(9)
    phones = [draws.phone(code, rng) for _ in range(300)]
    for phone in phones:
        assert re.fullmatch(r"[0-9]{10}", phone)
        assert phone[:3] in area_codes
        assert 5550100 <= int(phone[3:]) <= 5550199
    assert len({phone[3:] for phone in phones}) > 80
