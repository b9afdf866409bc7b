"""The rules of the nested records: patient intakes and insurance records.

What :func:`~bookslot_factories.rules.validate` is for the payload, this module is
for :class:`~bookslot_factories.model.PatientIntake` and
:class:`~bookslot_factories.model.Insurance`: it checks every field and every
relation the factories follow (the address is the ZIP's, the appointment a business
day in range, the insurance the patient's own), reading the same tables and config.
An error names the field by its dotted path (``address.zip``,
``insurance.subscriber.dob``), the value and what was expected.

>>> from bookslot_factories.intake import PatientIntakeFactory
>>> validate_intake(PatientIntakeFactory.build())
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from . import config, tables
from .config import MAX_AGE, Config
from .errors import PayloadError, excerpt
from .model import (
    ADDRESS_FIELDS,
    APPOINTMENT_FIELDS,
    CONSENT_FIELDS,
    EMERGENCY_CONTACT_FIELDS,
    INSURANCE_FIELDS,
    INTAKE_FIELDS,
    SUBSCRIBER_FIELDS,
)
from .rules import validate
from .variants import as_date

__all__ = ["validate_insurance", "validate_intake"]

_NAME_PUNCTUATION = frozenset(" -'.")
_TEXT_PUNCTUATION = frozenset(" -'.,#/")
_MAX_TEXT = 100
_MAX_ITEMS = 20
_MAX_COPAY = {plan: max(values) for plan, values in tables.COPAYS.items()}


def _fail(field: str, value: object, expected: str) -> PayloadError:
    return PayloadError(f"field {field!r} is {excerpt(value)}; expected {expected}", field)


def _join(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def _keys(record: object, keys: Sequence[str], where: str, what: str) -> Mapping[str, Any]:
    """Check that ``record`` is a mapping of exactly ``keys``; return it."""
    if not isinstance(record, Mapping):
        if where:
            raise _fail(where, record, f"a mapping of {', '.join(keys)}")
        raise PayloadError(f"{what} is {excerpt(record)}; expected a mapping of {', '.join(keys)}")
    if len(record) != len(keys) or any(key not in record for key in keys):
        for key in keys:
            if key not in record:
                raise PayloadError(f"field {_join(where, key)!r} is missing", _join(where, key))
        extra = next(key for key in record if key not in keys)
        field = _join(where, str(extra))
        raise PayloadError(
            f"field {excerpt(field)} is not a {what} field; expected only {', '.join(keys)}",
            field,
        )
    return record


def _text(field: str, value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(field, value, "a string")
    if empty and not value:
        return value
    if not (
        0 < len(value) <= _MAX_TEXT
        and value[0].isalnum()
        and all(ch.isalnum() or ch in _TEXT_PUNCTUATION for ch in value)
    ):
        raise _fail(field, value, "plain text of letters, digits, spaces and - ' . , # /")
    return value


def _name(field: str, value: object) -> str:
    if not (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_TEXT
        and value[0].isalpha()
        and all(ch.isalpha() or ch in _NAME_PUNCTUATION for ch in value)
    ):
        raise _fail(field, value, "a name of letters, with spaces, hyphens, apostrophes or periods")
    return value


def _one_of(field: str, value: object, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise _fail(field, value, f"one of {', '.join(allowed)}")
    return value


def _date(field: str, value: object) -> date:
    try:
        if not isinstance(value, str):
            raise ValueError
        return tables.parse_date(value)
    except ValueError:
        raise _fail(field, value, "a real date as MM/DD/YYYY") from None


def _digits(field: str, value: object) -> str:
    if not (isinstance(value, str) and len(value) == 10 and value.isascii() and value.isdigit()):
        raise _fail(field, value, "10 digits")
    return value


def _words(field: str, value: object) -> list[str]:
    if not isinstance(value, list):
        raise _fail(field, value, "a list of strings (empty for none)")
    if len(value) > _MAX_ITEMS:
        raise _fail(field, f"a list of {len(value)}", f"at most {_MAX_ITEMS} items")
    for index, item in enumerate(value):
        _text(f"{field}.{index}", item)
    if len(set(value)) != len(value):
        raise _fail(field, "a list with repeats", "each item once")
    return value


def _prefixed(exc: PayloadError, prefix: str) -> PayloadError:
    """The same error with its field under ``prefix`` (``dob`` -> ``patient.dob``)."""
    field = exc.field
    message = str(exc)
    if field is None:
        return PayloadError(f"{prefix}: {message}", prefix)
    full = f"{prefix}.{field}"
    for quoted in (repr(field), excerpt(field)):
        if quoted in message:
            return PayloadError(message.replace(quoted, repr(full), 1), full)
    return PayloadError(f"{full}: {message}", full)


def _age(born: date, on: date) -> int:
    return tables.age(born, on)


def validate_insurance(
    record: Mapping[str, Any],
    *,
    as_of: date | str | None = None,
    cfg: Config | None = None,
    prefix: str = "",
) -> None:
    """Check one insurance record against the rules :class:`InsuranceFactory` follows.

    Args:
        record: The record.
        as_of: The reference date (default: the config's, or today).
        cfg: The config whose payers and formats apply (default: the active one).
        prefix: The record's own dotted path inside another record, for messages.

    Raises:
        PayloadError: The first broken rule, naming the dotted field.
    """
    cfg = cfg or config.current()
    on = as_date(as_of) or config.reference_date()
    table = tables.tables(cfg)

    def at(field: str) -> str:
        return _join(prefix, field)

    _keys(record, INSURANCE_FIELDS, prefix, "insurance")
    payer = _one_of(at("payer"), record["payer"], cfg.payers)
    member_format = table.member_id(payer)
    member_id = record["member_id"]
    if not isinstance(member_id, str) or not member_format.pattern.fullmatch(member_id):
        fmt = dict(cfg.payer_formats).get(payer, cfg.id_number_format)
        raise _fail(at("member_id"), member_id, f"the format {fmt} of {payer}")
    group = record["group_number"]
    if not isinstance(group, str) or not table.group_number.pattern.fullmatch(group):
        raise _fail(at("group_number"), group, f"the format {cfg.group_number_format}")
    plan = _one_of(at("plan_type"), record["plan_type"], tables.PLAN_TYPES)
    relationship = _one_of(
        at("subscriber_relationship"),
        record["subscriber_relationship"],
        [value for value, _ in tables.SUBSCRIBER_RELATIONSHIP_WEIGHTS],
    )
    subscriber = _keys(record["subscriber"], SUBSCRIBER_FIELDS, at("subscriber"), "subscriber")
    _name(at("subscriber.name"), subscriber["name"])
    born = _date(at("subscriber.dob"), subscriber["dob"])
    years = _age(born, on)
    if not 0 <= years <= MAX_AGE:
        raise _fail(
            at("subscriber.dob"), subscriber["dob"], f"an age from 0 to {MAX_AGE} on {on:%m/%d/%Y}"
        )
    if relationship != "self" and years < tables.ADULT_AGE:
        raise _fail(
            at("subscriber.dob"),
            subscriber["dob"],
            f"an adult ({tables.ADULT_AGE} or older on {on:%m/%d/%Y}) for a "
            f"subscriber_relationship of {relationship!r}",
        )
    effective = _date(at("effective_date"), record["effective_date"])
    latest = on + timedelta(days=tables.APPOINTMENT_DAYS)
    if effective > latest:
        raise _fail(
            at("effective_date"),
            record["effective_date"],
            f"a date by {latest:%m/%d/%Y}, before any appointment",
        )
    termination = record["termination_date"]
    if termination != "" and _date(at("termination_date"), termination) <= effective:
        raise _fail(
            at("termination_date"), termination, "empty, or a date after the effective_date"
        )
    copay = record["copay"]
    if isinstance(copay, bool) or not isinstance(copay, int):
        raise _fail(at("copay"), copay, "whole dollars (an integer)")
    if not 0 <= copay <= _MAX_COPAY[plan]:
        raise _fail(at("copay"), copay, f"0 to {_MAX_COPAY[plan]} dollars for a {plan} plan")


def validate_intake(
    record: Mapping[str, Any], *, as_of: date | str | None = None, cfg: Config | None = None
) -> None:
    """Check one patient intake against the rules :class:`PatientIntakeFactory` follows.

    Args:
        record: The record.
        as_of: The reference date: ages, the appointment window (default: the
            config's, or today).
        cfg: The config whose lists and formats apply (default: the active one).

    Raises:
        PayloadError: The first broken rule, naming the dotted field
            (``address.city``), the value and what was expected.
    """
    from . import locations  # deferred: the ZIP data set loads on first use

    cfg = cfg or config.current()
    on = as_date(as_of) or config.reference_date()
    _keys(record, INTAKE_FIELDS, "", "intake")
    patient = record["patient"]
    if not isinstance(patient, Mapping):
        raise _fail("patient", patient, "a mapping of the 13 payload fields")
    try:
        validate(patient, as_of=on, cfg=cfg)
    except PayloadError as exc:
        raise _prefixed(exc, "patient") from None

    address = _keys(record["address"], ADDRESS_FIELDS, "address", "address")
    _text("address.line1", address["line1"])
    _text("address.line2", address["line2"], empty=True)
    if address["zip"] != patient["zip"]:
        raise _fail("address.zip", address["zip"], f"the patient's zip {patient['zip']!r}")
    try:
        place = locations.lookup(patient["zip"])
    except LookupError:
        raise _fail("address.zip", address["zip"], "a real US ZIP code") from None
    for key, want in (("city", place.city), ("state", place.state)):
        if address[key] != want:
            raise _fail(f"address.{key}", address[key], f"{want!r}, the {key} of ZIP {place.zip}")

    _one_of("sex", record["sex"], [value for value, _ in tables.SEX_WEIGHTS])
    _one_of(
        "preferred_language",
        record["preferred_language"],
        [value for value, _ in tables.LANGUAGE_WEIGHTS],
    )
    contact = _keys(
        record["emergency_contact"],
        EMERGENCY_CONTACT_FIELDS,
        "emergency_contact",
        "emergency_contact",
    )
    _name("emergency_contact.name", contact["name"])
    _one_of(
        "emergency_contact.relationship",
        contact["relationship"],
        [value for value, _ in tables.RELATIONSHIP_WEIGHTS],
    )
    _digits("emergency_contact.phone", contact["phone"])
    _text("reason_for_visit", record["reason_for_visit"])
    _words("allergies", record["allergies"])
    _words("medications", record["medications"])

    consents = _keys(record["consents"], CONSENT_FIELDS, "consents", "consents")
    for key in CONSENT_FIELDS:
        if not isinstance(consents[key], bool):
            raise _fail(f"consents.{key}", consents[key], "true or false")
    method = patient["contact_method"]
    for key, needs in (("sms_reminders", "Text"), ("email_reminders", "Email")):
        if method == needs and not consents[key]:
            raise _fail(f"consents.{key}", consents[key], f"true for the contact_method {needs!r}")

    appointment = _keys(record["appointment"], APPOINTMENT_FIELDS, "appointment", "appointment")
    day = _date("appointment.date", appointment["date"])
    last = on + timedelta(days=tables.APPOINTMENT_DAYS)
    if not on < day <= last or day.weekday() >= 5:
        raise _fail(
            "appointment.date",
            appointment["date"],
            f"a business day (Monday to Friday) after {on:%m/%d/%Y}, by {last:%m/%d/%Y}",
        )
    _one_of("appointment.time", appointment["time"], tables.APPOINTMENT_SLOTS)
    if appointment["timezone"] != place.timezone:
        raise _fail(
            "appointment.timezone",
            appointment["timezone"],
            f"{place.timezone!r}, the time zone of ZIP {place.zip}",
        )

    insurance = record["insurance"]
    validate_insurance(insurance, as_of=on, cfg=cfg, prefix="insurance")
    for key, field in (
        ("payer", "PayerName"),
        ("member_id", "idNumber"),
        ("group_number", "GroupNumber"),
    ):
        if insurance[key] != patient[field]:
            raise _fail(
                f"insurance.{key}", insurance[key], f"the patient's {field} {patient[field]!r}"
            )
    if tables.parse_date(insurance["effective_date"]) >= day:
        raise _fail(
            "insurance.effective_date", insurance["effective_date"], "a date before the appointment"
        )
    end = insurance["termination_date"]
    if end and tables.parse_date(end) <= day:
        raise _fail("insurance.termination_date", end, "empty, or a date after the appointment")
    _check_subscriber(insurance, patient, on)


def _check_subscriber(insurance: Mapping[str, Any], patient: Mapping[str, Any], on: date) -> None:
    subscriber = insurance["subscriber"]
    relationship = insurance["subscriber_relationship"]
    if relationship == "self":
        for key, field in (("name", "MemberName"), ("dob", "dob")):
            if subscriber[key] != patient[field]:
                raise _fail(
                    f"insurance.subscriber.{key}",
                    subscriber[key],
                    f"the patient's {field} {patient[field]!r} for a subscriber_relationship of "
                    "'self'",
                )
        return
    if relationship == "child":
        born = tables.parse_date(patient["dob"])
        parent = tables.parse_date(subscriber["dob"])
        if parent >= born or _age(parent, born) < tables.MIN_PARENT_GAP:
            raise _fail(
                "insurance.subscriber.dob",
                subscriber["dob"],
                f"a parent at least {tables.MIN_PARENT_GAP} years older than the patient "
                f"(born {patient['dob']})",
            )
