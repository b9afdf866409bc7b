"""Independent re-implementations that the tests check the library against.

Each is written from the public data (the ``zipcodes`` package) and the calendar,
never from our modules, so a bug in the library cannot hide in its own oracle.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date
from typing import Any

import zipcodes

RADIUS_MILES = 6371.0088 / 1.609344  # mean Earth radius (IUGG), in statute miles


@functools.cache
def zip_row(code: str) -> dict[str, Any]:
    """The data set's one row for a ZIP."""
    rows = zipcodes.matching(code)
    assert len(rows) == 1, code
    return dict(rows[0])


def coords(code: str) -> tuple[float, float]:
    """A ZIP's (latitude, longitude)."""
    row = zip_row(code)
    return float(row["lat"]), float(row["long"])


def cosine_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance by the spherical law of cosines (the library uses haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    cos_angle = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(
        lon2 - lon1
    )
    return RADIUS_MILES * math.acos(max(-1.0, min(1.0, cos_angle)))


def zip_miles(a: str, b: str) -> float:
    """Distance between two ZIPs."""
    return cosine_miles(coords(a), coords(b))


@functools.cache
def residential_rows() -> dict[str, tuple[str, float, float]]:
    """ZIP -> (state, lat, long) of active STANDARD ZIPs with coordinates and area codes."""
    out = {}
    for row in zipcodes.list_all():
        lat, lon = float(row["lat"] or 0), float(row["long"] or 0)
        if (
            row["active"]
            and row["zip_code_type"] == "STANDARD"
            and row["area_codes"]
            and (lat, lon) != (0.0, 0.0)
        ):
            out[row["zip_code"]] = (row["state"], lat, lon)
    return out


def born_on(dob: str) -> date:
    """Parse ``MM/DD/YYYY`` by hand (raises if it is not a real date)."""
    assert re.fullmatch(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", dob), dob
    return date(int(dob[6:]), int(dob[:2]), int(dob[3:5]))


def years_old(born: date, on: date) -> int:
    """Age in whole years; born on 29 February, the birthday is 1 March in common years."""
    try:
        birthday = born.replace(year=on.year)
    except ValueError:
        birthday = date(on.year, 3, 1)
    return on.year - born.year - (birthday > on)


def chi_square(observed: dict[str, int], expected: dict[str, float]) -> tuple[float, float]:
    """Pearson's statistic and its 0.1% critical value (Wilson-Hilferty), pooling small cells.

    Cells expected below 5 are pooled into one, as the test requires.
    """
    pooled_o, pooled_e = 0, 0.0
    stat, cells = 0.0, 0
    for key, want in expected.items():
        got = observed.get(key, 0)
        if want < 5:
            pooled_o += got
            pooled_e += want
            continue
        stat += (got - want) ** 2 / want
        cells += 1
    if pooled_e > 0:
        stat += (pooled_o - pooled_e) ** 2 / max(pooled_e, 1e-9)
        cells += 1
    df = max(cells - 1, 1)
    z = 3.090232  # the standard normal's 99.9th percentile
    critical = df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3
    return stat, critical


def business_day(day: date) -> bool:
    """Monday to Friday."""
    return day.isoweekday() <= 5
