"""Nested records (patient intakes, insurance records) in every format.

JSON and JSON Lines hold them as they are; YAML as nested mappings and lists; CSV
one column per leaf, named by its dotted path (``address.city``), a list as its
items joined by ``"; "``, a boolean as ``true``/``false``. :func:`formats` gives the
:class:`~bookslot_factories.files.formats.Format` of a kind, with the same name and
suffixes as the flat one, so that a file's suffix chooses it the same way.

YAML is read event by event, as the flat reader does, with a safe loader: no tags
but the standard ones, no aliases (a nested record never needs one, and refusing
them makes an alias bomb harmless), no merge keys; a value YAML would read as a
number, date or null where a string belongs is reported with its dotted field.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import orjson
import yaml

from ..errors import DataFileError, excerpt
from ..kinds import LIST_SEPARATOR, Kind
from . import _fhir_intake, _json, _jsonl, _xml
from ._io import NO_LINES, Records, text_lines
from ._yaml import EventReader
from .formats import FORMATS, Format

__all__ = ["flatten", "format_of", "unflatten"]

_TAG = "tag:yaml.org,2002:"
_KINDS = {
    _TAG + "float": "a number",
    _TAG + "timestamp": "a date",
    _TAG + "binary": "binary data",
    _TAG + "merge": "a merge key (<<)",
    _TAG + "value": "a value key (=)",
}
_ALLOWED_TAGS = {None, "!", _TAG + "str", _TAG + "int", _TAG + "bool", _TAG + "null"}
_COLLECTION_TAGS = {None, "!", _TAG + "seq", _TAG + "map"}
_MAX_DEPTH = 6
_MAX_FIELDS = 100
_MAX_ITEMS = 1000


# --- CSV: dotted columns --------------------------------------------------------------


def _cell(value: object, kind: str) -> str:
    if kind == "list" and isinstance(value, list):
        return LIST_SEPARATOR.join(str(item) for item in value)
    if kind == "bool" and isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(record: Mapping[str, Any], columns: Sequence[tuple[str, str]]) -> list[str]:
    """Return a record's CSV cells, one per dotted column.

    Raises:
        KeyError: The record lacks a column's path (the writer names it).
    """
    cells = []
    for path, kind in columns:
        value: Any = record
        for part in path.split("."):
            value = value[part]
        cells.append(_cell(value, kind))
    return cells


def _typed(text: str, kind: str) -> Any:
    # Only a well-formed cell is converted: anything else stays text, and the rules
    # then name its field and say what was expected.
    if kind == "bool" and text in ("true", "false"):
        return text == "true"
    if kind == "int" and text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    if kind == "list":
        return [item.strip() for item in text.split(LIST_SEPARATOR.strip())] if text else []
    return text


def unflatten(row: Mapping[str, str], columns: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Return the nested record of a CSV row of dotted columns, in the columns' order."""
    record: dict[str, Any] = {}
    for path, kind in columns:
        *parents, leaf = path.split(".")
        target = record
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = _typed(row[path], kind)
    return record


