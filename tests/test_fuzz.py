"""End-to-end property tests: whatever a file, a config or an argument holds, our error or data.

Marked ``fuzz``: ``make test`` runs them with the default profile (100 examples),
``make fuzz`` with 5,000 (``HYPOTHESIS_PROFILE=fuzz``). Every example runs under a
time limit; the YAML ones also under a memory bound. The nastiest cases found are
kept as regular tests in ``test_reliability.py``; ``files/test_reading.py`` has the
plain random-bytes and single-cut cases, ``files/test_yaml.py`` and
``files/test_json.py`` the writers' round trips.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
import tempfile
import time
import tracemalloc
import xml.sax.saxutils
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from bookslot_factories import (
    BookslotError,
    BookslotPayloadFactory,
    Config,
    ConfigError,
    DataFileError,
    InsuranceFactory,
    PatientIntakeFactory,
    PayloadError,
    bulk,
    configure,
    seeding,
    validate,
)
from bookslot_factories.cli import main
from bookslot_factories.config import from_mapping, load_config
from bookslot_factories.files import check, load, save
from bookslot_factories.kinds import kind_named
from bookslot_factories.model import FIELDS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from oracles import (
    AS_OF,
    CFG,
    GOOD,
    Hang,
    default_config,  # noqa: F401  (an autouse fixture)
    time_limit,
)

pytestmark = pytest.mark.fuzz
# The profile's settings (see conftest.py), and: tmp_path is shared by the examples of
# a test, each example overwriting its files; some examples are slow on purpose.
FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FORMATS = ("json", "jsonl", "yaml", "csv", "xml")
SECONDS = 2  # per example: the files are small, so a slow one is a hang
# What a YAML tag would create if it ran (one per process: xdist workers run apart).
MARKER = Path(tempfile.gettempdir(), f"bookslot-fuzz-pwned-{os.getpid()}")
TAG = f'!!python/object/apply:os.system ["touch {MARKER}"]'

with seeding.seeded(20261129):
    POOL: list[dict[str, str]] = [GOOD] + [
        dict(record)
        for variants in (
            {},
            {"dynamic_phone": True, "state": "TX"},
            {"senior": True, "near": "10001"},
        )
        for record in BookslotPayloadFactory.build_batch(2, as_of=AS_OF, **variants)
    ]


@pytest.fixture(autouse=True)
def _default_config() -> Iterator[None]:
    configure(None)
    yield
    configure(None)


def assert_records_or_our_error(
    path: Path, read: Callable[[Path], Any], *, trace: bool = False, kind: str = "payload"
) -> list[dict[str, Any]]:
    """Read under a time limit: valid records of the kind, or a short DataFileError naming the file."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        with time_limit(SECONDS):
            try:
                result = read(path)
            except DataFileError as exc:
                result = [exc]
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
    finally:
        if trace:
            tracemalloc.stop()
    assert time.perf_counter() - started < SECONDS
    assert peak < 32 * 2**20, f"{peak / 2**20:.1f} MB"
    assert not MARKER.exists(), "a YAML tag ran code"
    records = []
    for item in result:
        if isinstance(item, DataFileError):
            message = str(item)
            assert message.startswith(str(path)), message
            assert len(message) < 600, message[:2000]
            message.encode("utf-8")  # printable anywhere: no lone surrogate
        else:
            assert isinstance(item, dict), type(item)
            assert set(item) == set(kind_named(kind).fields)
            kind_named(kind).validate(item, as_of=AS_OF, cfg=CFG)
            records.append(item)
    return records


def load_it(path: Path) -> list[dict[str, str]]:
    return load(path, as_of=AS_OF, cfg=CFG)


def check_it(path: Path) -> list[DataFileError]:
    return list(check(path, as_of=AS_OF, cfg=CFG))


