"""Tests of bookslot_factories.files.formats: the registry of formats, suffixes and names."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from bookslot_factories import DataFileError
from bookslot_factories.files import FORMATS, format_for, load, save
from bookslot_factories.model import FIELDS
from oracles import AS_OF, GOOD, joined, make_records, read_plainly


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
        ("data.json", "toml", "unknown format 'toml'"),
    ],
)
def test_unknown_format(tmp_path: Path, name: str, fmt: str | None, message: str) -> None:
    known = "json (.json); jsonl (.jsonl, .ndjson); yaml (.yaml, .yml); csv (.csv); xml (.xml)"
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
