"""FHIR R4 (4.0.1) JSON: per payload a ``Patient`` and the ``Coverage`` it holds.

Two layouts: ``fhir``, a ``Bundle`` of type ``collection`` (one entry per line, the
references ``urn:uuid:<id>`` resolved by each entry's ``fullUrl``), and
``fhir-ndjson``, one resource per line as a Bulk Data export writes it (references
``Patient/<id>``). Resource ids are UUID 5 of the record's content under a fixed
namespace, so the same records give the same ids and the same bytes.

No Appointment is written for a payload: a payload holds no time, status or place
to book, so any Appointment would be invented rather than mapped.

Fields FHIR has no element for (``contact_method``, ``verification_code``,
``zip_distance``, ``MemberName``) are extensions under :data:`EXTENSION_BASE`, so
reading our files back gives the 13 payload fields exactly.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any

import orjson

from ..errors import DataFileError, excerpt
from ._io import NO_LINES, Records, text_lines
from ._json import _JSON_SPACE, DECODER, DuplicateKeyError, json_error, json_kind

__all__ = [
    "EXTENSION_BASE",
    "NAMESPACE",
    "begin",
    "encode",
    "encode_ndjson",
    "end",
    "read",
    "read_ndjson",
    "resources",
]

#: The URL base of our extensions: ``<base><field>``.
EXTENSION_BASE = "https://bookslot-factories.example/fhir/StructureDefinition/"
#: The namespace of the resource ids (UUID 5 of the record's content).
NAMESPACE = uuid.UUID("6f1d6c2a-4b8e-5c43-9a51-0b0c5e7d2f13")
CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/coverage-class"
RELATIONSHIP_SYSTEM = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
PATIENT_EXTENSIONS = ("contact_method", "verification_code", "zip_distance")
COVERAGE_EXTENSIONS = ("MemberName",)
_DOB = re.compile(r"(\d{2})/(\d{2})/(\d{4})\Z")
_BIRTH_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")
_BUNDLE_HEAD = b'{"resourceType":"Bundle","type":"collection"'


def _ids(record: Mapping[str, str]) -> tuple[str, str]:
    content = orjson.dumps(dict(record)).decode()
    return (
        str(uuid.uuid5(NAMESPACE, "Patient\x00" + content)),
        str(uuid.uuid5(NAMESPACE, "Coverage\x00" + content)),
    )


def _extensions(record: Mapping[str, str], fields: Sequence[str]) -> list[dict[str, str]]:
    return [{"url": EXTENSION_BASE + field, "valueString": record[field]} for field in fields]


def resources(record: Mapping[str, str], *, bundle: bool) -> list[tuple[str, dict[str, Any]]]:
    """Return a payload's Patient and Coverage, each with its ``fullUrl``.

    Args:
        record: A checked payload.
        bundle: Reference the patient as ``urn:uuid:<id>`` (in a Bundle) rather than
            ``Patient/<id>``.

    Raises:
        ValueError: The payload's ``dob`` is not ``MM/DD/YYYY``.
    """
    patient_id, coverage_id = _ids(record)
    found = _DOB.match(record["dob"])
    if found is None:
        raise ValueError(f"dob {excerpt(record['dob'])} is not MM/DD/YYYY, as FHIR birthDate needs")
    month, day, year = found.groups()
    patient = {
        "resourceType": "Patient",
        "id": patient_id,
        "extension": _extensions(record, PATIENT_EXTENSIONS),
        "name": [{"family": record["last_name"], "given": [record["first_name"]]}],
        "telecom": [
            {"system": "email", "value": record["email"]},
            {"system": "phone", "value": record["phone_number"]},
        ],
        "birthDate": f"{year}-{month}-{day}",
        "address": [{"postalCode": record["zip"]}],
    }
    reference = f"urn:uuid:{patient_id}" if bundle else f"Patient/{patient_id}"
    coverage = {
        "resourceType": "Coverage",
        "id": coverage_id,
        "extension": _extensions(record, COVERAGE_EXTENSIONS),
        "status": "active",
        "subscriberId": record["idNumber"],
        "beneficiary": {"reference": reference},
        "relationship": {"coding": [{"system": RELATIONSHIP_SYSTEM, "code": "self"}]},
        "payor": [{"display": record["PayerName"]}],
        "class": [
            {
                "type": {"coding": [{"system": CLASS_SYSTEM, "code": "group"}]},
                "value": record["GroupNumber"],
            }
        ],
    }
    return [(f"urn:uuid:{patient_id}", patient), (f"urn:uuid:{coverage_id}", coverage)]


def begin(fields: Sequence[str]) -> bytes:
    return _BUNDLE_HEAD


Resources = Callable[..., list[tuple[str, dict[str, Any]]]]


@dataclasses.dataclass(frozen=True)
class BundleEncoder:
    """The Bundle's block encoder for a kind whose records become ``resources(record)``.

    A frozen dataclass rather than a closure: a format's encoder must pickle (and
    compare equal afterwards) to run in a worker process.
    """

    resources: Resources

    def __call__(self, records: Sequence[Mapping[str, Any]], first: bool) -> bytes:
        """Encode a block as Bundle entries, one per line (``"entry":[`` before the first)."""
        if not records:
            return b""
        lines = [
            orjson.dumps({"fullUrl": url, "resource": resource})
            for record in records
            for url, resource in self.resources(record, bundle=True)
        ]
        # FHIR forbids an empty array, so "entry" opens with the first record, not in begin.
        return (b',"entry":[\n' if first else b",\n") + b",\n".join(lines)


@dataclasses.dataclass(frozen=True)
class NdjsonEncoder:
    """The NDJSON block encoder for a kind whose records become ``resources(record)``."""

    resources: Resources

    def __call__(self, records: Sequence[Mapping[str, Any]], first: bool) -> bytes:
        """Encode a block as FHIR NDJSON, a resource a line, each record's in order."""
        return b"".join(
            orjson.dumps(resource) + b"\n"
            for record in records
            for _, resource in self.resources(record, bundle=False)
        )


def end(any_records: bool) -> bytes:
    return b"\n]}\n" if any_records else b"}\n"


encode = BundleEncoder(resources)
encode_ndjson = NdjsonEncoder(resources)


class _Bad(Exception):
    """A resource breaks our mapping; the reader adds where it is."""

    def __init__(self, problem: str, field: str | None) -> None:
        super().__init__(problem)
        self.problem, self.field = problem, field


def _get(value: Any, path: str, field: str | None, *keys: str | int) -> Any:
    for key in keys:
        ok = (
            isinstance(value, dict)
            if isinstance(key, str)
            else isinstance(value, list) and len(value) > key
        )
        path = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
        if not ok or (isinstance(key, str) and key not in value):
            raise _Bad(f"{path} is missing", field)
        value = value[key]
    return value


def _text(value: Any, path: str, field: str, *keys: str | int) -> str:
    found = _get(value, path, field, *keys)
    if not isinstance(found, str):
        where = path + "".join(f".{k}" if isinstance(k, str) else f"[{k}]" for k in keys)
        raise _Bad(f"{where} is {json_kind(found)}; expected a string", field)
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _extension(resource: dict[str, Any], kind: str, field: str) -> str:
    url = EXTENSION_BASE + field
    extensions = _list(resource.get("extension"))
    matches = [e for e in extensions if isinstance(e, dict) and e.get("url") == url]
    if len(matches) != 1:
        how = "missing" if not matches else "given more than once"
        raise _Bad(f"{kind}.extension {url} is {how}; expected it once", field)
    return _text(matches[0], f"{kind}.extension[{url}]", field, "valueString")


def _telecom(patient: dict[str, Any], system: str, field: str) -> str:
    telecom = _list(patient.get("telecom"))
    matches = [t for t in telecom if isinstance(t, dict) and t.get("system") == system]
    if len(matches) != 1:
        raise _Bad(f"Patient.telecom has {len(matches)} {system} entries; expected one", field)
    return _text(matches[0], f"Patient.telecom[{system}]", field, "value")


def _coded(resource: dict[str, Any], path: str, field: str | None, system: str, code: str) -> None:
    coding = _get(resource, path.split(".")[0], field, *path.split(".")[1:])
    codes = coding.get("coding") if isinstance(coding, dict) else None
    if not isinstance(codes, list) or not any(
        isinstance(c, dict) and c.get("system") == system and c.get("code") == code for c in codes
    ):
        raise _Bad(f"{path} is not coded {system}|{code}", field)


def payload(patient: Any, coverage: Any, *, self_only: bool = True) -> dict[str, str]:
    """Return the payload a Patient and its Coverage hold, in the payload's field order.

    Args:
        patient: The Patient resource.
        coverage: Its Coverage.
        self_only: Require the Coverage's relationship to be ``self`` (a payload's
            always is; an intake's is read by its own reader).
    """
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise _Bad("expected a Patient resource", None)
    if not isinstance(coverage, dict) or coverage.get("resourceType") != "Coverage":
        raise _Bad("expected a Coverage resource after its Patient", None)
    found = _BIRTH_DATE.match(_text(patient, "Patient", "dob", "birthDate"))
    if found is None:
        raise _Bad(
            f"Patient.birthDate is {excerpt(patient['birthDate'])}; expected YYYY-MM-DD", "dob"
        )
    year, month, day = found.groups()
    if coverage.get("status") != "active":
        raise _Bad(f"Coverage.status is {excerpt(coverage.get('status'))}; expected 'active'", None)
    if self_only:
        _coded(coverage, "Coverage.relationship", None, RELATIONSHIP_SYSTEM, "self")
    classes = _get(coverage, "Coverage", "GroupNumber", "class")
    groups = (
        [
            c
            for c in classes
            if isinstance(c, dict)
            and any(
                isinstance(k, dict) and k.get("system") == CLASS_SYSTEM and k.get("code") == "group"
                for k in _list(_dict(c.get("type")).get("coding"))
            )
        ]
        if isinstance(classes, list)
        else []
    )
    if len(groups) != 1:
        raise _Bad(f"Coverage.class has {len(groups)} classes of type group; expected one",
                   "GroupNumber")  # fmt: skip
    record = {
        "first_name": _text(patient, "Patient", "first_name", "name", 0, "given", 0),
        "last_name": _text(patient, "Patient", "last_name", "name", 0, "family"),
        "email": _telecom(patient, "email", "email"),
        "phone_number": _telecom(patient, "phone", "phone_number"),
        "zip": _text(patient, "Patient", "zip", "address", 0, "postalCode"),
        **{field: _extension(patient, "Patient", field) for field in PATIENT_EXTENSIONS},
        "dob": f"{month}/{day}/{year}",
        "MemberName": _extension(coverage, "Coverage", "MemberName"),
        "idNumber": _text(coverage, "Coverage", "idNumber", "subscriberId"),
        "GroupNumber": _text(groups[0], "Coverage.class[group]", "GroupNumber", "value"),
        "PayerName": _text(coverage, "Coverage", "PayerName", "payor", 0, "display"),
    }
    return record


def _reference(coverage: Any) -> str | None:
    beneficiary = coverage.get("beneficiary") if isinstance(coverage, dict) else None
    found = beneficiary.get("reference") if isinstance(beneficiary, dict) else None
    return found if isinstance(found, str) else None


class _Pairs:
    """Pairs each Patient of a Bundle with a Coverage of its fullUrl, yielding in order.

    Identical payloads give identical resources, so a fullUrl may repeat: each Patient
    takes the first Coverage of its fullUrl that no earlier one took. Only unpaired
    resources are held, so a Bundle of ours (each Coverage after its Patient) is read
    in flat memory beyond its text.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.number = 0
        self.order: deque[list[Any]] = deque()  # [url, index, line, patient, coverage]
        self.waiting: dict[str, deque[list[Any]]] = {}
        self.unclaimed: dict[Any, deque[tuple[int, int, Any]]] = {}
        self.urls: set[str] = set()

    def add(self, index: int, line: int, entry: Any) -> Records:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in ("Patient", "Coverage") or not isinstance(url, str):
            raise DataFileError(
                f"entry {index} is not a Patient or Coverage with a fullUrl; expected "
                "{'fullUrl': ..., 'resource': {'resourceType': 'Patient' or 'Coverage', ...}}",
                path=self.name,
                line=line,
            )
        if kind == "Patient":
            self.urls.add(url)
            slot = [url, index, line, resource, None]
            self.order.append(slot)
            free = self.unclaimed.get(url)
            if free:
                slot[4] = free.popleft()
            else:
                self.waiting.setdefault(url, deque()).append(slot)
        else:
            reference = _reference(resource)
            patients = self.waiting.get(reference) if isinstance(reference, str) else None
            if patients:
                patients.popleft()[4] = (index, line, resource)
            else:
                self.unclaimed.setdefault(reference, deque()).append((index, line, resource))
        while self.order and self.order[0][4] is not None:
            yield self._record(self.order.popleft())

    def _record(self, slot: list[Any]) -> Any:
        _, index, line, patient, (at, at_line, coverage) = slot
        self.number += 1
        try:
            record = payload(patient, coverage)
        except _Bad as exc:
            raise DataFileError(
                f"entries {index} and {at}: {exc.problem}",
                path=self.name,
                record=self.number,
                line=at_line if exc.problem.startswith("Coverage") else line,
                field=exc.field,
            ) from None
        return self.number, line, record, NO_LINES

    def finish(self) -> None:
        if self.order:
            _, index, line, _, _ = self.order[0]
            raise DataFileError(
                f"entry {index}: the Patient has no Coverage; expected one per patient",
                path=self.name,
                record=self.number + 1,
                line=line,
            )
        for reference, left in self.unclaimed.items():
            if left:
                index, line, _ = left[0]
                problem = (
                    f"a second Coverage of the Patient {excerpt(reference)}; expected one per "
                    "patient"
                    if reference in self.urls
                    else f"Coverage.beneficiary {excerpt(reference)} does not resolve to a "
                    "Patient of the Bundle"
                )
                raise DataFileError(f"entry {index}: {problem}", path=self.name, line=line)


def entries(file: IO[bytes], name: str) -> Iterator[tuple[int, int, Any]]:
    """Yield a Bundle's entries as they are parsed: ``(index, line, entry)``.

    The whole text is read, then parsed entry by entry; the Bundle's other keys are
    checked, and ``resourceType`` must be ``Bundle``.
    """
    data = file.read()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded; save the "
            "file as UTF-8",
            path=name,
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None
    del data
    line, counted = 1, 0

    def line_at(index: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, index)
        counted = index
        return line

    def space(index: int) -> int:
        found = _JSON_SPACE.match(text, index)
        return found.end() if found else index

    def decode(index: int, record: int | None = None) -> tuple[Any, int]:
        try:
            return DECODER.raw_decode(text, index)
        except (ValueError, RecursionError, DuplicateKeyError) as exc:
            raise json_error(exc, name, record, line_at(index), whole_file=False) from None

    def expect(index: int, tokens: str) -> int:
        if index < len(text) and text[index] in tokens:
            return index
        found = "the end of the file" if index >= len(text) else excerpt(text[index])
        raise DataFileError(
            f"is not valid JSON: found {found}; expected {' or '.join(map(repr, tokens))}",
            path=name,
            line=line_at(index),
        )

    index = space(0)
    if index == len(text):
        raise DataFileError("is empty; expected a FHIR Bundle", path=name)
    if text[index] != "{":
        raise DataFileError(
            "the top level is not a FHIR Bundle; expected resourceType 'Bundle'",
            path=name,
            line=line_at(index),
        )
    kind: Any = None
    index = space(index + 1)
    if text[expect(index, '"}')] == '"':
        while True:
            key, index = decode(index)
            index = space(expect(space(index), ":") + 1)
            if key == "entry":
                index = space(expect(index, "[") + 1)
                number = 0
                while index >= len(text) or text[index] != "]":
                    at = line_at(index)
                    entry, index = decode(index)
                    yield number, at, entry
                    number += 1
                    index = space(expect(space(index), ",]"))
                    if text[index] == ",":
                        index = space(index + 1)
                index += 1
            else:
                value, index = decode(index)
                if key == "resourceType":
                    kind = value
            index = space(index)
            if text[expect(index, ",}")] == "}":
                break
            index = space(index + 1)
    index = space(index + 1)
    if index != len(text):
        raise DataFileError(
            "is not valid JSON: extra data after the Bundle; expected one JSON object",
            path=name,
            line=line_at(index),
        )
    if kind != "Bundle":
        raise DataFileError(
            f"the top level is not a FHIR Bundle: resourceType is {excerpt(kind)}; "
            "expected 'Bundle'",
            path=name,
        )


def read(file: IO[bytes], name: str) -> Records:
    """Read a Bundle entry by entry: each Patient with a Coverage whose beneficiary it is."""
    pairs = _Pairs(name)
    for index, line, entry in entries(file, name):
        yield from pairs.add(index, line, entry)
    pairs.finish()


def _lines(file: IO[bytes], name: str) -> Iterator[tuple[int, Any]]:
    decode = DECODER.decode
    for line, text in enumerate(text_lines(file, name), 1):
        if not text.strip(" \t\r\n"):
            continue
        try:
            value = decode(text)
        except (ValueError, RecursionError, DuplicateKeyError) as exc:
            raise json_error(exc, name, None, line, whole_file=False) from None
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            raise DataFileError(
                "is not a FHIR resource; expected one JSON object with a resourceType per line",
                path=name,
                line=line,
            )
        yield line, value


def read_ndjson(file: IO[bytes], name: str) -> Records:
    """Read FHIR NDJSON as a stream: each Patient line, then its Coverage line."""
    lines = _lines(file, name)
    for number, (line, patient) in enumerate(lines, 1):
        if patient["resourceType"] != "Patient":
            raise DataFileError(
                f"is a {excerpt(patient['resourceType'])}; expected a Patient",
                path=name, record=number, line=line,
            )  # fmt: skip
        following = next(lines, None)
        if following is None:
            raise DataFileError(
                "the Patient has no Coverage; expected a Coverage line after each Patient",
                path=name, record=number, line=line,
            )  # fmt: skip
        at, coverage = following
        if coverage["resourceType"] == "Coverage" and _reference(coverage) != (
            f"Patient/{patient.get('id')}"
        ):
            raise DataFileError(
                f"Coverage.beneficiary {excerpt(_reference(coverage))} is not the Patient of "
                f"line {line}; expected 'Patient/{excerpt(patient.get('id'))}'",
                path=name, record=number, line=at,
            )  # fmt: skip
        try:
            record = payload(patient, coverage)
        except _Bad as exc:
            raise DataFileError(
                exc.problem, path=name, record=number, line=at if "Coverage" in exc.problem
                else line, field=exc.field
            ) from None  # fmt: skip
        yield number, line, record, NO_LINES
