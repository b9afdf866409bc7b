"""The data tables, each with its source, and the samplers drawn from them.

- names: Faker's en_US first and last name tables, weighted as Faker weights them
  (``faker.providers.person.en_US``, from US Census Bureau frequencies);
- payers, contact methods, distances, email domains, id formats, age bands and
  booking locations: the active :class:`~bookslot_factories.config.Config`
  (its defaults cite their sources in :mod:`bookslot_factories.config`);
- ZIPs, coordinates and telephone area codes: the ``zipcodes`` data set (see
  :mod:`bookslot_factories.locations`).

A table is sampled one value at a time (``one``, for the factory) or a column at a
time (``many``, for the bulk engine) with the same distribution; both take the random
source as an argument. How each field combines the tables is :mod:`~bookslot_factories.draws`.
"""

from __future__ import annotations

import bisect
import calendar
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, cached_property, lru_cache
from itertools import accumulate

from . import locations
from .config import Config
from .errors import VariantError, excerpt

__all__ = [
    "DATE_FORMAT",
    "MAX_LOCAL_PART",
    "BirthDates",
    "Choice",
    "IdFormat",
    "Tables",
    "age",
    "area_codes",
    "birth_date_range",
    "birth_dates",
    "email_slug",
    "fictional_number",
    "first_names",
    "format_date",
    "last_names",
    "near_choices",
    "tables",
    "zip_choice",
    "zip_pool",
]

DATE_FORMAT = "%m/%d/%Y"


def format_date(day: date) -> str:
    """Format a date as ``MM/DD/YYYY``, the year always 4 digits.

    ``strftime("%Y")`` gives ``998`` for the year 998 on glibc, not ``0998``.

    >>> format_date(date(998, 5, 20))
    '05/20/0998'
    """
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


class Choice:
    """A finite table of values, drawn uniformly or with weights.

    >>> Choice(("a", "b")).one(random.Random(1)) in ("a", "b")
    True
    """

    __slots__ = ("cum_weights", "total", "values")

    def __init__(self, values: Sequence[str], weights: Sequence[float] | None = None) -> None:
        self.values = tuple(values)
        self.cum_weights = tuple(accumulate(weights)) if weights is not None else None
        self.total = self.cum_weights[-1] if self.cum_weights else float(len(self.values))

    def one(self, rng: random.Random) -> str:
        """Draw one value (as ``rng.choices(...)[0]`` does, without its overhead)."""
        if self.cum_weights is None:
            return self.values[int(rng.random() * self.total)]
        # hi guards against rounding up to the total, as random.choices does.
        x = rng.random() * self.total
        return self.values[bisect.bisect(self.cum_weights, x, 0, len(self.values) - 1)]

    def many(self, rng: random.Random, k: int) -> list[str]:
        """Draw ``k`` values independently."""
        return rng.choices(self.values, cum_weights=self.cum_weights, k=k)

    def __len__(self) -> int:
        return len(self.values)


@cache
def _faker_names() -> tuple[Choice, Choice]:
    # Faker's tables, not Faker's calls: the same names and weights, 10x cheaper to draw.
    from faker.providers.person.en_US import Provider

    first = Provider.first_names
    last = Provider.last_names
    return Choice(list(first), list(first.values())), Choice(list(last), list(last.values()))


def first_names() -> Choice:
    """Faker's en_US first names, with Faker's weights (loaded on first use: ~20 ms)."""
    return _faker_names()[0]


def last_names() -> Choice:
    """Faker's en_US last names, with Faker's weights (loaded on first use)."""
    return _faker_names()[1]


