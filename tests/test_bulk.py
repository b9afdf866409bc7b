"""The bulk engine: validity, determinism across workers and blocks, distributions."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import orjson
import pytest
from bookslot_factories import FIELDS, BookslotPayloadFactory, bulk, configure, seed, validate
from bookslot_factories.errors import VariantError
from faker.providers.person.en_US import Provider as FakerPerson
from oracles import born_on, years_old

AS_OF = date(2026, 11, 29)

VARIANTS = [
    {},
    {"young": True},
    {"senior": True},
    {"dynamic_zip": True},
    {"dynamic_location": True},
    {"dynamic_phone": True},
    {"state": "TX"},
    {"near": "20678"},
    {"near": "10001", "state": "NJ", "dynamic_phone": True},
    {"senior": True, "dynamic_zip": True, "dynamic_phone": True},
]


def _jsonl(records: Sequence[dict[str, str]], first: bool) -> bytes:
    # Module level, so worker processes can unpickle it.
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


@pytest.mark.parametrize("variants", VARIANTS, ids=lambda v: ",".join(v) or "default")
def test_every_variant_gives_valid_payloads(variants: dict[str, object]) -> None:
    records = bulk.block(11, 0, count=2_000, as_of=AS_OF, **variants)
    assert len(records) == 2_000
    for record in records:
        assert tuple(record) == FIELDS
        validate(record, as_of=AS_OF)


def test_variant_rules_hold_in_bulk() -> None:
    senior = bulk.block(3, 1, count=1_000, as_of=AS_OF, senior=True)
    assert all(65 <= _age(r["dob"]) <= 90 for r in senior)
    young = bulk.block(3, 1, count=1_000, as_of=AS_OF, young=True)
    assert all(18 <= _age(r["dob"]) <= 30 for r in young)
    locations = bulk.block(3, 0, count=16, as_of=AS_OF, dynamic_location=True)
    from bookslot_factories.config import LOCATIONS

    assert [r["zip"] for r in locations] == list(LOCATIONS) * 2
    phones = bulk.block(3, 0, count=500, as_of=AS_OF, dynamic_phone=True, state="CA")
    assert all(5550100 <= int(r["phone_number"][3:]) <= 5550199 for r in phones)


def _age(dob: str) -> int:
    return years_old(born_on(dob), AS_OF)


def test_config_is_followed(tmp_path: object) -> None:
    try:
        cfg = configure({"payers": ["Only Payer"], "id_formats": {"idNumber": "MEM-########"}})
        records = bulk.block(1, 0, count=300, as_of=AS_OF)
        assert {r["PayerName"] for r in records} == {"Only Payer"}
        assert all(r["idNumber"].startswith("MEM-") and len(r["idNumber"]) == 12 for r in records)
        for record in records:
            validate(record, as_of=AS_OF, cfg=cfg)
    finally:
        configure(None)


def test_block_alone_equals_block_in_full_run() -> None:
    job = bulk.Job.make(99, as_of=AS_OF, dynamic_zip=True)
    full = list(bulk.blocks(job, 3 * bulk.BLOCK_SIZE + 17))
    assert [len(b) for b in full] == [bulk.BLOCK_SIZE] * 3 + [17]
    assert bulk.block(99, 2, as_of=AS_OF, dynamic_zip=True) == full[2]
    assert bulk.block(99, 3, count=17, as_of=AS_OF, dynamic_zip=True) == full[3]


def test_a_short_run_is_a_prefix_of_a_long_one() -> None:
    job = bulk.Job.make(5, as_of=AS_OF, near="20678", dynamic_phone=True)
    short = [r for b in bulk.blocks(job, 25) for r in b]
    long = [r for b in bulk.blocks(job, 12_000) for r in b]
    assert short == long[:25]


def test_same_bytes_with_one_two_and_three_workers() -> None:
    job = bulk.Job.make(2026, as_of=AS_OF, dynamic_phone=True, dynamic_zip=True)
    count = 4 * bulk.BLOCK_SIZE + 123
    outputs = {
        workers: b"".join(bulk.encoded_blocks(job, count, _jsonl, workers=workers))
        for workers in (1, 2, 3)
    }
    assert outputs[1] == outputs[2] == outputs[3]
    assert outputs[1].count(b"\n") == count


def _written() -> int:
    """Bytes this thread has written so far, by the kernel's count (Linux).

    The thread's, not the process's: the process's count takes in its children's.
    """
    with open("/proc/thread-self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))


def _failed(exc: OSError) -> Exception:
    return RuntimeError(f"write failed: {exc.strerror}")


PARENT = os.getpid()


def _jsonl_slowly_here(records: Sequence[dict[str, str]], first: bool) -> bytes:
    # Blocks this process encodes take long: a worker, however late it starts, gets some.
    if os.getpid() == PARENT:
        time.sleep(0.05)
    return _jsonl(records, first)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_blocks_written_into_a_file_are_the_blocks_iterated(tmp_path: Path, workers: int) -> None:
    job = bulk.Job.make(2026, as_of=AS_OF, dynamic_phone=True)
    count = 6 * bulk.BLOCK_SIZE + 7
    expected = b"".join(bulk.encoded_blocks(job, count, _jsonl))
    path = tmp_path / "out.jsonl"
    with path.open("wb") as file:
        file.write(b"before\n")
        file.flush()
        before = _written()
        blocks = bulk.encoded_blocks(job, count, _jsonl_slowly_here, workers=workers)
        assert blocks.write_into(file, _failed) is True
        file.flush()
        here = _written() - before
        file.write(b"after\n")
    assert path.read_bytes() == b"before\n" + expected + b"after\n"
    if workers == 1:
        assert here == len(expected)
    else:  # the workers wrote their blocks themselves: this process, only its own
        assert 0 < here < len(expected)


def test_a_failed_write_into_a_file_raises_what_the_caller_asked() -> None:
    job = bulk.Job.make(1, as_of=AS_OF)
    for workers in (1, 2):
        blocks = bulk.encoded_blocks(job, 3 * bulk.BLOCK_SIZE, _jsonl, workers=workers)
        with open("/dev/full", "wb") as full, pytest.raises(RuntimeError, match="No space left"):
            blocks.write_into(full, _failed)


def test_blocks_are_written_or_iterated_not_both(tmp_path: Path) -> None:
    blocks = bulk.encoded_blocks(bulk.Job.make(1), 2 * bulk.BLOCK_SIZE, _jsonl, workers=2)
    next(blocks)
    with (tmp_path / "x").open("wb") as file, pytest.raises(RuntimeError, match="iterated"):
        blocks.write_into(file, _failed)
    blocks.close()


def test_different_seeds_differ_and_same_seed_repeats() -> None:
    assert bulk.block(1, 0, count=50) != bulk.block(2, 0, count=50)
    assert bulk.block(1, 0, count=50, as_of=AS_OF) == bulk.block(1, 0, count=50, as_of=AS_OF)


@pytest.mark.slow
def test_emails_unique_over_a_million_records() -> None:
    job = bulk.Job.make(7, as_of=AS_OF)
    emails: set[str] = set()
    count = 0
    for records in bulk.blocks(job, 1_000_000):
        emails.update(r["email"] for r in records)
        count += len(records)
    assert count == 1_000_000
    assert len(emails) == count


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"young": True, "senior": True}, "exclude each other"),
        ({"state": "ZZ"}, "'ZZ'"),
        ({"dynamic_location": True, "near": "20678"}, "dynamic_location"),
        ({"near": "00000"}, "'00000'"),
        ({"young": "yes"}, "young='yes'"),
    ],
)
def test_bad_variants_fail_before_any_block(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(VariantError, match=message):
        bulk.Job.make(1, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("number", "count"), [(-1, 10), (0, -1), (0, bulk.BLOCK_SIZE + 1), ("0", 1), (0, 1.5)]
)
def test_bad_block_arguments(number: object, count: object) -> None:
    with pytest.raises(VariantError):
        bulk.block(1, number, count=count)  # type: ignore[arg-type]


def test_bad_counts_and_seeds() -> None:
    job = bulk.Job.make(1)
    with pytest.raises(VariantError, match="count"):
        list(bulk.blocks(job, -5))
    with pytest.raises(VariantError, match="count"):
        list(bulk.blocks(job, bulk.MAX_COUNT + 1))
    with pytest.raises(VariantError, match="seed"):
        bulk.Job.make("7")  # type: ignore[arg-type]


# --- distributions: the bulk engine and the factory draw alike ---------------------

# Upper 0.1% points of the chi-square distribution: a fixed-seed test that fails only
# when the distributions really differ.


def _chi2_critical(df: int, z: float = 3.090) -> float:
    # Wilson-Hilferty approximation of the chi-square quantile (z of p = 0.001).
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def _homogeneity(a: Counter[str], b: Counter[str]) -> tuple[float, int]:
    """Two-sample chi-square statistic and its degrees of freedom."""
    keys = sorted(set(a) | set(b))
    na, nb = sum(a.values()), sum(b.values())
    stat = 0.0
    for key in keys:
        total = a[key] + b[key]
        for observed, n in ((a[key], na), (b[key], nb)):
            expected = total * n / (na + nb)
            stat += (observed - expected) ** 2 / expected
    return stat, len(keys) - 1


@pytest.fixture(scope="module")
def samples() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    seed(314)
    factory = BookslotPayloadFactory.build_batch(8_000, as_of=AS_OF)
    job = bulk.Job.make(314, as_of=AS_OF)
    engine = [r for b in bulk.blocks(job, 40_000) for r in b]
    return factory, engine


@pytest.mark.parametrize("field", ["PayerName", "contact_method", "zip_distance", "age"])
def test_factory_and_bulk_agree_in_distribution(
    samples: tuple[list[dict[str, str]], list[dict[str, str]]], field: str
) -> None:
    def values(records: list[dict[str, str]]) -> Counter[str]:
        if field == "age":
            return Counter(str(_age(r["dob"]) // 5) for r in records)
        return Counter(r[field] for r in records)

    factory, engine = samples
    stat, df = _homogeneity(values(factory), values(engine))
    assert df >= 1
    assert stat < _chi2_critical(df), (field, stat, df)


def test_chi_square_check_detects_a_real_difference() -> None:
    # The check above must be able to fail: a skewed sample is caught.
    skewed = Counter({"a": 700, "b": 300})
    fair = Counter({"a": 500, "b": 500})
    stat, df = _homogeneity(skewed, fair)
    assert stat > _chi2_critical(df)


def test_first_names_follow_fakers_weights() -> None:
    records = [r for b in bulk.blocks(bulk.Job.make(8, as_of=AS_OF), 60_000) for r in b]
    observed = Counter(r["first_name"] for r in records)
    # Faker's own table, not ours: the weights the engine must follow.
    weights = dict(FakerPerson.first_names)
    total_weight = sum(weights.values())
    top = sorted(weights, key=weights.__getitem__, reverse=True)[:25]
    stat = 0.0
    rest_expected = len(records)
    rest_observed = len(records)
    for name in top:
        expected = len(records) * weights[name] / total_weight
        stat += (observed[name] - expected) ** 2 / expected
        rest_expected -= expected
        rest_observed -= observed[name]
    stat += (rest_observed - rest_expected) ** 2 / rest_expected
    assert stat < _chi2_critical(len(top))


def test_ages_are_uniform_over_the_bands_days() -> None:
    records = [
        r for b in bulk.blocks(bulk.Job.make(12, as_of=AS_OF, young=True), 40_000) for r in b
    ]
    months = Counter(r["dob"][:2] for r in records)
    assert set(months) == {f"{m:02d}" for m in range(1, 13)}
    # Days per month over the 13-year band, so uniform-over-days means this share.
    expected = {"02": 28.25 / 365.25, "04": 30 / 365.25, "01": 31 / 365.25}
    for month, share in expected.items():
        assert abs(months[month] / len(records) - share) < 0.006, month


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_kept_block_buffers_are_reused_without_page_faults() -> None:
    # A block's bytes are megabytes, three copies alive at once while it is encoded:
    # by default glibc gives the freed heap top back to the kernel and the next block
    # faults fresh pages in again. Counted in a fresh process each way.
    probe = (
        "import resource, sys\n"
        "from bookslot_factories import bulk\n"
        "if sys.argv[1] == 'keep': bulk.keep_block_buffers()\n"
        "def faults(): return resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "def block():\n"
        "    a = b'x' * 3_400_000; b = a.replace(b'x', b'y'); c = b + b'z'\n"
        "block()\n"
        "start = faults()\n"
        "for _ in range(20): block()\n"
        "print(faults() - start)\n"
    )
    faults = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", probe, mode], capture_output=True, text=True, check=True
            ).stdout
        )
        for mode in ("keep", "default")
    }
    pages = 3_400_000 // 4096
    assert faults["default"] > 10 * pages, faults  # fresh pages for every block
    assert faults["keep"] < pages, faults


def test_worker_blocks_cross_in_files_that_are_gone_after_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    job = bulk.Job.make(6, as_of=date(2026, 11, 29))
    expected = b"".join(bulk.encoded_blocks(job, 60_000, _jsonl))
    assert b"".join(bulk.encoded_blocks(job, 60_000, _jsonl, workers=2)) == expected
    assert list(tmp_path.iterdir()) == []
    stopped = bulk.encoded_blocks(job, 200_000, _jsonl, workers=2)
    assert next(stopped) == expected[: len(next(bulk.encoded_blocks(job, 10_000, _jsonl)))]
    assert [p.name.startswith(".bookslot-blocks-") for p in tmp_path.iterdir()] == [True]
    stopped.close()  # a consumer that stops early: the workers' blocks go too
    assert list(tmp_path.iterdir()) == []


# In a process of its own: there, only the main thread takes SIGINT (a pytest-xdist
# worker has threads of its own that would take it while the main thread holds it).
_HOLD_UNDER_FIRE = """
import os, signal, sys, threading, time
from bookslot_factories.workers import interrupts_held

armed, stop = [False], threading.Event()

def interrupt_once(signum, frame):
    if armed[0]:
        armed[0] = False
        raise KeyboardInterrupt

def pester():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    while not stop.is_set():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.00005)

signal.signal(signal.SIGINT, interrupt_once)
sender = threading.Thread(target=pester)
sender.start()
interrupts = left_held = 0
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    try:
        if signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, ()):
            left_held += 1
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        armed[0] = True
        with interrupts_held():
            pass
        armed[0] = False
    except KeyboardInterrupt:
        interrupts += 1
armed[0] = False
stop.set()
sender.join()
print(interrupts, left_held)
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_a_ctrl_c_as_interrupts_are_held_never_leaves_them_held() -> None:
    # pthread_sigmask runs the Python handlers after it changes the mask: a Ctrl-C that
    # came just before raised out of it with SIGINT already blocked, for good (about 2%
    # of such interrupts). Here another thread sends SIGINT without pause.
    done = subprocess.run(
        [sys.executable, "-c", _HOLD_UNDER_FIRE, "3"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    interrupts, left_held = map(int, done.stdout.split())
    assert interrupts > 100
    assert left_held == 0
