"""Tests of bookslot_factories.draws: the column draws give what the one-value draws give."""

from __future__ import annotations

import random

import pytest
from bookslot_factories import config, draws, tables


@pytest.mark.parametrize("width", [0, 1, 20, 40])
def test_the_email_column_is_email_of_each_record(width: int) -> None:
    rng = random.Random(width)
    firsts = draws.first_name().many(rng, 300)
    lasts = draws.last_name().many(rng, 300)
    # Names from 0 to 40 letters push the local part across 64 characters, where
    # email() shortens them; the column must shorten exactly the same records.
    firsts[::7] = ["Ángela" + "x" * rng.randrange(width + 1) for _ in firsts[::7]]
    lasts[::5] = ["O'Brien" + "y" * rng.randrange(width + 1) for _ in lasts[::5]]
    domains = draws.email_domain(config.current()).many(rng, 300)
    for start in (1, 99_990, 999_701):
        column = draws.emails(firsts, lasts, "k3x9a2f", start, domains)
        assert column == [
            draws.email(f, s, "k3x9a2f", n, d)
            for n, f, s, d in zip(range(start, start + 300), firsts, lasts, domains, strict=True)
        ]
        assert all(len(e.split("@")[0]) <= tables.MAX_LOCAL_PART for e in column)
    assert draws.emails([], [], "k3x9a2f", 1, []) == []


@pytest.mark.parametrize("letters", [52, 53, 54, 55])
def test_the_email_column_shortens_at_the_same_length_as_email(letters: int) -> None:
    # ".k3x9a2f.1" is 10 characters: 53 letters of names make a 64-character local part.
    first, last = "a" * 27, "b" * (letters - 27)
    column = draws.emails([first, "Al"], [last, "Li"], "k3x9a2f", 1, ["x.com", "x.com"])
    assert column == [draws.email(first, last, "k3x9a2f", 1, "x.com"), "al.li.k3x9a2f.2@x.com"]
    assert len(column[0].split("@")[0]) == min(64, letters + 11)
