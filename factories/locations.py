"""Real US ZIP codes, from the ``zipcodes`` package's data set (no network).

The data set loads on first use (it takes most of a second), never at import.

*Residential* ZIPs are those a patient can live in: active, of type ``STANDARD``
(not PO boxes, military or single-company codes), with coordinates and at least
one telephone area code. Dynamic ZIPs are drawn from these.

>>> lookup("20678").state
'MD'
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from .errors import LocationError, VariantError, excerpt

__all__ = ["EARTH_RADIUS_MILES", "Place", "distance_miles", "lookup", "neighbours", "residential"]

#: Mean Earth radius (IUGG), in statute miles.
EARTH_RADIUS_MILES = 3958.7613


@dataclass(frozen=True)
class Place:
    """The place behind a ZIP code."""

    zip: str
    city: str
    state: str
    county: str
    latitude: float
    longitude: float
    timezone: str
    area_codes: tuple[str, ...]
    kind: str
    active: bool

    @property
    def residential(self) -> bool:
        """Whether a patient can live here (see the module docstring)."""
        return (
            self.active
            and self.kind == "STANDARD"
            and bool(self.area_codes)
            and (self.latitude, self.longitude) != (0.0, 0.0)
        )


@cache
def _places() -> dict[str, Place]:
    import zipcodes  # deferred: loading the data set is the slow part

    places = {}
    for row in zipcodes.list_all():  # type: ignore[no-untyped-call]  # untyped library
        place = Place(
            zip=row["zip_code"],
            city=row["city"],
            state=row["state"],
            county=row["county"],
            latitude=float(row["lat"] or 0),
            longitude=float(row["long"] or 0),
            timezone=row["timezone"],
            area_codes=tuple(row["area_codes"]),
            kind=row["zip_code_type"],
            active=bool(row["active"]),
        )
        places[place.zip] = place
    return places


def lookup(zip_code: str) -> Place:
    """Return the place behind a 5-digit ZIP code.

    >>> lookup("20678").city
    'Prince Frederick'

    Raises:
        LocationError: The ZIP code is not in the data set.
    """
    place = _places().get(zip_code) if isinstance(zip_code, str) else None
    if place is None:
        raise LocationError(
            f"ZIP code {excerpt(zip_code)} is not in the US ZIP data set; expected a real "
            "5-digit ZIP"
        )
    return place


@cache
def residential(state: str | None = None) -> tuple[str, ...]:
    """Return the residential ZIPs, sorted, optionally of one state.

    Raises:
        VariantError: ``state`` is not a state code of the data set.
    """
    if state is None:
        return tuple(sorted(p.zip for p in _places().values() if p.residential))
    known = states()
    if state not in known:
        upper = state.upper() if isinstance(state, str) else None
        hint = f"did you mean {upper!r}? " if upper in known else ""
        raise VariantError(
            f"state {excerpt(state)} is not a known US state code; {hint}expected one of "
            f"{', '.join(known)}"
        )
    return tuple(z for z in residential() if _places()[z].state == state)


@cache
def states() -> tuple[str, ...]:
    """Return the two-letter codes of states and territories with residential ZIPs."""
    return tuple(sorted({_places()[z].state for z in residential()}))


def distance_miles(a: Place, b: Place) -> float:
    """Return the great-circle (haversine) distance between two places, in miles."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


@cache
def _by_distance(center: str, max_miles: float) -> tuple[tuple[float, ...], tuple[str, ...]]:
    origin = lookup(center)
    pairs = sorted(
        (d, z) for z in residential() if (d := distance_miles(origin, _places()[z])) <= max_miles
    )
    return tuple(d for d, _ in pairs), tuple(z for _, z in pairs)


def neighbours(center: str, miles: float, max_miles: float | None = None) -> Sequence[str]:
    """Return the residential ZIPs within ``miles`` of ``center``, nearest first.

    ``center`` itself is included when it is residential (distance 0).

    Args:
        center: A real ZIP code.
        miles: The radius.
        max_miles: The largest radius that will be asked of this centre, so one
            sorted table serves them all (defaults to ``miles``).

    Raises:
        LocationError: ``center`` is not a real ZIP code.
    """
    distances, zips = _by_distance(center, max(miles, max_miles or miles))
    return zips[: bisect.bisect_right(distances, miles)]
