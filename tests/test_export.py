"""Tests of bookslot_factories.files: the file writers, the atomic writer and the loader."""

from __future__ import annotations

import csv
import errno
import io
import json
import multiprocessing
import os
import pickle
import random
import stat
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import bookslot_factories
import pytest
import yaml
from bookslot_factories import BookslotPayloadFactory, Config, DataFileError, files
from bookslot_factories.files import (
    FORMATS,
    Format,
    check,
    format_for,
    iter_load,
    load,
    save,
    write_atomic,
)
from bookslot_factories.model import BLOCK_SIZE, FIELDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AS_OF = date(2026, 11, 29)
CFG = Config()
SUFFIX = {"json": ".json", "jsonl": ".jsonl", "yaml": ".yaml", "csv": ".csv"}
FORMAT_NAMES = sorted(SUFFIX)
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "young": {"young": True},
    "senior": {"senior": True},
    "dynamic_zip": {"dynamic_zip": True},
    "dynamic_location": {"dynamic_location": True},
    "dynamic_phone": {"dynamic_phone": True},
    "state": {"state": "CA"},
    "near": {"near": "20678"},
}
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
INT_KEYED: dict[Any, str] = {3: "x", **GOOD}
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


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_round_trip_of_every_variant(tmp_path: Path, fmt: str, variant: str) -> None:
    records = make_records(12, **VARIANTS[variant])
    path = tmp_path / f"payloads{SUFFIX[fmt]}"

    assert save(records, path) == 12

    assert load(path, as_of=AS_OF) == records
    assert list(iter_load(path, as_of=AS_OF)) == records
    assert read_plainly(path, fmt) == records
    for record in [*load(path, as_of=AS_OF), *read_plainly(path, fmt)]:
        assert tuple(record) == FIELDS


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_round_trip_of_tricky_values_through_plain_parsers(tmp_path: Path, fmt: str) -> None:
    records = tricky_records()
    if fmt == "csv":  # Python 3.10's csv reader refuses NUL characters
        records = [{k: v.replace("\x00", "") for k, v in r.items()} for r in records]
    path = tmp_path / f"tricky{SUFFIX[fmt]}"

    save(records, path)

    assert read_plainly(path, fmt) == records
    assert [list(r) for r in read_plainly(path, fmt)] == [list(r) for r in records]


def test_json_is_byte_for_byte_json_dumps(tmp_path: Path) -> None:
    records = [{**r, "extra": TRICKY[i]} for i, r in enumerate(make_records(len(TRICKY)))]
    records = [{**r, "first_name": TRICKY[-i]} for i, r in enumerate(records)]
    path = tmp_path / "exact.json"

    save(records, path)

    expected = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    assert path.read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("json", b"[]\n"), ("jsonl", b""), ("yaml", b"[]\n"), ("csv", None)],
)
def test_no_records(tmp_path: Path, fmt: str, expected: bytes | None) -> None:
    path = tmp_path / f"empty{SUFFIX[fmt]}"

    assert save(iter([]), path) == 0

    if expected is None:  # CSV: the header row alone
        expected = (",".join(FIELDS) + "\r\n").encode()
    assert path.read_bytes() == expected
    assert load(path) == []


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("a.yml", None, "yaml"),
        ("a.YAML", None, "yaml"),
        ("a.ndjson", None, "jsonl"),
        ("a.JSON", None, "json"),
        ("a.Csv", None, "csv"),
        ("a.txt", "json", "json"),
        ("a.json", "YML", "yaml"),
        ("a.json", ".csv", "csv"),
        ("a", "ndjson", "jsonl"),
    ],
)
def test_format_from_suffix_or_name(
    tmp_path: Path, name: str, fmt: str | None, expected: str
) -> None:
    assert format_for(name, fmt) is FORMATS[expected]
    records = make_records(2)
    save(records, tmp_path / name, format=fmt)
    assert read_plainly(tmp_path / name, expected) == records
    assert load(tmp_path / name, format=fmt, as_of=AS_OF) == records


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("data.txt", None, "cannot tell the format from the suffix '.txt'"),
        ("data", None, "cannot tell the format from no suffix"),
        ("-", None, "cannot tell the format from no suffix"),
        ("data.json", "xml", "unknown format 'xml'"),
    ],
)
def test_unknown_format(tmp_path: Path, name: str, fmt: str | None, message: str) -> None:
    known = "json (.json); jsonl (.jsonl, .ndjson); yaml (.yaml, .yml); csv (.csv)"
    for call in (
        lambda: save([GOOD], name if name == "-" else tmp_path / name, format=fmt),
        lambda: load(name if name == "-" else tmp_path / name, format=fmt),
        lambda: format_for(name, fmt),
    ):
        with pytest.raises(DataFileError) as info:
            call()
        assert message in str(info.value)
        assert known in str(info.value)
    assert list(tmp_path.iterdir()) == []


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


