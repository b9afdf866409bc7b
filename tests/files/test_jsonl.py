"""Tests of bookslot_factories.files._jsonl: what the JSON Lines reader skips and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bookslot_factories import DataFileError
from bookslot_factories.files import load
from oracles import AS_OF, CFG, GOOD


def test_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    line = json.dumps(GOOD)
    path.write_text(f"\n{line}\n  \n\r\n{line}\n\n", encoding="utf-8")
    assert load(path, as_of=AS_OF, cfg=CFG) == [GOOD, GOOD]
    path.write_text(f"\n{line}\n\n{line.replace('Text', 'Fax')}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"gaps.jsonl, record 2, line 4: field 'contact_me"):
        load(path, as_of=AS_OF, cfg=CFG)
