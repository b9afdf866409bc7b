"""Tests of bookslot_factories.files._yaml: the YAML writer and the YAML reader.

The writer quotes only where it must; the reader is safe (no tag runs), bounded (no
alias bomb blows up) and the same with libyaml as with PyYAML's pure-Python loader.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from bookslot_factories import DataFileError
from bookslot_factories.files import FORMATS, _yaml, load
from hypothesis import given
from hypothesis import strategies as st
from oracles import (
    AS_OF,
    BAD_FILES,
    CFG,
    GOOD,
    YAML_LOADERS,
    check_bad,
    joined,
    tricky_records,
    write_bad,
)

# --- the writer ------------------------------------------------------------------------


def test_yaml_layout_is_plain_where_safe_and_quoted_elsewhere() -> None:
    record = {
        "first_name": "Maria",
        "last_name": "O'Connor",
        "email": "maria.x@mailinator.com",
        "zip": "20678",
        "flag": "Yes",
        "blank": "",
        "space": "a ",
        "tab": "a\tb",
        "quote": 'a"b\\c',
        "controls": "\x00\x7f\x85\u2028\ufeff😀",
        "y": "St. John",
    }
    text = FORMATS["yaml"].encode([record], True).decode("utf-8")
    assert text == (
        "- first_name: Maria\n"
        "  last_name: O'Connor\n"
        "  email: maria.x@mailinator.com\n"
        '  zip: "20678"\n'
        '  flag: "Yes"\n'
        '  blank: ""\n'
        '  space: "a "\n'
        '  tab: "a\\tb"\n'
        '  quote: "a\\"b\\\\c"\n'
        '  controls: "\\0\\x7F\\x85\\u2028\\uFEFF😀"\n'
        '  "y": St. John\n'
    )
    assert yaml.safe_load(text) == [record]
    assert FORMATS["yaml"].encode([{}], True) == b"- {}\n"


@pytest.mark.parametrize("loader", sorted(YAML_LOADERS))
def test_yaml_writer_reads_back_tricky_and_long_keys(loader: str) -> None:
    records = [*tricky_records(), {"k" * 1500: "long key", "日" * 300: "wide key", "b": "c"}]
    writer = FORMATS["yaml"]
    text = joined(writer, records, [len(records)]).decode("utf-8")
    assert "? " in text  # the explicit form, for keys too long to be simple keys
    loaded = yaml.load(text, Loader=YAML_LOADERS[loader])
    assert loaded == records
    assert [list(r) for r in loaded] == [list(r) for r in records]


def test_yaml_writer_escapes_lone_surrogates() -> None:
    # JSON and CSV cannot hold them (UTF-8 cannot); YAML escapes them and PyYAML reads them.
    record = {"a\ud800": "b\udfff"}
    text = FORMATS["yaml"].encode([record], True).decode("ascii")
    assert text == '- "a\\uD800": "b\\uDFFF"\n'
    assert yaml.safe_load(text) == [record]


@given(
    st.lists(
        st.dictionaries(st.text(), st.text(), max_size=6),
        max_size=4,
    )
)
def test_yaml_writer_round_trips_any_text(records: list[dict[str, str]]) -> None:
    writer = FORMATS["yaml"]
    data = joined(writer, records, [len(records)])
    for loader in YAML_LOADERS.values():
        loaded = yaml.load(data.decode("utf-8"), Loader=loader)
        assert loaded == records
        assert [list(r) for r in loaded] == [list(r) for r in records]


# --- the reader ------------------------------------------------------------------------


def test_yaml_merge_keys_and_anchors_are_read(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    body = "\n".join(f"  {k}: {json.dumps(v)}" for k, v in GOOD.items())
    path.write_text(
        f"- &base\n{body}\n"
        "- <<: *base\n  idNumber: INS-99999\n"
        '- <<: [*base]\n  zip: &z "10001"\n'
        "- *base\n",
        encoding="utf-8",
    )
    expected = [GOOD, {**GOOD, "idNumber": "INS-99999"}, {**GOOD, "zip": "10001"}, GOOD]

    for loader in YAML_LOADERS.values():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_yaml, "YAML_LOADER", loader)
            assert load(path, as_of=AS_OF, cfg=CFG) == expected
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == expected


YAML_CASES = [case for case in BAD_FILES if case[1].endswith(".yaml")]


@pytest.mark.parametrize(
    ("name", "content", "record", "line", "field", "message"),
    [case[1:] for case in YAML_CASES],
    ids=[case[0] for case in YAML_CASES],
)
def test_bad_yaml_with_the_pure_python_loader(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    content: str | bytes | None,
    record: int | None,
    line: int | None,
    field: str | None,
    message: str,
) -> None:
    # Where libyaml is missing, the loader falls back to PyYAML's pure-Python one.
    monkeypatch.setattr(_yaml, "YAML_LOADER", yaml.SafeLoader)
    path = write_bad(tmp_path, name, content)
    if "is not valid YAML" in message:  # the parsers word their errors differently
        message = "is not valid YAML: "
    check_bad(path, record, line, field, message)


def test_the_yaml_loader_is_a_safe_one() -> None:
    assert _yaml.YAML_LOADER in (getattr(yaml, "CSafeLoader", None), yaml.SafeLoader)


@pytest.mark.parametrize(
    "payload",
    [
        '- !!python/object/apply:os.system ["touch {pwned}"]\n',
        '- first_name: !!python/object/apply:os.system ["touch {pwned}"]\n',
        "- !!python/object/new:os.system [touch {pwned}]\n",
        "- first_name: Maria\n  x: !!python/object/apply:subprocess.call [[touch, {pwned}]]\n",
        "- &a !!python/object/apply:os.system [touch {pwned}]\n- *a\n",
        "- !!map {{first_name: !!python/object/apply:os.system [touch {pwned}]}}\n",
    ],
)
@pytest.mark.parametrize("loader", sorted(YAML_LOADERS))
def test_yaml_tags_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: str, loader: str
) -> None:
    monkeypatch.setattr(_yaml, "YAML_LOADER", YAML_LOADERS[loader])
    pwned = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(payload.format(pwned=pwned), encoding="utf-8")

    with pytest.raises(DataFileError, match="YAML tags are not allowed"):
        load(path)
    assert not pwned.exists()


def test_alias_bomb_fails_fast_with_a_short_message(tmp_path: Path) -> None:
    # 9 levels of 9 aliases: a billion strings if expanded.
    lines = ["- a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"- {c}: &{c} [{', '.join(['*' + chr(ord(c) - 1)] * 9)}]" for c in "bcdefghi"]
    lines += ["- *i", "- first_name: *i"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(DataFileError) as info:
        load(path)
    assert time.perf_counter() - started < 5
    assert str(info.value) == f"{path}, record 1, line 1: field 'a' is a list; expected a string"
