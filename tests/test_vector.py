"""Tests of bookslot_factories.vector: numpy's columns are random.choices' values, exactly."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import accumulate
from pathlib import Path

import pytest
from bookslot_factories import tables, vector

NAMES = tables.first_names()


def test_numpy_draws_columns_here() -> None:
    # Not the fallback: otherwise every comparison below compares it with itself.
    assert vector.enabled()


@pytest.mark.parametrize("k", [0, 1, vector.MIN_COLUMN - 1, vector.MIN_COLUMN, 10_000])
@pytest.mark.parametrize(
    "table",
    [
        vector.Table(NAMES.values, NAMES.cum_weights),
        vector.Table(NAMES.values, None),
        vector.Table(("a", "b", "c"), (0.1, 0.1, 5.0)),  # ties in the cumulative weights
        vector.Table(("x",), None),
        vector.Table(tuple(f"v{i}" for i in range(100_000)), None),
    ],
    ids=["weighted", "uniform", "ties", "single", "wide"],
)
def test_a_column_is_random_choices_and_the_stream_goes_on_the_same(
    table: vector.Table, k: int
) -> None:
    for seed in (0, 1, 2**64 + 7):
        ours, theirs = random.Random(seed), random.Random(seed)
        ours.random()  # a stream that has been used, mid-way through its state
        theirs.random()
        assert table.choices(ours, k) == theirs.choices(
            table.values, cum_weights=table.cum_weights, k=k
        )
        assert ours.getstate() == theirs.getstate()
        assert ours.random() == theirs.random()


def test_a_gauss_in_waiting_is_kept() -> None:
    ours, theirs = random.Random(3), random.Random(3)
    ours.gauss(0, 1)
    theirs.gauss(0, 1)  # leaves its second value cached in the state
    vector.Table(NAMES.values, None).choices(ours, 1000)
    theirs.choices(NAMES.values, k=1000)
    assert ours.gauss(0, 1) == theirs.gauss(0, 1)


def test_weights_numpy_cannot_hold_exactly_take_random_choices_path() -> None:
    # 2**53 + 1 has no float64; random.choices compares it exactly as an int.
    big = (2**53, 1, 2**53 + 1)
    table = vector.Table(("a", "b", "c"), tuple(accumulate(big)))
    ours, theirs = random.Random(5), random.Random(5)
    assert table.choices(ours, 5000) == theirs.choices(
        table.values, cum_weights=table.cum_weights, k=5000
    )
    zero = vector.Table(("a", "b"), (0.0, 0.0))
    with pytest.raises(ValueError, match="greater than zero"):
        zero.choices(random.Random(1), 1000)  # random.choices' own error


def test_threads_draw_their_own_columns() -> None:
    table = vector.Table(NAMES.values, NAMES.cum_weights)
    expected = [
        random.Random(s).choices(NAMES.values, cum_weights=NAMES.cum_weights, k=5000)
        for s in range(8)
    ]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            got = list(pool.map(lambda s: table.choices(random.Random(s), 5000), range(8)))
            assert got == expected


@pytest.mark.parametrize(
    "variants",
    [
        [],
        ["--senior", "--dynamic-zip", "--dynamic-phone"],
        ["--young", "--state", "TX"],
        ["--near", "10001"],
        ["--dynamic-location", "--dynamic-phone"],
    ],
)
def test_the_cli_writes_the_same_bytes_without_numpy(tmp_path: Path, variants: list[str]) -> None:
    outputs = []
    for switch in ("1", "0"):
        out = tmp_path / f"numpy{switch}.jsonl"
        args = ["--count", "20001", "--seed", "11", "--as-of", "2026-11-29", *variants]
        subprocess.run(
            [sys.executable, "-m", "bookslot_factories", "generate", *args, "-o", str(out)],
            env={**os.environ, "BOOKSLOT_NUMPY": switch},
            check=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == 20001


def test_numpy_loads_only_for_a_column() -> None:
    # A pytest run or `bookslot-data sample` builds single payloads: no numpy import.
    code = (
        "import sys, bookslot_factories\n"
        "bookslot_factories.BookslotPayloadFactory.build(senior=True, dynamic_zip=True)\n"
        "print('numpy' in sys.modules)\n"
        "from bookslot_factories import bulk\n"
        "bulk.block(1, 0, count=vector_min)\n"
        "print('numpy' in sys.modules)\n"
    ).replace("vector_min", str(vector.MIN_COLUMN))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


class _Fixed(random.Random):
    def random(self) -> float:
        return 0.5


def test_a_random_subclass_draws_its_own_way_and_an_empty_table_raises_as_choices_does() -> None:
    table = vector.Table(NAMES.values, NAMES.cum_weights)
    assert table.choices(_Fixed(1), 1000) == _Fixed(1).choices(
        NAMES.values, cum_weights=NAMES.cum_weights, k=1000
    )
    empty, ours, theirs = vector.Table((), None), random.Random(2), random.Random(2)
    with pytest.raises(IndexError):
        empty.choices(ours, 1000)
    with pytest.raises(IndexError):
        theirs.choices((), k=1000)
    assert ours.getstate() == theirs.getstate()
