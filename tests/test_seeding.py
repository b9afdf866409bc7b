"""Tests of bookslot_factories.seeding: reproducibility in and across processes, and isolation."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import textwrap
from datetime import date
from typing import Any

import bookslot_factories
import factory
import factory.random
import faker.generator
import pytest
from bookslot_factories import BookslotPayloadFactory, VariantError, seeding
from oracles import loaded_by

AS_OF = date(2026, 6, 15)
# A mix of every variant, so a difference anywhere in the stream shows.
SCRIPT = textwrap.dedent(
    """
    import json
    from bookslot_factories import BookslotPayloadFactory as F, seed
    from bookslot_factories.seeding import derive

    def payloads():
        seed({seed})
        out = F.build_batch(5, as_of="2026-06-15")
        out += F.build_batch(5, dynamic_zip=True, dynamic_phone=True, as_of="2026-06-15")
        out += F.build_batch(3, state="CA", young=True, as_of="2026-06-15")
        out += F.build_batch(3, near="20678", senior=True, as_of="2026-06-15")
        out += F.build_batch(9, dynamic_location=True, as_of="2026-06-15")
        return out

    print(json.dumps({{"payloads": payloads(), "derive": derive(7, "a", "b")}}))
    """
)


@pytest.fixture(autouse=True)
def _default_config_and_seed() -> Any:
    bookslot_factories.configure(None)
    bookslot_factories.seed(44)
    yield
    bookslot_factories.configure(None)


def in_process_payloads(value: int) -> list[dict[str, str]]:
    namespace: dict[str, Any] = {}
    exec(SCRIPT.format(seed=value).replace("print(", "result = ("), namespace)
    return json.loads(json.dumps(namespace["payloads"]()))


def run_pythons(codes: list[str], envs: list[dict[str, str]]) -> list[str]:
    """Run ``python -c`` for each code and env at the same time; return their stdouts."""
    procs = []
    for code, extra in zip(codes, envs, strict=True):
        env = {k: v for k, v in os.environ.items() if k != "BOOKSLOT_CONFIG"}
        env.update(extra)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(out)
    return outputs


def a_mixed_stream() -> list[dict[str, str]]:
    return (
        BookslotPayloadFactory.build_batch(4, as_of=AS_OF)
        + BookslotPayloadFactory.build_batch(4, dynamic_location=True, as_of=AS_OF)
        + BookslotPayloadFactory.build_batch(4, near="10001", dynamic_phone=True, as_of=AS_OF)
    )


# --- in one process ------------------------------------------------------------------------


def test_same_seed_gives_the_same_payloads_whatever_came_between() -> None:
    bookslot_factories.seed(1)
    first = a_mixed_stream()
    # Move every counter: emails, the location cycle, factory sequences, the random state.
    BookslotPayloadFactory.build_batch(37, dynamic_location=True)
    BookslotPayloadFactory.build_batch(11, state="TX", young=True)
    bookslot_factories.seed(99)
    BookslotPayloadFactory.build_batch(5)
    bookslot_factories.seed(1)
    assert a_mixed_stream() == first
    bookslot_factories.seed(2)
    assert a_mixed_stream() != first


def without(key: str, payloads: list[Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if k != key} for p in payloads]


def test_seed_replays_faker_fields_of_subclasses_and_sequences_keep_counting() -> None:
    class WithExtras(BookslotPayloadFactory):
        note = factory.Sequence(lambda n: n)
        word = factory.Faker("pyint")

    bookslot_factories.seed(3)
    first = WithExtras.build_batch(3)
    WithExtras.build_batch(5)
    bookslot_factories.seed(3)
    again = WithExtras.build_batch(3)
    assert [p["word"] for p in again] == [p["word"] for p in first]
    assert without("note", again) == without("note", first)
    # A Sequence is unique across the run, as factory_boy documents: seed() leaves it be.
    notes = [p["note"] for p in first + again]
    assert notes == sorted(notes)
    assert notes[3] - notes[2] == 6


def test_third_party_reseeding_does_not_change_our_output() -> None:
    bookslot_factories.seed(4)
    expected = a_mixed_stream()
    bookslot_factories.seed(4)
    # What pytest-randomly does around every test, and what other libraries may do.
    random.seed(12345)
    factory.random.reseed_random(12345)
    faker.generator.random.seed(12345)
    random.random()
    faker.generator.random.random()
    factory.random.randgen.random()
    assert a_mixed_stream() == expected


def test_our_draws_do_not_touch_the_global_random_state() -> None:
    bookslot_factories.seed(5)
    state = random.getstate()
    faker_state = faker.generator.random.getstate()
    a_mixed_stream()
    assert random.getstate() == state
    assert faker.generator.random.getstate() == faker_state


def test_pytest_randomly_reseeding_does_not_change_our_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_inner="""
        import json, os, random
        from bookslot_factories import BookslotPayloadFactory, seed

        def test_write():
            seed(7)
            payloads = BookslotPayloadFactory.build_batch(5, as_of="2026-06-15")
            payloads += BookslotPayloadFactory.build_batch(3, dynamic_zip=True, as_of="2026-06-15")
            with open(os.environ["INNER_OUT"], "w") as fh:
                json.dump({"payloads": payloads, "global": random.random()}, fh)
        """
    )
    results = []
    for randomly_seed in ("1", "2"):
        out = pytester.path / f"out-{randomly_seed}.json"
        monkeypatch.setenv("INNER_OUT", str(out))
        run = pytester.runpytest_inprocess("-p", "randomly", f"--randomly-seed={randomly_seed}")
        run.assert_outcomes(passed=1)
        results.append(json.loads(out.read_text()))
    # pytest-randomly did reseed the global random differently in the two runs...
    assert results[0]["global"] != results[1]["global"]
    # ...and our payloads did not notice.
    assert results[0]["payloads"] == results[1]["payloads"]


# --- seeded() ----------------------------------------------------------------------------------


def test_seeded_block_uses_the_seed_and_restores_the_previous_stream() -> None:
    bookslot_factories.seed(6)
    head = BookslotPayloadFactory.build_batch(3, dynamic_location=True)
    tail = BookslotPayloadFactory.build_batch(3, dynamic_location=True)

    bookslot_factories.seed(6)
    assert BookslotPayloadFactory.build_batch(3, dynamic_location=True) == head
    with seeding.seeded(60):
        assert seeding.current_seed() == 60
        inside = BookslotPayloadFactory.build_batch(2, dynamic_location=True)
    assert seeding.current_seed() == 6
    assert BookslotPayloadFactory.build_batch(3, dynamic_location=True) == tail

    bookslot_factories.seed(60)
    assert BookslotPayloadFactory.build_batch(2, dynamic_location=True) == inside


def test_seeded_block_restores_the_stream_after_an_exception() -> None:
    bookslot_factories.seed(7)
    BookslotPayloadFactory.build()
    expected = BookslotPayloadFactory.build_batch(3)
    bookslot_factories.seed(7)
    BookslotPayloadFactory.build()

    def build_then_fail() -> None:
        with seeding.seeded(70):
            BookslotPayloadFactory.build()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        build_then_fail()
    assert BookslotPayloadFactory.build_batch(3) == expected


def test_seeded_block_restores_the_stream_of_subclass_fields() -> None:
    # Our builds borrow factory_boy's and Faker's randomness from our stream; seeded()
    # must restore that stream too. Sequences are not ours: they keep counting.
    class WithExtras(BookslotPayloadFactory):
        note = factory.Sequence(lambda n: n)
        word = factory.Faker("pyint")

    bookslot_factories.seed(8)
    WithExtras.build_batch(2)
    expected = WithExtras.build_batch(2)
    bookslot_factories.seed(8)
    WithExtras.build_batch(2)
    with seeding.seeded(80):
        WithExtras.build()
    after = WithExtras.build_batch(2)
    assert [p["word"] for p in after] == [p["word"] for p in expected]
    assert without("note", after) == without("note", expected)
    assert after[0]["note"] == expected[-1]["note"] + 4


# --- seeds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", 1.5, -1, True, 2**64, None])
def test_a_bad_seed_is_a_variant_error(value: object) -> None:
    with pytest.raises(VariantError) as info:
        bookslot_factories.seed(value)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert repr(value) in str(info.value) or str(value) in str(info.value)
    assert "expected" in str(info.value)
    assert seeding.current_seed() == 44  # unchanged


@pytest.mark.parametrize("value", [0, 2**64 - 1])
def test_the_extreme_seeds_work(value: int) -> None:
    bookslot_factories.seed(value)
    first = BookslotPayloadFactory.build()
    bookslot_factories.seed(value)
    assert BookslotPayloadFactory.build() == first
    assert seeding.current_seed() == value


def test_derive_is_key_sensitive_and_64_bit() -> None:
    values = {
        seeding.derive(1),
        seeding.derive(2),
        seeding.derive(1, "a"),
        seeding.derive(1, "b"),
        seeding.derive(2, "a"),
        seeding.derive(1, "a", "b"),
        seeding.derive(1, "b", "a"),
        seeding.derive(1, "tests/test_a.py::test_b"),
        seeding.derive(1, "tests/test_a.py::test_c"),
    }
    assert len(values) == 9
    assert all(0 <= v < 2**64 for v in values)
    assert seeding.derive(1, "a") == seeding.derive(1, "a")


def test_email_tags_are_fixed_width_base_36_and_differ_between_seeds() -> None:
    tags = [seeding.email_tag(value) for value in range(2000)]
    assert all(re.fullmatch(r"[0-9a-z]{7}", tag) for tag in tags)
    assert len(set(tags)) == len(tags)
    assert seeding.email_tag(5) == seeding.email_tag(5)


# --- across processes ------------------------------------------------------------------------


def test_same_seed_gives_the_same_payloads_in_other_processes() -> None:
    code = SCRIPT.format(seed=2026)
    outputs = run_pythons([code, code], [{"PYTHONHASHSEED": "0"}, {"PYTHONHASHSEED": "4242"}])
    first, second = (json.loads(out) for out in outputs)
    assert first == second
    assert first["payloads"] == in_process_payloads(2026)
    assert first["derive"] == seeding.derive(7, "a", "b")
    assert len(first["payloads"]) == 25


def test_unseeded_processes_give_different_emails() -> None:
    code = (
        "from bookslot_factories import BookslotPayloadFactory as F\n"
        "print(' '.join(p['email'] for p in F.build_batch(3)))"
    )
    outputs = run_pythons([code, code], [{"PYTHONHASHSEED": "0"}, {"PYTHONHASHSEED": "0"}])
    first, second = (set(out.split()) for out in outputs)
    assert len(first) == len(second) == 3
    assert not first & second


# The factories load on first use; their data must not depend on when that is.
_LOAD_ORDER = textwrap.dedent(
    """
    import json, sys
    import bookslot_factories as bf
    from bookslot_factories import seeding

    if sys.argv[1] == "eager":
        bf.PatientIntakeFactory, bf.InsuranceFactory, bf.BookslotPayloadFactory
    bf.seed(11)
    with seeding.seeded(5):
        inner = bf.PatientIntakeFactory.build(as_of="2026-06-15")
    after = bf.PatientIntakeFactory.build(as_of="2026-06-15")
    ins = bf.InsuranceFactory.build(as_of="2026-06-15")
    print(json.dumps([repr(inner), repr(after), repr(ins)]))
    """
)


def test_factories_loaded_late_give_the_same_data_as_loaded_early() -> None:
    def run(order: str) -> Any:
        out = subprocess.run(
            [sys.executable, "-c", _LOAD_ORDER, order], capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout)

    eager, late = run("eager"), run("late")
    assert late == eager
    assert eager[0] != eager[1]  # the block's record is of its own seed


def test_the_bulk_engine_and_the_cli_do_not_load_factory_boy() -> None:
    modules = "bookslot_factories.bulk, bookslot_factories.cli, bookslot_factories.files"
    assert loaded_by(modules, {"factory", "sqlalchemy"}) == []
