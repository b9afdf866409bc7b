"""Tests of bookslot_factories.files._xml: XML files of every kind, written and read streaming, safely."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from bookslot_factories import DataFileError, InsuranceFactory, PatientIntakeFactory, seeding
from bookslot_factories.cli import main
from bookslot_factories.files import FORMATS, check, iter_load, load, save
from bookslot_factories.files.nested import format_of
from bookslot_factories.kinds import kind_named
from bookslot_factories.model import FIELDS, INTAKE_FIELDS
from oracles import AS_OF, CFG, GOOD, TRICKY, check_bad, joined, make_records, write_bad

XML_OK = [t for t in TRICKY if not any(c in t for c in "\x00\x01\x07\x1b\ufffe\uffff")]


def test_round_trip_and_standard_parser(tmp_path: Path) -> None:
    records = make_records(30)
    path = tmp_path / "p.xml"
    assert save(records, path) == 30
    assert load(path, as_of=AS_OF, cfg=CFG) == records
    root = ET.parse(path).getroot()
    assert root.tag == "bookslot_payloads"
    assert [[child.tag for child in payload] for payload in root] == [list(FIELDS)] * 30
    assert [{c.tag: c.text or "" for c in p} for p in root] == records


def test_tricky_values_round_trip_exactly(tmp_path: Path) -> None:
    records = [{**GOOD, "first_name": value, "last_name": value[::-1]} for value in XML_OK]
    path = tmp_path / "t.xml"
    save(records, path)

    with path.open("rb") as file:
        raw = list(FORMATS["xml"].read(file, str(path)))
    assert [record for _, _, record, _ in raw] == records


def test_blocks_give_the_bytes_of_one_save(tmp_path: Path) -> None:
    records = make_records(5)
    save(records, tmp_path / "a.xml")
    assert joined(FORMATS["xml"], records, [2, 3]) == (tmp_path / "a.xml").read_bytes()


def test_same_seed_same_bytes_through_the_cli(tmp_path: Path) -> None:
    for name in ("a.xml", "b.xml"):
        assert main(["generate", "--seed", "5", "--as-of", "2026-11-29", "-n", "20",
                     "-o", str(tmp_path / name)]) == 0  # fmt: skip
    assert (tmp_path / "a.xml").read_bytes() == (tmp_path / "b.xml").read_bytes()
    assert main(["generate", "--seed", "6", "-n", "3", "-f", "xml", "-o", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c").read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert main(["validate", "--as-of", "2026-11-29", str(tmp_path / "a.xml")]) == 0


def test_unwritable_value_fails_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    save([GOOD], path)
    before = path.read_bytes()
    with pytest.raises(DataFileError, match="XML cannot hold"):
        save([GOOD, {**GOOD, "first_name": "a\x00b"}], path)
    assert path.read_bytes() == before


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n<bookslot_payloads><payload><first_name>&lol9;</first_name></payload></bookslot_payloads>\n"
)
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    "<bookslot_payloads><payload><first_name>&xxe;</first_name></payload></bookslot_payloads>\n"
)
GOOD_XML = FORMATS["xml"].begin(FIELDS).decode() + FORMATS["xml"].encode([GOOD], True).decode()


@pytest.mark.parametrize(
    ("content", "record", "line", "field", "message"),
    [
        (LAUGHS, None, 2, None, "forbidden XML dtd"),
        (XXE, None, 2, None, "forbidden XML dtd"),
        # Found by the fuzzer: expat raised the codec registry's LookupError.
        (
            '<?xml version="1.0" encoding="TTF-8"?>\n<bookslot_payloads/>\n',
            None,
            1,
            None,
            "unknown encoding: TTF-8",
        ),
        ("", None, None, None, "is empty; expected <bookslot_payloads>"),
        ("<rows/>\n", None, 1, None, "the root element is <'rows'>"),
        (GOOD_XML + "  <row/>\n</bookslot_payloads>\n", 2, 18, None, "is the element <'row'>"),
        (GOOD_XML, None, 18, None, "is not valid XML: no element found"),
        (
            GOOD_XML.replace("<zip>20678</zip>", "<zip>2067</zip>") + "</bookslot_payloads>",
            1,
            8,
            "zip",
            "field 'zip' is '2067'",
        ),
        (
            GOOD_XML.replace("<zip>20678</zip>", "<zip>20678</zip><zip>1</zip>")
            + "</bookslot_payloads>",
            1,
            8,
            "zip",
            "element <zip> appears twice",
        ),
        (
            GOOD_XML.replace("<zip>20678</zip>", "<zip><b>1</b></zip>") + "</bookslot_payloads>",
            1,
            8,
            "zip",
            "field 'zip' holds the element <'b'>",
        ),
        (
            GOOD_XML.replace("Maria<", "Ma<ria<", 1) + "</bookslot_payloads>",
            1,
            4,
            None,
            "is not valid XML",
        ),
    ],
    ids=[
        "billion-laughs",
        "xxe",
        "encoding",
        "empty",
        "root",
        "record-element",
        "unclosed",
        "rule",
        "twice",
        "child",
        "syntax",
    ],
)
def test_bad_xml_is_reported_at_its_place(
    tmp_path: Path,
    content: str,
    record: int | None,
    line: int | None,
    field: str | None,
    message: str,
) -> None:
    path = write_bad(tmp_path, "bad.xml", content)
    check_bad(path, record, line, field, message)
    assert list(check(path, as_of=AS_OF, cfg=CFG))


# --- the nested kinds -------------------------------------------------------------------

INTAKE_VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "allergic": {"allergic": True},
    "on_medication": {"on_medication": True},
    "allergic_on_medication": {"allergic": True, "on_medication": True},
    "senior_tx": {"patient__senior": True, "patient__state": "TX"},
    "young": {"patient__young": True},
    "dynamic_zip": {"patient__dynamic_zip": True},
    "dynamic_location": {"patient__dynamic_location": True},
    "dynamic_phone": {"patient__dynamic_phone": True},
    "near": {"patient__near": "20678"},
    "disabled": {"insurance__disabled": True},
}
INSURANCE_VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "disabled": {"disabled": True},
    "senior_patient": {"patient_dob": "04/02/1950", "patient_name": "Ana Diaz"},
    "young_patient": {"patient_dob": "04/02/2006"},
}


def intakes(count: int, seed: int = 5, **variant: Any) -> list[dict[str, Any]]:
    with seeding.seeded(seed):
        return PatientIntakeFactory.build_batch(count, as_of=AS_OF, **variant)


def insurances(count: int, seed: int = 5, **variant: Any) -> list[dict[str, Any]]:
    with seeding.seeded(seed):
        return InsuranceFactory.build_batch(count, as_of=AS_OF, **variant)


def plain(element: ET.Element, kind: str, path: str = "") -> Any:
    """A record as the standard library's parser reads it, typed by the kind's columns."""
    types = dict(kind_named(kind).columns)
    if path in types:
        if types[path] == "list":
            return [item.text or "" for item in element]
        text = element.text or ""
        return {"bool": text == "true", "int": int(text) if text.isdigit() else text}.get(
            types[path], text
        )
    return {
        child.tag: plain(child, kind, f"{path}.{child.tag}" if path else child.tag)
        for child in element
    }


@pytest.mark.parametrize("variant", sorted(INTAKE_VARIANTS))
def test_intakes_round_trip_in_every_variant(tmp_path: Path, variant: str) -> None:
    records = intakes(15, **INTAKE_VARIANTS[variant])
    path = tmp_path / "intakes.xml"
    assert save(records, path) == 15
    assert load(path, as_of=AS_OF) == records  # the kind is told from the root element
    assert list(iter_load(path, as_of=AS_OF, kind="intake")) == records
    assert list(check(path, as_of=AS_OF)) == []
    root = ET.parse(path).getroot()
    assert (root.tag, {child.tag for child in root}) == ("patient_intakes", {"patient_intake"})
    assert [plain(element, "intake") for element in root] == records
    if "allergic" in variant:
        assert all(element.find("allergies/allergy") is not None for element in root)


@pytest.mark.parametrize("variant", sorted(INSURANCE_VARIANTS))
def test_insurance_records_round_trip_in_every_variant(tmp_path: Path, variant: str) -> None:
    records = insurances(15, **INSURANCE_VARIANTS[variant])
    path = tmp_path / "insurance.xml"
    assert save(records, path) == 15
    assert load(path, as_of=AS_OF) == records
    assert load(path, as_of=AS_OF, kind="insurance") == records
    root = ET.parse(path).getroot()
    assert (root.tag, {child.tag for child in root}) == ("insurance_records", {"insurance_record"})
    assert [plain(element, "insurance") for element in root] == records
    assert all(isinstance(record["copay"], int) for record in load(path, as_of=AS_OF))


def test_nested_elements_lists_and_booleans(tmp_path: Path) -> None:
    records = intakes(6, allergic=True)
    records[1]["medications"] = []
    path = tmp_path / "i.xml"
    save(records, path)
    root = ET.parse(path).getroot()
    first = root[0]
    assert [child.tag for child in first] == list(INTAKE_FIELDS)
    assert [item.text for item in first.findall("allergies/allergy")] == records[0]["allergies"]
    assert list(root[1].find("medications") or []) == []
    assert {e.text for e in first.find("consents") or []} <= {"true", "false"}
    assert (
        first.findtext("insurance/subscriber/dob") == records[0]["insurance"]["subscriber"]["dob"]
    )


@pytest.mark.parametrize("kind", ["intake", "insurance"])
def test_nested_same_seed_same_bytes_and_any_block_split(tmp_path: Path, kind: str) -> None:
    build = intakes if kind == "intake" else insurances
    fmt = format_of(kind_named(kind), FORMATS["xml"])
    whole = joined(fmt, build(9), [9])
    assert joined(fmt, build(9), [2, 3, 4]) == whole
    assert joined(fmt, build(9), [1] * 9) == whole
    path = tmp_path / "x.xml"
    save(build(9), path)
    assert path.read_bytes() == whole
    assert joined(fmt, build(9, seed=6), [9]) != whole


@pytest.mark.parametrize("kind", ["intake", "insurance"])
def test_nested_cli_same_seed_same_bytes(tmp_path: Path, kind: str) -> None:
    paths = [tmp_path / "a.out", tmp_path / "b.out"]
    for path in paths:
        args = ["generate", "--kind", kind, "--seed", "4", "--as-of", AS_OF.isoformat()]
        assert main([*args, "-n", "7", "--format", "xml", "-o", str(path)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert main(["validate", "--format", "xml", "--as-of", AS_OF.isoformat(), str(paths[0])]) == 0
    assert len(load(paths[0], format="xml", as_of=AS_OF)) == 7


def _nested_xml(kind: str) -> str:
    record = intakes(1)[0] if kind == "intake" else insurances(1)[0]
    if kind == "intake":
        record["medications"] = []
    fmt = format_of(kind_named(kind), FORMATS["xml"])
    return fmt.begin(()).decode() + fmt.encode([record], True).decode()


INTAKE_XML = _nested_xml("intake")
LINES = INTAKE_XML.splitlines()


def _line_of(text: str) -> int:
    return next(n for n, line in enumerate(LINES, 1) if text in line)


def _nested_laughs() -> str:
    entities = "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "lol" * 10}">\n'
        for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n{entities}]>\n<patient_intakes><patient_intake>'
        "<sex>&lol9;</sex></patient_intake></patient_intakes>\n"
    )


@pytest.mark.parametrize(
    ("content", "record", "line", "field", "message"),
    [
        (_nested_laughs(), None, 2, None, "forbidden XML dtd"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            "<patient_intakes><patient_intake><sex>&x;</sex></patient_intake></patient_intakes>\n",
            None,
            2,
            None,
            "forbidden XML dtd",
        ),
        (
            re.sub("<city>[^<]*</city>", "<city>Atlantis</city>", INTAKE_XML)
            + "</patient_intakes>",
            1,
            _line_of("<city>"),
            "address.city",
            "field 'address.city' is 'Atlantis'",
        ),
        (
            INTAKE_XML.replace("<state>", "<county>x</county><state>", 1) + "</patient_intakes>",
            1,
            _line_of("<state>"),
            "address.county",
            "the element <'county'> in 'address' is not a field",
        ),
        (
            INTAKE_XML.replace("<copay>", "<copay><b>1</b>", 1) + "</patient_intakes>",
            1,
            _line_of("<copay>"),
            "insurance.copay",
            "field 'insurance.copay' holds the element <'b'>; expected text",
        ),
        (
            INTAKE_XML.replace("<medications/>", "<medications><pill>x</pill></medications>", 1)
            + "</patient_intakes>",
            1,
            _line_of("<medications/>"),
            "medications",
            "field 'medications' holds the element <'pill'>; expected <medication> items",
        ),
        (
            INTAKE_XML.replace("<treatment>true<", "<treatment>yes<", 1) + "</patient_intakes>",
            1,
            _line_of("<treatment>"),
            "consents.treatment",
            "consents.treatment",
        ),
        (
            INTAKE_XML.replace("<sex>", "<sex>male</sex><sex>", 1) + "</patient_intakes>",
            1,
            _line_of("<sex>"),
            "sex",
            "element <sex> appears twice",
        ),
        (
            INTAKE_XML.replace("<patient_intake>", "<intake>", 1),
            1,
            _line_of("<patient_intake>"),
            None,
            "is the element <'intake'>; expected <patient_intake>",
        ),
    ],
    ids=["billion-laughs", "xxe", "rule", "unknown", "child", "item", "bool", "twice", "record"],
)
def test_bad_nested_xml_is_reported_at_its_place(
    tmp_path: Path,
    content: str,
    record: int | None,
    line: int | None,
    field: str | None,
    message: str,
) -> None:
    path = write_bad(tmp_path, "bad.xml", content)
    with pytest.raises(DataFileError) as info:
        load(path, as_of=AS_OF, cfg=CFG, kind="intake")
    text = str(info.value)
    assert message in text, text
    assert text.startswith(str(path)), text
    assert (info.value.record, info.value.line, info.value.field) == (record, line, field)
    assert list(check(path, as_of=AS_OF, cfg=CFG, kind="intake"))


def test_a_payload_file_read_as_intakes_names_both_roots(tmp_path: Path) -> None:
    path = write_bad(tmp_path, "n.xml", GOOD_XML + "</bookslot_payloads>")
    with pytest.raises(
        DataFileError, match="root element is <'bookslot_payloads'>; expected <patient_intakes>"
    ):
        load(path, kind="intake")
    assert load(path, as_of=AS_OF, cfg=CFG) == [GOOD]  # told from the root element


def test_the_readme_xml_excerpt_is_what_the_cli_writes(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    section = readme[readme.index("### XML files") : readme.index("### FHIR files")]
    command = re.search(r"`(bookslot-data generate [^`]*)`", section)
    assert command is not None
    out = tmp_path / "r.xml"
    args = command.group(1).split()[1:]
    assert main([*args[: args.index("-o")], "-o", str(out)]) == 0
    shown = section[section.index("```xml\n") + 7 :]
    shown = shown[: shown.index("```\n")]
    lines = out.read_text("utf-8").splitlines()
    at, skipping = 0, False
    for line in shown.splitlines():
        if line.strip() == "...":
            skipping = True
            continue
        while skipping and at < len(lines) and lines[at] != line:
            at += 1
        assert at < len(lines), line
        assert lines[at] == line
        at, skipping = at + 1, False
    message = re.search(r"`(intakes\.xml, record 1, line (\d+): field 'address\.city')", section)
    assert message is not None
    assert lines[int(message.group(2)) - 1].strip().startswith("<city>")
