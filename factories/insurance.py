"""``InsuranceFactory``: the extended insurance record of a patient.

An :class:`~bookslot_factories.model.Insurance` holds the payer, the member id in
that payer's format, the group number, the plan type (by the patient's age), who
the subscriber is and the coverage dates:

>>> from bookslot_factories import seed
>>> seed(7)
>>> record = InsuranceFactory.build(patient_dob="04/02/1950", as_of="2026-06-15")
>>> record["subscriber_relationship"] in ("self", "spouse", "child", "other")
True

Its draws come from a stream of their own, derived from the seed
(:func:`~bookslot_factories.seeding.derive`), so building insurance records never
changes the payloads built from the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from functools import cache
from typing import Any

from . import config, draws, seeding, tables
from .bookslot import LeanAttribute, LeanFunction, Variant
from .errors import VariantError, excerpt
from .model import INSURANCE_FIELDS, Insurance
from .records import RecordFactory
from .tables import Choice
from .variants import as_date

__all__ = ["STREAM", "Insurance", "InsuranceFactory", "stream"]

#: The random source of the insurance draws (reseeded with every seed).
STREAM = random.Random()


def stream(name: str, source: random.Random) -> None:
    """Make ``source`` a stream of its own: reseeded from the seed and ``name``.

    Every :func:`~bookslot_factories.seed` reseeds it with
    ``derive(seed, name)``, and :func:`~bookslot_factories.seeding.seeded` puts its
    state back after.
    """

    def reset() -> None:
        source.seed(seeding.derive(seeding.current_seed(), name))

    def save() -> Callable[[], None]:
        state = source.getstate()
        return lambda: source.setstate(state)

    seeding.on_seed(reset, save)
    reset()


stream("insurance", STREAM)


def reference(o: Any) -> date:
    """The build's reference date: its ``as_of``, else the config's (or today)."""
    return as_date(o.as_of) or config.reference_date()


def _patient_name(o: Any) -> str:
    return draws.member_name(draws.first_name().one(STREAM), draws.last_name().one(STREAM))


def _patient_dob(o: Any) -> str:
    return draws.dob(config.current(), "default", reference(o)).one(STREAM)


def _age(o: Any) -> int:
    return tables.age(tables.parse_date(o.patient_dob), reference(o))


def _plan_type(disabled: bool) -> Callable[[Any], str]:
    def plan_type(o: Any) -> str:
        return tables.plan_types(tables.age_band_start(_age(o)), disabled).one(STREAM)

    return plan_type


@cache
def _relationships(child: bool) -> Choice:
    pairs = tables.SUBSCRIBER_RELATIONSHIP_WEIGHTS
    return tables.weighted([pair for pair in pairs if child or pair[0] != "child"])


def _relationship(o: Any) -> str:
    if o.plan_type == "Medicare Advantage":
        return "self"  # Medicare covers the beneficiary as such
    return _relationships(_age(o) < tables.DEPENDENT_AGE_LIMIT).one(STREAM)


def _born_aged(years: int, on: date) -> date:
    earliest, latest = tables.birth_date_range(years, years, on)
    return earliest + timedelta(days=STREAM.randrange((latest - earliest).days + 1))


def _subscriber(o: Any) -> dict[str, str]:
    relationship = o.subscriber_relationship
    if relationship == "self":
        return {"name": o.patient_name, "dob": o.patient_dob}
    on = reference(o)
    patient_born = tables.parse_date(o.patient_dob)
    years = _age(o)
    family_name = o.patient_name.rpartition(" ")[2]
    if relationship == "child":
        # The patient is the subscriber's child: a parent at least 15 years older,
        # and alive at most 100 years old.
        gap = STREAM.randint(
            tables.MIN_PARENT_GAP,
            max(
                tables.MIN_PARENT_GAP,
                min(tables.MAX_PARENT_GAP, tables.MAX_SUBSCRIBER_AGE - years - 1),
            ),
        )
        born = date(patient_born.year - gap, 1, 1) - timedelta(days=STREAM.randrange(366))
        shares = STREAM.random() < 0.8
    elif relationship == "spouse":
        low = max(tables.ADULT_AGE, years - tables.MAX_SPOUSE_GAP)
        high = min(tables.MAX_SUBSCRIBER_AGE, years + tables.MAX_SPOUSE_GAP)
        born = _born_aged(STREAM.randint(low, high), on)
        shares = STREAM.random() < tables.SHARED_LAST_NAME
    else:
        born = _born_aged(STREAM.randint(tables.ADULT_AGE, 90), on)
        shares = False
    last = family_name if shares and family_name else draws.last_name().one(STREAM)
    first = draws.first_name().one(STREAM)
    return {"name": draws.member_name(first, last), "dob": tables.format_date(born)}


def _effective_date(o: Any) -> str:
    on = reference(o)
    start = max(on - timedelta(days=tables.MAX_COVERAGE_DAYS), tables.parse_date(o.patient_dob))
    return tables.format_date(start + timedelta(days=STREAM.randrange((on - start).days + 1)))


def _termination_date(o: Any) -> str:
    if STREAM.random() >= tables.TERMINATED_SHARE:
        return ""
    # After any appointment of the window, so a booked visit is always covered.
    first = reference(o) + timedelta(days=tables.APPOINTMENT_DAYS + 1)
    return tables.format_date(first + timedelta(days=STREAM.randrange(730)))


def _copay(o: Any) -> int:
    values = tables.COPAYS[o.plan_type]
    return values[STREAM.randrange(len(values))]


class InsuranceFactory(RecordFactory[Insurance]):
    """Builds a patient's extended insurance record.

    Parameters (all optional):

    - ``patient_name="Ana Diaz"`` and ``patient_dob="04/02/1950"`` (``MM/DD/YYYY``):
      the patient insured; drawn when not given. The plan type follows the age,
      and a ``self`` subscriber is the patient.
    - ``as_of``: the reference date (a ``date`` or ``"YYYY-MM-DD"``).
    - ``disabled=True``: a patient under 65 may have Medicare Advantage.

    ``member_id`` follows the config's ``payer_formats`` for the payer, else
    ``id_formats.idNumber``, as the payload's ``idNumber`` does.
    """

    class Meta:
        model = Insurance

    _record_fields = INSURANCE_FIELDS
    _record_what = "insurance field or parameter"

    class Params:
        as_of: Any = None
        patient_name: Any = LeanAttribute(_patient_name)
        patient_dob: Any = LeanAttribute(_patient_dob)
        disabled = Variant(plan_type=LeanAttribute(_plan_type(disabled=True)))

    payer: Any = LeanFunction(lambda: draws.payer(config.current()).one(STREAM))
    member_id: Any = LeanAttribute(lambda o: draws.member_id(config.current(), o.payer).one(STREAM))
    group_number: Any = LeanFunction(lambda: draws.group_number(config.current()).one(STREAM))
    plan_type: Any = LeanAttribute(_plan_type(disabled=False))
    subscriber_relationship: Any = LeanAttribute(_relationship)
    subscriber: Any = LeanAttribute(_subscriber)
    effective_date: Any = LeanAttribute(_effective_date)
    termination_date: Any = LeanAttribute(_termination_date)
    copay: Any = LeanAttribute(_copay)

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Check the parameters before anything is drawn."""
        check_params(params)


def check_params(params: dict[str, Any]) -> None:
    """Check an insurance build's parameters before anything is drawn.

    Raises:
        VariantError: A bad ``as_of``, ``patient_dob`` or ``disabled``.
    """
    as_date(params.get("as_of"))
    if not isinstance(params.get("disabled", False), bool):
        raise VariantError(f"disabled {excerpt(params['disabled'])} is not a bool")
    dob = params.get("patient_dob")
    if isinstance(dob, str):
        try:
            tables.parse_date(dob)
        except ValueError:
            raise VariantError(
                f"patient_dob {excerpt(dob)} is not a date; expected MM/DD/YYYY"
            ) from None
    elif dob is not None and not hasattr(dob, "evaluate"):
        raise VariantError(f"patient_dob {excerpt(dob)} is not a date; expected MM/DD/YYYY")
