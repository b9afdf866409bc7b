"""``PatientIntakeFactory``: the intake form of a booking, around its payload.

A :class:`~bookslot_factories.model.PatientIntake` nests the booking payload
(``patient``, built by :class:`~bookslot_factories.BookslotPayloadFactory` through a
``factory.SubFactory``, so every payload variant passes through as ``patient__...``)
with what the intake form asks: the address of the patient's ZIP, sex, language, an
emergency contact, the reason for the visit, allergies, medications, consents, the
appointment and the insurance (an ``InsuranceFactory`` SubFactory that copies the
payload's payer, member id and group number):

>>> from bookslot_factories import seed
>>> seed(7)
>>> intake = PatientIntakeFactory.build(patient__senior=True, patient__state="TX")
>>> intake["address"]["state"], intake["insurance"]["payer"] == intake["patient"]["PayerName"]
('TX', True)

Its draws come from a stream of their own, derived from the seed, so the payload
inside an intake is exactly the payload ``BookslotPayloadFactory.build()`` makes
from the same seed, and building intakes never changes the payloads that follow.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Any

from factory.declarations import SelfAttribute, SubFactory

from . import draws, locations, tables
from .bookslot import BookslotPayloadFactory, LeanAttribute, LeanFunction, Variant, check_variants
from .errors import VariantError
from .insurance import InsuranceFactory, reference, stream
from .insurance import check_params as _check_insurance
from .model import FIELDS, INTAKE_FIELDS, PatientIntake
from .records import RecordFactory
from .tables import Choice
from .variants import VARIANT_FLAGS, VARIANT_OPTIONS
from .variants import check_names as _check_names

__all__ = ["INSURANCE_OF_PATIENT", "STREAM", "PatientIntake", "PatientIntakeFactory"]

#: The random source of the intake's own draws (reseeded with every seed).
STREAM = random.Random()
stream("intake", STREAM)

_FAMILY = frozenset({"spouse", "parent", "child", "sibling"})
_PATIENT_NAMES = frozenset({*FIELDS, *VARIANT_FLAGS, *VARIANT_OPTIONS, "as_of"})


def _place(o: Any) -> locations.Place:
    return locations.lookup(o.patient["zip"])


def _address(o: Any) -> dict[str, str]:
    place = _place(o)
    street = tables.STREET_NAMES[STREAM.randrange(len(tables.STREET_NAMES))]
    suffix = tables.STREET_SUFFIXES[STREAM.randrange(len(tables.STREET_SUFFIXES))]
    line2 = ""
    if STREAM.random() < tables.LINE2_SHARE:
        unit = tables.UNIT_DESIGNATORS[STREAM.randrange(len(tables.UNIT_DESIGNATORS))]
        line2 = f"{unit} {STREAM.randrange(1, 1000)}"
    return {
        "line1": f"{STREAM.randrange(1, 10000)} {street} {suffix}",
        "line2": line2,
        "city": place.city,
        "state": place.state,
        "zip": place.zip,
    }


@cache
def _told_sexes(told: str) -> Choice:
    # The name's table tells female or male; "other" and "unknown" keep their weights
    # against the two together.
    weights = dict(tables.SEX_WEIGHTS)
    return Choice(
        (told, "other", "unknown"),
        (weights["female"] + weights["male"], weights["other"], weights["unknown"]),
    )


def _sex(o: Any) -> str:
    told = tables.name_sexes().get(o.patient["first_name"])
    return (tables.sexes() if told is None else _told_sexes(told)).one(STREAM)


@cache
def _relationships(parent: bool, child: bool) -> Choice:
    pairs = tables.RELATIONSHIP_WEIGHTS
    return tables.weighted(
        [p for p in pairs if (parent or p[0] != "parent") and (child or p[0] != "child")]
    )


def _emergency_contact(o: Any) -> dict[str, str]:
    # No parent for a patient of 60 or more, no grown child for one under 25.
    years = tables.age(tables.parse_date(o.patient["dob"]), reference(o))
    relationship = _relationships(years < 60, years >= 25).one(STREAM)
    first = draws.first_name().one(STREAM)
    if relationship in _FAMILY and STREAM.random() < tables.SHARED_LAST_NAME:
        last = o.patient["last_name"]
    else:
        last = draws.last_name().one(STREAM)
    return {
        "name": draws.member_name(first, last),
        "relationship": relationship,
        "phone": draws.phone(o.patient["zip"], STREAM),
    }


def _listed(
    table: tuple[str, ...], none_share: float, at_least_one: bool
) -> Callable[[], list[str]]:
    def listed() -> list[str]:
        if not at_least_one and STREAM.random() < none_share:
            return []
        return STREAM.sample(table, STREAM.randint(1, tables.MAX_LISTED))

    return listed


def _consents(o: Any) -> dict[str, bool]:
    # A reminder goes the way the patient asked to be contacted; the other way is
    # the patient's choice.
    method = o.patient["contact_method"]
    sms, email = STREAM.random() < 0.5, STREAM.random() < 0.5
    return {
        "privacy_notice": True,
        "treatment": True,
        "sms_reminders": sms or method == "Text",
        "email_reminders": email or method == "Email",
    }


@lru_cache(maxsize=8)
def business_days(on: date) -> tuple[date, ...]:
    """The business days (Monday to Friday) after ``on``, within the appointment window."""
    days = (on + timedelta(days=n) for n in range(1, tables.APPOINTMENT_DAYS + 1))
    return tuple(day for day in days if day.weekday() < 5)


def _appointment(o: Any) -> dict[str, str]:
    days = business_days(reference(o))
    return {
        "date": tables.format_date(days[STREAM.randrange(len(days))]),
        "time": tables.APPOINTMENT_SLOTS[STREAM.randrange(len(tables.APPOINTMENT_SLOTS))],
        "timezone": _place(o).timezone,
    }


_PARENT_AS_OF: Any = SelfAttribute("..as_of")  # type: ignore[no-untyped-call]


def _from_patient(field: str) -> LeanAttribute:
    return LeanAttribute(lambda o: o.factory_parent.patient[field])


class PatientIntakeFactory(RecordFactory[PatientIntake]):
    """Builds a patient intake around a booking payload.

    Every payload variant and field passes through ``patient__``
    (``patient__senior=True``, ``patient__state="TX"``, ``patient__dynamic_zip=True``),
    and every insurance parameter through ``insurance__`` (``insurance__disabled=True``).

    Variants of the intake itself, each a Trait:

    - ``allergic=True``: at least one allergy;
    - ``on_medication=True``: at least one medication.

    Parameters: ``as_of`` (a ``date`` or ``"YYYY-MM-DD"``): the reference date of the
    appointment window, the coverage dates and, unless ``patient__as_of`` says
    otherwise, the patient's age.
    """

    class Meta:
        model = PatientIntake

    _record_fields = INTAKE_FIELDS
    _record_what = "intake field or variant"

    class Params:
        as_of: Any = None
        allergic = Variant(
            allergies=LeanFunction(_listed(tables.ALLERGIES, tables.NO_ALLERGY_SHARE, True))
        )
        on_medication = Variant(
            medications=LeanFunction(_listed(tables.MEDICATIONS, tables.NO_MEDICATION_SHARE, True))
        )

    patient: Any = SubFactory(BookslotPayloadFactory, as_of=SelfAttribute("..as_of"))  # type: ignore[no-untyped-call]
    address: Any = LeanAttribute(_address)
    sex: Any = LeanAttribute(_sex)
    preferred_language: Any = LeanFunction(lambda: tables.languages().one(STREAM))
    emergency_contact: Any = LeanAttribute(_emergency_contact)
    reason_for_visit: Any = LeanFunction(
        lambda: tables.REASONS_FOR_VISIT[STREAM.randrange(len(tables.REASONS_FOR_VISIT))]
    )
    allergies: Any = LeanFunction(_listed(tables.ALLERGIES, tables.NO_ALLERGY_SHARE, False))
    medications: Any = LeanFunction(_listed(tables.MEDICATIONS, tables.NO_MEDICATION_SHARE, False))
    consents: Any = LeanAttribute(_consents)
    appointment: Any = LeanAttribute(_appointment)
    insurance: Any = SubFactory(  # type: ignore[no-untyped-call]
        InsuranceFactory,
        as_of=_PARENT_AS_OF,
        payer=_from_patient("PayerName"),
        member_id=_from_patient("idNumber"),
        group_number=_from_patient("GroupNumber"),
        patient_name=_from_patient("MemberName"),
        patient_dob=_from_patient("dob"),
    )

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Check the ``patient__`` and ``insurance__`` arguments before anything is drawn."""
        check_nested(params)


