"""Each field's draw: the one rule that both the factory and the bulk engine follow.

For every field this module says how a value is drawn, once: a sampler with ``one``
(one value, for the factory's declarations) and ``many`` (a whole column, for the
bulk engine), or a pair of functions side by side where a value depends on another
field. Both take the random source as an argument: the factory passes the seeded
stream of :mod:`~bookslot_factories.seeding`, the bulk engine one stream per column
and block. The factory and the bulk engine therefore agree in distribution, and a
change of rule changes both.

>>> import random
>>> phone("20678", random.Random(1))[3:8]
'55501'
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from typing import Protocol

from . import tables
from .config import Config
from .errors import VariantError, excerpt
from .tables import BirthDates, Choice, IdFormat

__all__ = [
    "Sampler",
    "ZipDraw",
    "contact_method",
    "dob",
    "email",
    "email_domain",
    "emails",
    "first_name",
    "group_number",
    "id_number",
    "last_name",
    "location",
    "locations",
    "member_id",
    "member_ids",
    "member_name",
    "payer",
    "phone",
    "phones",
    "zip_code",
    "zip_distance",
]


class Sampler(Protocol):
    """A table drawn one value or one column at a time, with the same distribution."""

    def one(self, rng: random.Random) -> str:
        """Draw one value."""

    def many(self, rng: random.Random, k: int) -> list[str]:
        """Draw ``k`` values."""


# --- fields drawn from one table --------------------------------------------------------


def first_name() -> Choice:
    """``first_name``: Faker's en_US first names, weighted as Faker weights them."""
    return tables.first_names()


def last_name() -> Choice:
    """``last_name``: Faker's en_US last names, weighted as Faker weights them."""
    return tables.last_names()


def contact_method(cfg: Config) -> Choice:
    """``contact_method``: uniform over the config's contact methods."""
    return tables.tables(cfg).contact_methods


def payer(cfg: Config) -> Choice:
    """``PayerName``: uniform over the config's payers."""
    return tables.tables(cfg).payers


def id_number(cfg: Config) -> IdFormat:
    """``idNumber``: uniform over the digits of the config's format (``INS-#####``)."""
    return tables.tables(cfg).id_number


def member_id(cfg: Config, payer: str) -> IdFormat:
    """``idNumber`` and ``member_id``: the payer's ``payer_formats`` format, else ``idNumber``'s."""
    return tables.tables(cfg).member_id(payer)


def member_ids(cfg: Config, payers: Sequence[str], rng: random.Random) -> list[str]:
    """The ``idNumber`` column when ``payer_formats`` is set: one id per record's payer."""
    table = tables.tables(cfg)
    return [table.member_id(payer).one(rng) for payer in payers]


def group_number(cfg: Config) -> IdFormat:
    """``GroupNumber``: uniform over the digits of the config's format (``GRP-####``)."""
    return tables.tables(cfg).group_number


def email_domain(cfg: Config) -> Choice:
    """The domain of ``email``: uniform over the config's disposable domains."""
    return tables.tables(cfg).email_domains


def dob(cfg: Config, band: str, as_of: date) -> BirthDates:
    """``dob``: uniform over the days of the age band on the reference date."""
    low, high = tables.tables(cfg).band(band)
    return tables.birth_dates(low, high, as_of)


# --- fields made from other fields ------------------------------------------------------


def member_name(first_name: str, last_name: str) -> str:
    """``MemberName``: the first and last name with a space."""
    return f"{first_name} {last_name}"


