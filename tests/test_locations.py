"""Tests of bookslot_factories.locations, checked against the ``zipcodes`` package directly."""

from __future__ import annotations

import itertools

import bookslot_factories
import pytest
from bookslot_factories import locations
from bookslot_factories.errors import BookslotError, LocationError, VariantError
from oracles import cosine_miles, residential_rows, zip_row

# Mean Earth radius (IUGG, 6371.0088 km) in statute miles, computed here rather than imported.
TOLERANCE_MILES = 0.01


@pytest.fixture(autouse=True)
def _seeded() -> None:
    bookslot_factories.seed(11)


@pytest.mark.parametrize(
    "code",
    [
        "20678",  # the static ZIP
        "10001",
        "94110",
        "99501",  # Anchorage
        "96813",  # Honolulu
        "00901",  # San Juan
        "09001",  # a military ZIP: real but not residential
    ],
)
def test_lookup_matches_zipcodes(code: str) -> None:
    row = zip_row(code)
    place = locations.lookup(code)
    assert place.zip == code
    assert place.city == row["city"]
    assert place.state == row["state"]
    assert place.county == row["county"]
    assert place.timezone == row["timezone"]
    assert place.area_codes == tuple(row["area_codes"])
    assert place.kind == row["zip_code_type"]
    assert place.active is bool(row["active"])
    assert place.latitude == pytest.approx(float(row["lat"] or 0), abs=1e-9)
    assert place.longitude == pytest.approx(float(row["long"] or 0), abs=1e-9)


def test_lookup_of_the_static_zip() -> None:
    place = locations.lookup("20678")
    assert (place.state, place.city) == (zip_row("20678")["state"], zip_row("20678")["city"])
    assert place.residential


@pytest.mark.parametrize("code", ["00000", "99999", "2067", "206780", "", "abcde", 20678, None])
def test_lookup_of_an_unknown_zip_raises_location_error(code: object) -> None:
    with pytest.raises(LocationError) as info:
        locations.lookup(code)  # type: ignore[arg-type]
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, BookslotError)
    assert repr(code) in str(info.value)
    assert "expected" in str(info.value)


def test_residential_is_active_standard_zips_with_coordinates_and_area_codes() -> None:
    expected = residential_rows()
    got = locations.residential()
    assert list(got) == sorted(got)
    assert set(got) == set(expected)
    for code in got[:: max(1, len(got) // 500)]:
        row = zip_row(code)
        assert row["active"] is True
        assert row["zip_code_type"] == "STANDARD"


@pytest.mark.parametrize("state", ["CA", "MD", "AK", "PR"])
def test_residential_of_a_state(state: str) -> None:
    expected = sorted(z for z, (st, _, _) in residential_rows().items() if st == state)
    assert list(locations.residential(state)) == expected
    assert expected


@pytest.mark.parametrize("state", ["XX", "ca", "", "California"])
def test_residential_of_an_unknown_state_names_it_and_lists_valid_codes(state: str) -> None:
    with pytest.raises(VariantError) as info:
        locations.residential(state)
    message = str(info.value)
    assert repr(state) in message
    for code in ("CA", "MD", "NY", "TX"):
        assert code in message


@pytest.mark.parametrize(
    ("a", "b"),
    [("20678", "10001"), ("94110", "10001"), ("99501", "96813"), ("20678", "20676")],
)
def test_distance_miles_agrees_with_the_law_of_cosines(a: str, b: str) -> None:
    place_a, place_b = locations.lookup(a), locations.lookup(b)
    expected = cosine_miles(
        (float(zip_row(a)["lat"]), float(zip_row(a)["long"])),
        (float(zip_row(b)["lat"]), float(zip_row(b)["long"])),
    )
    assert locations.distance_miles(place_a, place_b) == pytest.approx(
        expected, abs=TOLERANCE_MILES
    )
    assert locations.distance_miles(place_b, place_a) == pytest.approx(
        expected, abs=TOLERANCE_MILES
    )
    assert locations.distance_miles(place_a, place_a) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(("center", "miles"), [("20678", 25), ("20678", 100), ("10001", 50)])
def test_neighbours_are_the_residential_zips_within_the_radius_nearest_first(
    center: str, miles: int
) -> None:
    origin = (float(zip_row(center)["lat"]), float(zip_row(center)["long"]))
    distances = {
        z: cosine_miles(origin, (lat, lon)) for z, (_, lat, lon) in residential_rows().items()
    }
    got = locations.neighbours(center, miles, 100)
    surely_in = {z for z, d in distances.items() if d <= miles - TOLERANCE_MILES}
    maybe_in = {z for z, d in distances.items() if d <= miles + TOLERANCE_MILES}
    assert surely_in <= set(got) <= maybe_in
    assert len(set(got)) == len(got)
    assert got[0] == center  # the centre itself, at distance 0
    ordered = [distances[z] for z in got]
    assert all(x <= y + TOLERANCE_MILES for x, y in itertools.pairwise(ordered))


def test_neighbours_of_an_unknown_centre_raise_location_error() -> None:
    with pytest.raises(LocationError, match="'00000'"):
        locations.neighbours("00000", 25)
