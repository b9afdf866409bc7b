"""What the tests share: independent oracles, samples of data, and helpers.

Oracles: re-implementations that the tests check the library against. Each is
written from the public data (the ``zipcodes`` package) and the calendar, never from
our modules, so a bug in the library cannot hide in its own oracle.

Samples and helpers: a valid payload (:data:`GOOD`), values that break naive writers
(:data:`TRICKY`), data files that must be reported at a known place
(:data:`BAD_FILES`), a YAML alias bomb (:func:`laughs`); reading files with the
standard parsers alone, encoding records block by block, time limits, the temporary
files a write left behind. They may use the library to make data
(:func:`make_records`), never to decide what is right. A test module imports what it
uses: ``from oracles import ...`` (``tests/conftest.py`` puts this folder on the path).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bookslot_factories
import pytest
import yaml
import zipcodes
from bookslot_factories import BookslotPayloadFactory, Config, DataFileError, configure
from bookslot_factories.files import load
from bookslot_factories.model import FIELDS

if TYPE_CHECKING:
    from bookslot_factories.files import Format


RADIUS_MILES = 6371.0088 / 1.609344  # mean Earth radius (IUGG), in statute miles
# How far apart two computations of one distance may be (haversine and cosines).
TOLERANCE_MILES = 0.01


@functools.cache
def zip_row(code: str) -> dict[str, Any]:
    """The data set's one row for a ZIP."""
    rows = zipcodes.matching(code)
    assert len(rows) == 1, code
    return dict(rows[0])


def assert_real_residential_zip(code: str) -> dict[str, Any]:
    """Assert that a ZIP is an active standard one in the data set; return its row."""
    row = zip_row(code)
    assert row["active"] is True, code
    assert row["zip_code_type"] == "STANDARD", code
    return row


def coords(code: str) -> tuple[float, float]:
    """A ZIP's (latitude, longitude)."""
    row = zip_row(code)
    return float(row["lat"]), float(row["long"])


