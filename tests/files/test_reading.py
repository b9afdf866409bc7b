"""Tests of bookslot_factories.files.reading: load, iter_load and check, whatever the format."""

from __future__ import annotations

import io
import os
import threading
from datetime import date
from pathlib import Path

import pytest
from bookslot_factories import Config, DataFileError
from bookslot_factories.files import check, iter_load, load, save
from bookslot_factories.model import FIELDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import (
    AS_OF,
    BAD_FILES,
    CFG,
    FORMAT_NAMES,
    GOOD,
    SUFFIX,
    check_bad,
    jsonl_text,
    write_bad,
)


def test_load_applies_as_of_and_config(tmp_path: Path) -> None:
    path = tmp_path / "good.json"
    save([GOOD, {**GOOD, "PayerName": "Aetna Health"}], path)
    assert load(path, as_of=AS_OF, cfg=CFG) == [GOOD, {**GOOD, "PayerName": "Aetna Health"}]

    with pytest.raises(DataFileError, match="record 1, line 2: field 'dob'") as info:
        load(path, as_of=date(2200, 1, 1), cfg=CFG)
    assert info.value.field == "dob"

    humana_only = Config(payers=("Humana",))
    with pytest.raises(DataFileError, match="record 2, line 17: field 'PayerName'"):
        load(path, as_of=AS_OF, cfg=humana_only)


def test_loader_accepts_a_utf8_bom(tmp_path: Path) -> None:
    for fmt in FORMAT_NAMES:
        path = tmp_path / f"bom{SUFFIX[fmt]}"
        save([GOOD, GOOD], path)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        assert load(path, as_of=AS_OF, cfg=CFG) == [GOOD, GOOD], fmt


# --- every failure names its place -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "record", "line", "field", "message"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_file_is_reported_with_its_place(
    tmp_path: Path,
    name: str,
    content: str | bytes | None,
    record: int | None,
    line: int | None,
    field: str | None,
    message: str,
) -> None:
    path = write_bad(tmp_path, name, content)
    check_bad(path, record, line, field, message)


# --- laziness, streaming ---------------------------------------------------------------


def test_iter_load_returns_records_before_reading_on(tmp_path: Path) -> None:
    path = tmp_path / "lazy.jsonl"
    path.write_bytes(jsonl_text(GOOD).encode() + b"\xff garbage {{{\n" * 10_000)
    records = iter_load(path, as_of=AS_OF, cfg=CFG)
    assert next(records) == GOOD
    with pytest.raises(DataFileError, match=r"lazy.jsonl, line 2: is not UTF-8"):
        next(records)


def test_iter_load_checks_the_path_at_once(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="does not exist"):
        iter_load(tmp_path / "missing.csv")
    with pytest.raises(DataFileError, match="cannot tell the format"):
        iter_load(tmp_path / "missing.txt")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "yaml"])
def test_iter_load_streams(tmp_path: Path, fmt: str) -> None:
    good = tmp_path / f"good{SUFFIX[fmt]}"
    save([GOOD, {**GOOD, "zip": "10001"}], good)
    lines = good.read_bytes().splitlines(keepends=True)
    # Enough for the first record to be complete: YAML needs the next record's first line.
    split = {"jsonl": 1, "csv": 2, "yaml": 14}[fmt]
    fifo = tmp_path / f"pipe{SUFFIX[fmt]}"
    os.mkfifo(fifo)
    release = threading.Event()
    rest_written = threading.Event()

    def writer() -> None:
        with open(fifo, "wb", buffering=0) as file:
            file.write(b"".join(lines[:split]))
            release.wait(10)
            rest_written.set()
            file.write(b"".join(lines[split:]))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    records = iter_load(fifo, as_of=AS_OF, cfg=CFG)
    first = next(records)
    streamed = not rest_written.is_set()
    release.set()
    rest = list(records)
    thread.join(10)

    assert streamed, "the first record waited for the rest of the file"
    assert [first, *rest] == [GOOD, {**GOOD, "zip": "10001"}]