def test_the_checks_here_can_fail(tmp_path: Path) -> None:
    # The oracle of this module rejects what it must: an invalid record, a long or
    # unprintable message, a slow read, a large one.
    path = tmp_path / "x.json"
    with pytest.raises(PayloadError):
        assert_records_or_our_error(path, lambda p: [{**GOOD, "zip": "1"}])
    with pytest.raises(AssertionError):
        assert_records_or_our_error(path, lambda p: [DataFileError("x" * 700, path=str(p))])
    with pytest.raises(UnicodeEncodeError):
        assert_records_or_our_error(path, lambda p: [DataFileError("\ud800", path=str(p))])
    with pytest.raises(Hang):
        assert_records_or_our_error(path, lambda p: time.sleep(SECONDS + 1))
    with pytest.raises(AssertionError, match="MB"):
        assert_records_or_our_error(path, _allocate_64_mb, trace=True)


def _allocate_64_mb(path: Path) -> list[dict[str, str]]:
    block = bytearray(64 * 2**20)
    return [] if block else [GOOD]


# --- mutations of valid files ------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "Ma\x00ria",
    "\ufeff",
    "\r\n",
    "\r",
    "\n",
    "\x85",
    "\u2028",
    "\ud800",
    "Ma\udfffria",
    "\t",
    "\x1b[31m",
    "'",
    '"',
    "\\",
    ",",
    "- ",
    ": ",
    "#",
    "&a",
    "*a",
    "<<",
    "!!python/object/apply:os.system",
    "yes",
    "null",
    "~",
    "0x1F",
    "1e999",
    "2026-02-30",
    "123-45-6789",
    "\U0001f600",
    "x" * 70_000,
]
WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=30),
    st.integers(1, 6).map(lambda n: "M" * 10**n),
)
KEYS = st.one_of(st.sampled_from(FIELDS), st.sampled_from(NASTY_TEXT[:24]), st.text(max_size=12))