def email(first_name: str, last_name: str, tag: str, number: int, domain: str) -> str:
    """``email``: unique for each (stream tag, number), by construction.

    Very long names are shortened so the local part stays within 64 characters; the
    tag and number, which make it unique, are never cut.

    >>> email("María", "O'Connor", "k3x9a2f", 17, "mailinator.com")
    'maria.oconnor.k3x9a2f.17@mailinator.com'
    """
    first, last = tables.email_slug(first_name), tables.email_slug(last_name)
    suffix = f".{tag}.{number}"
    room = tables.MAX_LOCAL_PART - len(suffix) - 1  # one for the dot between the names
    if len(first) + len(last) > room:
        keep = max(room // 2, room - len(last))
        first = first[:keep]
        last = last[: room - len(first)]
    return f"{first}.{last}{suffix}@{domain}"


def emails(
    first_names: Sequence[str],
    last_names: Sequence[str],
    tag: str,
    start: int,
    domains: Sequence[str],
) -> list[str]:
    """The ``email`` column: numbers ``start``, ``start + 1``, ... of the stream ``tag``."""
    numbers = range(start, start + len(first_names))
    columns = zip(numbers, first_names, last_names, domains, strict=True)
    firsts = {name: tables.email_slug(name) for name in set(first_names)}
    lasts = {name: tables.email_slug(name) for name in set(last_names)}
    longest_suffix = len(f".{tag}.{numbers[-1]}") if numbers else 0
    longest = max(map(len, firsts.values()), default=0) + max(map(len, lasts.values()), default=0)
    if longest + 1 + longest_suffix > tables.MAX_LOCAL_PART:
        return [email(f, s, tag, n, d) for n, f, s, d in columns]
    # No name of the block needs shortening: the same text as email(), without its
    # per-record slug calls and length check (a third of the column's time).
    middle = f".{tag}."
    return [f"{firsts[f]}.{lasts[s]}{middle}{n}@{d}" for n, f, s, d in columns]


def phone(zip_code: str, rng: random.Random) -> str:
    """``phone_number`` with ``dynamic_phone``: a fictional number of the ZIP's area.

    An area code that serves the ZIP, then 555-0100 to 555-0199, the range NANPA
    reserves for fiction. (Without ``dynamic_phone``: the config's static phone.)
    """
    return _phone(zip_code, rng.random)


def phones(zip_codes: Sequence[str], rng: random.Random) -> list[str]:
    """The ``phone_number`` column with ``dynamic_phone``, one per ZIP."""
    draw = rng.random
    return [_phone(z, draw) for z in zip_codes]


def _phone(zip_code: str, draw: Callable[[], float]) -> str:
    codes = tables.area_codes(zip_code)
    return tables.fictional_number(codes[int(draw() * len(codes))], int(draw() * 100))


# --- ZIP and distance -------------------------------------------------------------------


def zip_distance(cfg: Config, near: str | None, state: str | None) -> Choice:
    """``zip_distance``: uniform over the config's distances.

    With ``near``, only over the distances that have a residential ZIP (of ``state``)
    within them, so a ``near`` payload always has a neighbour.
    """
    if near is None:
        return tables.tables(cfg).zip_distances
    return _near(near, state, cfg.zip_distances)[0]


@lru_cache(maxsize=64)
def _near(
    center: str, state: str | None, distances: tuple[str, ...]
) -> tuple[Choice, dict[str, tuple[str, ...]]]:
    choices = tables.near_choices(center, state, distances)
    return Choice([d for d, _ in choices]), dict(choices)


class ZipDraw:
    """``zip`` for a dynamic, ``state`` or ``near`` choice of ZIP.

    A ``near`` ZIP depends on the record's ``zip_distance``, so both methods take it.
    """

    __slots__ = ("center", "near", "pool", "static")

    def __init__(self, cfg: Config, *, dynamic: bool, state: str | None, near: str | None) -> None:
        self.center = near
        self.static = None if dynamic or state is not None or near is not None else cfg.zip
        self.near = _near(near, state, cfg.zip_distances)[1] if near is not None else None
        dynamic_only = self.static is None and self.near is None
        self.pool = tables.zip_choice(state) if dynamic_only else None

    def one(self, rng: random.Random, distance: str) -> str:
        """Draw one ZIP for a record of ``zip_distance`` ``distance``."""
        if self.static is not None:
            return self.static
        if self.near is not None:
            zips = self.near.get(distance)
            if zips is None:
                raise VariantError(
                    f"no residential ZIP code lies within {excerpt(distance)} miles of "
                    f"{self.center!r}; expected a zip_distance of {', '.join(self.near)}"
                )
            return zips[int(rng.random() * len(zips))]
        assert self.pool is not None
        return self.pool.one(rng)

    def many(self, rng: random.Random, distances: Sequence[str]) -> list[str]:
        """Draw the ZIP column for a column of distances."""
        if self.static is not None:
            return [self.static] * len(distances)
        if self.near is not None:
            near, pick = self.near, rng.random
            return [(z := near[d])[int(pick() * len(z))] for d in distances]
        assert self.pool is not None
        return self.pool.many(rng, len(distances))


@lru_cache(maxsize=64)
def zip_code(cfg: Config, *, dynamic: bool, state: str | None, near: str | None) -> ZipDraw:
    """``zip``: the config's static ZIP, or a real residential one when asked for.

    ``dynamic``, ``state`` and ``near`` ask for a real residential ZIP: of the state,
    and within the record's ``zip_distance`` of ``near``.

    Raises:
        VariantError: ``state`` or ``near`` is unknown, or ``near`` has no neighbour.
    """
    return ZipDraw(cfg, dynamic=dynamic, state=state, near=near)


def location(cfg: Config, index: int) -> str:
    """``zip`` with ``dynamic_location``: the ``index``-th stop of the booking-location cycle."""
    return cfg.locations[index % len(cfg.locations)]


def locations(cfg: Config, start: int, k: int) -> list[str]:
    """The ``zip`` column with ``dynamic_location``, from stop ``start`` of the cycle."""
    places = cfg.locations
    return [places[i % len(places)] for i in range(start, start + k)]
