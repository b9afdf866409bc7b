"""The one parser and checker of variants, seeds, reference dates, counts and workers.

The factory, the bulk engine, the CLI, the plugin and the server all check their
inputs here, so each input has one rule and one message, whoever gives it. Every
failure is a :class:`~bookslot_factories.errors.VariantError` whose message names the
input as the caller spells it: ``senior`` in Python, ``--senior`` on the command line.

>>> Variants.check({"senior": True, "state": "TX"}).band
'senior'
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from .errors import VariantError, excerpt

__all__ = [
    "MAX_BATCH",
    "MAX_COUNT",
    "MAX_SEED",
    "MAX_WORKERS",
    "VARIANT_FLAGS",
    "VARIANT_HELP",
    "VARIANT_OPTIONS",
    "Spelling",
    "Variants",
    "as_date",
    "check_count",
    "check_names",
    "check_seed",
    "check_workers",
    "default_workers",
    "parse_count",
    "parse_date",
    "parse_seed",
    "parse_workers",
    "spell",
]

#: The on/off variants, in the order help and docs list them.
VARIANT_FLAGS = ("young", "senior", "dynamic_zip", "dynamic_location", "dynamic_phone")
#: The variants that take a value.
VARIANT_OPTIONS = ("state", "near")
#: What each variant does, in a few words (CLI help, the web page, the docs).
VARIANT_HELP: Mapping[str, str] = {
    "young": "ages 18 to 30 (the config's young band)",
    "senior": "ages 65 to 90 (the config's senior band)",
    "dynamic_zip": "a real, active, residential US ZIP",
    "dynamic_location": "cycle through the booking locations",
    "dynamic_phone": "a fictional 555-01XX number with an area code of the ZIP",
    "state": "a real residential ZIP in this state, e.g. TX",
    "near": "a residential ZIP within zip_distance miles of this ZIP",
}

#: Seeds are whole numbers from 0 to 2**64 - 1.
MAX_SEED = 2**64
#: The largest count a streamed run accepts (ten billion).
MAX_COUNT = 10**10
#: The largest batch the factory builds in memory; the bulk engine streams any count.
MAX_BATCH = 10_000_000
#: The most worker processes a run may ask for.
MAX_WORKERS = 256

#: How a message spells an input: ``python`` (``dynamic_zip``) or ``cli`` (``--dynamic-zip``).
Spelling = Literal["python", "cli"]


def spell(name: str, spelling: Spelling = "python") -> str:
    """Return an input's name as the caller wrote it.

    >>> spell("dynamic_zip", "cli")
    '--dynamic-zip'
    """
    return f"--{name.replace('_', '-')}" if spelling == "cli" else name


# --- seeds, counts, workers, dates -----------------------------------------------------
# Each check names the input as its caller does: "seed" in Python, "--seed" in a
# message of ours on the command line, and "" where argparse or pytest prints the
# option's name before the message already.


def _given(name: str, value: object) -> str:
    return f"{name} {excerpt(value)}" if name else excerpt(value)


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise VariantError(f"{_given(name, value)} is not a whole number")
    return value


def check_seed(value: object, name: str = "seed") -> int:
    """Return ``value`` as a seed.

    Raises:
        VariantError: Not a whole number from 0 to 2**64 - 1.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise VariantError(f"{_given(name, value)} is not an integer; expected a whole number >= 0")
    if not 0 <= value < MAX_SEED:
        raise VariantError(f"{_given(name, value)} is out of range; expected 0 <= seed < 2**64")
    return value


def check_count(value: object, limit: int = MAX_COUNT, name: str = "count") -> int:
    """Return ``value`` as a record count from 0 to ``limit``.

    Raises:
        VariantError: Not a whole number in that range.
    """
    count = _whole(value, name)
    if not 0 <= count <= limit:
        raise VariantError(f"{_given(name, count)} is out of range; expected 0 to {limit:,}")
    return count


def check_workers(value: object, name: str = "workers") -> int:
    """Return ``value`` as a number of worker processes, 1 to :data:`MAX_WORKERS`.

    Raises:
        VariantError: Not a whole number in that range.
    """
    workers = _whole(value, name)
    if not 1 <= workers <= MAX_WORKERS:
        raise VariantError(f"{_given(name, workers)} is out of range; expected 1 to {MAX_WORKERS}")
    return workers


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@lru_cache(maxsize=64)
def _parse_iso(text: str) -> date | None:
    # A strict pattern: Python 3.11's date.fromisoformat also reads "20261129" and
    # "2026-W48-1", which 3.10 refuses; the data must not depend on the Python.
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return None


def as_date(value: object, name: str = "as_of") -> date | None:
    """Return a reference date from a ``date``, an ISO ``YYYY-MM-DD`` string or ``None``.

    >>> as_date("2026-11-29")
    datetime.date(2026, 11, 29)

    Raises:
        VariantError: Anything else, a ``datetime`` included.
    """
    if value is None or (isinstance(value, date) and not hasattr(value, "hour")):
        return value
    parsed = _parse_iso(value) if isinstance(value, str) else None
    if parsed is None:
        raise VariantError(
            f"{_given(name, value)} is not a date; expected YYYY-MM-DD, e.g. 2026-11-29"
        )
    return parsed