def test_check_reports_every_bad_record_then_what_stops_reading(tmp_path: Path) -> None:
    path = tmp_path / "report.jsonl"
    bad_zip, bad_dob = {**GOOD, "zip": "1"}, {**GOOD, "dob": "99/99/1999"}
    path.write_text(jsonl_text(GOOD, bad_zip, GOOD, bad_dob) + "{oops\n" + jsonl_text(bad_zip))

    problems = list(check(path, as_of=AS_OF, cfg=CFG))

    assert [(p.record, p.line, p.field) for p in problems] == [
        (2, 2, "zip"),
        (4, 4, "dob"),
        (5, 5, None),
    ]
    assert "is not valid JSON" in str(problems[-1])
    assert list(check(tmp_path / "missing.json")) != []
    assert "does not exist" in str(next(check(tmp_path / "missing.json")))
    save([GOOD], tmp_path / "fine.yaml")
    assert list(check(tmp_path / "fine.yaml", as_of=AS_OF, cfg=CFG)) == []


def test_load_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = jsonl_text(GOOD, GOOD).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert load("-", format="jsonl", as_of=AS_OF, cfg=CFG) == [GOOD, GOOD]


# --- whatever a file holds, records or DataFileError -----------------------------------


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300), fmt=st.sampled_from(FORMAT_NAMES))
def test_any_bytes_give_records_or_our_error(tmp_path: Path, content: bytes, fmt: str) -> None:
    # tmp_path is shared by the examples: each one overwrites the file.
    path = tmp_path / f"fuzz{SUFFIX[fmt]}"
    path.write_bytes(content)
    try:
        records = load(path, as_of=AS_OF, cfg=CFG)
    except DataFileError as exc:
        records, message = [], str(exc)
    else:
        message = str(path)
    assert message.startswith(str(path))
    assert all(isinstance(r, dict) for r in records)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from(FORMAT_NAMES),
    position=st.floats(0, 1),
    cut=st.integers(0, 20),
    insert=st.one_of(
        st.binary(max_size=8),
        st.sampled_from([b"[", b"{", b"-", b": ", b"&a ", b"*a", b"!!", b'"', b"\n", b",", b"\r"]),
    ),
)
def test_damaged_files_give_records_or_our_error(
    tmp_path: Path, fmt: str, position: float, cut: int, insert: bytes
) -> None:
    path = tmp_path / f"damaged{SUFFIX[fmt]}"
    save([GOOD, GOOD], path)
    data = path.read_bytes()
    at = int(position * len(data))
    path.write_bytes(data[:at] + insert + data[at + cut :])
    try:
        records = load(path, as_of=AS_OF, cfg=CFG)
    except DataFileError as exc:
        records, message = [], str(exc)
    else:
        message = str(path)
    assert message.startswith(str(path))
    assert all(tuple(r) == FIELDS or set(r) == set(FIELDS) for r in records)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_judge_pairs_every_record_with_checks_problems(tmp_path: Path, fmt: str) -> None:
    from bookslot_factories.files.reading import judge

    path = tmp_path / f"mixed{SUFFIX[fmt]}"
    other = {**GOOD, "PayerName": "Aetna Health"}
    save([GOOD, other, GOOD], path)
    # The middle record's payer is one this config does not know.
    only = Config(payers=(GOOD["PayerName"],))
    judged = list(judge(path, as_of=AS_OF, cfg=only))
    assert [record for record, _ in judged] == [GOOD, other, GOOD]
    problems = [problem for _, problem in judged if problem is not None]
    assert [(p.record, p.field) for p in problems] == [(2, "PayerName")]
    assert [str(p) for p in problems] == [str(p) for p in check(path, as_of=AS_OF, cfg=only)]


def test_judge_ends_with_what_stops_reading_and_no_record(tmp_path: Path) -> None:
    from bookslot_factories.files.reading import judge

    ((record, problem),) = judge(tmp_path / "missing.jsonl")
    assert record is None
    assert "does not exist" in str(problem)
