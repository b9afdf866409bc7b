"""Tests of bookslot_factories.files._fhir_intake: intakes as FHIR Patient, Coverage, Appointment."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from bookslot_factories import DataFileError, PatientIntakeFactory, seeding
from bookslot_factories.cli import main
from bookslot_factories.files import FORMATS, check, iter_load, load, save
from bookslot_factories.files.nested import format_of
from bookslot_factories.kinds import kind_named
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.patient import Patient
from oracles import AS_OF, CFG
from test_fhir import (
    ADMINISTRATIVE_GENDER,
    APPOINTMENT_STATUS,
    EXTENSION,
    SUFFIX,
    UUID,
    check_codes,
    resources_of,
)
from test_xml import INTAKE_VARIANTS

MODELS: dict[str, Any] = {"Patient": Patient, "Coverage": Coverage, "Appointment": Appointment}
# The value sets of the other codes we write, from FHIR R4 (4.0.1) and its terminology.
PARTICIPATION_STATUS = {"accepted", "declined", "tentative", "needs-action"}
COPAY_TYPE = {"gpvisit", "spvisit", "emergency", "inpthosp", "televisit", "urgentcare",
              "copaypct", "copay", "deductible", "maxoutofpocket"}  # fmt: skip
CONTACT_ROLE = {"BP", "C", "CP", "E", "EP", "F", "I", "N", "O", "PR", "S", "U"}  # HL7 v2 0131
# ISO 639-1 codes (the IANA subtag registry's language subtags) and the registry's
# name of each, for the languages an intake may name: an oracle apart from our table.
ISO_639_1 = {"en": "English", "es": "Spanish", "zh": "Chinese", "tl": "Tagalog",
             "vi": "Vietnamese", "ar": "Arabic", "fr": "French", "ko": "Korean",
             "ru": "Russian", "ht": "Haitian Creole", "de": "German", "hi": "Hindi",
             "pt": "Portuguese", "it": "Italian"}  # fmt: skip
TYPES = ["Patient", "Coverage", "Appointment"]
FORMAT = format_of(kind_named("intake"), FORMATS["fhir-ndjson"])


def intakes(count: int, seed: int = 5, **variant: Any) -> list[dict[str, Any]]:
    with seeding.seeded(seed):
        return PatientIntakeFactory.build_batch(count, as_of=AS_OF, **variant)


def check_intake_codes(resource: dict[str, Any]) -> None:
    """Every code an intake's resource holds is in its value set."""
    check_codes(resource)
    kind = resource["resourceType"]
    if kind == "Patient":
        assert resource["gender"] in ADMINISTRATIVE_GENDER
        for contact in resource["contact"]:
            for relationship in contact["relationship"]:
                for coding in relationship.get("coding", []):
                    assert coding["system"].endswith("/CodeSystem/v2-0131")
                    assert coding["code"] in CONTACT_ROLE
        for communication in resource["communication"]:
            for coding in communication["language"]["coding"]:
                assert coding["system"] == "urn:ietf:bcp:47"
                assert ISO_639_1[coding["code"]] == coding["display"]
    if kind == "Coverage":
        for cost in resource["costToBeneficiary"]:
            for coding in cost["type"]["coding"]:
                assert coding["system"].endswith("/CodeSystem/coverage-copay-type")
                assert coding["code"] in COPAY_TYPE
            assert cost["valueMoney"]["currency"] == "USD"
    if kind == "Appointment":
        assert resource["status"] in APPOINTMENT_STATUS
        for participant in resource["participant"]:
            assert participant["status"] in PARTICIPATION_STATUS


