"""Tests of bookslot_factories.files._json: the JSON writer writes what json.dumps writes.

The property test of both JSON writers, JSON and JSON Lines, is here too.
"""

from __future__ import annotations

import json
from pathlib import Path

from bookslot_factories.files import FORMATS, save
from hypothesis import given
from hypothesis import strategies as st
from oracles import TRICKY, joined, make_records


def test_json_is_byte_for_byte_json_dumps(tmp_path: Path) -> None:
    records = [{**r, "extra": TRICKY[i]} for i, r in enumerate(make_records(len(TRICKY)))]
    records = [{**r, "first_name": TRICKY[-i]} for i, r in enumerate(records)]
    path = tmp_path / "exact.json"

    save(records, path)

    expected = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    assert path.read_bytes() == expected.encode("utf-8")


@given(st.lists(st.dictionaries(st.text(), st.text(), max_size=4), max_size=3))
def test_json_and_jsonl_writers_match_the_json_module(records: list[dict[str, str]]) -> None:
    data = joined(FORMATS["json"], records, [len(records)])
    assert data == (json.dumps(records, indent=2, ensure_ascii=False) + "\n").encode()
    lines = joined(FORMATS["jsonl"], records, [len(records)]).decode().split("\n")
    assert lines.pop() == ""
    assert [json.loads(line) for line in lines] == records
    # One style for every line: compact, as json.dumps(separators=(",", ":")) writes.
    assert lines == [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in records]