def _parse_int(text: str, name: str, expected: str) -> int:
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise VariantError(
            f"{_given(name, text)} is not a whole number; expected {expected}"
        ) from None


def parse_seed(text: str, name: str = "") -> int:
    """Read a seed typed on a command line or in an ini file (``"1234"``)."""
    return check_seed(_parse_int(text, name, "a seed like 1234"), name)


def parse_count(text: str, limit: int = MAX_COUNT, name: str = "") -> int:
    """Read a record count typed on a command line."""
    return check_count(_parse_int(text, name, f"0 to {limit:,}"), limit, name)


def parse_workers(text: str, name: str = "") -> int:
    """Read a number of workers, or ``auto`` for every usable core."""
    if text.strip() == "auto":
        return default_workers()
    workers = _parse_int(text, name, f"1 to {MAX_WORKERS} or 'auto'")
    if not 1 <= workers <= MAX_WORKERS:
        raise VariantError(
            f"{_given(name, workers)} is out of range; expected 1 to {MAX_WORKERS} or 'auto'"
        )
    return workers


def parse_date(text: str, name: str = "") -> date:
    """Read a reference date typed as ``YYYY-MM-DD``."""
    parsed = as_date(text.strip(), name)
    assert parsed is not None  # as_date maps only None to None, and text is a str
    return parsed


def default_workers() -> int:
    """Return the number of usable cores (what ``--workers auto`` means)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


# --- variants --------------------------------------------------------------------------


def check_names(
    given: Iterable[object],
    known: Iterable[str],
    what: str = "variant",
    spelling: Spelling = "python",
) -> None:
    """Refuse a name that is not ``known``, suggesting the closest one.

    Raises:
        VariantError: ``unknown variant 'senoir'; did you mean 'senior'? expected one of ...``.
    """
    names = sorted(known, key=str.lower)
    for name in given:
        if name not in names:
            shown = [spell(n, spelling) for n in names]
            close = difflib.get_close_matches(spell(str(name), spelling), shown, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise VariantError(
                f"unknown {what} {excerpt(name)}; {hint}expected one of {', '.join(shown)}"
            )


@dataclass(frozen=True)
class Variants:
    """A checked set of variants: the one place that knows how they combine.

    Build it with :meth:`check`; the fields hold the checked values.
    """

    young: bool = False
    senior: bool = False
    dynamic_zip: bool = False
    dynamic_location: bool = False
    dynamic_phone: bool = False
    state: str | None = None
    near: str | None = None

    @classmethod
    def check(cls, given: Mapping[str, Any], spelling: Spelling = "python") -> Variants:
        """Check variants by name; ``False`` and ``None`` mean "not chosen".

        Raises:
            VariantError: An unknown name, a wrong type or value, or variants that
                exclude each other.
        """
        check_names(given, _NAMES, "variant", spelling)
        for flag in VARIANT_FLAGS:
            value = given.get(flag, False)
            if not isinstance(value, bool):
                raise VariantError(
                    f"variant {spell(flag, spelling)}={excerpt(value)} is not a bool; "
                    "expected True or False"
                )
        state, near = given.get("state"), given.get("near")
        if given.get("young") and given.get("senior"):
            raise VariantError(
                f"{spell('young', spelling)} and {spell('senior', spelling)} exclude each "
                "other: a payload has one age band; choose one of them"
            )
        if given.get("dynamic_location") and (state is not None or near is not None):
            raise VariantError(
                f"{spell('dynamic_location', spelling)} cannot be combined with "
                f"{spell('state', spelling)} or {spell('near', spelling)}: they choose the "
                "ZIP in different ways"
            )
        if state is not None:
            from . import locations  # deferred: the ZIP data set loads in ~0.5 s

            if not isinstance(state, str):
                raise VariantError(
                    f"{spell('state', spelling)} {excerpt(state)} is not a string; "
                    "expected a code such as 'CA'"
                )
            locations.residential(state)
        if near is not None and (not isinstance(near, str) or not re.fullmatch(r"[0-9]{5}", near)):
            raise VariantError(
                f"{spell('near', spelling)} {excerpt(near)} is not a 5-digit ZIP code string"
            )
        return cls(**{name: value for name, value in given.items() if value is not None})

    @property
    def band(self) -> str:
        """The age band's name: ``young``, ``senior`` or ``default``."""
        return "young" if self.young else "senior" if self.senior else "default"

    @property
    def zip_mode(self) -> str:
        """How the ZIP is chosen: ``location``, ``near``, ``dynamic`` or ``static``.

        ``state`` and ``near`` imply a dynamic ZIP.
        """
        if self.dynamic_location:
            return "location"
        if self.near is not None:
            return "near"
        if self.dynamic_zip or self.state is not None:
            return "dynamic"
        return "static"

    def chosen(self) -> dict[str, Any]:
        """Return the variants that differ from the defaults, by name."""
        return {
            f.name: v for f in fields(self) if (v := getattr(self, f.name)) not in (False, None)
        }


_NAMES = (*VARIANT_FLAGS, *VARIANT_OPTIONS)
