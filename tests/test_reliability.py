"""End-to-end tests of bookslot_factories: bad input, faults, concurrency, data safety.

Everything here runs for real: files in ``tmp_path``, the command line as a
subprocess (``python -m bookslot_factories``), signals sent to real process groups. CI runs
as root, so no test relies on permission bits: a read-only or full file system is
a private mount where ``unshare`` is allowed (:func:`private_mounts`), and
otherwise a fault that stops root too (``/sys``, ``/proc/self``, ``/dev/full``, a
file-size limit).

The property-based half is ``test_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from bookslot_factories import (
    BookslotPayloadFactory,
    ConfigError,
    DataFileError,
    VariantError,
    bulk,
    configure,
    seeding,
    validate,
)
from bookslot_factories.cli import main
from bookslot_factories.config import from_mapping, load_config
from bookslot_factories.files import FORMATS, check, load, save, write_atomic
from bookslot_factories.model import FIELDS
from oracles import AS_OF as AS_OF_DATE
from oracles import (
    C_LOADER,
    CFG,
    GOOD,
    YAML_LOADERS,
    Boom,
    Hang,
    children,
    default_config,  # noqa: F401  (an autouse fixture)
    laughs,
    leftovers,
    running,
    time_limit,
)

AS_OF = AS_OF_DATE.isoformat()  # the day of the samples, as the command line takes it
PYTHON = sys.executable


# --- helpers ------------------------------------------------------------------------------


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BOOKSLOT_CONFIG", None)
    return env


def cli(*args: str, timeout: float = 120, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bookslot_factories`` in a subprocess."""
    return subprocess.run(
        [PYTHON, "-m", "bookslot_factories", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **{"env": cli_env(), **options},
    )


def assert_one_error_line(stderr: str, *phrases: str) -> None:
    """Our errors: exactly one ``error: ...`` line and no traceback."""
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith("error: "), stderr
    assert stderr.count("\n") == 1, stderr
    for phrase in phrases:
        assert phrase in stderr, stderr


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def private_mounts() -> bool:
    """Whether file systems can be mounted in a private mount namespace here.

    Root in a default Docker container cannot (no CAP_SYS_ADMIN); a CI virtual
    machine or a privileged container can.
    """
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    script = 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d"; rmdir "$d"'
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def in_private_mount(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a private mount namespace; its mounts end with it."""
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**cli_env(), "PYTHON": PYTHON},
    )


def generate_args(path: Path | str, count: int, seed: int = 1, *extra: str) -> list[str]:
    return ["generate", "-o", str(path), "-n", str(count), "--seed", str(seed), "--as-of", AS_OF,
            *extra]  # fmt: skip


# --- the corpus: the nastiest files, each a regular test ------------------------------------


class Nasty(NamedTuple):
    """A file that must give records or our error, quickly and in bounded memory."""

    name: str
    content: Callable[[], str | bytes]
    #: A part of the error message; "" when the file is valid.
    phrase: str
    #: The most memory (traced by tracemalloc) loading may take; 0: not checked.
    megabytes: float = 16
    #: The longest loading may take.
    seconds: float = 3


def _yaml_record(record: Mapping[str, str], indent: str = "  ") -> str:
    lines = [f"{key}: {json.dumps(value)}" for key, value in record.items()]
    return "- " + ("\n" + indent).join(lines) + "\n"


def _laughs_as_records() -> str:
    lines = ["- &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in "bcdefghij":
        lines.append(f"- &{level} [{', '.join(['*' + chr(ord(level) - 1)] * 9)}]")
    return "\n".join([*lines, "- *j", ""])


def _merge_chain_in_one_record(length: int) -> str:
    # Each anchor merges the one before and adds a key. Unbounded, the anchors hold
    # 1 + 2 + ... + length keys: memory quadratic in the size of the file.
    items = ["&m0 {k0: v}"] + [f"&m{i} {{<<: *m{i - 1}, k{i}: v}}" for i in range(1, length)]
    return "- first_name: Maria\n  <<: [" + ", ".join(items) + "]\n"


def _merge_chain_over_records(length: int) -> str:
    lines = ["- &m0 {k0: v}"] + [f"- &m{i} {{<<: *m{i - 1}, k{i}: v}}" for i in range(1, length)]
    return "\n".join(lines) + "\n"


def _nested_merges(depth: int) -> str:
    lines = ["- first_name: Maria"] + ["  " + "  " * level + "<<:" for level in range(depth)]
    return "\n".join([*lines, "  " + "  " * depth + "last_name: x", ""])


def _csv(*rows: Sequence[str], header: Sequence[str] = FIELDS) -> str:
    """CSV rows joined with commas, unquoted: unlike ``oracles.csv_text``, not the csv module.

    So a value can hold a NUL, which the csv module cannot write before Python 3.11.
    """
    return "".join(",".join(row) + "\r\n" for row in (header, *rows))


def _with(**fields: str) -> list[str]:
    return list({**GOOD, **fields}.values())


BIG = 50 * 1024 * 1024  # one 50 MB value
BOM = "\ufeff"

CORPUS: list[Nasty] = [
    # YAML alias bombs (billion laughs): never expanded, in every place an alias can go.
    Nasty("laughs-in-a-record.yaml", lambda: "- " + laughs("\n  ") + "\n", "field 'a' is a list"),
    Nasty("laughs-as-records.yaml", _laughs_as_records, "record 1, line 1: is a list"),
    Nasty("laughs-in-flow.yaml", lambda: "- {" + laughs(", ") + "}\n", "field 'a' is a list"),
    Nasty(
        "laughs-as-a-field.yaml",
        lambda: _yaml_record(GOOD) + "- " + laughs("\n  ") + "\n  first_name: *j\n",
        "record 2, line 14: field 'a' is a list",
    ),
    Nasty(
        "laughs-as-a-key.yaml",
        lambda: "- first_name: Maria\n  ? &k [lol, lol, lol]\n  : x\n",
        "has the key a list",
    ),
    Nasty(
        "laughs-merged.yaml",
        lambda: "- &r {first_name: Maria}\n- <<: [*r, *r, *r, *r, *r, *r, *r, *r, *r]\n",
        "record 1, line 1: field 'last_name' is missing",
    ),
    Nasty("laughs-document.yaml", lambda: laughs("\n") + "\n", "the top level is a mapping"),
    # YAML merge keys (<<): a chain of anchors each merging the last one.
    Nasty(
        "merge-chain-in-a-record.yaml",
        lambda: _merge_chain_in_one_record(3000),
        "record 1, line 2: has more than",
    ),
    Nasty(
        "merge-chain-over-records.yaml",
        lambda: _merge_chain_over_records(3000),
        "record 1, line 1: field 'first_name' is missing",
    ),
    Nasty(
        "merge-20k-aliases.yaml",
        lambda: "- &r " + json.dumps(GOOD) + "\n- <<: [" + ", ".join(["*r"] * 20_000) + "]\n",
        "",
        seconds=10,
    ),
    # (Deep recursion is slow under tracemalloc: this one is timed, not traced.)
    Nasty(
        "merge-copies-everywhere.yaml",
        lambda: (
            "- &b {"
            + ", ".join(f"k{i}: v" for i in range(100))
            + "}\n"
            + "".join(f"- &a{i} {{<<: *b}}\n" for i in range(20_000))
        ),
        "record 1, line 1: field 'first_name' is missing",
    ),
    Nasty("merges-nested-600-deep.yaml", lambda: _nested_merges(600), "nested too deeply", 0),
    Nasty(
        "merges-in-flow-100k-deep.yaml",
        lambda: "- {first_name: Maria, " + "<<: {" * 100_000 + "a: b" + "}" * 100_001 + "\n",
        "nested too deeply",
    ),
    # 100,000 levels of nesting.
    Nasty("deep-arrays.json", lambda: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    Nasty(
        "deep-in-a-field.json",
        lambda: '[{"first_name": ' + "[" * 100_000 + "]" * 100_000 + "}]",
        "record 1, line 1: is nested too deeply",
    ),
    Nasty("deep-objects.json", lambda: '[{"a": ' * 100_000, "nested too deeply"),
    Nasty(
        "deep-objects.jsonl",
        lambda: json.dumps(GOOD) + "\n" + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "\n",
        "record 2, line 2: is nested too deeply",
    ),
    Nasty("deep-flow.yaml", lambda: "- " + "[" * 100_000 + "]" * 100_000 + "\n", "record 1"),
    Nasty(
        "deep-flow-in-a-field.yaml",
        lambda: "- first_name: " + "{a: " * 100_000 + "}" * 100_000 + "\n",
        "field 'first_name' is a mapping",
    ),
    Nasty("deep-block.yaml", lambda: "- " * 100_000 + "x\n", "record 1, line 1: is a list"),
    # One 50 MB value: the message quotes an excerpt, never the value.
    Nasty(
        "huge-value.json",
        lambda: json.dumps([{**GOOD, "first_name": "M" * BIG}]),
        "field 'first_name' is 'MMMM",
        megabytes=0,
        seconds=30,
    ),
    Nasty(
        "huge-value.jsonl",
        lambda: json.dumps({**GOOD, "email": "m" * BIG + "@mailinator.com"}) + "\n",
        "field 'email' is 'mmmm",
        megabytes=0,
        seconds=30,
    ),
    Nasty(
        "huge-value.yaml",
        lambda: _yaml_record({**GOOD, "PayerName": "H" * BIG}),
        "field 'PayerName' is 'HHHH",
        megabytes=0,
        seconds=30,
    ),
    Nasty(
        "huge-value.csv",
        lambda: _csv(_with(first_name="M" * BIG)),
        "record 1, line 2: is not valid CSV: field larger than field limit",
        megabytes=0,
        seconds=30,
    ),
    Nasty(
        "huge-key.yaml",
        lambda: "- " + "k" * 5_000_000 + ": x\n",
        "record 1, line 1: is 'kkkk",
        megabytes=0,
        seconds=30,
    ),
    # Found by make fuzz: a long key was quoted whole.
    Nasty("long-key.yaml", lambda: "- {" + "k" * 5000 + ": null}\n", "field 'kkkk"),
    Nasty(
        "long-key-twice.yaml",
        lambda: "- {? " + "k" * 5000 + ": a, ? " + "k" * 5000 + ": b}\n",
        "appears twice",
    ),
    Nasty(
        "huge-integer.json",
        lambda: '[{"zip": ' + "9" * 1_000_000 + "}]",
        "record 1, line 1: is not valid JSON",
        megabytes=0,
    ),
    Nasty("huge-exponent.jsonl", lambda: '{"zip": 1e999999}\n', "field 'first_name' is missing"),
    Nasty(
        "infinity.jsonl",
        lambda: json.dumps({**GOOD, "zip": float("inf")}) + "\n",
        "field 'zip' is inf; expected a string",
    ),
    Nasty(
        "a-million-keys.json",
        lambda: "[{" + ",".join(f'"k{i}": "v"' for i in range(1_000_000)) + "}]",
        "record 1, line 1: field 'first_name' is missing",
        megabytes=0,
        seconds=10,
    ),
    Nasty(
        "300k-keys.yaml",
        lambda: "- {" + ", ".join(f"k{i}: v" for i in range(300_000)) + "}\n",
        "record 1, line 1: ",
        megabytes=0,
        seconds=10,
    ),
    # NUL bytes and other control characters.
    Nasty(
        "nul-in-a-value.csv",
        lambda: _csv(_with(first_name="Ma\x00ria")),
        "record 1, line 2: ",
    ),
    Nasty(
        "nul-in-the-header.csv",
        lambda: _csv(header=[*FIELDS[:-1], "Payer\x00Name"]),
        "line 1: ",
    ),
    Nasty("nuls-only.csv", lambda: b"\x00" * 4096, "line 1: "),
    Nasty("nuls-only.json", lambda: b"\x00" * 4096, "line 1: is not valid JSON"),
    Nasty("nuls-only.jsonl", lambda: b"\x00" * 4096, "line 1: is not valid JSON"),
    Nasty("nuls-only.yaml", lambda: b"\x00" * 4096, "line 1: holds the character U+0000"),
    Nasty(
        "raw-nul.json",
        lambda: json.dumps([GOOD]).replace("Maria", "Ma\x00ria", 1),
        "is not valid JSON: Invalid control character",
    ),
    Nasty(
        "escaped-nul.json",
        lambda: json.dumps([{**GOOD, "PayerName": "Hum\x00ana"}]),
        r"field 'PayerName' is 'Hum\x00ana'",
    ),
    Nasty(
        "escaped-nul.yaml",
        lambda: _yaml_record(GOOD).replace('"Humana"', '"Hum\\0ana"'),
        r"field 'PayerName' is 'Hum\x00ana'",
    ),
    # Lone surrogates: escaped in JSON and YAML, encoded (CESU-8) in raw bytes.
    Nasty(
        "lone-surrogate.json",
        lambda: json.dumps([{**GOOD, "first_name": "Ma\ud800ria"}]),
        r"field 'first_name' is 'Ma\ud800ria'",
    ),
    Nasty(
        "lone-surrogate-key.jsonl",
        lambda: json.dumps({**GOOD, "\udc00": "x"}) + "\n",
        r"field '\udc00' is not a payload field",
    ),
    Nasty(
        "lone-surrogate.yaml",
        lambda: _yaml_record(GOOD).replace('"Humana"', '"Hum\\ud800ana"'),
        "record 1, line 13: is not valid YAML",
    ),
    Nasty(
        "surrogate-bytes.csv",
        lambda: _csv(_with(first_name="Ma\ud800ria")).encode("utf-8", "surrogatepass"),
        "line 2: is not UTF-8 text: byte 0xed at column 3",
    ),
    Nasty(
        "surrogate-bytes.yaml",
        lambda: _yaml_record(GOOD).replace("Humana", "\udfff").encode("utf-8", "surrogatepass"),
        "line 13: is not UTF-8 text: byte 0xed",
    ),
    Nasty(
        "overlong-utf8.json",
        lambda: json.dumps([GOOD]).encode().replace(b"'", b"\xc0\xa7"),
        "line 1: is not UTF-8 text: byte 0xc0",
    ),
    Nasty(
        "utf16.json",
        lambda: json.dumps([GOOD]).encode("utf-16"),
        "line 1: is not UTF-8 text: byte 0xff at column 1",
    ),
    # Byte order marks and line ends: a BOM and CRLF are fine, a stray BOM is not.
    Nasty("bom-crlf.json", lambda: BOM + json.dumps([GOOD], indent=2).replace("\n", "\r\n"), ""),
    Nasty("bom-crlf.jsonl", lambda: BOM + (json.dumps(GOOD) + "\r\n") * 3, ""),
    Nasty("bom-crlf.csv", lambda: BOM + _csv(list(GOOD.values())), ""),
    Nasty("bom-crlf.yaml", lambda: BOM + _yaml_record(GOOD).replace("\n", "\r\n"), ""),
    Nasty("cr-only.yaml", lambda: _yaml_record(GOOD).replace("\n", "\r"), ""),
    Nasty(
        "bom-on-line-2.jsonl",
        lambda: json.dumps(GOOD) + "\n" + BOM + json.dumps(GOOD) + "\n",
        "record 2, line 2: is not valid JSON",
    ),
    Nasty(
        "bom-twice.csv",
        lambda: BOM + BOM + _csv(list(GOOD.values())),
        "line 1: the CSV header has an unknown column '\\ufefffirst_name'",
    ),
    Nasty(
        "bom-in-a-value.yaml",
        lambda: _yaml_record(GOOD).replace("Humana", "Hum\ufeffana"),
        r"record 1, line 13: field 'PayerName' is 'Hum\ufeffana'",
    ),
    Nasty("cr-only.csv", lambda: _csv(list(GOOD.values())).replace("\r\n", "\r"), "line 1"),
    Nasty(
        "blank-lines.jsonl",
        lambda: "\n" * 2_000_000 + json.dumps(GOOD) + "\n",
        "",
        megabytes=0,
        seconds=10,
    ),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus files, written once for the module."""
    folder = tmp_path_factory.mktemp("corpus")
    for case in CORPUS:
        content = case.content()
        (folder / case.name).write_bytes(
            content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
        )
    return folder


def _load_bounded(path: Path, case: Nasty, read: Callable[[Path], object]) -> tuple[Any, float]:
    """Read with a time limit and, if the case asks, a memory bound; return what was read."""
    if case.megabytes:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        with time_limit(case.seconds):
            try:
                result: Any = read(path)
            except DataFileError as exc:
                result = exc
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if case.megabytes else 0.0
    finally:
        if case.megabytes:
            tracemalloc.stop()
    assert time.perf_counter() - started < case.seconds
    if case.megabytes:
        assert peak < case.megabytes, f"{peak:.1f} MB"
    return result, peak


def _assert_short_and_printable(message: str, path: Path) -> None:
    assert message.startswith(f"{path}"), message
    assert len(message) < 500, message[:1000]  # an excerpt, never a whole value
    message.encode("utf-8")  # no lone surrogate: it prints anywhere


# Every case with the default loaders; the small YAML ones also with PyYAML's
# pure-Python reader, the fallback where libyaml is missing.
CORPUS_RUNS = [pytest.param(case, "c", id=case.name) for case in CORPUS] + [
    pytest.param(case, "python", id=f"{case.name}-python")
    for case in CORPUS
    if case.name.endswith(".yaml") and case.seconds <= 3
]


@pytest.mark.parametrize(("case", "loader"), CORPUS_RUNS)
def test_nasty_file_gives_records_or_our_error(
    corpus: Path, case: Nasty, loader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = corpus / case.name
    monkeypatch.setattr("bookslot_factories.files._yaml.YAML_LOADER", YAML_LOADERS[loader])

    loaded, _ = _load_bounded(path, case, lambda p: load(p, as_of=AS_OF_DATE, cfg=CFG))

    if not case.phrase:
        assert isinstance(loaded, list), loaded
        assert loaded
        assert all(record == GOOD for record in loaded)
        return
    assert isinstance(loaded, DataFileError), type(loaded)
    message = str(loaded)
    _assert_short_and_printable(message, path)
    if loader == "c" or "YAML" not in case.phrase:  # the parsers word syntax errors apart
        assert case.phrase in message, message


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_nasty_file_checked_to_the_end(corpus: Path, case: Nasty) -> None:
    # check() (bookslot-data validate) reads on after a bad record: the bounds hold
    # over the whole file, not just up to the first problem.
    path = corpus / case.name
    problems, _ = _load_bounded(path, case, lambda p: list(check(p, as_of=AS_OF_DATE, cfg=CFG)))
    assert all(isinstance(problem, DataFileError) for problem in problems)
    assert bool(problems) == bool(case.phrase)
    for problem in problems:
        _assert_short_and_printable(str(problem), path)


def test_cli_validates_the_corpus_without_a_traceback(corpus: Path) -> None:
    files = [str(corpus / case.name) for case in CORPUS]
    done = cli("validate", "--as-of", AS_OF, *files, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    *errors, summary = done.stderr.splitlines()
    assert re.fullmatch(r"[0-9]+ problem\(s\) in [0-9]+ file\(s\)", summary), summary
    assert all(line.startswith("error: ") and len(line) < 600 for line in errors)
    bad = {case.name for case in CORPUS if case.phrase}
    named = {Path(line[7:].split(",")[0].split(":")[0]).name for line in errors}
    assert named == bad


def test_billion_laughs_is_the_real_thing() -> None:
    # The bomb does blow up a naive reader: composing (not even constructing) it
    # with PyYAML gives a graph whose full walk would visit 9**10 nodes.
    node = yaml.compose("- " + laughs("\n  ") + "\n", Loader=C_LOADER)
    j = next(value for key, value in node.value[0].value if key.value == "j")
    width = 1
    while isinstance(j, yaml.SequenceNode):
        width *= len(j.value)
        j = j.value[0]
    assert width == 9**10


def test_merge_chain_would_be_quadratic() -> None:
    # What the bounds in the YAML reader prevent: PyYAML itself builds every merged
    # mapping in full, 1 + 2 + ... + n keys.
    records = yaml.load(_merge_chain_over_records(1000), Loader=C_LOADER)
    assert sum(map(len, records)) == 1000 * 1001 // 2


def test_an_anchor_defined_again_frees_its_fields(tmp_path: Path) -> None:
    # Anchoring every record under its own name soon hits the bound; one name
    # defined again and again (the old mapping is dropped) never does.
    flow = json.dumps(GOOD)
    one_name = tmp_path / "one.yaml"
    one_name.write_text(f"- &r {flow}\n" * 10_000)
    assert len(load(one_name, as_of=AS_OF_DATE, cfg=CFG)) == 10_000
    many = tmp_path / "many.yaml"
    many.write_text("".join(f"- &r{i} {flow}\n" for i in range(10_000)))
    with pytest.raises(DataFileError) as info:
        load(many, as_of=AS_OF_DATE, cfg=CFG)
    assert "record 7693, line 7693: its anchored mappings (&name) hold more than 100,000" in str(
        info.value
    )


# --- no code from files ---------------------------------------------------------------------

PAYLOADS = [
    # (id, the YAML, whether a loader that runs tags would create the marker)
    ("apply-os-system", '!!python/object/apply:os.system ["touch {marker}"]', True),
    ("apply-subprocess", "!!python/object/apply:subprocess.call [[touch, {marker}]]", True),
    ("name-os-system", "!!python/name:os.system", False),
    ("new-object", "!!python/object/new:subprocess.Popen [[touch, {marker}]]", False),
    ("module", "!!python/module:os", False),
    (
        "tag-directive",
        "!py!object/apply:os.system [touch {marker}]",
        True,
    ),
]
TAG_DIRECTIVE = "%TAG !py! tag:yaml.org,2002:python/\n---\n"


def _tagged(payload: str, marker: Path) -> tuple[str, str]:
    text = payload.format(marker=marker)
    prefix = TAG_DIRECTIVE if text.startswith("!py!") else ""
    return prefix, text


RUNNING = [p for p in PAYLOADS if p[2]]


@pytest.mark.parametrize("payload", [p[1] for p in RUNNING], ids=[p[0] for p in RUNNING])
def test_the_payloads_are_real(tmp_path: Path, payload: str) -> None:
    # The control: a loader that runs tags does create the marker (so the tests
    # below can fail). The other payloads build Python objects instead.
    marker = tmp_path / "pwned"
    prefix, text = _tagged(payload, marker)
    yaml.unsafe_load(f"{prefix}a: {text}\n")
    assert marker.exists()


CONFIG_PLACES = {
    "value": "payers: {tag}\n",
    "list-item": "payers: [Humana, {tag}]\n",
    "key": "? {tag}\n: x\n",
    "nested": "age_bands:\n  young: {tag}\n",
    "anchor": "x: &a {tag}\npayers: *a\n",
    "top-level": "{tag}\n",
}


@pytest.mark.parametrize("place", sorted(CONFIG_PLACES))
@pytest.mark.parametrize("payload", [p[1] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS])
def test_config_tags_are_refused_and_never_run(tmp_path: Path, payload: str, place: str) -> None:
    marker = tmp_path / "pwned"
    prefix, tag = _tagged(payload, marker)
    path = tmp_path / "evil.yaml"
    path.write_text(prefix + CONFIG_PLACES[place].format(tag=tag), encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert repr(str(path)) in str(info.value)
    assert "tag" in str(info.value).lower()
    with pytest.raises(ConfigError):
        configure(path)
    assert not marker.exists()


@pytest.mark.parametrize("command", ["generate", "validate", "sample", "env"])
def test_cli_config_tags_never_run(tmp_path: Path, command: str) -> None:
    marker = tmp_path / "pwned"
    config = tmp_path / "evil.yaml"
    config.write_text(f'payers: !!python/object/apply:os.system ["touch {marker}"]\n')
    data = tmp_path / "data.json"
    save([GOOD], data)
    args = {
        "generate": ["generate", "-o", str(tmp_path / "x.json"), "--config", str(config)],
        "validate": ["validate", "--config", str(config), str(data)],
        "sample": ["sample", "--config", str(config)],
        "env": ["sample"],
    }[command]
    env = {**cli_env(), "BOOKSLOT_CONFIG": str(config)} if command == "env" else cli_env()
    done = subprocess.run(
        [PYTHON, "-m", "bookslot_factories", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert_one_error_line(done.stderr, "YAML tags are not allowed", str(config))
    assert not marker.exists()
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("payload", [p[1] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS])
def test_cli_validate_never_runs_tags_in_data_files(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    prefix, tag = _tagged(payload, marker)
    files = []
    for number, text in enumerate(
        [
            f"- {tag}\n",
            _yaml_record(GOOD).replace('"Humana"', tag),
            f"- ? {tag}\n  : x\n",
            f"- &a {tag}\n- *a\n",
            _yaml_record(GOOD) + f"  <<: {tag}\n",
            _yaml_record(GOOD) + f"  <<: [{tag} ]\n",
        ]
    ):
        path = tmp_path / f"evil{number}.yaml"
        path.write_text(prefix + text, encoding="utf-8")
        files.append(str(path))
    done = cli("validate", "--as-of", AS_OF, *files)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.count("is not allowed") == len(files)
    assert not marker.exists()


# --- bad arguments --------------------------------------------------------------------------

FACTORY_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"young": True, "senior": True}, "young and senior exclude each other"),
    ({"young": 1}, "young=1"),
    ({"dynamic_phone": "yes"}, "dynamic_phone='yes'"),
    ({"state": "ZZ"}, "state 'ZZ'"),
    ({"state": "ca"}, "state 'ca'"),
    ({"state": ""}, "state ''"),
    ({"state": 6}, "state 6"),
    ({"near": "99999"}, "'99999'"),
    ({"near": "2067"}, "near '2067'"),
    ({"near": 20678}, "near 20678"),
    ({"near": "96799"}, "no residential ZIP code lies within 100 miles of '96799'"),
    ({"near": "20678", "state": "TX"}, "no residential ZIP code in state 'TX'"),
    ({"dynamic_location": True, "state": "CA"}, "dynamic_location"),
    ({"dynamic_location": True, "near": "20678"}, "dynamic_location"),
    ({"as_of": "2026-02-30"}, "as_of '2026-02-30'"),
    ({"as_of": "20261129"}, "as_of '20261129'"),
    ({"as_of": 20261129}, "as_of 20261129"),
    ({"as_of": datetime(2026, 11, 29, 12)}, "as_of datetime"),
    ({"as_of": "0001-06-01"}, "before year 1"),
    ({"colour": "red"}, "unknown field or variant 'colour'"),
]


@pytest.mark.parametrize(
    ("kwargs", "phrase"), FACTORY_ARGUMENTS, ids=[repr(a) for a, _ in FACTORY_ARGUMENTS]
)
@pytest.mark.parametrize("how", ["build", "create", "build_batch", "bulk.block", "Job.make"])
def test_bad_variant_is_a_variant_error_naming_it(
    how: str, kwargs: dict[str, Any], phrase: str
) -> None:
    calls: dict[str, Callable[[], object]] = {
        "build": lambda: BookslotPayloadFactory.build(**kwargs),
        "create": lambda: BookslotPayloadFactory.create(**kwargs),
        "build_batch": lambda: BookslotPayloadFactory.build_batch(3, **kwargs),
        "bulk.block": lambda: bulk.block(1, 0, count=3, **kwargs),
        "Job.make": lambda: list(bulk.blocks(bulk.Job.make(1, **kwargs), 3)),
    }
    if how in ("bulk.block", "Job.make") and "colour" in kwargs:
        phrase = "unknown variant 'colour'"
    with pytest.raises(VariantError) as info:
        calls[how]()
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    ("call", "phrase"),
    [
        (lambda: seeding.seed(1.5), "seed 1.5 is not an integer"),
        (lambda: seeding.seed("1"), "seed '1' is not an integer"),
        (lambda: seeding.seed(None), "seed None is not an integer"),
        (lambda: seeding.seed(True), "seed True is not an integer"),
        (lambda: seeding.seed(-1), "seed -1 is out of range"),
        (lambda: seeding.seed(2**64), "is out of range"),
        (lambda: seeding.seeded(2.0).__enter__(), "seed 2.0 is not an integer"),
        (lambda: BookslotPayloadFactory.build_batch(-1), "batch size -1"),
        (lambda: BookslotPayloadFactory.create_batch("3"), "batch size '3'"),
        (lambda: BookslotPayloadFactory.build_batch(2.5), "batch size 2.5"),
        (lambda: BookslotPayloadFactory.build_batch(10**12), "batch size"),
        (lambda: bulk.block(1.5, 0), "seed 1.5"),
        (lambda: bulk.block(1, -1), "block number -1"),
        (lambda: bulk.block(1, 1.0), "block number 1.0"),
        (lambda: bulk.block(1, True), "block number True"),
        (lambda: bulk.block(1, "0"), "block number '0'"),
        (lambda: bulk.block(1, bulk.MAX_COUNT // bulk.BLOCK_SIZE), "block number"),
        (lambda: bulk.block(1, 0, count=-1), "count -1"),
        (lambda: bulk.block(1, 0, count=bulk.BLOCK_SIZE + 1), "count 10001"),
        (lambda: bulk.block(1, 0, count="3"), "count '3'"),
        (lambda: bulk.block(1, 0, count=True), "count True"),
        (lambda: bulk.block(1, 0, cfg="config.yaml"), "cfg 'config.yaml'"),
        (lambda: bulk.Job.make(1, cfg={"payers": ["Humana"]}), "cfg a dict"),
        (lambda: list(bulk.blocks(bulk.Job.make(1), -1)), "count -1"),
        (lambda: list(bulk.blocks(bulk.Job.make(1), 2.5)), "count 2.5"),
        (lambda: list(bulk.blocks(bulk.Job.make(1), bulk.MAX_COUNT + 1)), "out of range"),
        (lambda: list(_encoded(workers=0)), "workers 0"),
        (lambda: list(_encoded(workers=-2)), "workers -2"),
        (lambda: list(_encoded(workers="2")), "workers '2'"),
        (lambda: list(_encoded(workers=2.5)), "workers 2.5"),
        (lambda: list(_encoded(workers=True)), "workers True"),
        (lambda: list(_encoded(workers=None)), "workers None"),
    ],
)
def test_bad_count_seed_or_argument_is_a_variant_error_naming_it(
    call: Callable[[], object], phrase: str
) -> None:
    with time_limit(10), pytest.raises(VariantError) as info:
        call()
    assert phrase in str(info.value)


def _encoded(workers: Any) -> Iterator[bytes]:
    return bulk.encoded_blocks(bulk.Job.make(1), 25_000, FORMATS["jsonl"].encode, workers=workers)


# For every config key, values of each wrong type or out of range.
BAD_CONFIG_VALUES: dict[str, list[Any]] = {
    "email_domains": [None, True, 1, 1.5, {}, [], [None], [1], [["a.com"]], ["a.com", "a.com"],
                      ["gmail"], ["-x.com"], ["A.COM"], ["a.com "], ["a..com"], ["x" * 300 + ".com"]],
    "payers": [None, True, 1, 1.5, {}, [], [None], [1], [[]], [""], ["a\x00b"], ["a\nb"],
               ["x" * 101], ["A", "A"]],
    "contact_methods": [None, 2, {"a": 1}, [], [False], [""], ["Text", "Text"]],
    "phone": [None, True, 1234567890, 1.5, [], {}, "", "123456789", "12345678901", "123456789x",
              "１２３４５６７８９０"],
    "verification_code": [None, True, 123456, [], "", "12ab", "1" * 13, "１２３"],
    "zip": [None, True, 20678, 20678.0, [], "", "2067", "206789", "00000", "99999", "00501",
            ["20678"]],
    "zip_distances": [None, True, 25, "x", [], [0], [-5], [10000], ["25.5"], [25.5],
                      [True], [None], [[25]], ["025"], ["25", 25]],
    "age_bands": [None, True, 18, "young", [], [18, 30], {"young": None}, {"young": [18]},
                  {"young": [18, 30, 40]}, {"young": "18-30"}, {"young": [18.0, 30]},
                  {"young": [True, 30]}, {"young": [-1, 30]}, {"young": [30, 18]},
                  {"senior": [65, 121]}, {"old": [70, 90]}, {1: [18, 30]}],
    "id_formats": [None, True, "INS-#####", [], {"idNumber": None}, {"idNumber": 5},
                   {"idNumber": ""}, {"idNumber": "#####"}, {"idNumber": "ins-#####"},
                   {"idNumber": "INS-"}, {"idNumber": "INS-" + "#" * 13}, {"GroupNr": "G-#"},
                   {"GroupNumber": ["GRP-####"]}],
    "locations": [None, True, 20678, [], [20678], ["2067"], ["99999"], ["20678", "20678"],
                  [None], [["20678"]]],
}  # fmt: skip
BAD_CONFIGS = [(key, value) for key, values in BAD_CONFIG_VALUES.items() for value in values]


@pytest.mark.parametrize(
    ("key", "value"), BAD_CONFIGS, ids=[f"{k}={v!r}"[:60] for k, v in BAD_CONFIGS]
)
def test_bad_config_value_is_a_config_error_naming_the_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping({key: value}, source_name="c.yaml")
    message = str(info.value)
    assert message.startswith("config 'c.yaml': key "), message
    assert f"'{key}" in message, message
    assert len(message) < 400, message


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("payers: 2026-02-30\n", "'payers'"),
        ("payers: [2026-13-01]\n", "'payers'"),
        ("phone: " + "1" * 5000 + "\n", "'phone'"),
        ("zip_distances: [" + "9" * 5000 + "]\n", "'zip_distances'"),
        ("payers: !!int x\n", "'payers'"),
        ("payers: !!float x\n", "'payers'"),
        ("payers: !!timestamp x\n", "'payers'"),
        ("payers: !!binary '@@'\n", "'payers'"),
        ("payers: !!str [a]\n", "'payers'"),
        ("payers: !!seq {a: b}\n", "'payers'"),
        ("? [a]\n: b\n", "line 1"),
        ("payers: [Humana]\npayers: [Aetna Health]\n", "'payers' appears twice"),
        ("age_bands: {young: [18, 30], young: [20, 30]}\n", "'young' appears twice"),
        ("[" * 100_000 + "\n", "not valid YAML"),
        ("? " + "k" * 5000 + "\n: x\n", "is not a known key. Known keys: email_domains,"),
        ("payer: [Humana]\n", "is not a known key; did you mean 'payers'? Known keys: email_"),
        ("phone: '" + "1" * 5000 + "'\n", "expected a string of 10 digits"),
        ("a:\n  ? " + "k" * 5000 + "\n  : x\n  ? " + "k" * 5000 + "\n  : y\n", "appears twice"),
        ("payers: &a [lol]\n" + "".join(f"k{i}: &a{i} [*a, *a]\n" for i in range(30)), "'k0'"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_bad_config_file_is_a_config_error(tmp_path: Path, text: str, phrase: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with time_limit(5), pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert repr(str(path)) in message, message
    assert phrase in message, message
    assert len(message) < 500, message
    done = cli("sample", "--config", str(path))
    assert done.returncode == 1
    assert_one_error_line(done.stderr, phrase)


USAGE_ERRORS = [
    ["--seed", "1.5"],
    ["--seed", "-1"],
    ["--seed", str(2**64)],
    ["--seed", ""],
    ["--seed", "0x10"],
    ["--count", "-1"],
    ["--count", "1e3"],
    ["--count", str(bulk.MAX_COUNT + 1)],
    ["--count", ""],
    ["--workers", "0"],
    ["--workers", "-1"],
    ["--workers", "257"],
    ["--workers", "two"],
    ["--workers", "1.5"],
    ["--as-of", "2026-02-30"],
    ["--as-of", "20261129"],
    ["--as-of", "2026-W48-1"],
    ["--as-of", "2026-11-29T00:00"],
    ["--as-of", ""],
    ["--format", "toml"],
    ["--young", "--senior"],
    ["--out-dir", "d"],
    ["--bogus"],
    ["--count"],
]
OUR_ERRORS = [
    (["--state", "ZZ"], "state 'ZZ'"),
    (["--state", "ca"], "state 'ca'"),
    (["--state", ""], "state ''"),
    (["--near", "99999"], "'99999'"),
    (["--near", "2067"], "near '2067'"),
    (["--near", ""], "near ''"),
    (["--near", "96799"], "no residential ZIP code lies within 100 miles of '96799'"),
    (["--near", "20678", "--state", "TX"], "in state 'TX'"),
    (["--dynamic-location", "--state", "CA"], "--dynamic-location"),
    (["--dynamic-location", "--near", "20678"], "--dynamic-location"),
    (["--as-of", "0001-06-01"], "before year 1"),
    (["--config", "{tmp}"], "cannot be read"),
    (["--config", "{tmp}/missing.yaml"], "does not exist"),
    (["--output", "{tmp}/x.toml"], "cannot tell the format"),
    (["--output", "{tmp}/no/such/x.json"], "does not exist"),
    (["--output", "{tmp}", "--format", "json"], "it is a folder"),
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=[" ".join(a) for a in USAGE_ERRORS])
def test_cli_usage_errors_exit_2(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["generate", "-o", str(tmp_path / "x.json"), *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: bookslot-data" in err
    assert "Traceback" not in err
    option = args[0]
    if option.startswith("--") and option not in ("--bogus", "--young", "--out-dir"):
        assert f"argument {option}" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "phrase"), OUR_ERRORS, ids=[" ".join(a) for a, _ in OUR_ERRORS])
@pytest.mark.parametrize("command", ["generate", "generate --workers 2", "sample"])
def test_cli_our_errors_exit_1_with_one_line(
    tmp_path: Path,
    args: list[str],
    phrase: str,
    command: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    if command == "sample":
        if "--output" in args:
            return  # sample writes no file
        argv = ["sample", "--seed", "1", *args]
    else:
        argv = [*command.split(), "-n", "25000", "--seed", "1", *args]
        if "--output" not in args:
            argv += ["--output", str(tmp_path / "x.json")]
    assert main(argv) == 1
    assert_one_error_line(capsys.readouterr().err, phrase)
    assert not any(p.suffix == ".json" or p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_a_reference_date_in_the_middle_ages_gives_valid_birth_dates() -> None:
    # Found by make fuzz: strftime wrote the year 998 as '998'. Any YYYY-MM-DD is a
    # valid as_of; ages up to 85 then reach back before the year 1000.
    for payload in BookslotPayloadFactory.build_batch(200, as_of="1079-01-01"):
        validate(payload, as_of="1079-01-01")
    for payload in bulk.block(1, 0, count=200, as_of="1079-01-01"):
        validate(payload, as_of="1079-01-01")


@pytest.mark.parametrize(
    ("records", "suffix"),
    [
        ([{"k" * 5000: 1}], ".json"),
        ([{"a": "b"}, {"a": "b", "k" * 5000: "c"}], ".yaml"),
        ([{"k" * 5000: "\ud800"}], ".csv"),
    ],
    ids=["not-a-string", "extra", "surrogate"],
)
def test_save_quotes_long_keys_in_short(tmp_path: Path, records: list[Any], suffix: str) -> None:
    with pytest.raises(DataFileError) as info:
        save(records, tmp_path / f"x{suffix}")
    assert "kkkk..." in str(info.value)
    assert len(str(info.value)) < 500


def _first_problem(path: Path) -> None:
    raise next(check(path))


@pytest.mark.parametrize(
    "call",
    [
        load,
        _first_problem,  # check() reports it instead of raising
        lambda p: save([GOOD], p),
        lambda p: write_atomic(p, [b"x"]),
        lambda p: load(p.with_suffix(".yaml")),
    ],
    ids=["load", "check", "save", "write_atomic", "load-yaml"],
)
def test_a_nul_in_a_file_name_is_our_error(tmp_path: Path, call: Callable[[Path], object]) -> None:
    # Found by make fuzz: the system refuses such a name with a ValueError.
    path = tmp_path / "a\x00b.json"
    with pytest.raises(
        DataFileError, match=r"a\\x00b\.(json|yaml): is not a file name: it holds a NUL"
    ):
        call(path)
    with pytest.raises(ConfigError, match=r"cannot be read: embedded null byte"):
        load_config(tmp_path / "c\x00.yaml")


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "a\x00.json"],
        ["generate", "-o", "a\x00.json", "-n", "3"],
        ["sample", "--config", "c\x00.yaml"],
        ["generate", "-o", "a.json", "--config", "c\x00.yaml"],
    ],
    ids=["validate", "generate", "sample-config", "generate-config"],
)
def test_cli_nul_in_a_file_name(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # No shell can pass a NUL in an argument, but main() takes any strings.
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert "NUL" in err or "null byte" in err


def test_cli_seed_that_is_not_an_integer_in_a_real_process(tmp_path: Path) -> None:
    done = cli("generate", "-o", str(tmp_path / "x.json"), "--seed", "1.5")
    assert done.returncode == 2
    assert "argument --seed: '1.5' is not a whole number" in done.stderr
    assert "Traceback" not in done.stderr


# --- faults while writing -------------------------------------------------------------------


def _enospc_at_block_5(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    if records[0]["email"].split("@")[0].endswith(f".{5 * bulk.BLOCK_SIZE + 1}"):
        raise OSError(28, "No space left on device")
    return FORMATS["jsonl"].encode(records, first)


def _boom_at_block_5(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    if records[0]["email"].split("@")[0].endswith(f".{5 * bulk.BLOCK_SIZE + 1}"):
        raise Boom("block 5")
    return FORMATS["jsonl"].encode(records, first)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    ("encode", "error"),
    [(_boom_at_block_5, Boom), (_enospc_at_block_5, OSError)],
    ids=["error", "ENOSPC"],
)
def test_a_failing_block_leaves_the_old_file_and_no_worker(
    tmp_path: Path, workers: int, encode: Callable[..., bytes], error: type[Exception]
) -> None:
    path = tmp_path / "keep.jsonl"
    save([GOOD], path)
    old = path.read_bytes()
    job = bulk.Job.make(3, as_of=AS_OF)
    before = set(children(os.getpid()))  # other tests' helpers may live on

    with time_limit(60), pytest.raises(error) as info:
        write_atomic(path, bulk.encoded_blocks(job, 200_000, encode, workers=workers))

    assert str(info.value) in ("block 5", "[Errno 28] No space left on device")
    assert path.read_bytes() == old
    assert leftovers(tmp_path) == []
    assert set(children(os.getpid())) <= before  # the pool's workers are gone


class _Exploding(Mapping[str, str]):
    """A record that fails when it is read, like a lazy view of a broken source."""

    def __init__(self, fail_on: str) -> None:
        self.fail_on = fail_on

    def __getitem__(self, key: str) -> str:
        if key == self.fail_on:
            raise Boom(f"cannot read {key}")
        return GOOD[key]

    def __iter__(self) -> Iterator[str]:
        return iter(GOOD)

    def __len__(self) -> int:
        return len(GOOD)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("at", [0, 999, 1000, 4321])
def test_a_record_that_fails_when_read_leaves_the_old_file(
    tmp_path: Path, fmt: str, at: int
) -> None:
    path = tmp_path / f"keep.{fmt}"
    save([GOOD], path)
    old = path.read_bytes()
    records = [GOOD] * 5000
    records[at] = _Exploding("zip")
    with pytest.raises(Boom, match="cannot read zip"):
        save(records, path)
    assert path.read_bytes() == old
    assert leftovers(tmp_path) == []


def _old_file(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "x.jsonl"
    assert main(generate_args(path, 1000, 9)) == 0
    return path, path.read_bytes()


def _wait_for_temporary(folder: Path, proc: subprocess.Popen[str], size: int) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        found = list(folder.glob(".x.jsonl.*.tmp"))
        if found:
            try:
                if found[0].stat().st_size >= size:
                    return found[0]
            except FileNotFoundError:
                pass
        time.sleep(0.002)
    raise Hang("the temporary file never appeared")


def _interrupt(tmp_path: Path, workers: int, after_bytes: int) -> None:
    """Ctrl-C a long run (SIGINT to its process group, like a terminal does)."""
    path, old = _old_file(tmp_path)
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "bookslot_factories",
            *generate_args(path, 3_000_000, 2),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A temporary folder of worker blocks, were one made, would go here too.
        env={**cli_env(), "TMPDIR": str(tmp_path)},
        start_new_session=True,  # its own process group, as in a terminal
    )
    try:
        _wait_for_temporary(tmp_path, proc, after_bytes)
        workers_seen = children(proc.pid)
        if workers > 1 and after_bytes >= 1 << 20:
            assert len(workers_seen) == workers - 1  # this process is one of them
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # hung: clean up, then fail below
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert err == "error: interrupted; no file was changed\n"
    assert path.read_bytes() == old
    assert leftovers(tmp_path) == []
    deadline = time.monotonic() + 5
    while any(map(running, workers_seen)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(map(running, workers_seen)), "worker processes outlived the run"


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_in_a_long_run_changes_nothing(tmp_path: Path, workers: int) -> None:
    _interrupt(tmp_path, workers, after_bytes=8 << 20)


@pytest.mark.parametrize("after_bytes", [0, 1, 1 << 20], ids=["at-start", "first-block", "1MB"])
def test_ctrl_c_at_any_moment_with_workers(tmp_path: Path, after_bytes: int) -> None:
    # At the start, the workers are being forked: the signal must not reach one half
    # set up (a worker killed by it breaks the pool: a traceback, or a hang at exit).
    _interrupt(tmp_path, 2, after_bytes)


def test_ctrl_c_reaching_the_workers_alone_is_ignored(tmp_path: Path) -> None:
    # The parent alone decides on an interrupt. Were a worker to act on SIGINT, this
    # run would break; here it must finish with the same bytes as a one-process run.
    expected = tmp_path / "expected.jsonl"
    assert main(generate_args(expected, 300_000, 4)) == 0
    path = tmp_path / "x.jsonl"
    proc = subprocess.Popen(
        [PYTHON, "-m", "bookslot_factories", *generate_args(path, 300_000, 4), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    signalled = 0
    try:
        while proc.poll() is None:
            for pid in children(proc.pid):
                try:
                    os.kill(pid, signal.SIGINT)
                    signalled += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert signalled > 0
    assert (proc.returncode, err) == (0, "")
    assert sha256(path) == sha256(expected)


# Where Python itself mishandles a Ctrl-C: a sitecustomize module (on PYTHONPATH) adds
# an audit hook to the CLI's own process that fires as it writes its first block.
_CTRL_C_AT_THE_FIRST_BLOCK = """
import os, signal, sys

PARENT = os.getpid()

def hook(event, args):
    # Once the module has run, its write_all is wrapped: the action comes as the
    # parent writes its first block, in the middle of the run.
    workers = sys.modules.get("bookslot_factories.workers")
    write_all = getattr(workers, "write_all", None)
    if write_all is None or hasattr(write_all, "hooked"):
        return

    def first_write(fd, data, fired=[]):
        if os.getpid() == PARENT and not fired:
            fired.append(True)
            {action}
        write_all(fd, data)

    first_write.hooked = True
    workers.write_all = first_write

sys.addaudithook(hook)
"""

_IN_A_DEL = """class Dropped:
                def __del__(self):
                    os.kill(os.getpid(), signal.SIGINT)
                    for _ in range(100_000):  # its KeyboardInterrupt is raised here
                        pass
            Dropped()"""

_IN_AN_EXEC = (
    'exec("import os, signal\\nos.kill(os.getpid(), signal.SIGINT)\\n'
    'for _ in range(100_000): pass")'
)


def _run_with_hook(
    tmp_path: Path, action: str
) -> tuple[subprocess.CompletedProcess[str], Path, bytes]:
    path, old = _old_file(tmp_path)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(_CTRL_C_AT_THE_FIRST_BLOCK.format(action=action))
    done = cli(
        *generate_args(path, 100_000, 2),
        "--workers",
        "2",
        env={**cli_env(), "PYTHONPATH": str(hooks), "TMPDIR": str(tmp_path)},
    )
    return done, path, old


def test_a_ctrl_c_python_drops_still_stops_the_run(tmp_path: Path) -> None:
    # Python drops an exception raised in a __del__ or a weakref callback (every import
    # runs one): a Ctrl-C landing there used to be lost, and the run went on to replace
    # the file and exit 0.
    done, path, old = _run_with_hook(tmp_path, _IN_A_DEL)
    assert (done.returncode, done.stderr) == (130, "error: interrupted; no file was changed\n")
    assert path.read_bytes() == old
    assert leftovers(tmp_path) == []


def test_a_ctrl_c_through_an_exec_still_exits_130(tmp_path: Path) -> None:
    # A KeyboardInterrupt that left an exec() of a string (dataclasses and namedtuples
    # are made so, during imports) made `python -m` end by SIGINT (-2) once main() had
    # caught it and returned 130. CI caught it at the start of a run.
    done, path, old = _run_with_hook(tmp_path, _IN_AN_EXEC)
    assert (done.returncode, done.stderr) == (130, "error: interrupted; no file was changed\n")
    assert path.read_bytes() == old
    assert leftovers(tmp_path) == []


def test_ctrl_c_just_as_the_temporary_file_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The narrowest moment of all: the file exists and write_atomic has not yet
    # entered the block that removes it. (Seen once under load in a CI-like run.)
    made = tempfile.mkstemp

    def mkstemp_then_ctrl_c(*args: Any, **kwargs: Any) -> tuple[int, str]:
        result = made(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_then_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    path = tmp_path / "x.json"
    path.write_text("old")
    try:
        with pytest.raises(KeyboardInterrupt):
            write_atomic(path, [b"new"])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


def _limited_run(limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI under a file-size limit: writes past ``limit`` bytes fail (EFBIG)."""
    code = textwrap.dedent(
        f"""
        import resource, runpy, sys
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        sys.argv = ["bookslot-data", *{list(args)!r}]
        runpy.run_module("bookslot_factories", run_name="__main__")
        """
    )
    return subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, timeout=120, check=False,
        env=cli_env(),
    )  # fmt: skip


def test_full_disk_in_the_middle_of_a_run(tmp_path: Path) -> None:
    """The disk fills up midway: a file-size limit, which stops root too (EFBIG rather
    than ENOSPC); and, where mounts are allowed, a real full tmpfs."""
    path, old = _old_file(tmp_path)
    done = _limited_run(2 << 20, *generate_args(path, 100_000, 5))
    assert done.returncode == 1
    assert_one_error_line(done.stderr, f"{path}: cannot write: File too large")
    assert path.read_bytes() == old
    assert leftovers(tmp_path) == []
    if private_mounts():
        mount, err = tmp_path / "mnt", tmp_path / "err.txt"
        mount.mkdir()
        done = in_private_mount(
            MOUNTED_RUN.format(options="size=2m", remount=":", count=100_000),
            str(mount), str(path), str(err),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["x.jsonl"]  # the old file, no temporary file
        assert_one_error_line(err.read_text(), "cannot write: No space left on device")


# In a private mount namespace: mount a tmpfs on $1, put the old file $2 in it, run
# the CLI (stderr to $3), check that the old file is intact, list what is left.
MOUNTED_RUN = """
set -e
mount -t tmpfs -o {options} tmpfs "$1"
cp "$2" "$1/x.jsonl"
{remount}
"$PYTHON" -m bookslot_factories generate -o "$1/x.jsonl" -n {count} --seed 5 2>"$3" && exit 99
cmp "$2" "$1/x.jsonl"
ls -A "$1"
"""


def test_read_only_folder_keeps_the_old_file(tmp_path: Path) -> None:
    """sysfs, where root cannot create a file either; and, where mounts are allowed, a
    read-only mount holding an old file."""
    done = cli(*generate_args("/sys/bookslot-x.jsonl", 1000))
    assert done.returncode == 1
    assert_one_error_line(done.stderr, "cannot create a file in '/sys'")
    assert not os.path.exists("/sys/bookslot-x.jsonl")
    if private_mounts():
        path, _ = _old_file(tmp_path)
        mount, err = tmp_path / "mnt", tmp_path / "err.txt"
        mount.mkdir()
        done = in_private_mount(
            MOUNTED_RUN.format(options="size=4m", remount='mount -o remount,ro "$1"', count=1000),
            str(mount), str(path), str(err),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["x.jsonl"]
        assert_one_error_line(err.read_text(), "Read-only file system")


WRITE_FAULTS = [
    # (id, target (relative: in tmp_path), whether an old file is there, message)
    ("dev-full", "/dev/full", False, "/dev/full: cannot write: No space left on device"),
    ("sysfs", "/sys/bookslot-x.jsonl", False, "cannot create a file in '/sys'"),
    ("proc-self", "/proc/self/x.jsonl", False, "cannot create a file in '/proc/self'"),
    ("missing-folder", "no/such/x.jsonl", False, "the folder"),
    ("parent-is-a-file", "x.jsonl/y.jsonl", True, "is a file, not a folder"),
    ("grandparent-is-a-file", "x.jsonl/sub/y.jsonl", True, "is a file, not a folder"),
    ("target-is-a-folder", "folder.jsonl", False, "it is a folder"),
]


@pytest.mark.parametrize(
    ("target", "old_file", "message"),
    [fault[1:] for fault in WRITE_FAULTS],
    ids=[fault[0] for fault in WRITE_FAULTS],
)
def test_write_fault_is_one_error_line_and_changes_nothing(
    tmp_path: Path, target: str, old_file: bool, message: str
) -> None:
    old = _old_file(tmp_path)[1] if old_file else None
    (tmp_path / "folder.jsonl").mkdir()
    path = target if target.startswith("/") else str(tmp_path / target)
    kind = os.stat(path).st_mode & 0o170000 if os.path.exists(path) else None

    done = cli(*generate_args(path, 100_000, 5, "-f", "jsonl"))

    assert done.returncode == 1
    assert_one_error_line(done.stderr, message)
    if old is not None:
        assert (tmp_path / "x.jsonl").read_bytes() == old
    if kind is not None:  # /dev/full stays a character device
        assert os.stat(path).st_mode & 0o170000 == kind
    assert leftovers(tmp_path) == []
    assert not os.path.exists("/sys/bookslot-x.jsonl")


# --- concurrency ----------------------------------------------------------------------------


def test_two_runs_writing_one_file_leave_one_complete_file(tmp_path: Path) -> None:
    count = 300_000
    a, b, target = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "shared.jsonl"
    target.write_text("old\n")

    def together(*runs: tuple[Path, int]) -> None:
        started = [
            subprocess.Popen(
                [PYTHON, "-m", "bookslot_factories", *generate_args(path, count, seed)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(),
            )
            for path, seed in runs
        ]
        results = [run.communicate(timeout=180) for run in started]
        assert [(run.returncode, err) for run, (_, err) in zip(started, results, strict=True)] == [
            (0, "")
        ] * len(runs)

    together((a, 11), (b, 12))  # each alone: the two possible outcomes
    together((target, 11), (target, 12))

    # Byte for byte one of the two complete runs: never a mix, never a part.
    assert sha256(target) in {sha256(a), sha256(b)}
    assert leftovers(tmp_path) == []


def test_no_duplicate_email_across_xdist_workers(pytester: pytest.Pytester) -> None:
    out = pytester.path / "emails"
    out.mkdir()
    pytester.makepyfile(
        test_many=f"""
        import os
        import pytest

        OUT = {str(out)!r}

        @pytest.mark.parametrize("n", range(20))
        def test_build(n, bookslot_payload_factory, worker_id):
            payloads = bookslot_payload_factory.build_batch(5000)
            with open(os.path.join(OUT, worker_id + ".txt"), "a") as file:
                file.write("".join(p["email"] + "\\n" for p in payloads))
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=20)
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["gw0.txt", "gw1.txt"]
    emails = [line for f in files for line in f.read_text().splitlines()]
    assert len(emails) == 100_000
    assert len(set(emails)) == 100_000


# --- data safety ----------------------------------------------------------------------------

SAFETY_VARIANTS: list[dict[str, Any]] = [
    {},
    {"young": True},
    {"senior": True},
    {"dynamic_zip": True},
    {"dynamic_location": True},
    {"dynamic_phone": True},
    {"state": "TX"},
    {"near": "20678"},
    {"dynamic_phone": True, "young": True},
    {"dynamic_phone": True, "senior": True, "dynamic_zip": True},
    {"dynamic_phone": True, "dynamic_location": True},
    {"dynamic_phone": True, "state": "AK"},
    {"dynamic_phone": True, "near": "10001"},
    {"dynamic_phone": True, "state": "PR", "senior": True},
]
BULK_PER_VARIANT = 75_000  # 14 variants: 1,050,000 payloads
FACTORY_PER_VARIANT = 2_000

# What looks like a US social security number: 123-45-6789, or nine digits in a row.
SSN_DASHED = re.compile(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b")
SSN_DASHES = re.compile(r"-[0-9]{2}-")  # a cheap first pass for SSN_DASHED
NINE_DIGITS = re.compile(r"[0-9]{9}")
FICTIONAL_PHONE = r"[2-9][0-9]{2}55501[0-9]{2}"
ID_NUMBER = r"INS-[0-9]{5}"
GROUP_NUMBER = r"GRP-[0-9]{4}"
EMAIL = r"[a-z0-9]+(?:\.[a-z0-9]+)*@(?:mailinator\.com|yopmail\.com)"


def _column_rule(pattern: str) -> re.Pattern[str]:
    """A pattern that matches a whole column joined with newlines, in one call."""
    return re.compile(rf"(?:{pattern}\n)*{pattern}")


COLUMN_RULES = {
    "email": _column_rule(EMAIL),
    "idNumber": _column_rule(ID_NUMBER),
    "GroupNumber": _column_rule(GROUP_NUMBER),
}
DYNAMIC_PHONES = _column_rule(FICTIONAL_PHONE)


def _check_safe(records: Sequence[Mapping[str, str]], variants: Mapping[str, Any]) -> None:
    """Check a batch column by column: one regular expression per column."""
    columns = {key: "\n".join(record[key] for record in records) for key in FIELDS}
    for key, rule in COLUMN_RULES.items():
        assert rule.fullmatch(columns[key]), (key, variants)
    if variants.get("dynamic_phone"):
        assert DYNAMIC_PHONES.fullmatch(columns["phone_number"]), variants
    else:
        assert set(columns["phone_number"].split("\n")) == {CFG.phone}
    # Only the phone number may hold nine digits in a row (it has ten, by design).
    others = "\n".join(text for key, text in columns.items() if key != "phone_number")
    found = NINE_DIGITS.search(others) or (SSN_DASHES.search(others) and SSN_DASHED.search(others))
    assert not found, (found, variants)
    assert not SSN_DASHED.search(columns["phone_number"]), variants


def test_the_safety_checks_catch_what_they_should() -> None:
    _check_safe([GOOD], {})
    _check_safe([{**GOOD, "phone_number": "3015550199"}], {"dynamic_phone": True})
    bad: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({**GOOD, "verification_code": "123456789"}, {}),
        ({**GOOD, "PayerName": "Plan 078-05-1120"}, {}),
        ({**GOOD, "email": "a.b.x1y2z3a.123456789@yopmail.com"}, {}),
        ({**GOOD, "email": "maria@gmail.com"}, {}),
        ({**GOOD, "idNumber": "12345"}, {}),
        ({**GOOD, "GroupNumber": "GRP-123"}, {}),
        ({**GOOD, "phone_number": "3015550200"}, {"dynamic_phone": True}),
        ({**GOOD, "phone_number": "3015550100"}, {}),
    ]
    for record, variants in bad:
        with pytest.raises(AssertionError):
            _check_safe([GOOD, record], variants)


@pytest.mark.slow
def test_a_million_payloads_are_safe_to_send() -> None:
    total = 0
    for index, variants in enumerate(SAFETY_VARIANTS):
        job = bulk.Job.make(1000 + index, as_of=AS_OF, **variants)
        for records in bulk.blocks(job, BULK_PER_VARIANT):
            _check_safe(records, variants)
            total += len(records)
        seeding.seed(2000 + index)
        batch = BookslotPayloadFactory.build_batch(FACTORY_PER_VARIANT, as_of=AS_OF, **variants)
        _check_safe(batch, variants)
        total += len(batch)
    assert total >= 1_000_000 + len(SAFETY_VARIANTS) * FACTORY_PER_VARIANT


# --- input size -----------------------------------------------------------------------------

PEAK_RSS = textwrap.dedent(
    """
    import resource, sys
    from bookslot_factories.files import iter_load
    count = 0
    for record in iter_load(sys.argv[1], as_of=sys.argv[2]):
        count += 1
    print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


@pytest.mark.slow
def test_iter_load_of_a_million_records_keeps_memory_flat(tmp_path: Path) -> None:
    peaks = {}
    for count in (10_000, 1_000_000):
        path = tmp_path / f"{count}.jsonl"
        done = cli(*generate_args(path, count, 3, "--workers", "2"), timeout=300)
        assert done.returncode == 0, done.stderr
        measured = subprocess.run(
            [PYTHON, "-c", PEAK_RSS, str(path), AS_OF],
            capture_output=True, text=True, timeout=300, check=True, env=cli_env(),
        )  # fmt: skip
        loaded, peak = map(int, measured.stdout.split())
        assert loaded == count
        peaks[count] = peak
        path.unlink()
    assert peaks[1_000_000] <= 1.25 * peaks[10_000], peaks


def test_a_full_temporary_folder_for_worker_blocks_is_one_error(tmp_path: Path) -> None:
    # For a table, the other workers hand their blocks over in TMPDIR (into a file they
    # write their blocks themselves): when it fills up, the run stops with one line
    # naming it, and leaves the old table and no block behind.
    if not private_mounts():
        if os.environ.get("CI"):
            pytest.fail("CI is set but a tmpfs cannot be mounted here (unshare, CAP_SYS_ADMIN)")
        pytest.skip("mounting a small tmpfs needs CAP_SYS_ADMIN (CI has it)")
    db = tmp_path / "x.db"
    assert main(["generate", "--db", f"sqlite:///{db}", "-n", "1000", "--seed", "9"]) == 0
    old = _table_rows(db)
    mount, err = tmp_path / "mnt", tmp_path / "err.txt"
    mount.mkdir()
    script = (
        'set -e; mount -t tmpfs -o size=2m tmpfs "$1"\n'
        # SQLite keeps its own temporary files in SQLITE_TMPDIR, else in TMPDIR.
        'SQLITE_TMPDIR="$4" TMPDIR="$1" "$PYTHON" -m bookslot_factories generate '
        '--db "sqlite:///$2" -n 100000 '
        '--seed 5 --if-exists replace --workers 2 2>"$3" && exit 99\n'
        'ls -A "$1"\n'
    )
    done = in_private_mount(script, str(mount), str(db), str(err), str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []  # no block left in the temporary folder
    assert_one_error_line(err.read_text(), "cannot hand the workers' blocks over")
    assert "No space left on device; set TMPDIR" in err.read_text()
    assert _table_rows(db) == old


def _table_rows(db: Path) -> list[tuple[str, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT * FROM bookslot_payloads").fetchall()


def test_a_full_folder_under_workers_writing_a_file_is_one_error(tmp_path: Path) -> None:
    # Into a file, each worker writes its own blocks: whichever meets the full disk,
    # the run stops with one line naming the file, and the old file stays.
    if not private_mounts():
        if os.environ.get("CI"):
            pytest.fail("CI is set but a tmpfs cannot be mounted here (unshare, CAP_SYS_ADMIN)")
        pytest.skip("mounting a small tmpfs needs CAP_SYS_ADMIN (CI has it)")
    mount, err = tmp_path / "mnt", tmp_path / "err.txt"
    mount.mkdir()
    script = (
        'set -e; mount -t tmpfs -o size=8m tmpfs "$1"\n'
        '"$PYTHON" -m bookslot_factories generate -o "$1/x.jsonl" -n 1000 --seed 9\n'
        'sha256sum "$1/x.jsonl"\n'
        '"$PYTHON" -m bookslot_factories generate -o "$1/x.jsonl" -n 100000 --seed 5 '
        '--workers 2 2>"$2" && exit 99\n'
        'sha256sum "$1/x.jsonl"; ls -A "$1"\n'
    )
    done = in_private_mount(script, str(mount), str(err))
    assert done.returncode == 0, done.stderr
    before, after, *listing = done.stdout.splitlines()
    assert before.split()[0] == after.split()[0]  # the old file, unchanged
    assert listing == ["x.jsonl"]  # and no temporary file
    assert_one_error_line(err.read_text(), "x.jsonl: cannot write: No space left on device")
