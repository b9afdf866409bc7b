"""The payload rules: what every payload, generated or loaded from a file, must satisfy.

The rules read the same config and tables as the factory, so a config file that
changes the payers changes both what is generated and what is accepted.

>>> from bookslot_factories import BookslotPayloadFactory, validate
>>> validate(BookslotPayloadFactory.build())
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from . import config, tables
from .config import MAX_AGE, Config
from .errors import PayloadError, excerpt
from .model import FIELDS
from .variants import as_date

__all__ = ["validate"]

_NAME_PUNCTUATION = frozenset(" -'.")
_LOCAL_PART = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)*")
_DOB = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}")
_MAX_NAME = 100


class _Rules:
    """The compiled rules of one config."""

    def __init__(self, cfg: Config) -> None:
        table = tables.tables(cfg)
        self.domains = frozenset(cfg.email_domains)
        self.payers = frozenset(cfg.payers)
        self.contact_methods = frozenset(cfg.contact_methods)
        self.zip_distances = frozenset(cfg.zip_distances)
        self.id_number = table.id_number.pattern
        self.group_number = table.group_number.pattern
        self.id_number_format = cfg.id_number_format
        self.payer_formats = {
            payer: (table.member_id(payer).pattern, fmt) for payer, fmt in cfg.payer_formats
        }
        self.group_number_format = cfg.group_number_format
        self.choices = {
            "contact_method": (self.contact_methods, cfg.contact_methods),
            "zip_distance": (self.zip_distances, cfg.zip_distances),
            "PayerName": (self.payers, cfg.payers),
        }


_cached: tuple[Config, _Rules] | None = None


def _rules(cfg: Config) -> _Rules:
    global _cached
    if _cached is None or _cached[0] is not cfg:
        _cached = (cfg, _Rules(cfg))
    return _cached[1]


def _fail(field: str, value: object, expected: str) -> PayloadError:
    return PayloadError(f"field {field!r} is {excerpt(value)}; expected {expected}", field)


def _check_name(field: str, value: str) -> None:
    if not (
        0 < len(value) <= _MAX_NAME
        and value[0].isalpha()
        and all(ch.isalpha() or ch in _NAME_PUNCTUATION for ch in value)
    ):
        raise _fail(field, value, "a name of letters, with spaces, hyphens, apostrophes or periods")


def validate(
    payload: Mapping[str, Any], *, as_of: date | str | None = None, cfg: Config | None = None
) -> None:
    """Check one payload against the rules the factory follows.

    Args:
        payload: The payload.
        as_of: The date ages are computed on, a ``date`` or ``"YYYY-MM-DD"``
            (default: the reference date, today).
        cfg: The config whose lists and formats apply (default: the active one).

    Raises:
        PayloadError: The first broken rule, naming the field, the value and what
            was expected.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError(
            f"payload is {excerpt(payload)}; expected a mapping of the {len(FIELDS)} fields"
        )
    rules = _rules(cfg or config.current())
    if len(payload) != len(FIELDS) or any(key not in payload for key in FIELDS):
        for key in FIELDS:
            if key not in payload:
                raise PayloadError(f"field {key!r} is missing", key)
        extra = next(key for key in payload if key not in FIELDS)
        raise PayloadError(
            f"field {excerpt(extra)} is not a payload field; expected only {', '.join(FIELDS)}",
            extra if isinstance(extra, str) else None,
        )
    for key in FIELDS:
        if not isinstance(payload[key], str):
            raise _fail(key, payload[key], "a string")

    _check_name("first_name", payload["first_name"])
    _check_name("last_name", payload["last_name"])

    email = payload["email"]
    local, at, domain = email.rpartition("@")
    if not (at and len(local) <= 64 and _LOCAL_PART.fullmatch(local) and domain in rules.domains):
        raise _fail(
            "email",
            email,
            "a lowercase address of letters, digits and dots on one of "
            f"{', '.join(sorted(rules.domains))}",
        )
    phone = payload["phone_number"]
    if not (len(phone) == 10 and phone.isascii() and phone.isdigit()):
        raise _fail("phone_number", phone, "10 digits")
    zip_code = payload["zip"]
    if not (len(zip_code) == 5 and zip_code.isascii() and zip_code.isdigit()):
        raise _fail("zip", zip_code, "a 5-digit ZIP code")
    code = payload["verification_code"]
    if not (0 < len(code) <= 12 and code.isascii() and code.isdigit()):
        raise _fail("verification_code", code, "1 to 12 digits")
    for key, (allowed, ordered) in rules.choices.items():
        if payload[key] not in allowed:
            raise _fail(key, payload[key], f"one of {', '.join(ordered)}")

    _check_dob(payload["dob"], as_date(as_of) or config.reference_date())

    if payload["MemberName"] != f"{payload['first_name']} {payload['last_name']}":
        raise _fail("MemberName", payload["MemberName"], "first_name and last_name with a space")
    id_pattern, id_format = rules.payer_formats.get(
        payload["PayerName"], (rules.id_number, rules.id_number_format)
    )
    if not id_pattern.fullmatch(payload["idNumber"]):
        raise _fail("idNumber", payload["idNumber"], f"the format {id_format}")
    if not rules.group_number.fullmatch(payload["GroupNumber"]):
        raise _fail(
            "GroupNumber", payload["GroupNumber"], f"the format {rules.group_number_format}"
        )


def _check_dob(value: str, as_of: date) -> None:
    try:
        if not _DOB.fullmatch(value):
            raise ValueError
        born = datetime.strptime(value, tables.DATE_FORMAT).date()
    except ValueError:
        raise _fail("dob", value, "a real date as MM/DD/YYYY") from None
    years = tables.age(born, as_of)
    if not 0 <= years <= MAX_AGE:
        raise _fail("dob", value, f"an age from 0 to {MAX_AGE} on {as_of:%m/%d/%Y}")
