"""Tests of bookslot_factories.files._jsonl: what the JSON Lines reader skips and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bookslot_factories import DataFileError
from bookslot_factories.files import FORMATS, load
from hypothesis import example, given
from hypothesis import strategies as st
from oracles import AS_OF, CFG, GOOD, joined


def test_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    line = json.dumps(GOOD)
    path.write_text(f"\n{line}\n  \n\r\n{line}\n\n", encoding="utf-8")
    assert load(path, as_of=AS_OF, cfg=CFG) == [GOOD, GOOD]
    path.write_text(f"\n{line}\n\n{line.replace('Text', 'Fax')}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"gaps.jsonl, record 2, line 4: field 'contact_me"):
        load(path, as_of=AS_OF, cfg=CFG)


# The writer splits one orjson call for a block at '},{"<first key>":'; values and keys
# made of the characters of that pattern try to fool it.
_PATTERN_TEXT = st.text(alphabet='{},:"\\\nab', max_size=12)


@given(
    st.lists(_PATTERN_TEXT, min_size=1, max_size=3, unique=True),
    st.lists(st.lists(_PATTERN_TEXT, min_size=3, max_size=3), min_size=1, max_size=5),
)
# '{",":"},{",":":"z"}' holds the pattern inside one record.
@example(keys=[",", ":"], rows=[["},{", "z", ""], ["a", "b", ""]])
def test_jsonl_lines_are_one_per_record_whatever_the_strings(
    keys: list[str], rows: list[list[str]]
) -> None:
    records = [dict(zip(keys, row, strict=False)) for row in rows]
    data = joined(FORMATS["jsonl"], records, [len(records)])
    assert data.decode().split("\n") == [
        *(json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in records),
        "",
    ]
