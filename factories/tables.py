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

from . import locations, vector
from .config import Config
from .errors import VariantError, excerpt

__all__ = [
    "ALLERGIES",
    "APPOINTMENT_DAYS",
    "APPOINTMENT_MINUTES",
    "APPOINTMENT_SLOTS",
    "COPAYS",
    "DATE_FORMAT",
    "LANGUAGE_CODES",
    "LANGUAGE_WEIGHTS",
    "MAX_LOCAL_PART",
    "MEDICATIONS",
    "PLAN_TYPES",
    "REASONS_FOR_VISIT",
    "RELATIONSHIP_WEIGHTS",
    "SEX_WEIGHTS",
    "STREET_NAMES",
    "SUBSCRIBER_RELATIONSHIP_WEIGHTS",
    "BirthDates",
    "Choice",
    "IdFormat",
    "Tables",
    "age",
    "age_band_start",
    "area_codes",
    "birth_date_range",
    "birth_dates",
    "email_slug",
    "fictional_number",
    "first_names",
    "format_date",
    "languages",
    "last_names",
    "name_sexes",
    "near_choices",
    "parse_date",
    "plan_types",
    "plan_weights",
    "relationships",
    "sexes",
    "subscriber_relationships",
    "tables",
    "weighted",
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

    __slots__ = ("_column", "cum_weights", "total", "values")

    def __init__(self, values: Sequence[str], weights: Sequence[float] | None = None) -> None:
        self.values = tuple(values)
        self.cum_weights = tuple(accumulate(weights)) if weights is not None else None
        self.total = self.cum_weights[-1] if self.cum_weights else float(len(self.values))
        self._column = vector.Table(self.values, self.cum_weights)

    def one(self, rng: random.Random) -> str:
        """Draw one value (as ``rng.choices(...)[0]`` does, without its overhead)."""
        if self.cum_weights is None:
            return self.values[int(rng.random() * self.total)]
        # hi guards against rounding up to the total, as random.choices does.
        x = rng.random() * self.total
        return self.values[bisect.bisect(self.cum_weights, x, 0, len(self.values) - 1)]

    def many(self, rng: random.Random, k: int) -> list[str]:
        """Draw ``k`` values independently: ``rng.choices(values, k=k)``'s values."""
        return self._column.choices(rng, k)

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
            return table.many(rng, k)
        template = f"{self.prefix.replace('%', '%%')}%0{self.width}d"
        return [template % n for n in rng.choices(range(10**self.width), k=k)]


# The largest id table kept in memory; wider formats are formatted draw by draw.
_MAX_ID_TABLE = 100_000


@lru_cache(maxsize=4)
def _id_table(fmt: IdFormat) -> Choice | None:
    if 10**fmt.width > _MAX_ID_TABLE:
        return None
    template = f"{fmt.prefix.replace('%', '%%')}%0{fmt.width}d"
    return Choice([template % n for n in range(10**fmt.width)])


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
        self.payer_formats = {payer: IdFormat.parse(fmt) for payer, fmt in cfg.payer_formats}

    def member_id(self, payer: str) -> IdFormat:
        """Return the member-id format of a payer: its own, else ``idNumber``'s."""
        return self.payer_formats.get(payer, self.id_number)

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
        return self._choice.many(rng, k)

    @cached_property
    def _choice(self) -> Choice:
        return Choice(self.table)


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


# --- intake and insurance ------------------------------------------------------------
# Small curated tables of plain words a form accepts. Each weight table cites its
# source; the figures are rounded, and only their proportions matter.

#: FHIR's administrative gender codes (http://hl7.org/fhir/administrative-gender),
#: weighted as US data shows: female 50.5% and male 49.5% of the population (US
#: Census Bureau, ACS 2022 1-year, table S0101), with 0.5% "other" for the share of
#: adults who are nonbinary (Williams Institute, "Nonbinary LGBTQ Adults in the
#: United States", 2021) and 0.2% "unknown" for forms left blank.
SEX_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("female", 50.5),
    ("male", 49.5),
    ("other", 0.5),
    ("unknown", 0.2),
)

#: Languages spoken at home by the population 5 years and over, in thousands: US
#: Census Bureau, American Community Survey 2019 1-year estimates, table B16001
#: ("Language Spoken at Home by Ability to Speak English"), the 14 largest groups.
#: The smaller languages are left out, so English is 83% of this table (78% of all).
LANGUAGE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("English", 241_000),
    ("Spanish", 41_760),
    ("Chinese", 3_490),
    ("Tagalog", 1_760),
    ("Vietnamese", 1_570),
    ("Arabic", 1_260),
    ("French", 1_170),
    ("Korean", 1_080),
    ("Russian", 940),
    ("Haitian Creole", 920),
    ("German", 890),
    ("Hindi", 870),
    ("Portuguese", 780),
    ("Italian", 540),
)
#: The BCP-47 language tag of each language of LANGUAGE_WEIGHTS (its ISO 639-1 code,
#: as the IANA Language Subtag Registry lists it), for FHIR's ``communication``.
LANGUAGE_CODES: dict[str, str] = {
    "English": "en",
    "Spanish": "es",
    "Chinese": "zh",
    "Tagalog": "tl",
    "Vietnamese": "vi",
    "Arabic": "ar",
    "French": "fr",
    "Korean": "ko",
    "Russian": "ru",
    "Haitian Creole": "ht",
    "German": "de",
    "Hindi": "hi",
    "Portuguese": "pt",
    "Italian": "it",
}

