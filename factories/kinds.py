"""The kinds of record: ``payload``, ``intake`` and ``insurance``, each with its rules.

One registry that the files layer (to check what it reads), the command line
(``--kind``) and the docs read: a :class:`Kind` names its record type, its keys, its
validator, and for CSV its dotted columns (``address.city``) and their types. The
factories are named, not imported, so the files layer stays free of them.

>>> kind_named("intake").columns[13]
('address.line1', 'str')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from .config import Config
from .errors import VariantError, excerpt
from .model import (
    ADDRESS_FIELDS,
    APPOINTMENT_FIELDS,
    CONSENT_FIELDS,
    EMERGENCY_CONTACT_FIELDS,
    FIELDS,
    INSURANCE_FIELDS,
    INTAKE_FIELDS,
    SUBSCRIBER_FIELDS,
    BookslotPayload,
    Insurance,
    PatientIntake,
)

__all__ = ["DEFAULT_KIND", "KINDS", "LIST_SEPARATOR", "Kind", "detect", "kind_named"]

#: The kind a file holds when nothing says otherwise.
DEFAULT_KIND = "payload"
#: How a CSV cell holds a list (``allergies``): the items joined by this; empty for none.
LIST_SEPARATOR = "; "

Validator = Callable[..., None]


def _validate_payload(record: Mapping[str, Any], *, as_of: Any = None, cfg: Any = None) -> None:
    from .rules import validate

    validate(record, as_of=as_of, cfg=cfg)


def _validate_intake(record: Mapping[str, Any], *, as_of: Any = None, cfg: Any = None) -> None:
    from .record_rules import validate_intake

    validate_intake(record, as_of=as_of, cfg=cfg)


def _validate_insurance(record: Mapping[str, Any], *, as_of: Any = None, cfg: Any = None) -> None:
    from .record_rules import validate_insurance

    validate_insurance(record, as_of=as_of, cfg=cfg)


@dataclass(frozen=True)
class Kind:
    """One kind of record.

    Attributes:
        name: ``payload``, ``intake`` or ``insurance``.
        record_type: The ``dict`` subclass the factory builds.
        fields: The top-level keys, in order.
        nested: Whether values may be mappings, lists, booleans or numbers (else
            every value is a string).
        columns: The CSV columns, ``(dotted path, type)``, the type one of ``str``,
            ``bool``, ``int`` and ``list`` (of strings).
        factory: The factory, as ``module:Class`` inside the package.
        validator: Checks one record: ``validator(record, as_of=, cfg=)``.
        xml: The XML root element and the element of one record.
    """

    name: str
    record_type: type[dict[str, Any]]
    fields: tuple[str, ...]
    nested: bool
    columns: tuple[tuple[str, str], ...]
    factory: str
    validator: Validator
    xml: tuple[str, str]

    def validate(
        self, record: Mapping[str, Any], *, as_of: date | None = None, cfg: Config | None = None
    ) -> None:
        """Check one record with this kind's rules (raises ``PayloadError``)."""
        self.validator(record, as_of=as_of, cfg=cfg)


def _columns(prefix: str, keys: tuple[str, ...], kind: str = "str") -> list[tuple[str, str]]:
    return [(f"{prefix}{key}", kind) for key in keys]


_INSURANCE_COLUMNS = (
    *_columns("", INSURANCE_FIELDS[:5]),
    *_columns("subscriber.", SUBSCRIBER_FIELDS),
    ("effective_date", "str"),
    ("termination_date", "str"),
    ("copay", "int"),
)
_INTAKE_COLUMNS = (
    *_columns("patient.", FIELDS),
    *_columns("address.", ADDRESS_FIELDS),
    ("sex", "str"),
    ("preferred_language", "str"),
    *_columns("emergency_contact.", EMERGENCY_CONTACT_FIELDS),
    ("reason_for_visit", "str"),
    ("allergies", "list"),
    ("medications", "list"),
    *_columns("consents.", CONSENT_FIELDS, "bool"),
    *_columns("appointment.", APPOINTMENT_FIELDS),
    *((f"insurance.{column}", kind) for column, kind in _INSURANCE_COLUMNS),
)

#: The kinds by name.
KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            Kind(
                "payload",
                BookslotPayload,
                FIELDS,
                False,
                tuple((field, "str") for field in FIELDS),
                "bookslot:BookslotPayloadFactory",
                _validate_payload,
                ("bookslot_payloads", "payload"),
            ),
            Kind(
                "intake",
                PatientIntake,
                INTAKE_FIELDS,
                True,
                _INTAKE_COLUMNS,
                "intake:PatientIntakeFactory",
                _validate_intake,
                ("patient_intakes", "patient_intake"),
            ),
            Kind(
                "insurance",
                Insurance,
                INSURANCE_FIELDS,
                True,
                _INSURANCE_COLUMNS,
                "insurance:InsuranceFactory",
                _validate_insurance,
                ("insurance_records", "insurance_record"),
            ),
        )
    }
)


def kind_named(name: object) -> Kind:
    """Return a kind by name.

    Raises:
        VariantError: Not a known kind (the known ones are listed).
    """
    found = KINDS.get(name) if isinstance(name, str) else None
    if found is None:
        raise VariantError(f"unknown kind {excerpt(name)}; expected one of {', '.join(KINDS)}")
    return found


# A key that only an intake has ("patient"), or that an insurance record has and a
# payload lacks ("member_id"), in JSON ("patient":), YAML (patient:) or a CSV header
# (patient.first_name). Values of ours never hold a quote, colon and key together.
_INTAKE_KEY = re.compile(r'(?:^|[\s{,"\-])"?patient"?\s*:|(?:^|,)"?patient\.', re.MULTILINE)
_INSURANCE_KEY = re.compile(
    r'(?:^|[\s{,"\-])"?member_id"?\s*:|(?:^|,)"?member_id"?(?:,|\r?$)', re.MULTILINE
)


# An XML file tells its kind by its root element; a FHIR file of intakes by its
# Appointments (a payload's FHIR has none).
_XML_ROOTS = {kind.xml[0]: kind.name for kind in KINDS.values()}
_XML_ROOT = re.compile(rf"<({'|'.join(_XML_ROOTS)})[\s/>]")
_APPOINTMENT = re.compile(r'"resourceType"\s*:\s*"Appointment"')


def detect(head: str) -> str:
    """Tell a file's kind from its first characters: ``intake``, ``insurance`` or ``payload``.

    >>> detect('[{"patient": {"first_name": "Ana"')
    'intake'
    >>> detect("payer,member_id,group_number")
    'insurance'
    >>> detect('<?xml version="1.0"?> <insurance_records>')
    'insurance'
    """
    root = _XML_ROOT.search(head)
    if root:
        return _XML_ROOTS[root.group(1)]
    if _INTAKE_KEY.search(head) or _APPOINTMENT.search(head):
        return "intake"
    if _INSURANCE_KEY.search(head):
        return "insurance"
    return DEFAULT_KIND