def _csv_begin(columns: Sequence[tuple[str, str]], fields: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([path for path, _ in columns])
    return buffer.getvalue().encode("utf-8")


def _csv_encode(
    columns: Sequence[tuple[str, str]], records: Sequence[Mapping[str, Any]], first: bool
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(flatten(record, columns) for record in records)
    return buffer.getvalue().encode("utf-8")


def _csv_read(kind: Kind, file: IO[bytes], name: str) -> Records:
    columns = kind.columns
    expected = f"expected the {kind.name} columns {','.join(path for path, _ in columns)}"
    reader = csv.reader(text_lines(file, name), strict=True)
    number = 0
    try:
        header = next(reader, None)
        if header is None:
            raise DataFileError(f"is empty; {expected}", path=name)
        known = {path for path, _ in columns}
        for column in header:
            if column not in known or header.count(column) > 1:
                problem = "an unknown" if column not in known else "a repeated"
                raise DataFileError(
                    f"the CSV header has {problem} column {excerpt(column)}; {expected}",
                    path=name,
                    line=reader.line_num,
                    field=column,
                )
        for path, _ in columns:
            if path not in header:
                raise DataFileError(
                    f"the CSV header lacks the column {path!r}; {expected}",
                    path=name,
                    line=reader.line_num,
                    field=path,
                )
        for row in reader:
            if not row:
                continue
            number += 1
            if len(row) != len(header):
                raise DataFileError(
                    f"has {len(row)} values; expected {len(header)}, one for each header column",
                    path=name,
                    record=number,
                    line=reader.line_num,
                )
            cells = dict(zip(header, row, strict=True))
            yield number, reader.line_num, unflatten(cells, columns), NO_LINES
    except csv.Error as exc:
        raise DataFileError(
            f"is not valid CSV: {exc}", path=name, record=number + 1, line=reader.line_num
        ) from None


# --- JSON Lines and YAML writers --------------------------------------------------------


def _jsonl_encode(records: Sequence[Mapping[str, Any]], first: bool) -> bytes:
    return b"".join(orjson.dumps(record, default=_json.as_dict) + b"\n" for record in records)


def _yaml_encode(records: Sequence[Mapping[str, Any]], first: bool) -> bytes:
    if not records:
        return b""
    text: str = yaml.dump(
        [dict(record) for record in records],
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
    )
    return text.encode("utf-8")


# --- the YAML reader --------------------------------------------------------------------


class _NestedYaml(EventReader):
    """Reads a YAML list of nested records from the safe loader's events."""

    expected = "expected a YAML list of records (- patient: ...)"

    def top(self, event: yaml.Event) -> None:
        if not isinstance(event, yaml.SequenceStartEvent) or event.tag not in _COLLECTION_TAGS:
            raise self.error(f"the top level is not a list; {self.expected}", event)

    def record(self, event: yaml.Event) -> tuple[dict[str, Any], Mapping[str, int]]:
        if not isinstance(event, yaml.MappingStartEvent):
            raise self.error("is not a mapping; expected a mapping of fields", event)
        return self._mapping(event, "", 1), NO_LINES

    def _value(self, event: yaml.Event, field: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise self.error("is nested too deeply; expected the record's own fields", event)
        if isinstance(event, yaml.AliasEvent):
            raise self.error(
                f"field {field!r} is an alias (*{event.anchor}); aliases are not allowed in "
                "records, write the value out",
                event,
                field,
            )
        if isinstance(event, yaml.MappingStartEvent):
            return self._mapping(event, field, depth + 1)
        if isinstance(event, yaml.SequenceStartEvent):
            return self._sequence(event, field, depth + 1)
        assert isinstance(event, yaml.ScalarEvent)
        return self._scalar(event, field)

    def _scalar(self, event: yaml.ScalarEvent, field: str) -> Any:
        tag = event.tag
        if tag not in _ALLOWED_TAGS:
            raise self.error(
                f"field {field!r} has the YAML tag {excerpt(tag)}; YAML tags are not allowed "
                "in data files",
                event,
                field,
            )
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        text: str = event.value
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return yaml.constructor.SafeConstructor.bool_values[text.lower()]
        if tag == _TAG + "int" and text.lstrip("+-").isdigit() and len(text) < 20:
            return int(text)
        kind = _KINDS.get(tag, "an integer")
        raise self.error(
            f"field {field!r} is {excerpt(text)}, which YAML reads as {kind}; expected a "
            'string (put it in quotes: "...")',
            event,
            field,
        )

    def _sequence(self, start: yaml.SequenceStartEvent, field: str, depth: int) -> list[Any]:
        if start.tag not in _COLLECTION_TAGS:
            raise self.error(f"field {field!r} has the YAML tag {excerpt(start.tag)}", start, field)
        items: list[Any] = []
        while not self.loader.check_event(yaml.SequenceEndEvent):
            event = self.loader.get_event()
            items.append(self._value(event, f"{field}.{len(items)}", depth))
            if len(items) > _MAX_ITEMS:
                raise self.error(f"field {field!r} has more than {_MAX_ITEMS} items", start, field)
        self.loader.get_event()
        return items

    def _mapping(self, start: yaml.MappingStartEvent, field: str, depth: int) -> dict[str, Any]:
        if start.tag not in _COLLECTION_TAGS:
            raise self.error(f"field {field!r} has the YAML tag {excerpt(start.tag)}", start, field)
        values: dict[str, Any] = {}
        while not self.loader.check_event(yaml.MappingEndEvent):
            key_event = self.loader.get_event()
            key = (
                self._scalar(key_event, field or "key")
                if isinstance(key_event, yaml.ScalarEvent)
                else None
            )
            if not isinstance(key, str):
                raise self.error(
                    f"has a key in {field or 'the record'!r} that is not a field name", key_event
                )
            path = f"{field}.{key}" if field else key
            if key in values:
                raise self.error(
                    f"field {path!r} appears twice; expected each field once", key_event, path
                )
            values[key] = self._value(self.loader.get_event(), path, depth)
            if len(values) > _MAX_FIELDS:
                raise self.error(f"has more than {_MAX_FIELDS} fields", start)
        self.loader.get_event()
        return values


def _yaml_read(file: IO[bytes], name: str) -> Records:
    return _NestedYaml(file, name).records()


# --- the formats of a kind ---------------------------------------------------------------


def _csv_read_of(kind: Kind) -> Any:
    return functools.partial(_csv_read, kind)


def xml_layout(kind: Kind) -> _xml.Layout:
    """The XML layout of a kind: its root and record elements and its leaves' types."""
    return _xml.Layout(*kind.xml, dict(kind.columns) if kind.nested else {})


def _xml_format(kind: Kind) -> Format:
    layout = xml_layout(kind)
    flat = FORMATS["xml"]
    return Format(
        "xml",
        flat.suffixes,
        flat.media_type,
        functools.partial(_xml.encode, layout=layout),
        functools.partial(_xml.read, layout=layout),
        functools.partial(_xml.begin, layout=layout),
        functools.partial(_xml.end, layout=layout),
    )


def _fhir_formats(kind: Kind) -> dict[str, Format]:
    # A Coverage needs the Patient it covers: only an intake holds one.
    if kind.name != "intake":
        return {}
    return {
        "fhir": Format(
            "fhir",
            FORMATS["fhir"].suffixes,
            FORMATS["fhir"].media_type,
            _fhir_intake.encode,
            _fhir_intake.read,
            _fhir_intake.begin,
            _fhir_intake.end,
        ),
        "fhir-ndjson": Format(
            "fhir-ndjson",
            FORMATS["fhir-ndjson"].suffixes,
            FORMATS["fhir-ndjson"].media_type,
            _fhir_intake.encode_ndjson,
            _fhir_intake.read_ndjson,
        ),
    }


@functools.cache
def formats(kind: Kind) -> dict[str, Format]:
    """Return the formats of a nested kind, by name."""
    flat = FORMATS
    return {
        "json": flat["json"],
        "jsonl": Format(
            "jsonl", flat["jsonl"].suffixes, flat["jsonl"].media_type, _jsonl_encode, _jsonl.read
        ),
        "yaml": Format(
            "yaml",
            flat["yaml"].suffixes,
            flat["yaml"].media_type,
            _yaml_encode,
            _yaml_read,
            end=flat["yaml"].end,
        ),
        "csv": Format(
            "csv",
            flat["csv"].suffixes,
            flat["csv"].media_type,
            functools.partial(_csv_encode, kind.columns),
            _csv_read_of(kind),
            functools.partial(_csv_begin, kind.columns),
        ),
        "xml": _xml_format(kind),
        **_fhir_formats(kind),
    }


def format_of(kind: Kind, fmt: Format) -> Format:
    """Return the format that reads and writes ``kind``'s records as ``fmt`` names."""
    if not kind.nested:
        return fmt
    found = formats(kind).get(fmt.name)
    if found is None and fmt.name.startswith("fhir"):
        raise DataFileError(
            f"{kind.name} records have no FHIR form: a Coverage needs the Patient it covers, "
            f"which only an intake holds (write --kind intake); or choose one of "
            f"{', '.join(formats(kind))}",
            path=f"<{fmt.name}>",
        )
    if found is None:
        raise DataFileError(
            f"{kind.name} records are nested; {fmt.name} holds only flat payloads: choose "
            f"one of {', '.join(formats(kind))}",
            path=f"<{fmt.name}>",
        )
    return found


def checked(records: Iterator[Any], name: str, kind: Kind) -> Iterator[Mapping[str, Any]]:
    """Yield the records, refusing what is not a mapping of the kind's top-level keys."""
    for number, record in enumerate(records, 1):
        if not isinstance(record, Mapping):
            raise DataFileError(
                f"is {excerpt(record)}; expected a mapping of the {kind.name} fields",
                path=name,
                record=number,
            )
        missing = [key for key in kind.fields if key not in record]
        if missing:
            raise DataFileError(
                f"field {missing[0]!r} is missing; expected the {kind.name} fields "
                f"{', '.join(kind.fields)}",
                path=name,
                record=number,
                field=missing[0],
            )
        yield record
