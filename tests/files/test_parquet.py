"""Tests of Parquet files (bookslot_factories.files._parquet): one row group per block."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bookslot_factories import DataFileError
from bookslot_factories.cli import main
from bookslot_factories.files import iter_load, load, save
from bookslot_factories.model import BLOCK_SIZE, FIELDS
from oracles import make_records


def test_save_load_round_trip(tmp_path: Path) -> None:
    records = make_records(25, seed=4)
    path = tmp_path / "x.parquet"
    assert save(records, path) == 25
    assert load(path) == records
    assert list(iter_load(path)) == records
    table = pq.read_table(path)  # read back with pyarrow alone
    assert table.column_names == list(FIELDS)
    assert all(pa.types.is_string(field.type) for field in table.schema)
    assert table.to_pylist() == records


def test_one_row_group_per_block(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    count = 2 * BLOCK_SIZE + 7
    assert (
        main(
            ["generate", "--seed", "5", "--as-of", "2026-11-29", "-n", str(count), "-o", str(path)]
        )
        == 0
    )
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == count
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        BLOCK_SIZE,
        BLOCK_SIZE,
        7,
    ]
    jsonl = tmp_path / "big.jsonl"
    assert (
        main(
            ["generate", "--seed", "5", "--as-of", "2026-11-29", "-n", str(count), "-o", str(jsonl)]
        )
        == 0
    )
    assert pq.read_table(path).to_pylist() == load(jsonl, as_of=date(2026, 11, 29))


def test_workers_give_the_same_bytes(tmp_path: Path) -> None:
    one, two = tmp_path / "1.parquet", tmp_path / "2.parquet"
    args = ["generate", "--seed", "6", "--as-of", "2026-11-29", "-n", str(BLOCK_SIZE + 3)]
    assert main([*args, "-o", str(one)]) == 0
    assert main([*args, "-o", str(two), "--workers", "2"]) == 0
    assert one.read_bytes() == two.read_bytes()


def test_no_records_is_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "none.parquet"
    assert save([], path) == 0
    assert load(path) == []


def test_load_validates_and_names_record_and_field(tmp_path: Path) -> None:
    records = make_records(3, seed=7)
    records[1]["dob"] = "13/45/1990"
    path = tmp_path / "bad.parquet"
    save(records, path)
    with pytest.raises(DataFileError, match=r"bad\.parquet.*record 2.*dob") as info:
        load(path)
    assert info.value.field == "dob"


def test_not_parquet_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text('{"first_name": "x"}\n')
    with pytest.raises(DataFileError, match=r"fake\.parquet.*not a Parquet file"):
        load(path)


def test_a_column_that_is_not_strings(tmp_path: Path) -> None:
    path = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"first_name": [1, 2]}), path)
    with pytest.raises(DataFileError, match=r"ints\.parquet.*first_name.*expected strings"):
        load(path)


def test_failed_write_leaves_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "keep.parquet"
    save(make_records(2, seed=8), path)
    before = path.read_bytes()
    with pytest.raises(DataFileError, match="expected a string"):
        save([*make_records(2, seed=9), {**make_records(1)[0], "dob": 5}], path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.parquet"]


def test_nested_kinds_are_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "intake.parquet"
    assert main(["generate", "--kind", "intake", "--seed", "1", "-n", "2", "-o", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "nested" in err
    assert err.count("\n") == 1
    assert not path.exists()