def _insurance_of_patient(o: Any) -> Any:
    patient = o.patient
    return InsuranceFactory.build(
        as_of=o.as_of,
        payer=patient["PayerName"],
        member_id=patient["idNumber"],
        group_number=patient["GroupNumber"],
        patient_name=patient["MemberName"],
        patient_dob=patient["dob"],
    )


#: The intake's ``insurance`` as one declaration: what the SubFactory makes, for a
#: caller that passes the ``patient`` in whole (pytest-factoryboy's fixtures).
INSURANCE_OF_PATIENT = LeanAttribute(_insurance_of_patient)


def _nested(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {
        key[len(prefix) :]: value
        for key, value in params.items()
        if key.startswith(prefix) and "__" not in key[len(prefix) :]
    }


def check_nested(params: dict[str, Any]) -> None:
    """Check the ``patient__`` and ``insurance__`` arguments of a build, before drawing.

    A ``SubFactory`` builds without its factory's own checks, so they run here, and
    an error names the argument as the caller wrote it.

    Raises:
        VariantError: An unknown name (with the closest suggested), variants that
            exclude each other, or a bad value.
    """
    patient = _nested(params, "patient__")
    if patient:
        unknown = [f"patient__{name}" for name in patient if name not in _PATIENT_NAMES]
        _check_names(
            unknown, [f"patient__{name}" for name in _PATIENT_NAMES], "payload field or variant"
        )
        try:
            check_variants(patient)
        except VariantError as exc:
            raise VariantError(f"patient__: {exc}") from None
    insurance = _nested(params, "insurance__")
    if insurance:
        try:
            _check_insurance(insurance)
        except VariantError as exc:
            raise VariantError(f"insurance__: {exc}") from None
