"""Tests of bookslot_factories.files._xml: XML payload files, written and read streaming, safely."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bookslot_factories import DataFileError
from bookslot_factories.cli import main
from bookslot_factories.files import FORMATS, check, load, save
from bookslot_factories.model import FIELDS
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


def test_nested_kinds_are_refused_in_xml(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="holds only flat payloads"):
        load(write_bad(tmp_path, "n.xml", GOOD_XML + "</bookslot_payloads>"), kind="intake")
