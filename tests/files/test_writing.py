"""Tests of bookslot_factories.files.writing: save, and what it writes in every format.

Round trips through our reader and the standard parsers, blocks that concatenate to
what save writes, the records save refuses, and writing one block at a time.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from bookslot_factories import DataFileError
from bookslot_factories.files import FORMATS, iter_load, load, save
from bookslot_factories.model import BLOCK_SIZE, FIELDS
from oracles import (
    AS_OF,
    CFG,
    FORMAT_NAMES,
    GOOD,
    SUFFIX,
    TRICKY,
    joined,
    leftovers,
    make_records,
    read_plainly,
    tricky_records,
)

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
INT_KEYED: dict[Any, str] = {3: "x", **GOOD}


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