#: The most common US street names: the National League of Cities' count over the
#: US Census Bureau's street data ("Most common U.S. street names", NLC, 1993).
STREET_NAMES: tuple[str, ...] = (
    "Second",
    "Third",
    "First",
    "Fourth",
    "Park",
    "Fifth",
    "Main",
    "Sixth",
    "Oak",
    "Seventh",
    "Pine",
    "Maple",
    "Cedar",
    "Eighth",
    "Elm",
    "View",
    "Washington",
    "Ninth",
    "Lake",
    "Hill",
)
#: Street suffixes, as the USPS abbreviates them (Publication 28, appendix C1).
STREET_SUFFIXES: tuple[str, ...] = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl")
#: Secondary unit designators (USPS Publication 28, appendix C2).
UNIT_DESIGNATORS: tuple[str, ...] = ("Apt", "Unit", "Suite")
#: The share of addresses with a second line (an apartment or unit): about a third
#: of US households live in multi-unit buildings (ACS 2022 1-year, table DP04).
LINE2_SHARE = 0.3

#: Emergency contacts' relationships to the patient, weighted by how often intake
#: forms name them (a curated estimate: spouses and parents most often).
RELATIONSHIP_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("spouse", 35),
    ("parent", 25),
    ("child", 15),
    ("sibling", 10),
    ("friend", 10),
    ("other", 5),
)
#: The share of emergency contacts (family only) who share the patient's last name.
SHARED_LAST_NAME = 0.7

#: Reasons for a primary-care visit, in a patient's plain words (after the most
#: frequent reasons of the CDC's National Ambulatory Medical Care Survey, 2019).
REASONS_FOR_VISIT: tuple[str, ...] = (
    "Annual physical",
    "Follow-up visit",
    "Cough",
    "Sore throat",
    "Back pain",
    "Knee pain",
    "Headache",
    "Skin rash",
    "Ear pain",
    "Stomach pain",
    "Blood pressure check",
    "Diabetes check",
    "Vaccination",
    "Prescription refill",
    "Lab results review",
    "Allergy symptoms",
    "Fever",
    "Fatigue",
)

#: Common allergies (drug allergies and the foods the FDA names as major allergens).
ALLERGIES: tuple[str, ...] = (
    "Penicillin",
    "Sulfa drugs",
    "Aspirin",
    "Ibuprofen",
    "Codeine",
    "Latex",
    "Peanuts",
    "Tree nuts",
    "Shellfish",
    "Eggs",
    "Milk",
    "Bee stings",
    "Pollen",
    "Dust mites",
)
#: The share of patients who report no allergy (most intake forms say "none").
NO_ALLERGY_SHARE = 0.6

#: The most prescribed US drugs (ClinCalc DrugStats, from the Medical Expenditure
#: Panel Survey, 2021), generic names.
MEDICATIONS: tuple[str, ...] = (
    "Atorvastatin",
    "Metformin",
    "Levothyroxine",
    "Lisinopril",
    "Amlodipine",
    "Metoprolol",
    "Albuterol",
    "Omeprazole",
    "Losartan",
    "Gabapentin",
    "Hydrochlorothiazide",
    "Sertraline",
    "Simvastatin",
    "Montelukast",
)
#: The share of adults who take no prescription drug (CDC, NCHS Data Brief 334: about
#: half of US adults used one in the past 30 days).
NO_MEDICATION_SHARE = 0.5
#: At most this many allergies or medications are listed.
MAX_LISTED = 3

#: Appointment slots: on the quarter hour, the first at 08:00, the last at 16:45,
#: so that a 15-minute visit ends by 17:00.
APPOINTMENT_SLOTS: tuple[str, ...] = tuple(
    f"{minutes // 60:02d}:{minutes % 60:02d}" for minutes in range(8 * 60, 17 * 60, 15)
)
#: How long a visit is, in minutes: one slot.
APPOINTMENT_MINUTES = 15
#: An appointment is on a business day (Monday to Friday) within this many days
#: after the reference date.
APPOINTMENT_DAYS = 90