@st.composite
def records(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Zero to three payloads, maybe with a missing, extra, renamed or wrongly typed field."""
    rows: list[dict[str, Any]] = [
        dict(row) for row in draw(st.lists(st.sampled_from(POOL), max_size=3))
    ]
    for _ in range(draw(st.integers(0, 3))):
        if not rows:
            break
        index = draw(st.integers(0, len(rows) - 1))
        row = rows[index]
        action = draw(st.sampled_from(["drop", "extra", "rename", "value", "shuffle"]))
        key = draw(st.sampled_from(sorted(row) or ["first_name"]))
        if action == "drop":
            row.pop(key, None)
        elif action == "extra":
            row[draw(KEYS)] = draw(WRONG_VALUES)
        elif action == "rename" and key in row:
            renamed = draw(st.sampled_from([key.upper(), key + " ", " " + key, key[:-1], "ssn"]))
            row[renamed] = row.pop(key)
        elif action == "value":
            row[key] = draw(WRONG_VALUES)
        else:
            items = list(row.items())
            draw(st.randoms(use_true_random=False)).shuffle(items)
            rows[index] = dict(items)
    return rows


def serialize(rows: list[dict[str, Any]], fmt: str, style: int) -> bytes:
    """Write rows as a file of the format, the way a person or another tool might."""
    if fmt == "json":
        text = json.dumps(rows, indent=[None, 2, "\t"][style % 3], ensure_ascii=style % 2 == 0)
    elif fmt == "jsonl":
        text = "".join(json.dumps(row, ensure_ascii=style % 2 == 0) + "\n" for row in rows)
    elif fmt == "yaml":
        text = yaml.safe_dump(
            rows, allow_unicode=style % 2 == 0, default_flow_style=[False, True, None][style % 3]
        )
    elif fmt == "xml":
        indent = ["", "\n  ", "\t"][style % 3]
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<bookslot_payloads>'
            + "".join(
                f"{indent}<payload>"
                + "".join(
                    f"<{key}>{xml.sax.saxutils.escape(str(value))}</{key}>"
                    for key, value in row.items()
                )
                + "</payload>"
                for row in rows
            )
            + "\n</bookslot_payloads>\n"
        )
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=[csv.QUOTE_MINIMAL, csv.QUOTE_ALL][style % 2])
        header = list(rows[0]) if rows else list(FIELDS)
        writer.writerow(header)
        writer.writerows([[str(row.get(key, "")) for key in header] for row in rows])
        text = buffer.getvalue()
    return text.encode("utf-8", "surrogatepass")


def nasty_bytes(fmt: str) -> st.SearchStrategy[bytes]:
    tokens = [
        b"\x00",
        b"\xef\xbb\xbf",
        b"\r\n",
        b"\r",
        b"\n",
        b"\xff",
        b"\xed\xa0\x80",
        b"\xc3",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b'"',
        b"'",
        b"\\",
        b",",
        b"9" * 5000,
        b"1e99999",
        b"NaN",
    ]
    if fmt == "yaml":
        tokens += [b"&a ", b"*a", b"<<: *a\n", b"<<: [*a, *a]", b"? ", b"- ", b": ", b"---\n",
                   b"...\n", b"%YAML 1.1\n", b"|\n", b">-\n", b"\t", b"#", b"{", b"[", b"!!str ",
                   b"!!binary ", b"!local ", b"&b [*a, *a, *a, *a, *a, *a, *a, *a] ",
                   TAG.encode() + b" "]  # fmt: skip
    elif fmt == "xml":
        tokens += [b"<", b">", b"&", b"&lol;", b"]]>", b"<![CDATA[", b"<!--", b"<a>", b"</a>",
                   b'<!DOCTYPE a [<!ENTITY lol "lol">]>', b'<!ENTITY x SYSTEM "file:///etc/passwd">',
                   b' a="1"', b"<?pi?>", b"&#0;", b"&#13;"]  # fmt: skip
    elif fmt in ("json", "jsonl"):
        tokens += [b"{", b"}", b"[", b"]", b":", b'"a": ', b"true", b"null", b"\\ud800", b"\\u0000"]
    return st.one_of(
        st.sampled_from(tokens),
        st.binary(min_size=1, max_size=8),
        st.tuples(st.sampled_from([b"[", b"{", b'{"a":', b"- ", b"[[", b"{a: "]), st.integers(1, 4))
        .map(lambda t: t[0] * 10 ** t[1]),
    )  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, data: bytes, fmt: str) -> bytes:
    """Apply one to four byte-level mutations."""
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(
            st.sampled_from(["truncate", "flip", "insert", "delete", "copy", "crlf", "cr", "bom"])
        )
        if action == "truncate":
            data = data[:at]
        elif action == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif action == "insert":
            data = data[:at] + draw(nasty_bytes(fmt)) + data[at:]
        elif action == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif action == "copy":
            start = draw(st.integers(0, len(data)))
            data = data[:at] + data[start : start + draw(st.integers(1, 400))] + data[at:]
        elif action == "crlf":
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        elif action == "cr":
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
        elif action == "bom":
            data = b"\xef\xbb\xbf" + data
    return data


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(FORMATS), style=st.integers(0, 5))
def test_mutated_file_gives_valid_records_or_our_error(
    tmp_path: Path, data: st.DataObject, fmt: str, style: int
) -> None:
    rows = data.draw(records(), label="records")
    try:
        content = serialize(rows, fmt, style)
    except csv.Error:  # a value the csv module cannot write (NUL, before Python 3.11)
        assume(False)
    if data.draw(st.booleans(), label="mutate bytes"):
        content = data.draw(mutated(content, fmt), label="content")
    path = tmp_path / f"fuzz.{fmt}"
    path.write_bytes(content)

    loaded = assert_records_or_our_error(path, load_it)
    assert assert_records_or_our_error(path, check_it) == []  # check() gives errors only

    reported = [str(problem) for problem in check_it(path)]
    try:
        again, stopped = load_it(path), ""
    except DataFileError as exc:
        again, stopped = [], str(exc)
    assert again == loaded
    # check() first reports the problem load() stops at (then maybe more); none for
    # a file that load() accepts.
    assert reported[:1] == ([stopped] if stopped else [])


# --- the nested kinds' XML and the intakes' FHIR, as we write them, then mutated ---------

# case: (kind, suffix, the format whose nasty tokens apply)
NESTED = {
    "intake-xml": ("intake", ".xml", "xml"),
    "insurance-xml": ("insurance", ".xml", "xml"),
    "intake-fhir": ("intake", ".fhir.json", "json"),
    "intake-fhir-ndjson": ("intake", ".fhir.ndjson", "jsonl"),
}
with seeding.seeded(20261130):
    NESTED_POOL: dict[str, list[dict[str, Any]]] = {
        "intake": PatientIntakeFactory.build_batch(2, as_of=AS_OF, allergic=True)
        + PatientIntakeFactory.build_batch(1, as_of=AS_OF, patient__senior=True),
        "insurance": InsuranceFactory.build_batch(3, as_of=AS_OF),
    }


@FUZZ
@given(data=st.data(), case=st.sampled_from(sorted(NESTED)))
def test_mutated_nested_file_gives_valid_records_or_our_error(
    tmp_path: Path, data: st.DataObject, case: str
) -> None:
    kind, suffix, tokens = NESTED[case]
    rows = data.draw(st.lists(st.sampled_from(NESTED_POOL[kind]), max_size=3), label="records")
    path = tmp_path / f"fuzz{suffix}"
    save(rows, path, kind=kind)
    content = path.read_bytes()
    mutate = data.draw(st.booleans(), label="mutate bytes")
    if mutate:
        content = data.draw(mutated(content, tokens), label="content")
        path.write_bytes(content)

    def read(p: Path) -> list[dict[str, Any]]:
        return load(p, as_of=AS_OF, cfg=CFG, kind=kind)

    loaded = assert_records_or_our_error(path, read, kind=kind)
    if not mutate:
        assert loaded == rows
    reported = [str(p) for p in check(path, as_of=AS_OF, cfg=CFG, kind=kind)]
    try:
        stopped = "" if read(path) == loaded else "changed"
    except DataFileError as exc:
        stopped = str(exc)
    assert reported[:1] == ([stopped] if stopped else [])


# --- YAML built from anchors, aliases, merge keys and tags --------------------------------

ANCHORS = [f"a{i}" for i in range(4)]
ANCHOR = st.sampled_from(["", *(f"&{a} " for a in ANCHORS)])


def _scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from([json.dumps(v) for v in GOOD.values()]),
        st.sampled_from(["lol", "yes", "~", "1", "2026-11-29", '"\\ud800"', "''", "!!str x"]),
    )


def _node(depth: int) -> st.SearchStrategy[str]:
    """A YAML value in flow style: scalars, aliases, anchored lists and maps, merges, tags."""
    leaf = st.one_of(
        _scalar(),
        st.sampled_from(ANCHORS).map(lambda a: "*" + a),
        st.tuples(st.sampled_from(ANCHORS), _scalar()).map(lambda t: f"&{t[0]} {t[1]}"),
        st.just(TAG),
    )
    if depth == 0:
        return leaf
    inner = _node(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(ANCHOR, st.lists(inner, max_size=9)).map(
            lambda t: t[0] + "[" + ", ".join(t[1]) + "]"
        ),
        st.tuples(
            ANCHOR,
            st.lists(st.tuples(st.sampled_from([*FIELDS[:4], "<<", "k"]), inner), max_size=6),
        ).map(lambda t: t[0] + "{" + ", ".join(f"{k}: {v}" for k, v in t[1]) + "}"),
    )


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["record", "node", "merge"]))
        if kind == "record":
            # A valid record, with zero to two of its fields replaced by any YAML value.
            parts = {key: json.dumps(value) for key, value in draw(st.sampled_from(POOL)).items()}
            for _ in range(draw(st.integers(0, 2))):
                parts[draw(st.sampled_from([*FIELDS, "<<"]))] = draw(_node(2))
            body = ", ".join(f"{key}: {text}" for key, text in parts.items())
            lines.append(f"- {draw(ANCHOR)}{{{body}}}")
        elif kind == "merge":
            sources = draw(st.lists(st.sampled_from(ANCHORS), min_size=1, max_size=50))
            lines.append("- {<<: [" + ", ".join("*" + a for a in sources) + "]}")
        else:
            lines.append("- " + draw(_node(3)))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", ["c", "python"])
@FUZZ
@given(document=yaml_documents())
def test_yaml_with_anchors_aliases_and_tags_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: str, loader: str
) -> None:
    if loader == "python":
        monkeypatch.setattr("bookslot_factories.files._yaml.YAML_LOADER", yaml.SafeLoader)
    path = tmp_path / "built.yaml"
    path.write_text(document, encoding="utf-8")
    assert_records_or_our_error(path, load_it, trace=True)
    assert_records_or_our_error(path, check_it, trace=True)


# --- configs, factory arguments and command lines -----------------------------------------

ANY_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**6), max_value=10**6),
        st.floats(allow_nan=True),
        st.text(max_size=20),
        st.sampled_from(["20678", "10001", "99999", "1234567890", "INS-#####", "mailinator.com",
                         "Humana", "25", "Text", "18", "\x00", "\ufeff", "\ud800"]),
    ),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["young", "senior", "default", "idNumber", "GroupNumber",
                                       "x"]), children, max_size=3),
    max_leaves=12,
)  # fmt: skip
CONFIG_KEYS = st.sampled_from(
    ["email_domains", "payers", "phone", "zip", "verification_code", "contact_methods",
     "zip_distances", "age_bands", "id_formats", "locations", "payer", "Payers", ""]
)  # fmt: skip


@FUZZ
@given(mapping=st.dictionaries(CONFIG_KEYS, ANY_VALUE, max_size=4))
def test_any_config_mapping_gives_a_config_or_a_config_error(mapping: dict[str, Any]) -> None:
    try:
        with time_limit(SECONDS):
            cfg = from_mapping(mapping, source_name="fuzz")
    except ConfigError as exc:
        message = str(exc)
    else:
        message = ""
        assert isinstance(cfg, Config)
        # A config that passes gives payloads that pass its own rules.
        try:
            with seeding.seeded(1):
                configure(cfg)
                for payload in BookslotPayloadFactory.build_batch(3, as_of=AS_OF):
                    validate(payload, as_of=AS_OF, cfg=cfg)
        finally:
            configure(None)
    if message:
        assert message.startswith("config 'fuzz': key "), message
        assert len(message) < 600, message


@FUZZ
@given(mapping=st.dictionaries(CONFIG_KEYS, ANY_VALUE, max_size=4), data=st.data())
def test_any_config_file_gives_a_config_or_a_config_error(
    tmp_path: Path, mapping: dict[str, Any], data: st.DataObject
) -> None:
    try:
        text = yaml.safe_dump(mapping, allow_unicode=True).encode("utf-8", "surrogatepass")
    except yaml.YAMLError:
        text = b"payers: [Humana]\n"
    if data.draw(st.booleans()):
        text = data.draw(mutated(text, "yaml"))
    path = tmp_path / "config.yaml"
    path.write_bytes(text)
    message = ""
    try:
        with time_limit(SECONDS):
            load_config(path)
    except ConfigError as exc:
        message = str(exc)
    assert not MARKER.exists()
    if message:
        assert repr(str(path)) in message, message
        assert len(message) < 600, message


VARIANT_VALUES = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(-2, 2),
    st.sampled_from(["CA", "TX", "ZZ", "ca", "", "20678", "10001", "96799", "99999", "00501",
                     "2026-11-29", "2026-02-30", "yes"]),
    st.dates(min_value=date(1, 1, 1)),
    st.text(max_size=6),
)  # fmt: skip
VARIANT_NAMES = st.sampled_from(
    ["young", "senior", "dynamic_zip", "dynamic_location", "dynamic_phone", "state", "near",
     "as_of", "colour"]
)  # fmt: skip


@FUZZ
@given(kwargs=st.dictionaries(VARIANT_NAMES, VARIANT_VALUES, max_size=4))
def test_any_variants_give_valid_payloads_or_our_error(kwargs: dict[str, Any]) -> None:
    as_of = kwargs["as_of"] if isinstance(kwargs.get("as_of"), date) else AS_OF
    outcomes = []
    for make in (
        lambda: BookslotPayloadFactory.build_batch(3, **kwargs),
        lambda: bulk.block(5, 0, count=3, **kwargs),
    ):
        try:
            with time_limit(SECONDS * 5), seeding.seeded(7):
                payloads = make()
        except BookslotError as exc:
            outcomes.append(str(exc))
        else:
            for payload in payloads:
                validate(payload, as_of=as_of)
            outcomes.append("")
    # Short messages, and the factory and the bulk engine accept the same variants.
    assert all(len(outcome) < 600 for outcome in outcomes), outcomes
    assert bool(outcomes[0]) == bool(outcomes[1]), outcomes


FLAGS = st.sampled_from(
    ["--seed", "--count", "-n", "--workers", "--as-of", "--format", "-f", "--state", "--near",
     "--config", "--young", "--senior", "--dynamic-zip", "--dynamic-location", "--dynamic-phone",
     "--out-dir", "--bogus", "-h"]
)  # fmt: skip
FLAG_VALUES = st.one_of(
    st.sampled_from(["1", "0", "-1", "1.5", "2", "auto", "3", "2026-11-29", "20261129",
                     "2026-02-30", "json", "csv", "yaml", "jsonl", "xml", "TX", "ZZ", "20678",
                     "96799", "", " 5", "1_0", "٣", "0x10", str(2**64), "9" * 30]),
    st.text(max_size=8),
)  # fmt: skip


def _whole(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        return 0


@FUZZ
@given(command=st.sampled_from(["generate", "sample", "validate"]), data=st.data())
def test_any_command_line_exits_0_1_or_2_without_a_traceback(
    tmp_path: Path, command: str, data: st.DataObject
) -> None:
    argv = [command]
    if command == "generate":
        argv += ["-o", str(tmp_path / "out.jsonl")]
    elif command == "validate":
        save([GOOD], tmp_path / "in.json")
        argv.append(str(tmp_path / "in.json"))
    for flag in data.draw(st.lists(FLAGS, max_size=5)):
        argv.append(flag)
        if data.draw(st.booleans()):
            argv.append(data.draw(FLAG_VALUES))
    # A large count is a valid request, not a finding: keep each run short.
    counts = [value for option, value in itertools.pairwise(argv) if option in ("--count", "-n")]
    assume(all(_whole(value) <= 1000 for value in counts))
    err, out = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), time_limit(30):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        configure(None)  # `sample --config` makes its config the active one
    errors = err.getvalue()
    lines = errors.splitlines()
    assert "Traceback" not in errors
    assert code in (0, 1, 2), (argv, code, errors)
    if code == 1 and command == "validate" and len(lines) > 1:
        assert all(line.startswith("error: ") for line in lines[:-1]), errors
        assert lines[-1].endswith("file(s)"), errors
    elif code == 1:
        assert len(lines) == 1, errors
        assert errors.startswith("error: "), errors
    elif code == 2:
        assert "usage: bookslot-data" in errors