def cosine_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance by the spherical law of cosines (the library uses haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    cos_angle = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(
        lon2 - lon1
    )
    return RADIUS_MILES * math.acos(max(-1.0, min(1.0, cos_angle)))


def zip_miles(a: str, b: str) -> float:
    """Distance between two ZIPs."""
    return cosine_miles(coords(a), coords(b))


@functools.cache
def residential_rows() -> dict[str, tuple[str, float, float]]:
    """ZIP -> (state, lat, long) of active STANDARD ZIPs with coordinates and area codes."""
    out = {}
    for row in zipcodes.list_all():
        lat, lon = float(row["lat"] or 0), float(row["long"] or 0)
        if (
            row["active"]
            and row["zip_code_type"] == "STANDARD"
            and row["area_codes"]
            and (lat, lon) != (0.0, 0.0)
        ):
            out[row["zip_code"]] = (row["state"], lat, lon)
    return out


def born_on(dob: str) -> date:
    """Parse ``MM/DD/YYYY`` by hand (raises if it is not a real date)."""
    assert re.fullmatch(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", dob), dob
    return date(int(dob[6:]), int(dob[:2]), int(dob[3:5]))


def years_old(born: date, on: date) -> int:
    """Age in whole years; born on 29 February, the birthday is 1 March in common years."""
    try:
        birthday = born.replace(year=on.year)
    except ValueError:
        birthday = date(on.year, 3, 1)
    return on.year - born.year - (birthday > on)


def letters(name: str) -> str:
    """The lowercase ASCII letters of a name, accents dropped: what an email slug keeps."""
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(ch for ch in decomposed if "a" <= ch <= "z")


# --- samples: a payload, tricky values, records, file formats --------------------------


# The reference day of the samples: GOOD is valid on it, with the default config.
AS_OF = date(2026, 11, 29)
CFG = Config()
SUFFIX = {"json": ".json", "jsonl": ".jsonl", "yaml": ".yaml", "csv": ".csv"}
FORMAT_NAMES = sorted(SUFFIX)
C_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_LOADERS = {"c": C_LOADER, "python": yaml.SafeLoader}


# A valid payload on AS_OF, written out so that line numbers in files are known.
GOOD: dict[str, str] = {
    "first_name": "Maria",
    "last_name": "O'Connor",
    "email": "maria.oconnor@mailinator.com",
    "phone_number": "1234567890",
    "zip": "20678",
    "contact_method": "Text",
    "verification_code": "123456",
    "zip_distance": "25",
    "dob": "04/12/1980",
    "MemberName": "Maria O'Connor",
    "idNumber": "INS-12345",
    "GroupNumber": "GRP-1234",
    "PayerName": "Humana",
}


# Values that break naive writers: quoting, escapes, YAML's special words and
# characters, line breaks of every kind, non-ASCII text.
TRICKY = [
    "",
    " ",
    "a ",
    " a",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "N",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "123",
    "0x1F",
    "1e3",
    ".inf",
    "-.5",
    "2020-01-01",
    "12:30:00",
    "a: b",
    "a #b",
    "#c",
    "- a",
    "-",
    "?",
    "!tag",
    "&a",
    "*a",
    "|",
    ">",
    "%x",
    "@a",
    "`a",
    "<<",
    "=",
    "'",
    '"',
    "\\",
    'say "hi"',
    "back\\slash",
    "a\nb",
    "a\r\nb",
    "a\rb",
    "tab\there",
    "\x00\x01\x07\x1b\x7f",
    "\x80\x85\x9f",
    "\u2028\u2029",
    "\ufeff",
    "\ufffe\uffff",
    "José Ñúñez",
    "Zoë O'Brien-Smith",
    "日本語",
    "emoji 😀",
    "O'Connor",
    "St. John",
    "maria.x@mailinator.com",
    "a,b",
    "x" * 2000,
]


def make_records(count: int, seed: int = 1, **variant: Any) -> list[dict[str, str]]:
    """Payloads of the factory, seeded, on AS_OF: the same ones every time."""
    bookslot_factories.seed(seed)
    return [dict(r) for r in BookslotPayloadFactory.build_batch(count, as_of=AS_OF, **variant)]


def tricky_records() -> list[dict[str, str]]:
    """Records with every tricky value in every position, and tricky keys."""
    keys = ["first_name", "yes", "a: b", "日本", "x y", "", "1"]
    return [
        {key: TRICKY[(i + j) % len(TRICKY)] for j, key in enumerate(keys)}
        for i in range(len(TRICKY))
    ]


def read_plainly(path: Path, fmt: str) -> list[dict[str, str]]:
    """Read a file with the standard parsers only."""
    if fmt == "json":
        with path.open(encoding="utf-8") as file:
            result: list[dict[str, str]] = json.load(file)
        return result
    if fmt == "jsonl":
        # Not splitlines(): it also splits at "\u2028" and other breaks inside strings.
        lines = path.read_text(encoding="utf-8").split("\n")
        return [json.loads(line) for line in lines if line.strip()]
    if fmt == "yaml":
        with path.open(encoding="utf-8") as file:
            return yaml.safe_load(file)  # type: ignore[no-any-return]
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def joined(writer: Format, records: Sequence[Mapping[str, str]], sizes: Sequence[int]) -> bytes:
    """Encode records in blocks of the given sizes, as the bulk engine does."""
    parts = [writer.begin(tuple(records[0]) if records else FIELDS)]
    start = 0
    for size in sizes:
        parts.append(writer.encode(records[start : start + size], start == 0))
        start += size
    assert start == len(records)
    parts.append(writer.end(len(records)))
    return b"".join(parts)


# --- data files that must be reported with their place ---------------------------------


def json_text(*records: object) -> str:
    """The records as a JSON array, as the json module writes it."""
    return json.dumps(list(records), indent=2)


def jsonl_text(*records: object) -> str:
    """The records as JSON Lines, one json.dumps per line."""
    return "".join(json.dumps(r) + "\n" for r in records)


def csv_text(*rows: Sequence[str], header: Sequence[str] = FIELDS) -> str:
    """A CSV file as the csv module writes it: the header row, then the rows."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue()


def yaml_text(*records: object) -> str:
    """The records as a YAML list, as PyYAML's safe_dump writes it."""
    return yaml.safe_dump(list(records), sort_keys=False)


def _without(key: str) -> dict[str, str]:
    return {k: v for k, v in GOOD.items() if k != key}


def _dup_yaml() -> str:
    text = yaml_text(GOOD)
    return text + "  email: other@mailinator.com\n"


def laughs(separator: str) -> str:
    """Ten levels of nine aliases each: 3.5 billion strings if expanded."""
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in "bcdefghij":
        lines.append(f"{level}: &{level} [{', '.join(['*' + chr(ord(level) - 1)] * 9)}]")
    return separator.join(lines)


def _bomb() -> str:
    """A record whose fields are the levels of :func:`laughs`."""
    return "- first_name: Maria\n  " + laughs("\n  ") + "\n"


# (id, file name, content (None: no file), record, line, field, part of the message)
BAD_FILES: list[tuple[str, str, str | bytes | None, int | None, int | None, str | None, str]] = [
    # reading at all
    ("missing", "none.json", None, None, None, None, "cannot read: the file does not exist"),
    ("folder", "dir.json", "<dir>", None, None, None, "cannot read: it is a folder"),
    # JSON
    ("json-empty", "e.json", "", None, None, None, "is empty; expected a JSON array of records"),
    ("json-blank", "e.json", " \n\n ", None, None, None, "is empty; expected a JSON array"),
    (
        "json-not-utf8",
        "b.json",
        json_text(GOOD).encode().replace(b"Maria", b"Mar\xefa", 1),
        None,
        3,
        None,
        "is not UTF-8 text: byte 0xef at column 23",
    ),
    (
        "json-syntax",
        "b.json",
        '[\n  {"first_name": "Maria"\n   "last_name": "x"}\n]',
        1,
        3,
        None,
        "is not valid JSON: Expecting ',' delimiter (column 4)",
    ),
    ("json-top-object", "b.json", '\n{"a": "b"}', None, 2, None, "the top level is an object"),
    ("json-top-number", "b.json", "3", None, 1, None, "the top level is a number"),
    ("json-element", "b.json", json_text(GOOD, "text"), 2, 17, None, "is a string; expected"),
    ("json-missing", "b.json", json_text(GOOD, _without("email")), 2, 17, "email", "is missing"),
    (
        "json-extra",
        "b.json",
        json_text({**GOOD, "ssn": "123"}),
        1,
        2,
        "ssn",
        "field 'ssn' is not a payload field",
    ),
    (
        "json-number",
        "b.json",
        json_text(GOOD, {**GOOD, "zip": 20678}),
        2,
        17,
        "zip",
        "field 'zip' is 20678; expected a string",
    ),
    (
        "json-rule",
        "b.json",
        json_text(GOOD, GOOD, {**GOOD, "email": "maria@gmail.com"}),
        3,
        32,
        "email",
        "field 'email' is 'maria@gmail.com'; expected a lowercase address",
    ),
    (
        "json-unterminated",
        "b.json",
        json_text(GOOD)[:-2],
        1,
        16,
        None,
        "found the end of the file after the record; expected ',' or ']'",
    ),
    (
        "json-trailing-comma",
        "b.json",
        "[\n\n" + json_text(GOOD)[1:-2] + ",\n]",
        2,
        19,
        None,
        "Expecting value",
    ),
    ("json-extra-data", "b.json", "[]\n[]", None, 2, None, "extra data after the array"),
    ("json-deep", "b.json", "[" * 100_000, 1, 1, None, "is nested too deeply"),
    (
        "json-duplicate",
        "b.json",
        '[{"first_name": "A",\n "first_name": "B"}]',
        1,
        1,
        "first_name",
        "field 'first_name' appears twice",
    ),
    # JSON Lines
    (
        "jsonl-syntax",
        "b.jsonl",
        jsonl_text(GOOD) + "\n" + '{"first_name": }\n',
        2,
        3,
        None,
        "is not valid JSON: Expecting value (column 16)",
    ),
    ("jsonl-array", "b.jsonl", "[1, 2]\n", 1, 1, None, "is an array; expected one JSON object"),
    (
        "jsonl-not-utf8",
        "b.jsonl",
        jsonl_text(GOOD).encode() + b'{"first_name": "\xff"}\n',
        None,
        2,
        None,
        "is not UTF-8 text: byte 0xff at column 17",
    ),
    (
        "jsonl-rule",
        "b.jsonl",
        jsonl_text(GOOD, {**GOOD, "dob": "13/45/1990"}),
        2,
        2,
        "dob",
        "field 'dob' is '13/45/1990'; expected a real date",
    ),
    (
        "jsonl-deep",
        "b.jsonl",
        jsonl_text(GOOD) + "[" * 100_000 + "\n",
        2,
        2,
        None,
        "nested too deeply",
    ),
    # CSV
    (
        "csv-empty",
        "b.csv",
        "",
        None,
        None,
        None,
        "is empty; expected a CSV header row: first_name,",
    ),
    (
        "csv-header-lacks",
        "b.csv",
        csv_text(header=[f for f in FIELDS if f != "dob"]),
        None,
        1,
        "dob",
        "the CSV header lacks the column 'dob'",
    ),
    (
        "csv-header-unknown",
        "b.csv",
        csv_text(header=[*FIELDS, "ssn"]),
        None,
        1,
        "ssn",
        "the CSV header has an unknown column 'ssn'; expected exactly the columns first_name,",
    ),
    (
        "csv-header-twice",
        "b.csv",
        csv_text(header=[*FIELDS, "zip"]),
        None,
        1,
        "zip",
        "the CSV header has the column 'zip' twice",
    ),
    (
        "csv-short-row",
        "b.csv",
        # Two blank lines (skipped) before the short row: the line is the file's.
        csv_text(list(GOOD.values())) + "\r\n" + csv_text(list(GOOD.values())[:-1], header=[]),
        2,
        5,
        "PayerName",
        "has 12 values; expected 13",
    ),
    ("csv-long-row", "b.csv", csv_text([*GOOD.values(), "x"]), 1, 2, None, "has 14 values"),
    (
        "csv-bad-quote",
        "b.csv",
        csv_text(list(GOOD.values())) + '"Maria"x,' + ",".join(list(GOOD.values())[1:]) + "\r\n",
        2,
        3,
        None,
        "is not valid CSV: ',' expected after '\"'",
    ),
    (
        "csv-rule",
        "b.csv",
        csv_text(list(GOOD.values()), list({**GOOD, "zip": "2067"}.values())),
        2,
        3,
        "zip",
        "field 'zip' is '2067'; expected a 5-digit ZIP code",
    ),
    (
        "csv-multiline-record",
        "b.csv",
        csv_text(list({**GOOD, "first_name": "Ma\nria"}.values())),
        1,
        3,
        "first_name",
        "field 'first_name' is 'Ma\\nria'",
    ),
    (
        "csv-not-utf8",
        "b.csv",
        csv_text(list(GOOD.values())).encode() + b"\xc3(\r\n",
        None,
        3,
        None,
        "is not UTF-8 text: byte 0xc3 at column 1",
    ),
    # YAML
    ("yaml-empty", "b.yaml", "", None, None, None, "is empty; expected a YAML list of records"),
    ("yaml-comment", "b.yaml", "# nothing\n", None, None, None, "is empty; expected a YAML list"),
    ("yaml-null", "b.yaml", "--- ~\n", None, 1, None, "is empty (a null document)"),
    (
        "yaml-top-mapping",
        "b.yaml",
        "\nfirst_name: Maria\n",
        None,
        2,
        None,
        "the top level is a mapping",
    ),
    ("yaml-top-string", "b.yaml", "hello\n", None, 1, None, "the top level is 'hello'"),
    (
        "yaml-record-scalar",
        "b.yaml",
        yaml_text(GOOD) + "- Maria\n",
        2,
        14,
        None,
        "is 'Maria'; expected a mapping",
    ),
    ("yaml-record-list", "b.yaml", "- [a, b]\n", 1, 1, None, "is a list; expected a mapping"),
    (
        "yaml-record-null",
        "b.yaml",
        "-\n- a: b\n",
        1,
        1,
        None,
        "is empty (null); expected a mapping",
    ),
    (
        "yaml-syntax",
        "b.yaml",
        yaml_text(GOOD) + "- first_name: Maria\n  last_name: x: y\n",
        2,
        15,
        None,
        "is not valid YAML: mapping values are not allowed",
    ),
    (
        "yaml-unclosed-quote",
        "b.yaml",
        yaml_text(GOOD) + '- first_name: "Maria\n',
        2,
        15,
        None,
        "is not valid YAML: while scanning a quoted scalar, found unexpected end of stream",
    ),
    (
        "yaml-int",
        "b.yaml",
        yaml_text(GOOD).replace("'20678'", "20678"),
        1,
        5,
        "zip",
        "field 'zip' is '20678', which YAML reads as an integer; expected a string",
    ),
    (
        "yaml-date",
        "b.yaml",
        yaml_text(GOOD, {**GOOD, "dob": "1980-04-12"}).replace("'1980-04-12'", "1980-04-12"),
        2,
        22,
        "dob",
        "field 'dob' is '1980-04-12', which YAML reads as a date",
    ),
    (
        "yaml-null-value",
        "b.yaml",
        yaml_text(GOOD).replace("zip: '20678'", "zip:"),
        1,
        5,
        "zip",
        "field 'zip' is empty (null); expected a string",
    ),
    (
        "yaml-list-value",
        "b.yaml",
        yaml_text(GOOD).replace("zip: '20678'", "zip: [1, 2]"),
        1,
        5,
        "zip",
        "field 'zip' is a list; expected a string",
    ),
    (
        "yaml-int-key",
        "b.yaml",
        yaml_text(GOOD) + "  1: x\n",
        1,
        14,
        None,
        "has the key '1', which YAML reads as an integer",
    ),
    (
        "yaml-duplicate",
        "b.yaml",
        _dup_yaml(),
        1,
        14,
        "email",
        "field 'email' appears twice (lines 3 and 14)",
    ),
    (
        "yaml-missing",
        "b.yaml",
        yaml_text(GOOD, _without("idNumber")),
        2,
        14,
        "idNumber",
        "is missing",
    ),
    (
        "yaml-rule-field-line",
        "b.yaml",
        yaml_text(GOOD, {**GOOD, "GroupNumber": "G-1"}),
        2,
        25,
        "GroupNumber",
        "field 'GroupNumber' is 'G-1'; expected the format GRP-####",
    ),
    (
        "yaml-python-tag",
        "b.yaml",
        '- !!python/object/apply:os.system ["echo hi"]\n',
        1,
        1,
        None,
        "the YAML tag '!!python/object/apply:os.system' is not allowed",
    ),
    (
        "yaml-python-name",
        "b.yaml",
        yaml_text(GOOD).replace("first_name: Maria", "first_name: !!python/name:os.system ''"),
        1,
        1,
        None,
        "the YAML tag '!!python/name:os.system' is not allowed",
    ),
    (
        "yaml-local-tag",
        "b.yaml",
        yaml_text(GOOD).replace("PayerName: Humana", "PayerName: !shout Humana"),
        1,
        13,
        None,
        "the YAML tag '!shout' is not allowed",
    ),
    (
        "yaml-undefined-alias",
        "b.yaml",
        "- *nothing\n",
        1,
        1,
        None,
        "the alias *nothing names no anchor",
    ),
    (
        "yaml-two-documents",
        "b.yaml",
        yaml_text(GOOD) + "---\n" + yaml_text(GOOD),
        None,
        14,
        None,
        "more than one YAML document",
    ),
    (
        "yaml-control-char",
        "b.yaml",
        yaml_text(GOOD).replace("Humana", "Hum\x07ana"),
        None,
        13,
        None,
        "holds the character U+0007 at column 17",
    ),
    (
        "yaml-not-utf8",
        "b.yaml",
        yaml_text(GOOD).encode().replace(b"Humana", b"Hum\xe4na"),
        None,
        13,
        None,
        "is not UTF-8 text: byte 0xe4 at column 17",
    ),
    ("yaml-alias-bomb", "b.yaml", _bomb(), 1, 2, "a", "field 'a' is a list; expected a string"),
]


def write_bad(tmp_path: Path, name: str, content: str | bytes | None) -> Path:
    """Write a BAD_FILES case's content: bytes, text, "<dir>" a folder, None nothing."""
    path = tmp_path / name
    if content == "<dir>":
        path.mkdir()
    elif isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    elif content is not None:
        path.write_bytes(content)
    return path


def check_bad(
    path: Path, record: int | None, line: int | None, field: str | None, message: str
) -> None:
    """Loading fails with our error, naming the file, the record, the line and the field."""
    with pytest.raises(DataFileError) as info:
        load(path, as_of=AS_OF, cfg=CFG)
    where = [str(path)]
    if record is not None:
        where.append(f"record {record}")
    if line is not None:
        where.append(f"line {line}")
    text = str(info.value)
    assert text.startswith(", ".join(where) + ": "), text
    assert message in text, text
    assert (info.value.record, info.value.line, info.value.field) == (record, line, field)
    assert len(text) < 400  # excerpts only, never a whole value


# --- helpers ---------------------------------------------------------------------------


class Hang(Exception):
    """A call ran past its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the block if it runs longer than ``seconds``."""

    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def loaded_by(modules: str, packages: set[str]) -> list[str]:
    """Which of ``packages`` a fresh interpreter loads by importing ``modules`` (a, b)."""
    code = (
        f"import json, sys, {modules}; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {packages!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    result: list[str] = json.loads(done.stdout)
    return result


def leftovers(folder: Path) -> list[str]:
    """The temporary files write_atomic left in a folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


class Boom(Exception):
    """An error a test raises on purpose, to see what is left after it."""


@pytest.fixture(autouse=True)
def default_config() -> Iterator[None]:
    """Each test starts and ends with the default config (autouse where imported)."""
    configure(None)
    yield
    configure(None)


def chi_square(observed: dict[str, int], expected: dict[str, float]) -> tuple[float, float]:
    """Pearson's statistic and its 0.1% critical value (Wilson-Hilferty), pooling small cells.

    Cells expected below 5 are pooled into one, as the test requires.
    """
    pooled_o, pooled_e = 0, 0.0
    stat, cells = 0.0, 0
    for key, want in expected.items():
        got = observed.get(key, 0)
        if want < 5:
            pooled_o += got
            pooled_e += want
            continue
        stat += (got - want) ** 2 / want
        cells += 1
    if pooled_e > 0:
        stat += (pooled_o - pooled_e) ** 2 / max(pooled_e, 1e-9)
        cells += 1
    df = max(cells - 1, 1)
    z = 3.090232  # the standard normal's 99.9th percentile
    critical = df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3
    return stat, critical


def business_day(day: date) -> bool:
    """Monday to Friday."""
    return day.isoweekday() <= 5


#: The variable .ci/with-postgres.sh sets to the URL of the server it started.
PG_ENV = "BOOKSLOT_TEST_POSTGRES_URL"


def postgres_base() -> str:
    """Return the test server's URL; skip without one, but fail under CI (``CI=1``)."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(
                f"CI is set but {PG_ENV} is not: run the tests through .ci/with-postgres.sh"
            )
        pytest.skip(f"no PostgreSQL server ({PG_ENV} unset; .ci/with-postgres.sh starts one)")
    return base


# --- processes, read from /proc ------------------------------------------------------


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(entry)
            if fields and int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"
