"""FHIR R4 (4.0.1) for patient intakes: per intake a Patient, its Coverage and an Appointment.

The layouts are payload FHIR's (:mod:`._fhir`): ``fhir``, a ``Bundle`` of type
``collection`` whose entries reference each other by ``fullUrl`` ``urn:uuid:<id>``,
and ``fhir-ndjson``, one resource per line referencing ``Patient/<id>``. Ids are
UUID 5 of the intake's content under the same namespace, so the same seed gives the
same ids and bytes.

Each field has its FHIR element where FHIR has one: the address, ``gender`` (the
intake's ``sex`` is already an administrative-gender code), ``communication`` (the
BCP-47 tag of the language), the emergency contact as a ``contact``, the plan type
as ``Coverage.type``, the copay as ``costToBeneficiary``, the coverage dates as its
``period``, a subscriber who is not the patient as a contained ``RelatedPerson``, the
reason for the visit as ``Appointment.reasonCode``. What FHIR has no element for
(the payload's own extensions, allergies, medications, consents, the appointment's
time zone name) is an extension under :data:`~._fhir.EXTENSION_BASE`, so reading our
files back gives the intakes exactly.

Every intake's appointment is a chosen slot, so its Appointment is ``booked``; a
``proposed`` one reads back the same.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

import orjson

from ..errors import DataFileError, excerpt
from ..tables import APPOINTMENT_MINUTES, LANGUAGE_CODES
from ._fhir import (
    CLASS_SYSTEM,
    EXTENSION_BASE,
    NAMESPACE,
    PATIENT_EXTENSIONS,
    RELATIONSHIP_SYSTEM,
    BundleEncoder,
    NdjsonEncoder,
    _Bad,
    _dict,
    _get,
    _lines,
    _list,
    _text,
    begin,
    end,
    entries,
    payload,
)
from ._io import NO_LINES, Records

__all__ = [
    "CONTACT_SYSTEM",
    "COPAY_SYSTEM",
    "LANGUAGE_SYSTEM",
    "begin",
    "encode",
    "encode_ndjson",
    "end",
    "intake",
    "read",
    "read_ndjson",
    "resources",
]

#: The code system of BCP-47 language tags.
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"
#: HL7 v2 table 0131 (contact role): ``C``, the emergency contact.
CONTACT_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0131"
#: The copay types of ``Coverage.costToBeneficiary``: ``gpvisit``, a primary-care visit.
COPAY_SYSTEM = "http://terminology.hl7.org/CodeSystem/coverage-copay-type"
_TYPES = ("Patient", "Coverage", "Appointment")
_STATUSES = ("booked", "proposed")
_LANGUAGES = {code: name for name, code in LANGUAGE_CODES.items()}
_CONSENTS = ("privacy_notice", "treatment", "sms_reminders", "email_reminders")
_SUBSCRIBER = "subscriber"
_US_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})\Z")
_FHIR_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")
_INSTANT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):00(?:[+-]\d{2}:\d{2}|Z)\Z")


def _ids(record: Mapping[str, Any]) -> list[str]:
    content = orjson.dumps(record).decode()
    return [str(uuid.uuid5(NAMESPACE, f"{kind}\x00{content}")) for kind in _TYPES]


def _string(url: str, value: str) -> dict[str, Any]:
    return {"url": EXTENSION_BASE + url, "valueString": value}


def _date(text: str, field: str) -> str:
    found = _US_DATE.match(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"{field} {excerpt(text)} is not MM/DD/YYYY, as a FHIR date needs")
    month, day, year = found.groups()
    return f"{year}-{month}-{day}"


def _start(appointment: Mapping[str, str]) -> datetime:
    try:
        zone = ZoneInfo(appointment["timezone"])
        day = datetime.strptime(f"{appointment['date']} {appointment['time']}", "%m/%d/%Y %H:%M")
    except (ValueError, KeyError, OSError, TypeError):
        raise ValueError(
            f"appointment {excerpt(dict(appointment))} is not a date MM/DD/YYYY, a time HH:MM "
            "and a time zone, as a FHIR instant needs"
        ) from None
    return day.replace(tzinfo=zone)


def _same(record: Mapping[str, Any], pairs: Sequence[tuple[str, str]]) -> None:
    # FHIR holds each of these once, so a record whose two copies differ cannot be
    # written without losing one (the rules refuse such a record anyway).
    for left, right in pairs:
        values = []
        for path in (left, right):
            value: Any = record
            for part in path.split("."):
                value = value[part]
            values.append(value)
        if values[0] != values[1]:
            raise ValueError(
                f"{left} {excerpt(values[0])} differs from {right} {excerpt(values[1])}; "
                "FHIR holds them once"
            )


def resources(record: Mapping[str, Any], *, bundle: bool) -> list[tuple[str, dict[str, Any]]]:
    """Return an intake's Patient, Coverage and Appointment, each with its ``fullUrl``.

    Args:
        record: A patient intake.
        bundle: Reference the patient as ``urn:uuid:<id>`` (in a Bundle) rather than
            ``Patient/<id>``.

    Raises:
        ValueError: A date or the appointment has no FHIR form, or a value the intake
            holds twice (the payer, the member id, the group number, the ZIP) differs.
    """
    _same(
        record,
        (
            ("insurance.payer", "patient.PayerName"),
            ("insurance.member_id", "patient.idNumber"),
            ("insurance.group_number", "patient.GroupNumber"),
            ("address.zip", "patient.zip"),
        ),
    )
    person, address, insurance = record["patient"], record["address"], record["insurance"]
    contact, appointment = record["emergency_contact"], record["appointment"]
    patient_id, coverage_id, appointment_id = _ids(record)
    reference = f"urn:uuid:{patient_id}" if bundle else f"Patient/{patient_id}"
    language = record["preferred_language"]
    code = LANGUAGE_CODES.get(language)
    patient = {
        "resourceType": "Patient",
        "id": patient_id,
        "extension": [
            *(_string(field, person[field]) for field in PATIENT_EXTENSIONS),
            *(_string("allergies", item) for item in record["allergies"]),
            *(_string("medications", item) for item in record["medications"]),
            *(
                {"url": f"{EXTENSION_BASE}consents.{key}", "valueBoolean": value}
                for key, value in record["consents"].items()
            ),
        ],
        "name": [{"family": person["last_name"], "given": [person["first_name"]]}],
        "telecom": [
            {"system": "email", "value": person["email"]},
            {"system": "phone", "value": person["phone_number"]},
        ],
        "gender": record["sex"],
        "birthDate": _date(person["dob"], "patient.dob"),
        "address": [
            {
                "line": [address["line1"], *([address["line2"]] if address["line2"] else [])],
                "city": address["city"],
                "state": address["state"],
                "postalCode": address["zip"],
            }
        ],
        "contact": [
            {
                "relationship": [
                    {"coding": [{"system": CONTACT_SYSTEM, "code": "C"}]},
                    {"text": contact["relationship"]},
                ],
                "name": {"text": contact["name"]},
                "telecom": [{"system": "phone", "value": contact["phone"]}],
            }
        ],
        "communication": [
            {
                "language": (
                    {"coding": [{"system": LANGUAGE_SYSTEM, "code": code, "display": language}]}
                    if code
                    else {"text": language}
                ),
                "preferred": True,
            }
        ],
    }
    subscriber = insurance["subscriber"]
    own = subscriber == {"name": person["MemberName"], "dob": person["dob"]}
    period = {"start": _date(insurance["effective_date"], "insurance.effective_date")}
    if insurance["termination_date"]:
        period["end"] = _date(insurance["termination_date"], "insurance.termination_date")
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": coverage_id,
        "extension": [_string("MemberName", person["MemberName"])],
        "status": "active",
        "type": {"text": insurance["plan_type"]},
        "subscriber": {"reference": reference if own else f"#{_SUBSCRIBER}"},
        "subscriberId": insurance["member_id"],
        "beneficiary": {"reference": reference},
        "relationship": {
            "coding": [
                {"system": RELATIONSHIP_SYSTEM, "code": insurance["subscriber_relationship"]}
            ]
        },
        "period": period,
        "payor": [{"display": insurance["payer"]}],
        "class": [
            {
                "type": {"coding": [{"system": CLASS_SYSTEM, "code": "group"}]},
                "value": insurance["group_number"],
            }
        ],
        "costToBeneficiary": [
            {
                "type": {"coding": [{"system": COPAY_SYSTEM, "code": "gpvisit"}]},
                "valueMoney": {"value": insurance["copay"], "currency": "USD"},
            }
        ],
    }
    if not own:
        coverage = {
            "resourceType": "Coverage",
            "id": coverage_id,
            "contained": [
                {
                    "resourceType": "RelatedPerson",
                    "id": _SUBSCRIBER,
                    "patient": {"reference": reference},
                    "name": [{"text": subscriber["name"]}],
                    "birthDate": _date(subscriber["dob"], "insurance.subscriber.dob"),
                }
            ],
            **{k: v for k, v in coverage.items() if k not in ("resourceType", "id")},
        }
    start = _start(appointment)
    visit = {
        "resourceType": "Appointment",
        "id": appointment_id,
        "extension": [_string("appointment.timezone", appointment["timezone"])],
        "status": "booked",
        "reasonCode": [{"text": record["reason_for_visit"]}],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=APPOINTMENT_MINUTES)).isoformat(),
        "minutesDuration": APPOINTMENT_MINUTES,
        "participant": [{"actor": {"reference": reference}, "status": "accepted"}],
    }
    return [
        (f"urn:uuid:{patient_id}", patient),
        (f"urn:uuid:{coverage_id}", coverage),
        (f"urn:uuid:{appointment_id}", visit),
    ]


# The Bundle opens and closes as a payload Bundle does (begin, end from _fhir).
encode = BundleEncoder(resources)
encode_ndjson = NdjsonEncoder(resources)


# --- reading ------------------------------------------------------------------------------


def _extensions(resource: dict[str, Any], kind: str, url: str, key: str) -> list[Any]:
    found = []
    for extension in _list(resource.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == EXTENSION_BASE + url:
            value = extension.get(key)
            expected = bool if key == "valueBoolean" else str
            if not isinstance(value, expected):
                raise _Bad(
                    f"{kind}.extension {EXTENSION_BASE}{url} has {excerpt(value)} as its "
                    f"{key}; expected {'true or false' if expected is bool else 'a string'}",
                    url,
                )
            found.append(value)
    return found


def _one(resource: dict[str, Any], kind: str, url: str, key: str) -> Any:
    found = _extensions(resource, kind, url, key)
    if len(found) != 1:
        how = "missing" if not found else "given more than once"
        raise _Bad(f"{kind}.extension {EXTENSION_BASE}{url} is {how}; expected it once", url)
    return found[0]


def _us_date(text: str, path: str, field: str) -> str:
    found = _FHIR_DATE.match(text)
    if found is None:
        raise _Bad(f"{path} is {excerpt(text)}; expected YYYY-MM-DD", field)
    year, month, day = found.groups()
    return f"{month}/{day}/{year}"


def _coding(value: Any, path: str, field: str, system: str) -> str | None:
    for coding in _list(_dict(value).get("coding")):
        if isinstance(coding, dict) and coding.get("system") == system:
            code = coding.get("code")
            if not isinstance(code, str):
                raise _Bad(f"{path} has a {system} coding without a code", field)
            return code
    return None


def _language(patient: dict[str, Any]) -> str:
    path = "Patient.communication[0].language"
    language = _get(patient, "Patient", "preferred_language", "communication", 0, "language")
    code = _coding(language, path, "preferred_language", LANGUAGE_SYSTEM)
    if code is None:
        return _text(language, path, "preferred_language", "text")
    if code not in _LANGUAGES:
        raise _Bad(
            f"{path} is coded {excerpt(code)}; expected one of {', '.join(_LANGUAGES)}",
            "preferred_language",
        )
    return _LANGUAGES[code]


def _address(patient: dict[str, Any]) -> dict[str, str]:
    lines = _get(patient, "Patient", "address.line1", "address", 0, "line")
    if not isinstance(lines, list) or not 1 <= len(lines) <= 2:
        raise _Bad(
            f"Patient.address[0].line is {excerpt(lines)}; expected one or two lines",
            "address.line1",
        )
    return {
        "line1": _text(lines, "Patient.address[0].line", "address.line1", 0),
        "line2": _text(lines, "Patient.address[0].line", "address.line2", 1) if lines[1:] else "",
        "city": _text(patient, "Patient", "address.city", "address", 0, "city"),
        "state": _text(patient, "Patient", "address.state", "address", 0, "state"),
        "zip": _text(patient, "Patient", "address.zip", "address", 0, "postalCode"),
    }


def _contact(patient: dict[str, Any]) -> dict[str, str]:
    contacts = [
        c
        for c in _list(patient.get("contact"))
        if isinstance(c, dict)
        and any(
            _coding(r, "Patient.contact.relationship", "emergency_contact", CONTACT_SYSTEM) == "C"
            for r in _list(c.get("relationship"))
        )
    ]
    if len(contacts) != 1:
        raise _Bad(
            f"Patient.contact has {len(contacts)} emergency contacts ({CONTACT_SYSTEM}|C); "
            "expected one",
            "emergency_contact",
        )
    contact = contacts[0]
    path = "Patient.contact[C]"
    texts = [r["text"] for r in _list(contact.get("relationship")) if "text" in _dict(r)]
    if len(texts) != 1 or not isinstance(texts[0], str):
        raise _Bad(
            f"{path}.relationship holds {len(texts)} texts; expected one, the relationship",
            "emergency_contact.relationship",
        )
    return {
        "name": _text(contact, path, "emergency_contact.name", "name", "text"),
        "relationship": texts[0],
        "phone": _text(contact, path, "emergency_contact.phone", "telecom", 0, "value"),
    }


def _subscriber(
    coverage: dict[str, Any], reference: str, person: Mapping[str, str]
) -> dict[str, str]:
    target = _text(coverage, "Coverage", "insurance.subscriber", "subscriber", "reference")
    if target == reference:
        return {"name": person["MemberName"], "dob": person["dob"]}
    contained = [
        c
        for c in _list(coverage.get("contained"))
        if isinstance(c, dict)
        and c.get("resourceType") == "RelatedPerson"
        and f"#{c.get('id')}" == target
    ]
    if len(contained) != 1:
        raise _Bad(
            f"Coverage.subscriber {excerpt(target)} is neither the Patient nor a contained "
            "RelatedPerson",
            "insurance.subscriber",
        )
    related, path = contained[0], "Coverage.contained[RelatedPerson]"
    born = _text(related, path, "insurance.subscriber.dob", "birthDate")
    return {
        "name": _text(related, path, "insurance.subscriber.name", "name", 0, "text"),
        "dob": _us_date(born, f"{path}.birthDate", "insurance.subscriber.dob"),
    }


def _insurance(coverage: dict[str, Any], reference: str, person: Mapping[str, str]) -> Any:
    relationship = _coding(
        _get(coverage, "Coverage", "insurance.subscriber_relationship", "relationship"),
        "Coverage.relationship",
        "insurance.subscriber_relationship",
        RELATIONSHIP_SYSTEM,
    )
    if relationship is None:
        raise _Bad(
            f"Coverage.relationship has no {RELATIONSHIP_SYSTEM} coding",
            "insurance.subscriber_relationship",
        )
    start = _text(coverage, "Coverage", "insurance.effective_date", "period", "start")
    end = _dict(coverage.get("period")).get("end")
    if end is not None and not isinstance(end, str):
        raise _Bad(
            f"Coverage.period.end is {excerpt(end)}; expected a date", "insurance.termination_date"
        )
    costs = [
        c
        for c in _list(coverage.get("costToBeneficiary"))
        if _coding(
            _dict(c).get("type"), "Coverage.costToBeneficiary", "insurance.copay", COPAY_SYSTEM
        )
        == "gpvisit"
    ]
    if len(costs) != 1:
        raise _Bad(
            f"Coverage.costToBeneficiary has {len(costs)} of type gpvisit; expected one",
            "insurance.copay",
        )
    copay = _get(
        costs[0], "Coverage.costToBeneficiary[gpvisit]", "insurance.copay", "valueMoney", "value"
    )
    if isinstance(copay, bool) or not isinstance(copay, int):
        raise _Bad(
            f"Coverage.costToBeneficiary[gpvisit].valueMoney.value is {excerpt(copay)}; "
            "expected whole dollars",
            "insurance.copay",
        )
    return {
        "payer": person["PayerName"],
        "member_id": person["idNumber"],
        "group_number": person["GroupNumber"],
        "plan_type": _text(coverage, "Coverage", "insurance.plan_type", "type", "text"),
        "subscriber_relationship": relationship,
        "subscriber": _subscriber(coverage, reference, person),
        "effective_date": _us_date(start, "Coverage.period.start", "insurance.effective_date"),
        "termination_date": (
            ""
            if end is None
            else _us_date(end, "Coverage.period.end", "insurance.termination_date")
        ),
        "copay": copay,
    }


def _appointment(visit: dict[str, Any], reference: str) -> dict[str, str]:
    if visit.get("status") not in _STATUSES:
        raise _Bad(
            f"Appointment.status is {excerpt(visit.get('status'))}; expected 'booked' or "
            "'proposed'",
            "appointment",
        )
    actors = [
        p
        for p in _list(visit.get("participant"))
        if _dict(_dict(p).get("actor")).get("reference") == reference
    ]
    if len(actors) != 1:
        raise _Bad(
            f"Appointment.participant has {len(actors)} entries for the Patient "
            f"{excerpt(reference)}; expected one",
            "appointment",
        )
    zone = _one(visit, "Appointment", "appointment.timezone", "valueString")
    start = _text(visit, "Appointment", "appointment.date", "start")
    found = _INSTANT.match(start)
    if found is None:
        raise _Bad(
            f"Appointment.start is {excerpt(start)}; expected an instant "
            "YYYY-MM-DDThh:mm:00+zz:zz on the minute",
            "appointment.date",
        )
    try:
        when = datetime.fromisoformat(start)
        local = when.replace(tzinfo=ZoneInfo(zone))
    except (ValueError, KeyError, OSError):
        local = None  # not a zone: the rules name appointment.timezone
    if local is not None and local.utcoffset() != when.utcoffset():
        raise _Bad(
            f"Appointment.start {excerpt(start)} is not at the offset of {excerpt(zone)}",
            "appointment.timezone",
        )
    year, month, day, hour, minute = found.groups()
    return {"date": f"{month}/{day}/{year}", "time": f"{hour}:{minute}", "timezone": zone}


def intake(patient: Any, coverage: Any, visit: Any, reference: str) -> dict[str, Any]:
    """Return the intake a Patient, its Coverage and its Appointment hold, in field order.

    Raises:
        _Bad: A resource breaks our mapping (the reader says where).
    """
    if not isinstance(visit, dict) or visit.get("resourceType") != "Appointment":
        raise _Bad("expected an Appointment after the Coverage", None)
    person = payload(patient, coverage, self_only=False)
    beneficiary = _dict(coverage.get("beneficiary")).get("reference")
    if beneficiary != reference:
        raise _Bad(
            f"Coverage.beneficiary {excerpt(beneficiary)} is not the Patient {excerpt(reference)}",
            None,
        )
    gender = patient.get("gender")
    if not isinstance(gender, str):
        raise _Bad(f"Patient.gender is {excerpt(gender)}; expected a gender code", "sex")
    record = {
        "patient": person,
        "address": _address(patient),
        "sex": gender,
        "preferred_language": _language(patient),
        "emergency_contact": _contact(patient),
        "reason_for_visit": _text(
            visit, "Appointment", "reason_for_visit", "reasonCode", 0, "text"
        ),
        "allergies": _extensions(patient, "Patient", "allergies", "valueString"),
        "medications": _extensions(patient, "Patient", "medications", "valueString"),
        "consents": {
            key: _one(patient, "Patient", f"consents.{key}", "valueBoolean") for key in _CONSENTS
        },
        "appointment": _appointment(visit, reference),
        "insurance": _insurance(coverage, reference, person),
    }
    return record


class _Triples:
    """Groups resources three by three, Patient, Coverage, Appointment, into intakes."""

    def __init__(self, name: str, bundle: bool) -> None:
        self.name, self.bundle = name, bundle
        self.number = 0
        self.held: list[tuple[int, int, Any, str | None]] = []

    def add(self, index: int, line: int, resource: Any, url: str | None) -> Records:
        kind = _TYPES[len(self.held)]
        found = resource.get("resourceType") if isinstance(resource, dict) else None
        if found != kind:
            where = f"entry {index} is" if self.bundle else "is"
            raise DataFileError(
                f"{where} {excerpt(found)}; expected a {kind} (each intake is a "
                "Patient, its Coverage and its Appointment, in this order)",
                path=self.name,
                record=self.number + 1,
                line=line,
            )
        self.held.append((index, line, resource, url))
        if len(self.held) < len(_TYPES):
            return
        held, self.held = self.held, []
        self.number += 1
        patient = held[0][2]
        reference = held[0][3] or f"Patient/{patient.get('id')}"
        try:
            record = intake(patient, held[1][2], held[2][2], reference)
        except _Bad as exc:
            at = next(
                (h for h, t in zip(held, _TYPES, strict=True) if exc.problem.startswith(t)), held[0]
            )
            where = f"entries {held[0][0]}-{held[2][0]}: " if self.bundle else ""
            raise DataFileError(
                f"{where}{exc.problem}",
                path=self.name,
                record=self.number,
                line=at[1],
                field=exc.field,
            ) from None
        yield self.number, held[0][1], record, NO_LINES

    def finish(self) -> None:
        if self.held:
            index, line, _, _ = self.held[0]
            where = f"entry {index}: " if self.bundle else ""
            raise DataFileError(
                f"{where}the intake ends after its {_TYPES[len(self.held) - 1]}; "
                f"expected its {_TYPES[len(self.held)]}",
                path=self.name,
                record=self.number + 1,
                line=line,
            )


def read(file: IO[bytes], name: str) -> Records:
    """Read a Bundle of intakes entry by entry: a Patient, its Coverage, its Appointment."""
    triples = _Triples(name, True)
    for index, line, entry in entries(file, name):
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if not isinstance(url, str):
            raise DataFileError(
                f"entry {index} has no fullUrl; expected {{'fullUrl': ..., 'resource': ...}}",
                path=name,
                line=line,
            )
        yield from triples.add(index, line, entry.get("resource"), url)
    triples.finish()


def read_ndjson(file: IO[bytes], name: str) -> Records:
    """Read FHIR NDJSON of intakes as a stream: a Patient line, its Coverage, its Appointment."""
    triples = _Triples(name, False)
    for number, (line, resource) in enumerate(_lines(file, name)):
        yield from triples.add(number, line, resource, None)
    triples.finish()