def test_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    line = json.dumps(GOOD)
    path.write_text(f"\n{line}\n  \n\r\n{line}\n\n", encoding="utf-8")
    assert load(path, as_of=AS_OF, cfg=CFG) == [GOOD, GOOD]
    path.write_text(f"\n{line}\n\n{line.replace('Text', 'Fax')}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"gaps.jsonl, record 2, line 4: field 'contact_me"):
        load(path, as_of=AS_OF, cfg=CFG)


def test_yaml_merge_keys_and_anchors_are_read(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    body = "\n".join(f"  {k}: {json.dumps(v)}" for k, v in GOOD.items())
    path.write_text(
        f"- &base\n{body}\n"
        "- <<: *base\n  idNumber: INS-99999\n"
        '- <<: [*base]\n  zip: &z "10001"\n'
        "- *base\n",
        encoding="utf-8",
    )
    expected = [GOOD, {**GOOD, "idNumber": "INS-99999"}, {**GOOD, "zip": "10001"}, GOOD]

    for loader in YAML_LOADERS.values():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(files._yaml, "YAML_LOADER", loader)
            assert load(path, as_of=AS_OF, cfg=CFG) == expected
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == expected


# --- the writers, block by block -------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_blocks_concatenate_to_what_save_writes(tmp_path: Path, fmt: str) -> None:
    tricky = [
        dict(zip(FIELDS, [TRICKY[(i + j) % len(TRICKY)] for j in range(len(FIELDS))], strict=True))
        for i in range(len(TRICKY))
    ]
    base = [*make_records(40), *tricky]
    base = [{k: v.replace("\x00", "") for k, v in r.items()} for r in base]
    records = [{**base[i % len(base)], "idNumber": f"INS-{i:05}"} for i in range(2007)]
    path = tmp_path / f"all{SUFFIX[fmt]}"
    save(records, path)
    expected = path.read_bytes()
    writer = FORMATS[fmt]
    rng = random.Random(7)

    splits = [[len(records)], [1] * len(records), [7, 993, 1000, 7], [0, len(records), 0]]
    for _ in range(5):
        sizes, left = [], len(records)
        while left:
            sizes.append(min(left, rng.randint(1, 600)))
            left -= sizes[-1]
        splits.append(sizes)
    for sizes in splits:
        assert joined(writer, records, sizes) == expected, sizes
    save([], tmp_path / f"none{SUFFIX[fmt]}")
    assert joined(writer, [], []) == (tmp_path / f"none{SUFFIX[fmt]}").read_bytes()


def test_writers_pickle_and_run_in_a_worker_process() -> None:
    records = make_records(5)
    expected = {name: joined(w, records, [2, 3]) for name, w in FORMATS.items()}
    for writer in FORMATS.values():
        assert pickle.loads(pickle.dumps(writer)) == writer

    # "spawn": the worker imports everything afresh, as on macOS and Windows.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        blocks = {
            name: [
                pool.submit(w.encode, records[:2], True),
                pool.submit(w.encode, records[2:], False),
            ]
            for name, w in FORMATS.items()
        }
        for name, (first, second) in blocks.items():
            writer = FORMATS[name]
            data = writer.begin(FIELDS) + first.result() + second.result() + writer.end(5)
            assert data == expected[name]


def test_yaml_layout_is_plain_where_safe_and_quoted_elsewhere() -> None:
    record = {
        "first_name": "Maria",
        "last_name": "O'Connor",
        "email": "maria.x@mailinator.com",
        "zip": "20678",
        "flag": "Yes",
        "blank": "",
        "space": "a ",
        "tab": "a\tb",
        "quote": 'a"b\\c',
        "controls": "\x00\x7f\x85\u2028\ufeff😀",
        "y": "St. John",
    }
    text = FORMATS["yaml"].encode([record], True).decode("utf-8")
    assert text == (
        "- first_name: Maria\n"
        "  last_name: O'Connor\n"
        "  email: maria.x@mailinator.com\n"
        '  zip: "20678"\n'
        '  flag: "Yes"\n'
        '  blank: ""\n'
        '  space: "a "\n'
        '  tab: "a\\tb"\n'
        '  quote: "a\\"b\\\\c"\n'
        '  controls: "\\0\\x7F\\x85\\u2028\\uFEFF😀"\n'
        '  "y": St. John\n'
    )
    assert yaml.safe_load(text) == [record]
    assert FORMATS["yaml"].encode([{}], True) == b"- {}\n"


@pytest.mark.parametrize("loader", sorted(YAML_LOADERS))
def test_yaml_writer_reads_back_tricky_and_long_keys(loader: str) -> None:
    records = [*tricky_records(), {"k" * 1500: "long key", "日" * 300: "wide key", "b": "c"}]
    writer = FORMATS["yaml"]
    text = joined(writer, records, [len(records)]).decode("utf-8")
    assert "? " in text  # the explicit form, for keys too long to be simple keys
    loaded = yaml.load(text, Loader=YAML_LOADERS[loader])
    assert loaded == records
    assert [list(r) for r in loaded] == [list(r) for r in records]


def test_yaml_writer_escapes_lone_surrogates() -> None:
    # JSON and CSV cannot hold them (UTF-8 cannot); YAML escapes them and PyYAML reads them.
    record = {"a\ud800": "b\udfff"}
    text = FORMATS["yaml"].encode([record], True).decode("ascii")
    assert text == '- "a\\uD800": "b\\uDFFF"\n'
    assert yaml.safe_load(text) == [record]


@given(
    st.lists(
        st.dictionaries(st.text(), st.text(), max_size=6),
        max_size=4,
    )
)
def test_yaml_writer_round_trips_any_text(records: list[dict[str, str]]) -> None:
    writer = FORMATS["yaml"]
    data = joined(writer, records, [len(records)])
    for loader in YAML_LOADERS.values():
        loaded = yaml.load(data.decode("utf-8"), Loader=loader)
        assert loaded == records
        assert [list(r) for r in loaded] == [list(r) for r in records]


@given(st.lists(st.dictionaries(st.text(), st.text(), max_size=4), max_size=3))
def test_json_and_jsonl_writers_match_the_json_module(records: list[dict[str, str]]) -> None:
    data = joined(FORMATS["json"], records, [len(records)])
    assert data == (json.dumps(records, indent=2, ensure_ascii=False) + "\n").encode()
    lines = joined(FORMATS["jsonl"], records, [len(records)]).decode().split("\n")
    assert lines.pop() == ""
    assert [json.loads(line) for line in lines] == records
    # One style for every line: compact, as json.dumps(separators=(",", ":")) writes.
    assert lines == [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in records]


# --- save: checks and streaming --------------------------------------------------------


def _bad_value() -> Iterator[Any]:
    yield GOOD
    yield {**GOOD, "zip": 20678}


@pytest.mark.parametrize(
    ("records", "record", "field", "message"),
    [
        ([GOOD, GOOD, ["a", "b"]], 3, None, "record 3: is a list; expected a mapping"),
        (_bad_value, 2, "zip", "record 2: field 'zip' is 20678; expected a string"),
        ([GOOD, {**GOOD, "zip": None}], 2, "zip", "field 'zip' is None; expected a string"),
        (
            [GOOD, {k: v for k, v in GOOD.items() if k != "email"}],
            2,
            "email",
            "record 2: field 'email' is missing",
        ),
        ([GOOD, {**GOOD, "ssn": "1"}], 2, "ssn", "field 'ssn' is not in the first record"),
        ([INT_KEYED], 1, None, "record 1: key 3 is not a string"),
        ([GOOD, {**GOOD, "last_name": "x\ud800"}], 2, "last_name", "lone surrogate"),
    ],
    ids=["not-a-mapping", "int", "none", "missing", "extra", "int-key", "surrogate"],
)
@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_save_rejects_records_it_cannot_write(
    tmp_path: Path, fmt: str, records: Any, record: int, field: str | None, message: str
) -> None:
    if callable(records):
        records = records()
    path = tmp_path / f"out{SUFFIX[fmt]}"
    path.write_bytes(b"old")
    if fmt == "yaml" and field == "last_name":
        save(records, path)  # YAML can hold a lone surrogate, escaped
        assert yaml.safe_load(path.read_text(encoding="utf-8"))[1]["last_name"] == "x\ud800"
        return

    with pytest.raises(DataFileError) as info:
        save(records, path)

    assert str(info.value).startswith(f"{path}, record {record}: ")
    assert message in str(info.value)
    assert (info.value.record, info.value.field) == (record, field)
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("records", [GOOD, "text", b"bytes"], ids=["mapping", "str", "bytes"])
def test_save_wants_an_iterable_of_records(tmp_path: Path, records: Any) -> None:
    with pytest.raises(DataFileError, match="expected an iterable of mappings"):
        save(records, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_csv_needs_a_field(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="record 1: has no fields"):
        save([{}], tmp_path / "x.csv")
    assert save([{}], tmp_path / "x.json") == 1


def test_save_does_not_apply_the_rules(tmp_path: Path) -> None:
    bad = {**GOOD, "email": "not an email", "zip": "1"}
    for fmt in FORMAT_NAMES:
        path = tmp_path / f"negative{SUFFIX[fmt]}"
        assert save([GOOD, bad], path) == 2
        assert read_plainly(path, fmt) == [GOOD, bad]
        with pytest.raises(DataFileError, match=r"record 2, line [0-9]+: field 'email'"):
            load(path, as_of=AS_OF, cfg=CFG)


def test_save_puts_keys_in_the_first_records_order(tmp_path: Path) -> None:
    shuffled = dict(reversed(list(GOOD.items())))
    for fmt in FORMAT_NAMES:
        path = tmp_path / f"order{SUFFIX[fmt]}"
        save([GOOD, shuffled], path)
        assert [list(r) for r in read_plainly(path, fmt)] == [list(FIELDS)] * 2
        assert load(path, as_of=AS_OF, cfg=CFG) == [GOOD, GOOD]


class _Record(dict[str, str]):
    """A dict that can be weakly referenced, to see when save lets go of it."""


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_save_streams_a_block_at_a_time(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"stream{SUFFIX[fmt]}"
    total = 8 * BLOCK_SIZE
    refs: list[weakref.ref[_Record]] = []
    most_alive = 0
    partial_sizes: list[int] = []

    def records() -> Iterator[_Record]:
        nonlocal most_alive
        for i in range(total):
            if i % BLOCK_SIZE == BLOCK_SIZE // 2:
                most_alive = max(most_alive, sum(ref() is not None for ref in refs))
                partial_sizes.extend(p.stat().st_size for p in tmp_path.glob("*.tmp"))
            record = _Record(GOOD, idNumber=f"INS-{i:05}")
            refs.append(weakref.ref(record))
            yield record

    assert save(records(), path) == total

    # Never more than one block held, however many records.
    assert 0 < most_alive <= BLOCK_SIZE + 1
    # And the blocks went to the temporary file while the records were still coming.
    assert len(partial_sizes) == 8
    assert partial_sizes == sorted(partial_sizes)
    assert partial_sizes[-1] > partial_sizes[1] > 0
    assert partial_sizes[-1] < path.stat().st_size
    assert len(load(path, as_of=AS_OF, cfg=CFG)) == total


# --- atomic writing --------------------------------------------------------------------


def _records_then(
    error: BaseException, count: int = 2 * BLOCK_SIZE + 10
) -> Iterator[dict[str, str]]:
    for _ in range(count):
        yield GOOD
    raise error


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boom"),
        OSError(errno.ENOSPC, "No space left on device"),
        KeyboardInterrupt(),
    ],
    ids=["exception", "ENOSPC", "KeyboardInterrupt"],
)
@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_a_failing_iterator_leaves_the_old_file(
    tmp_path: Path, fmt: str, error: BaseException
) -> None:
    path = tmp_path / f"keep{SUFFIX[fmt]}"
    save([GOOD], path)
    old = path.read_bytes()
    seen_temporary: list[str] = []

    def records() -> Iterator[dict[str, str]]:
        yield from _records_then(error)

    def watched() -> Iterator[dict[str, str]]:
        for i, record in enumerate(records()):
            if i == 2 * BLOCK_SIZE:
                seen_temporary.extend(leftovers(tmp_path))
            yield record

    with pytest.raises(type(error)) as info:
        save(watched(), path)

    assert info.value is error  # unchanged, not wrapped
    assert len(seen_temporary) == 1  # it had written to a temporary file...
    assert leftovers(tmp_path) == []  # ...which is gone
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_write_atomic_cleans_up_after_its_chunks_fail(tmp_path: Path) -> None:
    path = tmp_path / "raw.bin"
    path.write_bytes(b"before")

    def chunks() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise ValueError("no more")

    with pytest.raises(ValueError, match="no more"):
        write_atomic(path, chunks())
    assert path.read_bytes() == b"before"
    assert leftovers(tmp_path) == []

    write_atomic(str(path), iter([b"a", b"", b"b"]))
    assert path.read_bytes() == b"ab"


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "mode.json"
    path.write_bytes(b"[]")
    path.chmod(0o640)
    save([GOOD], path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    path.chmod(0o604)
    save([GOOD], path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o604


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_new_file_gets_the_umask_mode(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        save([GOOD], tmp_path / "new.yaml")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o666 & ~umask


def test_missing_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    with pytest.raises(DataFileError) as info:
        save([GOOD], folder / "x.json")
    assert f"the folder {str(folder)!r} does not exist" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_parent_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    for target in (tmp_path / "file.txt" / "x.json", tmp_path / "file.txt" / "sub" / "x.json"):
        with pytest.raises(DataFileError) as info:
            save([GOOD], target)
        assert f"{str(tmp_path / 'file.txt')!r} is a file, not a folder" in str(info.value)
    assert (tmp_path / "file.txt").read_text() == "x"


def test_target_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    with pytest.raises(DataFileError, match="it is a folder; expected a file name"):
        save([GOOD], tmp_path / "d.json")
    assert (tmp_path / "d.json").is_dir()


def test_symlink_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("[]")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save([GOOD], link)
    assert link.is_symlink()
    assert json.loads(real.read_text()) == [GOOD]


def _broken_fifo_case(tmp_path: Path) -> tuple[str, str]:
    """A FIFO whose reader leaves at once: writing fails with EPIPE."""
    fifo = tmp_path / "gone.fifo"
    os.mkfifo(fifo)

    def reader() -> None:
        os.close(os.open(fifo, os.O_RDONLY))

    threading.Thread(target=reader, daemon=True).start()
    return str(fifo), "cannot write: Broken pipe"


def test_device_full(tmp_path: Path) -> None:
    if os.path.exists("/dev/full"):
        target, message = "/dev/full", "cannot write: No space left on device"
    else:  # no /dev/full here: a FIFO that fails the same way
        target, message = _broken_fifo_case(tmp_path)
    kind = stat.S_IFMT(os.stat(target).st_mode)

    with pytest.raises(DataFileError) as info:
        save([GOOD] * 3000, target, format="jsonl")

    assert str(info.value) == f"{target}: {message}"
    assert stat.S_IFMT(os.stat(target).st_mode) == kind  # written in place, not replaced
    assert leftovers(Path(target).parent) == []


def test_fifo_whose_reader_leaves(tmp_path: Path) -> None:
    target, message = _broken_fifo_case(tmp_path)
    with pytest.raises(DataFileError, match=message):
        save([GOOD] * 3000, target, format="jsonl")
    assert stat.S_ISFIFO(os.stat(target).st_mode)


def test_fifo_is_written_in_place(tmp_path: Path) -> None:
    records = make_records(30)
    save(records, tmp_path / "expected.yaml")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as file:
            received.append(file.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert save(records, fifo) == 30
    thread.join(10)

    assert received == [(tmp_path / "expected.yaml").read_bytes()]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert leftovers(tmp_path) == []


def test_dev_stdout_is_written_in_place(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Under pytest, file descriptor 1 is a regular temporary file: it must not be replaced.
    records = make_records(3)
    capfd.readouterr()
    assert save(records, "/dev/stdout", format="jsonl") == 3
    out = capfd.readouterr().out
    save(records, tmp_path / "same.jsonl")
    assert out == (tmp_path / "same.jsonl").read_text(encoding="utf-8")
    assert leftovers(Path("/dev")) == []


def test_dash_writes_to_stdout(capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path) -> None:
    records = make_records(4)
    assert save(records, "-", format="jsonl") == 4
    out = capsysbinary.readouterr().out
    save(records, tmp_path / "same.jsonl")
    assert out == (tmp_path / "same.jsonl").read_bytes()


# --- loading: every failure names its place ------------------------------------------


def _json(*records: object) -> str:
    return json.dumps(list(records), indent=2)


def _jsonl(*records: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _csv(*rows: Sequence[str], header: Sequence[str] = FIELDS) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue()


def _yaml(*records: object) -> str:
    return yaml.safe_dump(list(records), sort_keys=False)


def _without(key: str) -> dict[str, str]:
    return {k: v for k, v in GOOD.items() if k != key}


def _dup_yaml() -> str:
    text = _yaml(GOOD)
    return text + "  email: other@mailinator.com\n"


def _bomb() -> str:
    lines = ["- first_name: Maria", "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        lines.append(f"  {level}: &{level} [{', '.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


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
        _json(GOOD).encode().replace(b"Maria", b"Mar\xefa", 1),
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
    ("json-element", "b.json", _json(GOOD, "text"), 2, 17, None, "is a string; expected"),
    ("json-missing", "b.json", _json(GOOD, _without("email")), 2, 17, "email", "is missing"),
    (
        "json-extra",
        "b.json",
        _json({**GOOD, "ssn": "123"}),
        1,
        2,
        "ssn",
        "field 'ssn' is not a payload field",
    ),
    (
        "json-number",
        "b.json",
        _json(GOOD, {**GOOD, "zip": 20678}),
        2,
        17,
        "zip",
        "field 'zip' is 20678; expected a string",
    ),
    (
        "json-rule",
        "b.json",
        _json(GOOD, GOOD, {**GOOD, "email": "maria@gmail.com"}),
        3,
        32,
        "email",
        "field 'email' is 'maria@gmail.com'; expected a lowercase address",
    ),
    (
        "json-unterminated",
        "b.json",
        _json(GOOD)[:-2],
        1,
        16,
        None,
        "found the end of the file after the record; expected ',' or ']'",
    ),
    (
        "json-trailing-comma",
        "b.json",
        "[\n\n" + _json(GOOD)[1:-2] + ",\n]",
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
        _jsonl(GOOD) + "\n" + '{"first_name": }\n',
        2,
        3,
        None,
        "is not valid JSON: Expecting value (column 16)",
    ),
    ("jsonl-array", "b.jsonl", "[1, 2]\n", 1, 1, None, "is an array; expected one JSON object"),
    (
        "jsonl-not-utf8",
        "b.jsonl",
        _jsonl(GOOD).encode() + b'{"first_name": "\xff"}\n',
        None,
        2,
        None,
        "is not UTF-8 text: byte 0xff at column 17",
    ),
    (
        "jsonl-rule",
        "b.jsonl",
        _jsonl(GOOD, {**GOOD, "dob": "13/45/1990"}),
        2,
        2,
        "dob",
        "field 'dob' is '13/45/1990'; expected a real date",
    ),
    ("jsonl-deep", "b.jsonl", _jsonl(GOOD) + "[" * 100_000 + "\n", 2, 2, None, "nested too deeply"),
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
        _csv(header=[f for f in FIELDS if f != "dob"]),
        None,
        1,
        "dob",
        "the CSV header lacks the column 'dob'",
    ),
    (
        "csv-header-unknown",
        "b.csv",
        _csv(header=[*FIELDS, "ssn"]),
        None,
        1,
        "ssn",
        "the CSV header has an unknown column 'ssn'; expected exactly the columns first_name,",
    ),
    (
        "csv-header-twice",
        "b.csv",
        _csv(header=[*FIELDS, "zip"]),
        None,
        1,
        "zip",
        "the CSV header has the column 'zip' twice",
    ),
    (
        "csv-short-row",
        "b.csv",
        # Two blank lines (skipped) before the short row: the line is the file's.
        _csv(list(GOOD.values())) + "\r\n" + _csv(list(GOOD.values())[:-1], header=[]),
        2,
        5,
        "PayerName",
        "has 12 values; expected 13",
    ),
    ("csv-long-row", "b.csv", _csv([*GOOD.values(), "x"]), 1, 2, None, "has 14 values"),
    (
        "csv-bad-quote",
        "b.csv",
        _csv(list(GOOD.values())) + '"Maria"x,' + ",".join(list(GOOD.values())[1:]) + "\r\n",
        2,
        3,
        None,
        "is not valid CSV: ',' expected after '\"'",
    ),
    (
        "csv-rule",
        "b.csv",
        _csv(list(GOOD.values()), list({**GOOD, "zip": "2067"}.values())),
        2,
        3,
        "zip",
        "field 'zip' is '2067'; expected a 5-digit ZIP code",
    ),
    (
        "csv-multiline-record",
        "b.csv",
        _csv(list({**GOOD, "first_name": "Ma\nria"}.values())),
        1,
        3,
        "first_name",
        "field 'first_name' is 'Ma\\nria'",
    ),
    (
        "csv-not-utf8",
        "b.csv",
        _csv(list(GOOD.values())).encode() + b"\xc3(\r\n",
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
        _yaml(GOOD) + "- Maria\n",
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
        _yaml(GOOD) + "- first_name: Maria\n  last_name: x: y\n",
        2,
        15,
        None,
        "is not valid YAML: mapping values are not allowed",
    ),
    (
        "yaml-unclosed-quote",
        "b.yaml",
        _yaml(GOOD) + '- first_name: "Maria\n',
        2,
        15,
        None,
        "is not valid YAML: while scanning a quoted scalar, found unexpected end of stream",
    ),
    (
        "yaml-int",
        "b.yaml",
        _yaml(GOOD).replace("'20678'", "20678"),
        1,
        5,
        "zip",
        "field 'zip' is '20678', which YAML reads as an integer; expected a string",
    ),
    (
        "yaml-date",
        "b.yaml",
        _yaml(GOOD, {**GOOD, "dob": "1980-04-12"}).replace("'1980-04-12'", "1980-04-12"),
        2,
        22,
        "dob",
        "field 'dob' is '1980-04-12', which YAML reads as a date",
    ),
    (
        "yaml-null-value",
        "b.yaml",
        _yaml(GOOD).replace("zip: '20678'", "zip:"),
        1,
        5,
        "zip",
        "field 'zip' is empty (null); expected a string",
    ),
    (
        "yaml-list-value",
        "b.yaml",
        _yaml(GOOD).replace("zip: '20678'", "zip: [1, 2]"),
        1,
        5,
        "zip",
        "field 'zip' is a list; expected a string",
    ),
    (
        "yaml-int-key",
        "b.yaml",
        _yaml(GOOD) + "  1: x\n",
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
    ("yaml-missing", "b.yaml", _yaml(GOOD, _without("idNumber")), 2, 14, "idNumber", "is missing"),
    (
        "yaml-rule-field-line",
        "b.yaml",
        _yaml(GOOD, {**GOOD, "GroupNumber": "G-1"}),
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
        _yaml(GOOD).replace("first_name: Maria", "first_name: !!python/name:os.system ''"),
        1,
        1,
        None,
        "the YAML tag '!!python/name:os.system' is not allowed",
    ),
    (
        "yaml-local-tag",
        "b.yaml",
        _yaml(GOOD).replace("PayerName: Humana", "PayerName: !shout Humana"),
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
        _yaml(GOOD) + "---\n" + _yaml(GOOD),
        None,
        14,
        None,
        "more than one YAML document",
    ),
    (
        "yaml-control-char",
        "b.yaml",
        _yaml(GOOD).replace("Humana", "Hum\x07ana"),
        None,
        13,
        None,
        "holds the character U+0007 at column 17",
    ),
    (
        "yaml-not-utf8",
        "b.yaml",
        _yaml(GOOD).encode().replace(b"Humana", b"Hum\xe4na"),
        None,
        13,
        None,
        "is not UTF-8 text: byte 0xe4 at column 17",
    ),
    ("yaml-alias-bomb", "b.yaml", _bomb(), 1, 2, "a", "field 'a' is a list; expected a string"),
]


def _write_bad(tmp_path: Path, name: str, content: str | bytes | None) -> Path:
    path = tmp_path / name
    if content == "<dir>":
        path.mkdir()
    elif isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    elif content is not None:
        path.write_bytes(content)
    return path


def _check_bad(
    path: Path, record: int | None, line: int | None, field: str | None, message: str
) -> None:
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
    path = _write_bad(tmp_path, name, content)
    _check_bad(path, record, line, field, message)


YAML_CASES = [case for case in BAD_FILES if case[1].endswith(".yaml")]


@pytest.mark.parametrize(
    ("name", "content", "record", "line", "field", "message"),
    [case[1:] for case in YAML_CASES],
    ids=[case[0] for case in YAML_CASES],
)
def test_bad_yaml_with_the_pure_python_loader(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    content: str | bytes | None,
    record: int | None,
    line: int | None,
    field: str | None,
    message: str,
) -> None:
    # Where libyaml is missing, the loader falls back to PyYAML's pure-Python one.
    monkeypatch.setattr(files._yaml, "YAML_LOADER", yaml.SafeLoader)
    path = _write_bad(tmp_path, name, content)
    if "is not valid YAML" in message:  # the parsers word their errors differently
        message = "is not valid YAML: "
    _check_bad(path, record, line, field, message)


def test_the_yaml_loader_is_a_safe_one() -> None:
    assert files._yaml.YAML_LOADER in (getattr(yaml, "CSafeLoader", None), yaml.SafeLoader)


@pytest.mark.parametrize(
    "payload",
    [
        '- !!python/object/apply:os.system ["touch {pwned}"]\n',
        '- first_name: !!python/object/apply:os.system ["touch {pwned}"]\n',
        "- !!python/object/new:os.system [touch {pwned}]\n",
        "- first_name: Maria\n  x: !!python/object/apply:subprocess.call [[touch, {pwned}]]\n",
        "- &a !!python/object/apply:os.system [touch {pwned}]\n- *a\n",
        "- !!map {{first_name: !!python/object/apply:os.system [touch {pwned}]}}\n",
    ],
)
@pytest.mark.parametrize("loader", sorted(YAML_LOADERS))
def test_yaml_tags_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: str, loader: str
) -> None:
    monkeypatch.setattr(files._yaml, "YAML_LOADER", YAML_LOADERS[loader])
    pwned = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(payload.format(pwned=pwned), encoding="utf-8")

    with pytest.raises(DataFileError, match="YAML tags are not allowed"):
        load(path)
    assert not pwned.exists()


def test_alias_bomb_fails_fast_with_a_short_message(tmp_path: Path) -> None:
    # 9 levels of 9 aliases: a billion strings if expanded.
    lines = ["- a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"- {c}: &{c} [{', '.join(['*' + chr(ord(c) - 1)] * 9)}]" for c in "bcdefghi"]
    lines += ["- *i", "- first_name: *i"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(DataFileError) as info:
        load(path)
    assert time.perf_counter() - started < 5
    assert str(info.value) == f"{path}, record 1, line 1: field 'a' is a list; expected a string"


# --- loading: laziness, streaming ------------------------------------------------------


def test_iter_load_returns_records_before_reading_on(tmp_path: Path) -> None:
    path = tmp_path / "lazy.jsonl"
    path.write_bytes(_jsonl(GOOD).encode() + b"\xff garbage {{{\n" * 10_000)
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
    path.write_text(_jsonl(GOOD, bad_zip, GOOD, bad_dob) + "{oops\n" + _jsonl(bad_zip))

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
    data = _jsonl(GOOD, GOOD).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert load("-", format="jsonl", as_of=AS_OF, cfg=CFG) == [GOOD, GOOD]


# --- loading: whatever a file holds, records or DataFileError ---------------------------


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
