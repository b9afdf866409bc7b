"""Tests of bookslot_factories.variants: the one checker of variants and dates."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from bookslot_factories.errors import VariantError
from bookslot_factories.variants import Variants, as_date


@pytest.mark.parametrize(
    ("dynamic_zip", "dynamic_location", "state", "near", "mode"),
    [
        (False, False, None, None, "static"),
        (True, False, None, None, "dynamic"),
        (False, False, "CA", None, "dynamic"),
        (True, False, "CA", None, "dynamic"),
        (False, False, None, "20678", "near"),
        (False, False, "MD", "20678", "near"),
        (True, False, None, "20678", "near"),
        (False, True, None, None, "location"),
        (True, True, None, None, "location"),
    ],
)
def test_zip_mode(
    dynamic_zip: bool, dynamic_location: bool, state: str | None, near: str | None, mode: str
) -> None:
    variants = Variants(
        dynamic_zip=dynamic_zip, dynamic_location=dynamic_location, state=state, near=near
    )
    assert variants.zip_mode == mode


def test_as_date() -> None:
    assert as_date(None) is None
    assert as_date(date(2024, 2, 29)) == date(2024, 2, 29)
    assert as_date("2024-02-29") == date(2024, 2, 29)


@pytest.mark.parametrize(
    "value", ["2023-02-29", "tomorrow", "", 20240229, datetime(2024, 2, 29, 12), 1.5]
)
def test_as_date_rejects_what_is_not_a_date(value: object) -> None:
    with pytest.raises(VariantError, match="as_of"):
        as_date(value)