#: Plan types, and their weights by age: HMO, PPO, EPO and POS are employer and
#: marketplace plans (KFF Employer Health Benefits Survey 2023: PPO 47%, HMO 13%,
#: POS 8%, with EPOs counted among HMOs); Medicare Advantage only from 65 (or for
#: a disabled patient); Medicaid managed care weighted toward the young (KFF:
#: Medicaid covers about a quarter of adults under 30, and far fewer after).
PLAN_TYPES: tuple[str, ...] = (
    "HMO",
    "PPO",
    "EPO",
    "POS",
    "Medicare Advantage",
    "Medicaid managed care",
)
#: Weights of PLAN_TYPES by age band: (lowest age, weights).
PLAN_WEIGHTS_BY_AGE: tuple[tuple[int, tuple[float, ...]], ...] = (
    (0, (13, 47, 6, 8, 0, 26)),
    (30, (15, 52, 7, 9, 0, 17)),
    (45, (16, 56, 7, 9, 0, 12)),
    (65, (4, 10, 2, 2, 72, 10)),
)
#: The weights of a disabled patient under 65: Medicare covers them.
PLAN_WEIGHTS_DISABLED: tuple[float, ...] = (4, 10, 2, 2, 62, 20)
#: Typical copays of a primary-care visit per plan type, in whole dollars (KFF
#: Employer Health Benefits Survey 2023: averages of $25-$30; Medicare Advantage
#: and Medicaid plans often charge little or nothing).
COPAYS: dict[str, tuple[int, ...]] = {
    "HMO": (10, 15, 20, 25, 30, 35, 40),
    "PPO": (20, 25, 30, 35, 40, 45, 50),
    "EPO": (15, 20, 25, 30, 35, 40),
    "POS": (15, 20, 25, 30, 35, 40),
    "Medicare Advantage": (0, 5, 10, 15, 20),
    "Medicaid managed care": (0, 1, 2, 3, 4),
}
#: The patient's relationship to the subscriber (FHIR's subscriber-relationship
#: codes, narrowed), and its weights: most patients are their own subscriber.
SUBSCRIBER_RELATIONSHIP_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("self", 70),
    ("spouse", 18),
    ("child", 9),
    ("other", 3),
)
#: A child is covered on a parent's plan up to this age (the Affordable Care Act).
DEPENDENT_AGE_LIMIT = 26
#: A parent is at least this many years older than the child.
MIN_PARENT_GAP = 15
#: A parent is at most this many years older than the child.
MAX_PARENT_GAP = 45
#: A spouse's age differs from the patient's by at most this many years.
MAX_SPOUSE_GAP = 15
#: Subscribers are adults: at least this old.
ADULT_AGE = 18
#: The oldest subscriber drawn.
MAX_SUBSCRIBER_AGE = 100
#: A plan started up to this many days before the reference date.
MAX_COVERAGE_DAYS = 5 * 365
#: The share of plans with a termination date (the others are open-ended).
TERMINATED_SHARE = 0.3


def weighted(pairs: Sequence[tuple[str, float]]) -> Choice:
    """Return a weighted :class:`Choice` of ``(value, weight)`` pairs."""
    return Choice([value for value, _ in pairs], [weight for _, weight in pairs])


@cache
def sexes() -> Choice:
    """The administrative genders with their weights."""
    return weighted(SEX_WEIGHTS)


@cache
def name_sexes() -> dict[str, str]:
    """Which first names Faker's tables call female or male (names in both: neither)."""
    from faker.providers.person.en_US import Provider

    female, male = set(Provider.first_names_female), set(Provider.first_names_male)
    out = {name: "female" for name in female - male}
    out.update((name, "male") for name in male - female)
    return out


@cache
def languages() -> Choice:
    """The languages spoken at home, weighted by the ACS."""
    return weighted(LANGUAGE_WEIGHTS)


@cache
def relationships() -> Choice:
    """Emergency contacts' relationships, weighted."""
    return weighted(RELATIONSHIP_WEIGHTS)


@cache
def subscriber_relationships() -> Choice:
    """The patient's relationship to the subscriber, weighted."""
    return weighted(SUBSCRIBER_RELATIONSHIP_WEIGHTS)


def plan_weights(age_years: int, disabled: bool = False) -> tuple[float, ...]:
    """Return the weights of :data:`PLAN_TYPES` for a patient of an age."""
    if disabled and age_years < 65:
        return PLAN_WEIGHTS_DISABLED
    weights = PLAN_WEIGHTS_BY_AGE[0][1]
    for low, band in PLAN_WEIGHTS_BY_AGE:
        if age_years >= low:
            weights = band
    return weights


@lru_cache(maxsize=16)
def plan_types(age_years_band: int, disabled: bool = False) -> Choice:
    """Return the plan types for an age band's lowest age (see :func:`plan_weights`)."""
    return Choice(PLAN_TYPES, plan_weights(age_years_band, disabled))


def age_band_start(age_years: int) -> int:
    """Return the lowest age of the plan-weight band an age falls in."""
    start = 0
    for low, _ in PLAN_WEIGHTS_BY_AGE:
        if age_years >= low:
            start = low
    return start


def parse_date(text: str) -> date:
    """Parse a ``MM/DD/YYYY`` date (raises ``ValueError``)."""
    if not re.fullmatch(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", text):
        raise ValueError(text)
    month, day, year = text.split("/")
    return date(int(year), int(month), int(day))