@pytest.mark.parametrize("variant", sorted(INTAKE_VARIANTS))
@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_intakes_round_trip_in_every_variant(tmp_path: Path, fmt: str, variant: str) -> None:
    records = intakes(12, **INTAKE_VARIANTS[variant])
    path = tmp_path / f"i{SUFFIX[fmt]}"
    assert save(records, path) == 12
    assert load(path, as_of=AS_OF, cfg=CFG) == records  # the kind is told from the file
    assert list(iter_load(path, as_of=AS_OF, cfg=CFG, kind="intake")) == records
    assert list(check(path, as_of=AS_OF, cfg=CFG)) == []
    assert [r["resourceType"] for r in resources_of(path, fmt)] == TYPES * 12


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_every_resource_parses_as_r4b_and_maps_its_intake(tmp_path: Path, fmt: str) -> None:
    records = intakes(60, allergic=True, patient__dynamic_zip=True)
    path = tmp_path / f"i{SUFFIX[fmt]}"
    save(records, path)
    resources = resources_of(path, fmt)
    for resource in resources:
        MODELS[resource["resourceType"]].model_validate(resource)
        check_intake_codes(resource)
        assert UUID.match(resource["id"])
    assert len({r["id"] for r in resources}) == 180
    triples = zip(resources[::3], resources[1::3], resources[2::3], strict=True)
    languages, relationships = set(), set()
    for record, (patient, coverage, visit) in zip(records, triples, strict=True):
        person, address, insurance = record["patient"], record["address"], record["insurance"]
        reference = (
            f"Patient/{patient['id']}" if fmt == "fhir-ndjson" else f"urn:uuid:{patient['id']}"
        )
        month, day, year = person["dob"].split("/")
        assert patient["birthDate"] == f"{year}-{month}-{day}"
        assert patient["gender"] == record["sex"]
        assert patient["name"] == [{"family": person["last_name"], "given": [person["first_name"]]}]
        assert [t["value"] for t in patient["telecom"]] == [person["email"], person["phone_number"]]
        place = patient["address"][0]
        assert place["line"] == [address["line1"], address["line2"]][: 2 if address["line2"] else 1]
        assert (place["city"], place["state"], place["postalCode"]) == (
            address["city"], address["state"], address["zip"])  # fmt: skip
        language = patient["communication"][0]["language"]["coding"][0]
        assert ISO_639_1[language["code"]] == record["preferred_language"]
        languages.add(language["code"])
        contact = patient["contact"][0]
        assert contact["name"]["text"] == record["emergency_contact"]["name"]
        allergies = [e["valueString"] for e in patient["extension"]
                     if e["url"] == EXTENSION + "allergies"]  # fmt: skip
        assert allergies == record["allergies"]
        assert coverage["subscriberId"] == insurance["member_id"]
        assert coverage["class"][0]["value"] == insurance["group_number"]
        assert coverage["payor"] == [{"display": insurance["payer"]}]
        assert coverage["beneficiary"]["reference"] == reference
        relationship = coverage["relationship"]["coding"][0]
        assert relationship["code"] == insurance["subscriber_relationship"]
        relationships.add(relationship["code"])
        start = coverage["period"]["start"]
        assert datetime.strptime(start, "%Y-%m-%d").strftime("%m/%d/%Y") == insurance[
            "effective_date"]  # fmt: skip
        assert ("end" in coverage["period"]) == bool(insurance["termination_date"])
        assert coverage["costToBeneficiary"][0]["valueMoney"]["value"] == insurance["copay"]
        subscriber = coverage["subscriber"]["reference"]
        if subscriber == reference:
            assert insurance["subscriber_relationship"] == "self"
        else:
            (related,) = coverage["contained"]
            assert subscriber == f"#{related['id']}"
            assert related["name"] == [{"text": insurance["subscriber"]["name"]}]
            assert related["patient"]["reference"] == reference
        assert visit["status"] == "booked"
        assert visit["participant"] == [{"actor": {"reference": reference}, "status": "accepted"}]
        begins, ends = (datetime.fromisoformat(visit[key]) for key in ("start", "end"))
        appointment = record["appointment"]
        local = datetime.strptime(f"{appointment['date']} {appointment['time']}", "%m/%d/%Y %H:%M")
        zone = ZoneInfo(appointment["timezone"])
        assert begins.utcoffset() == local.replace(tzinfo=zone).utcoffset()
        assert begins.replace(tzinfo=None) == local
        assert ends - begins == timedelta(minutes=15) == timedelta(minutes=visit["minutesDuration"])
        assert visit["reasonCode"] == [{"text": record["reason_for_visit"]}]
    assert len(languages) > 1
    assert {"self", "spouse"} <= relationships  # both subscriber forms are covered