@cache
def email_slug(name: str) -> str:
    """Return the lowercase ASCII letters of a name, accents dropped.

    >>> email_slug("O'Connor-Núñez")
    'oconnornunez'
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", ascii_text.lower()) or "x"


#: The longest local part (before the ``@``) an address may have (RFC 5321).
MAX_LOCAL_PART = 64


@dataclass(frozen=True)
class IdFormat:
    """An id format such as ``INS-#####``: a prefix and a run of ``#`` digits."""

    prefix: str
    width: int

    @classmethod
    def parse(cls, text: str) -> IdFormat:
        """Split a validated format (see :mod:`factories.config`) into prefix and width."""
        prefix = text.rstrip("#")
        return cls(prefix, len(text) - len(prefix))

    @property
    def pattern(self) -> re.Pattern[str]:
        """The regular expression the validator checks ids against."""
        return re.compile(rf"{re.escape(self.prefix)}[0-9]{{{self.width}}}")

    def one(self, rng: random.Random) -> str:
        """Draw one id, e.g. ``INS-04213``."""
        return f"{self.prefix}{rng.randrange(10**self.width):0{self.width}d}"

    def many(self, rng: random.Random, k: int) -> list[str]:
        """Draw ``k`` ids (the same values as ``k`` draws from a table of every id)."""
        table = _id_table(self)
        if table is not None:
            return rng.choices(table, k=k)
        template = f"{self.prefix.replace('%', '%%')}%0{self.width}d"
        return [template % n for n in rng.choices(range(10**self.width), k=k)]


# The largest id table kept in memory; wider formats are formatted draw by draw.
_MAX_ID_TABLE = 100_000


@lru_cache(maxsize=4)
def _id_table(fmt: IdFormat) -> tuple[str, ...] | None:
    if 10**fmt.width > _MAX_ID_TABLE:
        return None
    template = f"{fmt.prefix.replace('%', '%%')}%0{fmt.width}d"
    return tuple(template % n for n in range(10**fmt.width))


class Tables:
    """The tables derived from one :class:`Config`, built once per config."""

    def __init__(self, cfg: Config) -> None:
        self.config = cfg
        self.payers = Choice(cfg.payers)
        self.contact_methods = Choice(cfg.contact_methods)
        self.zip_distances = Choice(cfg.zip_distances)
        self.email_domains = Choice(cfg.email_domains)
        self.id_number = IdFormat.parse(cfg.id_number_format)
        self.group_number = IdFormat.parse(cfg.group_number_format)
        self.max_distance = max(int(d) for d in cfg.zip_distances)

    def band(self, name: str) -> tuple[int, int]:
        """Return the age band ``default``, ``young`` or ``senior``."""
        band: tuple[int, int] = getattr(self.config.age_bands, name)
        return band


_tables: tuple[Config, Tables] | None = None


def tables(cfg: Config) -> Tables:
    """Return the tables of ``cfg``, cached for the config last asked for."""
    global _tables
    # An identity check, not a hash: this runs once per payload on the factory's hot path.
    if _tables is None or _tables[0] is not cfg:
        _tables = (cfg, _tables_for(cfg))
    return _tables[1]


@lru_cache(maxsize=8)
def _tables_for(cfg: Config) -> Tables:
    return Tables(cfg)


# --- ages -------------------------------------------------------------------------


def age(born: date, on: date) -> int:
    """Return the age in whole years on a date.

    A person born on 29 February turns a year older on 1 March in non-leap years.

    >>> age(date(2008, 2, 29), date(2026, 2, 28)), age(date(2008, 2, 29), date(2026, 3, 1))
    (17, 18)
    """
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _years_before(day: date, years: int) -> date:
    # 29 February in a year without one becomes 28 February: a person born on that
    # 28 February is already a whole number of years old on the 29th.
    year = day.year - years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def birth_date_range(low: int, high: int, as_of: date) -> tuple[date, date]:
    """Return the first and last birth dates of people aged ``low`` to ``high`` on ``as_of``.

    >>> birth_date_range(18, 18, date(2026, 6, 15))
    (datetime.date(2007, 6, 16), datetime.date(2008, 6, 15))
    """
    if as_of.year - high - 1 < date.min.year:
        raise VariantError(f"an age of {high} on {as_of} is before year 1")
    latest = _years_before(as_of, low)
    earliest = _years_before(as_of, high + 1) + timedelta(days=1)
    return earliest, latest


