"""Tests of CSV files (bookslot_factories.files._csv): what only a CSV file needs.

The check itself is in bookslot_factories.files.writing, which knows the format it writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bookslot_factories import DataFileError
from bookslot_factories.files import save


def test_csv_needs_a_field(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="record 1: has no fields"):
        save([{}], tmp_path / "x.csv")
    assert save([{}], tmp_path / "x.json") == 1