def test_the_bundle_validates_and_its_references_resolve(tmp_path: Path) -> None:
    path = tmp_path / "b.fhir.json"
    save(intakes(25), path)
    bundle = json.loads(path.read_text("utf-8"))
    Bundle.model_validate(bundle)
    urls = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    assert len(urls) == 75
    for url, resource in urls.items():
        assert url == f"urn:uuid:{resource['id']}"

    def references(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = [value["reference"]] if isinstance(value.get("reference"), str) else []
            return found + [r for child in value.values() for r in references(child)]
        return [r for child in value for r in references(child)] if isinstance(value, list) else []

    targets = []
    for resource in urls.values():
        contained = {f"#{c['id']}" for c in resource.get("contained", [])}
        for reference in references(resource):
            if reference.startswith("#"):
                assert reference in contained
            else:
                targets.append(urls[reference]["resourceType"])
    assert set(targets) == {"Patient"}
    assert len(targets) >= 75 * 1


def test_ndjson_references_name_the_patient_of_the_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.fhir.ndjson"
    save(intakes(10), path)
    resources = resources_of(path, "fhir-ndjson")
    for patient, coverage, visit in zip(resources[::3], resources[1::3], resources[2::3],
                                        strict=True):  # fmt: skip
        expected = f"Patient/{patient['id']}"
        assert coverage["beneficiary"]["reference"] == expected
        assert visit["participant"][0]["actor"]["reference"] == expected


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_same_seed_same_bytes_and_ids_through_the_cli(tmp_path: Path, fmt: str) -> None:
    base = ["generate", "--kind", "intake", "--as-of", AS_OF.isoformat(), "-n", "15"]
    for name in ("a", "b"):
        out = tmp_path / f"{name}{SUFFIX[fmt]}"
        assert main([*base, "--seed", "5", "-o", str(out)]) == 0
    first = (tmp_path / f"a{SUFFIX[fmt]}").read_bytes()
    assert first == (tmp_path / f"b{SUFFIX[fmt]}").read_bytes()
    assert main([*base, "--seed", "5", "-f", fmt, "-o", str(tmp_path / "plain.out")]) == 0
    assert (tmp_path / "plain.out").read_bytes() == first
    assert main(["validate", "--as-of", AS_OF.isoformat(), str(tmp_path / f"a{SUFFIX[fmt]}")]) == 0
    assert main([*base, "--seed", "6", "-o", str(tmp_path / f"c{SUFFIX[fmt]}")]) == 0
    ids = {r["id"] for r in resources_of(tmp_path / f"a{SUFFIX[fmt]}", fmt)}
    other = {r["id"] for r in resources_of(tmp_path / f"c{SUFFIX[fmt]}", fmt)}
    assert len(ids) == 45
    assert not ids & other
    with seeding.seeded(5):
        built = PatientIntakeFactory.build_batch(15, as_of=AS_OF)
    assert load(tmp_path / f"a{SUFFIX[fmt]}", as_of=AS_OF) == built


def test_a_record_fhir_holds_once_must_agree_and_the_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "x.fhir.json"
    records = intakes(3)
    save(records, path)
    before = path.read_bytes()
    records[1]["insurance"]["payer"] = "Another Payer"
    with pytest.raises(DataFileError) as info:
        save(records, path)
    assert info.value.record == 2
    assert "insurance.payer 'Another Payer' differs from patient.PayerName" in str(info.value)
    assert path.read_bytes() == before


# --- bad files ----------------------------------------------------------------------------


def _lines() -> list[dict[str, Any]]:
    records = intakes(2)
    records[1]["insurance"]["subscriber_relationship"] = "spouse"  # a contained subscriber
    records[1]["insurance"]["subscriber"] = {"name": "Ana Diaz", "dob": "04/02/1960"}
    return [json.loads(line) for line in FORMAT.encode(records, True).splitlines()]


GOOD_LINES = _lines()


def _changed(line: int, change: Any) -> str:
    resources = json.loads(json.dumps(GOOD_LINES))
    change(resources[line])
    return "".join(json.dumps(r) + "\n" for r in resources)


def _set(path: str, value: Any) -> Any:
    def change(resource: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = resource
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


def _extension(url: str, value: Any) -> Any:
    def change(resource: dict[str, Any]) -> None:
        (found,) = [e for e in resource["extension"] if e["url"] == EXTENSION + url]
        found["valueBoolean"] = value

    return change


@pytest.mark.parametrize(
    ("line", "change", "record", "at", "field", "message"),
    [
        (0, _set("gender", None), 1, 1, "sex", "Patient.gender is None"),
        (0, _set("communication.0.language.coding.0.code", "xx"), 1, 1, "preferred_language",
         "is coded 'xx'; expected one of en, es"),
        (0, _set("address.0.city", "Atlantis"), 1, 1, "address.city", "'Atlantis'"),
        (0, _extension("consents.privacy_notice", "yes"), 1, 1, "consents.privacy_notice",
         "expected true or false"),
        (1, _set("period.start", "09/01/2026"), 1, 2, "insurance.effective_date",
         "Coverage.period.start is '09/01/2026'; expected YYYY-MM-DD"),
        (1, _set("relationship.coding.0.system", "http://x"), 1, 2,
         "insurance.subscriber_relationship", "Coverage.relationship has no"),
        (2, _set("start", "2026-12-16T13:30:00+01:00"), 1, 3, "appointment.timezone",
         "is not at the offset of"),
        (2, _set("status", "fulfilled"), 1, 3, "appointment", "Appointment.status is 'fulfilled'"),
        (2, _set("participant.0.actor.reference", "Patient/x"), 1, 3, "appointment",
         "Appointment.participant has 0 entries"),
        (4, _set("contained.0.birthDate", "1960"), 2, 5, "insurance.subscriber.dob",
         "Coverage.contained[RelatedPerson].birthDate is '1960'"),
        (4, _set("subscriber.reference", "#nobody"), 2, 5, "insurance.subscriber",
         "is neither the Patient nor a contained RelatedPerson"),
        (1, _set("resourceType", "Appointment"), 1, 2, None,
         "is 'Appointment'; expected a Coverage"),
    ],
    ids=["gender", "language", "rule", "consent", "period", "relationship", "offset", "status",
         "participant", "subscriber-dob", "subscriber", "order"],
)  # fmt: skip
def test_bad_ndjson_names_the_file_record_line_and_field(
    tmp_path: Path,
    line: int,
    change: Any,
    record: int,
    at: int,
    field: str | None,
    message: str,
) -> None:
    path = tmp_path / "bad.fhir.ndjson"
    path.write_text(_changed(line, change), "utf-8")
    with pytest.raises(DataFileError) as info:
        load(path, as_of=AS_OF, cfg=CFG)
    text = str(info.value)
    assert text.startswith(f"{path}, record {record}, line {at}: "), text
    assert message in text, text
    assert (info.value.record, info.value.line, info.value.field) == (record, at, field)
    assert list(check(path, as_of=AS_OF, cfg=CFG))


def test_a_bundle_error_names_its_entries_and_a_missing_appointment(tmp_path: Path) -> None:
    path = tmp_path / "bad.fhir.json"
    save(intakes(2), path)
    bundle = json.loads(path.read_text("utf-8"))
    bundle["entry"][4]["resource"]["period"]["start"] = "soon"
    path.write_text(json.dumps(bundle, indent=1), "utf-8")
    with pytest.raises(DataFileError) as info:
        load(path, as_of=AS_OF, cfg=CFG)
    assert "record 2" in str(info.value)
    assert "entries 3-5: Coverage.period.start" in str(info.value)
    assert info.value.field == "insurance.effective_date"
    lines = path.read_text("utf-8").splitlines()
    assert '"Coverage"' in "".join(lines[info.value.line - 1 : info.value.line + 3])
    del bundle["entry"][-1]
    bundle["entry"][4]["resource"]["period"]["start"] = "2026-01-02"
    path.write_text(json.dumps(bundle), "utf-8")
    with pytest.raises(DataFileError, match="entry 3: the intake ends after its Coverage"):
        load(path, as_of=AS_OF, cfg=CFG)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        found += (
            _paths(child, (*prefix, key)) if isinstance(child, (dict, list)) else [(*prefix, key)]
        )
    return found


def test_any_value_of_the_wrong_shape_gives_our_error(tmp_path: Path) -> None:
    path = tmp_path / "w.fhir.ndjson"
    good = GOOD_LINES[:3]
    paths = _paths(good)
    assert len(paths) > 100
    failures = 0
    for where in paths:
        for new in (1, "x", [], {}, None, True):
            changed = json.loads(json.dumps(good))
            target = changed
            for key in where[:-1]:
                target = target[key]
            target[where[-1]] = new
            path.write_text("".join(json.dumps(r) + "\n" for r in changed), "utf-8")
            # check() reports our errors; anything else would raise out of it.
            problems = list(check(path, as_of=AS_OF, cfg=CFG, kind="intake"))
            assert all(str(p).startswith(str(path)) for p in problems)
            failures += bool(problems)
    assert failures > len(paths)


def test_resource_ids_follow_the_content_of_their_intake_only() -> None:
    records = intakes(3)
    first = [json.loads(line)["id"] for line in FORMAT.encode(records, True).splitlines()]
    records[1]["reason_for_visit"] = "Follow-up visit"
    again = [json.loads(line)["id"] for line in FORMAT.encode(records, True).splitlines()]
    assert first[:3] == again[:3]
    assert first[6:] == again[6:]
    assert not set(first[3:6]) & set(again[3:6])
    assert all(UUID.match(i) for i in first)


README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")


def shown_in(shown: Any, actual: Any) -> bool:
    """Whether the README's excerpt is the value, "..." standing for what it leaves out."""
    if shown == "...":
        return True
    if isinstance(shown, dict):
        return (
            isinstance(actual, dict)
            and set(shown) == set(actual)
            and all(shown_in(value, actual[key]) for key, value in shown.items())
        )
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return False
        at, skipping = 0, False
        for item in shown:
            if item == "...":
                skipping = True
                continue
            while skipping and at < len(actual) and not shown_in(item, actual[at]):
                at += 1
            if at >= len(actual) or not shown_in(item, actual[at]):
                return False
            at, skipping = at + 1, False
        return skipping or at == len(actual)
    return bool(shown == actual)


def test_shown_in_can_fail() -> None:
    assert shown_in([1, "...", 4], [1, 2, 3, 4])
    assert not shown_in([1, 4], [1, 2, 3, 4])
    assert not shown_in({"a": 1}, {"a": 1, "b": 2})
    assert not shown_in([1, "...", 5], [1, 2, 3, 4])


def test_the_readme_intake_excerpt_is_what_the_cli_writes(tmp_path: Path) -> None:
    section = README[README.index("**Intakes** (`--kind intake`)") :]
    command = re.search(r"`(bookslot-data generate [^`]*)`", section)
    assert command is not None
    out = tmp_path / "r.fhir.ndjson"
    args = command.group(1).split()[1:]
    assert main([*args[: args.index("-o")], "-o", str(out)]) == 0
    block = section[section.index("```json\n") + 8 :]
    block = block[: block.index("```\n")]
    shown, index = [], 0
    while index < len(block.rstrip()):
        value, index = json.JSONDecoder().raw_decode(block, index)
        shown.append(value)
        while index < len(block) and block[index].isspace():
            index += 1
    resources = resources_of(out, "fhir-ndjson")
    assert [r["resourceType"] for r in shown] == ["Patient", "Coverage"]
    assert shown_in(shown, resources[:2])