class BirthDates:
    """The birth dates of an age band on a reference date, drawn uniformly over its days."""

    def __init__(self, low: int, high: int, as_of: date) -> None:
        earliest, latest = birth_date_range(low, high, as_of)
        self.first = earliest.toordinal()
        self.days = latest.toordinal() - self.first + 1

    def one(self, rng: random.Random) -> str:
        """Draw one date as ``MM/DD/YYYY`` (cheap: no table is built for a single draw)."""
        return format_date(date.fromordinal(self.first + rng.randrange(self.days)))

    @cached_property
    def table(self) -> tuple[str, ...]:
        """Every date of the band as ``MM/DD/YYYY``, oldest first."""
        return tuple(
            format_date(date.fromordinal(n)) for n in range(self.first, self.first + self.days)
        )

    def many(self, rng: random.Random, k: int) -> list[str]:
        """Draw ``k`` dates (from the table, built on first use)."""
        return rng.choices(self.table, k=k)


@lru_cache(maxsize=32)
def birth_dates(low: int, high: int, as_of: date) -> BirthDates:
    """Return the (cached) birth-date sampler of an age band on a reference date."""
    return BirthDates(low, high, as_of)


# --- ZIPs and phones ---------------------------------------------------------------


def zip_pool(state: str | None) -> Sequence[str]:
    """Return the residential ZIPs a dynamic ZIP is drawn from (of ``state``, if given).

    Raises:
        VariantError: ``state`` is not a known state code.
    """
    if state is not None and not isinstance(state, str):
        raise VariantError(f"state {excerpt(state)} is not a string; expected a code such as 'CA'")
    pool = locations.residential(state)
    if not pool:  # pragma: no cover - every state code of the data set has residential ZIPs
        raise VariantError(f"state {state!r} has no residential ZIP codes")
    return pool


@cache
def zip_choice(state: str | None) -> Choice:
    """Return the residential ZIPs (of ``state``) as a uniform :class:`Choice`."""
    return Choice(zip_pool(state))


@lru_cache(maxsize=64)
def near_choices(
    center: str, state: str | None, distances: tuple[str, ...]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Return, for each distance that has one, the residential ZIPs within it of ``center``.

    Only those distances are drawn, so a ``near`` payload always has a neighbour.

    Raises:
        VariantError: ``center`` is not real, or no residential ZIP (of ``state``) lies
            within the largest distance.
    """
    if not isinstance(center, str):
        raise VariantError(
            f"near {excerpt(center)} is not a string; expected a ZIP code like '20678'"
        )
    try:
        place = locations.lookup(center)
    except LookupError as exc:
        raise VariantError(f"near: {exc}") from None
    if (place.latitude, place.longitude) == (0.0, 0.0):
        raise VariantError(
            f"near {center!r} has no coordinates in the ZIP data set (a military, PO box or "
            "company ZIP); expected a residential ZIP code"
        )
    allowed = set(zip_pool(state)) if state is not None else None
    largest = max(int(d) for d in distances)
    out = []
    for distance in distances:
        zips = locations.neighbours(center, int(distance), largest)
        if allowed is not None:
            zips = [z for z in zips if z in allowed]
        if zips:
            out.append((distance, tuple(zips)))
    if not out:
        where = f" in state {state!r}" if state else ""
        raise VariantError(
            f"no residential ZIP code{where} lies within {largest} miles of {center!r}; "
            "choose another centre or larger zip_distances"
        )
    return tuple(out)


@cache
def area_codes(zip_code: str) -> tuple[str, ...]:
    """Return the telephone area codes that serve a ZIP.

    A few real ZIPs list none; they get the area codes of their state's first
    residential ZIP.
    """
    try:
        place = locations.lookup(zip_code)
    except LookupError as exc:
        raise VariantError(f"dynamic_phone: {exc}") from None
    if place.area_codes:
        return place.area_codes
    if place.state not in locations.states():
        raise VariantError(
            f"dynamic_phone: ZIP {zip_code!r} has no telephone area code in the data set; "
            "expected a residential ZIP code"
        )
    return locations.lookup(zip_pool(place.state)[0]).area_codes


def fictional_number(area_code: str, line: int) -> str:
    """Return the 10-digit number ``area_code``-555-01``line`` (``line`` from 0 to 99).

    555-0100 to 555-0199 is the range NANPA reserves for fiction, so the number
    never rings a real person.

    >>> fictional_number("301", 7)
    '3015550107'
    """
    return f"{area_code}55501{line:02d}"
