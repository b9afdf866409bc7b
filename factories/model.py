"""The records this library makes: their keys, their types and their YAML form.

A payload is a plain ``dict`` of 13 strings (:class:`BookslotPayload`, a named
subclass so that pytest-factoryboy names its fixtures ``bookslot_payload``), with the
keys in :data:`FIELDS` order: ready for ``json.dumps`` or ``requests.post(json=...)``.

This module imports nothing of ours, and nothing heavy: PyYAML learns to write our
records when it is imported, whoever imports it, not before.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, TypedDict

__all__ = [
    "ADDRESS_FIELDS",
    "APPOINTMENT_FIELDS",
    "BLOCK_SIZE",
    "CONSENT_FIELDS",
    "EMERGENCY_CONTACT_FIELDS",
    "FIELDS",
    "INSURANCE_FIELDS",
    "INTAKE_FIELDS",
    "SUBSCRIBER_FIELDS",
    "BookslotPayload",
    "BookslotPayloadDict",
    "Insurance",
    "PatientIntake",
]

#: The 13 payload keys, in the order the booking API and the data files use.
FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "zip",
    "contact_method",
    "verification_code",
    "zip_distance",
    "dob",
    "MemberName",
    "idNumber",
    "GroupNumber",
    "PayerName",
)

#: Records per block: the unit in which records are drawn, checked, encoded and
#: written. A block of the bulk engine depends only on its number (and the run's
#: inputs), so this is a constant of the data: changing it changes the data.
BLOCK_SIZE = 10_000


class BookslotPayloadDict(TypedDict):
    """The payload's keys and types, for type checkers."""

    first_name: str
    last_name: str
    email: str
    phone_number: str
    zip: str
    contact_method: str
    verification_code: str
    zip_distance: str
    dob: str
    MemberName: str
    idNumber: str
    GroupNumber: str
    PayerName: str


class BookslotPayload(dict[str, str]):
    """A booking payload: a plain ``dict`` of 13 strings, in :data:`FIELDS` order.

    A named ``dict`` subclass, so pytest-factoryboy names its fixtures
    ``bookslot_payload`` and ``json.dumps`` needs no custom encoder.
    """


#: The keys of a patient intake (:class:`PatientIntake`), in order.
INTAKE_FIELDS: tuple[str, ...] = (
    "patient",
    "address",
    "sex",
    "preferred_language",
    "emergency_contact",
    "reason_for_visit",
    "allergies",
    "medications",
    "consents",
    "appointment",
    "insurance",
)
#: The keys of an intake's ``address``.
ADDRESS_FIELDS: tuple[str, ...] = ("line1", "line2", "city", "state", "zip")
#: The keys of an intake's ``emergency_contact``.
EMERGENCY_CONTACT_FIELDS: tuple[str, ...] = ("name", "relationship", "phone")
#: The keys of an intake's ``consents`` (booleans).
CONSENT_FIELDS: tuple[str, ...] = (
    "privacy_notice",
    "treatment",
    "sms_reminders",
    "email_reminders",
)
#: The keys of an intake's ``appointment``.
APPOINTMENT_FIELDS: tuple[str, ...] = ("date", "time", "timezone")
#: The keys of an insurance record (:class:`Insurance`), in order.
INSURANCE_FIELDS: tuple[str, ...] = (
    "payer",
    "member_id",
    "group_number",
    "plan_type",
    "subscriber_relationship",
    "subscriber",
    "effective_date",
    "termination_date",
    "copay",
)
#: The keys of an insurance record's ``subscriber``.
SUBSCRIBER_FIELDS: tuple[str, ...] = ("name", "dob")


class PatientIntake(dict[str, Any]):
    """A patient intake: a plain ``dict`` in :data:`INTAKE_FIELDS` order, JSON-ready.

    ``patient`` is a :class:`BookslotPayload`, ``insurance`` an :class:`Insurance`;
    the other values are strings, booleans, lists of strings and mappings of them.
    """


class Insurance(dict[str, Any]):
    """An insurance record: a plain ``dict`` in :data:`INSURANCE_FIELDS` order.

    ``copay`` is whole dollars (an ``int``), ``subscriber`` a mapping of ``name`` and
    ``dob``; the other values are strings.
    """


#: The dict subclasses that PyYAML writes as plain mappings.
RECORD_TYPES: tuple[type[dict[str, Any]], ...] = (BookslotPayload, PatientIntake, Insurance)


def _teach_yaml(yaml: ModuleType) -> None:
    # PyYAML looks representers up by exact type, so yaml.safe_dump(payload) would
    # fail ("cannot represent an object") and yaml.dump would tag it !!python/object.
    for name in ("SafeDumper", "Dumper", "CSafeDumper", "CDumper"):
        dumper = getattr(yaml, name, None)
        if dumper is not None:
            for record_type in RECORD_TYPES:
                dumper.add_representer(record_type, yaml.SafeDumper.represent_dict)


class _YamlHook(importlib.abc.MetaPathFinder):
    """Teaches PyYAML our records right after it is first imported, then leaves.

    Importing PyYAML ourselves would cost every ``import bookslot_factories`` (and
    every pytest run, through the plugin) about 10 ms for a feature few use.
    """

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "yaml":
            return None
        _remove_hook()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _teach_yaml(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _remove_hook() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _YamlHook)]


def _install_yaml_hook() -> None:
    if "yaml" in sys.modules:
        _teach_yaml(sys.modules["yaml"])
    elif not any(isinstance(f, _YamlHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _YamlHook())


_install_yaml_hook()
