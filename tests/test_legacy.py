"""Tests of bookslot_factories.legacy: the original design's function names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import bookslot_factories
import pytest
from bookslot_factories import FIELDS, BookslotPayloadFactory, VariantError
from bookslot_factories.legacy import (
    generate_bookslot_payload,
    generate_bookslot_payload_with_options,
)
from oracles import assert_real_residential_zip, born_on, years_old

AS_OF = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _default_config() -> Iterator[None]:
    bookslot_factories.configure(None)
    yield
    bookslot_factories.configure(None)


def test_generate_bookslot_payload_is_one_default_payload() -> None:
    bookslot_factories.seed(35)
    payload = generate_bookslot_payload()
    bookslot_factories.seed(35)
    assert payload == BookslotPayloadFactory.build()
    assert tuple(payload) == FIELDS
    assert payload["zip"] == "20678"
    bookslot_factories.validate(payload)


def test_generate_bookslot_payload_with_options_dynamic_zip_in_a_state() -> None:
    bookslot_factories.seed(36)
    payloads = [
        generate_bookslot_payload_with_options(use_dynamic_zip=True, state="CA") for _ in range(30)
    ]
    for payload in payloads:
        assert assert_real_residential_zip(payload["zip"])["state"] == "CA"
        bookslot_factories.validate(payload)
    bookslot_factories.seed(36)
    assert payloads[0] == BookslotPayloadFactory.build(dynamic_zip=True, state="CA")


def test_generate_bookslot_payload_with_options_defaults_and_variants() -> None:
    bookslot_factories.seed(37)
    assert generate_bookslot_payload_with_options()["zip"] == "20678"
    assert_real_residential_zip(generate_bookslot_payload_with_options(use_dynamic_zip=True)["zip"])
    senior = generate_bookslot_payload_with_options(senior=True, as_of=AS_OF)
    assert 65 <= years_old(born_on(senior["dob"]), AS_OF) <= 90
    with pytest.raises(VariantError):
        generate_bookslot_payload_with_options(young=True, senior=True)
