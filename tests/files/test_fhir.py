"""Tests of bookslot_factories.files._fhir: payloads as FHIR R4 Patient and Coverage."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from bookslot_factories import DataFileError
from bookslot_factories.cli import main
from bookslot_factories.files import FORMATS, check, format_for, iter_load, load, save
from bookslot_factories.model import FIELDS
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.patient import Patient
from oracles import AS_OF, CFG, GOOD, joined, make_records

# The value sets of the codes we write, from the FHIR R4 (4.0.1) specification:
# fhir.resources checks shapes, not codes.
SUBSCRIBER_RELATIONSHIP = {"child", "parent", "spouse", "common", "other", "self", "injured"}
COVERAGE_STATUS = {"active", "cancelled", "draft", "entered-in-error"}
COVERAGE_CLASS = {"group", "subgroup", "plan", "subplan", "class", "subclass", "sequence",
                  "rxbin", "rxpcn", "rxid", "rxgroup"}  # fmt: skip
CONTACT_POINT_SYSTEM = {"phone", "fax", "email", "pager", "url", "sms", "other"}
ADMINISTRATIVE_GENDER = {"male", "female", "other", "unknown"}
APPOINTMENT_STATUS = {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled",
                      "noshow", "entered-in-error", "checked-in", "waitlist"}  # fmt: skip
MODELS: dict[str, Any] = {"Patient": Patient, "Coverage": Coverage}
EXTENSION = "https://bookslot-factories.example/fhir/StructureDefinition/"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "young": {"young": True},
    "senior": {"senior": True},
    "dynamic_zip": {"dynamic_zip": True},
    "dynamic_location": {"dynamic_location": True},
    "dynamic_phone": {"dynamic_phone": True},
    "state": {"state": "TX"},
    "near": {"near": "20678"},
}
SUFFIX = {"fhir": ".fhir.json", "fhir-ndjson": ".fhir.ndjson"}


def resources_of(path: Path, fmt: str) -> list[dict[str, Any]]:
    """The resources of a file, read with the standard JSON parser only."""
    text = path.read_text("utf-8")
    if fmt == "fhir-ndjson":
        return [json.loads(line) for line in text.splitlines()]
    bundle = json.loads(text)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    return [entry["resource"] for entry in bundle.get("entry", [])]


def check_codes(resource: dict[str, Any]) -> None:
    """Every code a resource holds is in its value set."""
    kind = resource["resourceType"]
    for telecom in resource.get("telecom", []):
        assert telecom["system"] in CONTACT_POINT_SYSTEM
    if "gender" in resource:
        assert resource["gender"] in ADMINISTRATIVE_GENDER
    if kind == "Coverage":
        assert resource["status"] in COVERAGE_STATUS
        for coding in resource["relationship"]["coding"]:
            assert coding["system"].endswith("/CodeSystem/subscriber-relationship")
            assert coding["code"] in SUBSCRIBER_RELATIONSHIP
        for item in resource["class"]:
            for coding in item["type"]["coding"]:
                assert coding["system"].endswith("/CodeSystem/coverage-class")
                assert coding["code"] in COVERAGE_CLASS
    if kind == "Appointment":
        assert resource["status"] in APPOINTMENT_STATUS


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_round_trip_of_every_variant(tmp_path: Path, fmt: str, variant: str) -> None:
    records = make_records(12, **VARIANTS[variant])
    path = tmp_path / f"p{SUFFIX[fmt]}"
    assert save(records, path) == 12
    assert format_for(path).name == fmt
    assert load(path, as_of=AS_OF) == records
    assert list(iter_load(path, as_of=AS_OF)) == records
    assert all(tuple(record) == FIELDS for record in load(path, as_of=AS_OF))


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_every_resource_parses_as_r4b_with_codes_in_their_value_sets(
    tmp_path: Path, fmt: str
) -> None:
    records = make_records(20, dynamic_zip=True)
    path = tmp_path / f"p{SUFFIX[fmt]}"
    save(records, path)
    resources = resources_of(path, fmt)
    assert [r["resourceType"] for r in resources] == ["Patient", "Coverage"] * 20
    for resource in resources:
        MODELS[resource["resourceType"]].model_validate(resource)
        check_codes(resource)
        assert UUID.match(resource["id"])
    for record, patient, coverage in zip(records, resources[::2], resources[1::2], strict=True):
        month, day, year = record["dob"].split("/")
        assert patient["birthDate"] == f"{year}-{month}-{day}"
        assert patient["name"] == [{"family": record["last_name"], "given": [record["first_name"]]}]
        assert patient["address"] == [{"postalCode": record["zip"]}]
        assert coverage["subscriberId"] == record["idNumber"]
        assert coverage["payor"] == [{"display": record["PayerName"]}]
        assert coverage["class"][0]["value"] == record["GroupNumber"]
        urls = {e["url"][len(EXTENSION) :]: e["valueString"] for e in patient["extension"]}
        assert urls == {k: record[k] for k in ("contact_method", "verification_code",
                                              "zip_distance")}  # fmt: skip
        assert coverage["extension"] == [{"url": EXTENSION + "MemberName",
                                          "valueString": record["MemberName"]}]  # fmt: skip
        expected = (
            f"Patient/{patient['id']}" if fmt == "fhir-ndjson" else f"urn:uuid:{patient['id']}"
        )
        assert coverage["beneficiary"]["reference"] == expected
    assert len({r["id"] for r in resources}) == 40


def test_suffixes_select_the_fhir_formats() -> None:
    assert format_for("a.FHIR.json").name == "fhir"
    assert format_for("a.fhir.ndjson").name == "fhir-ndjson"
    assert format_for("a.fhir").name == "fhir"
    assert format_for("a.fhir-ndjson").name == "fhir-ndjson"
    assert format_for("a.json").name == "json"
    assert format_for("fhir.json").name == "json"  # a name, not a suffix
    assert format_for("a.json", "fhir").name == "fhir"


def test_the_readme_example_is_what_the_cli_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    section = readme[readme.index("### FHIR files") :]
    command = re.search(r"`(bookslot-data generate [^`]*)`", section)
    assert command is not None
    out = tmp_path / "r.fhir.ndjson"
    args = command.group(1).split()[1:]
    assert main([*args[: args.index("-o")], "-o", str(out)]) == 0
    block = section[section.index("```json\n") + 8 : section.index("```\n\n")]
    shown, index = [], 0
    while index < len(block.rstrip()):
        value, index = json.JSONDecoder().raw_decode(block, index)
        shown.append(value)
        while index < len(block) and block[index].isspace():
            index += 1
    assert shown == resources_of(out, "fhir-ndjson")


def test_the_bundle_validates_and_its_references_resolve(tmp_path: Path) -> None:
    path = tmp_path / "b.fhir.json"
    save(make_records(15), path)
    bundle = json.loads(path.read_text("utf-8"))
    Bundle.model_validate(bundle)
    urls = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    assert len(urls) == 30
    for url, resource in urls.items():
        assert url == f"urn:uuid:{resource['id']}"
    for resource in urls.values():
        if resource["resourceType"] == "Coverage":
            assert urls[resource["beneficiary"]["reference"]]["resourceType"] == "Patient"


def test_a_bundle_in_another_order_reads_by_its_references(tmp_path: Path) -> None:
    records = make_records(4)
    path = tmp_path / "o.fhir.json"
    save(records, path)
    bundle = json.loads(path.read_text("utf-8"))
    # Every Coverage first, in reverse: each still finds its Patient by reference.
    entries = bundle["entry"]
    bundle["entry"] = entries[1::2][::-1] + entries[0::2]
    path.write_text(json.dumps(bundle, indent=1), "utf-8")
    assert load(path, as_of=AS_OF, cfg=CFG) == records


def test_blocks_give_the_bytes_of_one_save(tmp_path: Path) -> None:
    records = make_records(7)
    for fmt, suffix in SUFFIX.items():
        save(records, tmp_path / f"a{suffix}")
        assert joined(FORMATS[fmt], records, [3, 4]) == (tmp_path / f"a{suffix}").read_bytes()


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_identical_payloads_round_trip_in_order(tmp_path: Path, fmt: str) -> None:
    # The same content gives the same ids; each Patient keeps its own Coverage.
    other = make_records(1)[0]
    records = [GOOD, other, GOOD, {**GOOD, "PayerName": "Cigna Healthcare"}, GOOD]
    path = tmp_path / f"d{SUFFIX[fmt]}"
    save(records, path)
    assert load(path, as_of=AS_OF, cfg=CFG) == records


def test_no_records_is_a_valid_empty_bundle(tmp_path: Path) -> None:
    path = tmp_path / "e.fhir.json"
    assert save([], path) == 0
    bundle = json.loads(path.read_text("utf-8"))
    assert "entry" not in bundle  # FHIR forbids empty arrays
    Bundle.model_validate(bundle)
    assert load(path) == []


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_same_seed_same_bytes_through_the_cli(tmp_path: Path, fmt: str) -> None:
    for name in ("a", "b"):
        assert main(["generate", "--seed", "5", "--as-of", "2026-11-29", "-n", "20",
                     "-o", str(tmp_path / f"{name}{SUFFIX[fmt]}")]) == 0  # fmt: skip
    first = (tmp_path / f"a{SUFFIX[fmt]}").read_bytes()
    assert first == (tmp_path / f"b{SUFFIX[fmt]}").read_bytes()
    assert main(["generate", "--seed", "5", "--as-of", "2026-11-29", "-n", "20", "-f", fmt,
                 "-o", str(tmp_path / "plain.out")]) == 0  # fmt: skip
    assert (tmp_path / "plain.out").read_bytes() == first
    assert main(["validate", "--as-of", "2026-11-29", str(tmp_path / f"a{SUFFIX[fmt]}")]) == 0
    other = tmp_path / f"c{SUFFIX[fmt]}"
    assert main(["generate", "--seed", "6", "--as-of", "2026-11-29", "-n", "20",
                 "-o", str(other)]) == 0  # fmt: skip
    assert other.read_bytes() != first


def test_dob_that_is_not_a_date_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "x.fhir.json"
    save([GOOD], path)
    before = path.read_bytes()
    with pytest.raises(DataFileError, match="MM/DD/YYYY"):
        save([GOOD, {**GOOD, "dob": "1980-04-12"}], path)
    assert path.read_bytes() == before


def _bundle(*resources: dict[str, Any], urls: list[str] | None = None) -> str:
    entries = [
        {"fullUrl": (urls or [])[i] if urls else f"urn:uuid:{r.get('id')}", "resource": r}
        for i, r in enumerate(resources)
    ]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def _pair(**changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    path_records = FORMATS["fhir"].encode([GOOD], True)
    entries = json.loads(b"{" + path_records[1:] + b"]}")["entry"]
    patient, coverage = entries[0]["resource"], entries[1]["resource"]
    for key, value in changes.items():
        kind, _, name = key.partition("__")
        target = patient if kind == "patient" else coverage
        if value is None:
            del target[name]
        else:
            target[name] = value
    return patient, coverage


@pytest.mark.parametrize(
    ("content", "record", "field", "message"),
    [
        ("", None, None, "is empty; expected a FHIR Bundle"),
        ('{"resourceType": "Patient"}', None, None, "is not a FHIR Bundle"),
        ('{"resourceType": "Bundle", "entry": [{"a": ', None, None, "is not valid JSON"),
        ('{"resourceType": "Bundle"} x', None, None, "extra data after the Bundle"),
        ("[1, 2]", None, None, "is not a FHIR Bundle"),
        (_bundle(*_pair(patient__birthDate="1980-13")), 1, "dob", "Patient.birthDate is"),
        (_bundle(*_pair(patient__birthDate=None)), 1, "dob", "Patient.birthDate is missing"),
        (_bundle(*_pair(coverage__subscriberId=7)), 1, "idNumber", "expected a string"),
        (_bundle(*_pair(coverage__extension=[])), 1, "MemberName", "MemberName is missing"),
        (_bundle(*_pair(coverage__status="draft")), 1, None, "expected 'active'"),
        (_bundle(*_pair(patient__telecom=[])), 1, "email", "0 email entries"),
        (_bundle(_pair()[0]), 1, None, "entry 0: the Patient has no Coverage"),
        (_bundle(_pair()[1]), None, None, "entry 0: Coverage.beneficiary"),
        (_bundle(*_pair(), _pair()[1]), None, None, "entry 2: a second Coverage"),
        (
            _bundle(*_pair(patient__address=[{"postalCode": "2067"}])),
            1,
            "zip",
            "field 'zip' is '2067'",
        ),
        (
            # An Appointment tells an intake Bundle, whose first entry is a Patient.
            _bundle({"resourceType": "Appointment", "id": "a"}),
            1,
            None,
            "entry 0 is 'Appointment'; expected a Patient",
        ),
    ],
    ids=["empty", "not-bundle", "syntax", "extra", "array", "birth-date", "no-birth-date", "subscriber-id",
         "member-name", "status", "telecom", "no-coverage", "dangling", "second-coverage", "rule", "appointment"],
)  # fmt: skip
def test_bad_bundles_are_reported_precisely(
    tmp_path: Path, content: str, record: int | None, field: str | None, message: str
) -> None:
    path = tmp_path / "bad.fhir.json"
    path.write_text(content, "utf-8")
    with pytest.raises(DataFileError) as info:
        load(path, as_of=AS_OF, cfg=CFG)
    text = str(info.value)
    assert text.startswith(str(path) + (f", record {record}" if record else "")), text
    assert message in text, text
    assert (info.value.record, info.value.field) == (record, field)


def test_a_bundle_error_names_the_record_and_the_line_of_its_entry(tmp_path: Path) -> None:
    path = tmp_path / "l.fhir.json"
    records = make_records(3)
    save(records, path)
    lines = path.read_text("utf-8").splitlines(keepends=True)
    assert records[1]["zip"] != "1234"
    lines[3] = lines[3].replace(f'"postalCode":"{records[1]["zip"]}"', '"postalCode":"1234"')
    path.write_text("".join(lines), "utf-8")
    errors = list(check(path, as_of=AS_OF, cfg=CFG))
    assert [(e.record, e.line, e.field) for e in errors] == [(2, 4, "zip")]
    lines[3] = lines[3].replace('"postalCode":"1234"', f'"postalCode":"{records[1]["zip"]}"')
    lines[4] = lines[4].replace('"status":"active"', '"status":"draft"', 1)
    path.write_text("".join(lines), "utf-8")
    with pytest.raises(DataFileError, match="expected 'active'") as info:
        load(path, as_of=AS_OF, cfg=CFG)
    assert (info.value.record, info.value.line) == (2, 5)


def _lines(*resources: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in resources)


def _nd_pair(**changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    lines = FORMATS["fhir-ndjson"].encode([GOOD], True).splitlines()
    patient, coverage = json.loads(lines[0]), json.loads(lines[1])
    for key, value in changes.items():
        kind, _, name = key.partition("__")
        (patient if kind == "patient" else coverage)[name] = value
    return patient, coverage


@pytest.mark.parametrize(
    ("content", "record", "line", "field", "message"),
    [
        (_lines(_nd_pair()[1]), 1, 1, None, "expected a Patient"),
        (_lines(_nd_pair()[0]), 1, 1, None, "the Patient has no Coverage"),
        (_lines(*_nd_pair(coverage__beneficiary={"reference": "Patient/x"})), 1, 2, None,
         "is not the Patient of line 1"),
        (_lines(*_nd_pair(coverage__payor=[])), 1, 2, "PayerName", "Coverage.payor"),
        (_lines(*_nd_pair(patient__address=[{"postalCode": "2067"}])), 1, 1, "zip",
         "field 'zip' is '2067'"),
        (_lines(*_nd_pair()) + "[1]\n", None, 3, None, "is not a FHIR resource"),
        (_lines(*_nd_pair()) + "{\n", None, 3, None, "is not valid JSON"),
    ],
    ids=["coverage-first", "no-coverage", "wrong-patient", "payor", "rule", "array", "syntax"],
)  # fmt: skip
def test_bad_ndjson_is_reported_at_its_line(
    tmp_path: Path,
    content: str,
    record: int | None,
    line: int | None,
    field: str | None,
    message: str,
) -> None:
    path = tmp_path / "bad.fhir.ndjson"
    path.write_text(content, "utf-8")
    with pytest.raises(DataFileError) as info:
        load(path, as_of=AS_OF, cfg=CFG)
    text = str(info.value)
    assert message in text, text
    assert (info.value.record, info.value.line, info.value.field) == (record, line, field)


def test_insurance_records_are_refused_in_fhir(tmp_path: Path) -> None:
    path = tmp_path / "n.fhir.json"
    save([GOOD], path)
    with pytest.raises(DataFileError, match="insurance records have no FHIR form"):
        load(path, kind="insurance")
    with pytest.raises(DataFileError, match="a Coverage needs the Patient it covers"):
        save([{"payer": "x"}], tmp_path / "i.fhir.ndjson", kind="insurance")
    assert not (tmp_path / "i.fhir.ndjson").exists()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        found += (
            _paths(child, (*prefix, key)) if isinstance(child, (dict, list)) else [(*prefix, key)]
        )
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_any_value_of_the_wrong_shape_gives_our_error(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"w{SUFFIX[fmt]}"
    save([GOOD], path)
    good = path.read_text("utf-8")
    if fmt == "fhir":
        document: Any = json.loads(good)
    else:
        document = [json.loads(line) for line in good.splitlines()]
    paths = _paths(document)
    assert len(paths) > 40
    failures = 0
    for where in paths:
        for new in (1, "x", [], {}, None, [1], [{}], True):
            changed = _replaced(document, where, new)
            text = (
                json.dumps(changed)
                if fmt == "fhir"
                else "".join(json.dumps(r) + "\n" for r in changed)
            )
            path.write_text(text, "utf-8")
            # check() reports our errors; anything else would raise out of it.
            problems = list(check(path, as_of=AS_OF, cfg=CFG))
            assert all(str(p).startswith(str(path)) for p in problems)
            if problems:
                failures += 1
            else:
                # A Bundle whose entry array is emptied holds no records.
                emptied = (where, new) == (("entry",), [])
                assert load(path, as_of=AS_OF, cfg=CFG) == ([] if emptied else [GOOD])
    assert failures > len(paths)  # most changes break the mapping or a rule
