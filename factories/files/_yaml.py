"""YAML: a list of mappings in key order, written by our own emitter, read event by event.

Writing: PyYAML's emitter is ~30x slower than JSON, so flat string records are
written here, quoting exactly what needs it; ``yaml.safe_load`` reads them back
identically. Reading: the safe loader's events, never composed or constructed whole
(see :class:`_YamlReader`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import yaml

from ..errors import DataFileError, excerpt
from ..model import FIELDS
from ._io import NO_LINES, Records, text_lines

__all__ = ["YAML_LOADER", "EventReader", "encode", "end", "read"]


# YAML: our own emitter for flat string records. PyYAML's is ~30x slower than JSON.
#
# A plain (unquoted) scalar is used only when it provably reads back as the same
# string in YAML 1.1 and 1.2: a letter first, then letters, digits and " .'@_-", no
# trailing space, and not a word that YAML 1.1 reads as a boolean or null. (": " and
# " #" cannot occur: neither ":" nor "#" is allowed.) Everything else is double-quoted,
# with escapes for every character a YAML reader does not take raw or would fold.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 .'@_-]*")
_RESERVED = frozenset(
    {"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"},
)
_LONGEST_RESERVED = max(map(len, _RESERVED))
# Characters that go raw inside double quotes: printable for PyYAML's and libyaml's
# readers, minus the line breaks "\x85", "\u2028", "\u2029" and the byte order mark.
_ESCAPED = re.compile(
    r"[^\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
    r"\U00010000-\U0010ffff]"
)
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0"}
# libyaml drops a simple (implicit) key longer than 1024 characters; longer keys are
# written in the explicit "? key" form.
_MAX_SIMPLE_KEY = 1000
_CACHE_LIMIT = 50_000
_yaml_values: dict[str, str] = {}
_yaml_keys: dict[str, str] = {}


def _yaml_escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02X}"
    if code < 0x10000:
        return f"\\u{code:04X}"
    return f"\\U{code:08X}"


def _yaml_scalar(text: str) -> str:
    if (
        _PLAIN.fullmatch(text)
        and text[-1] != " "
        and (len(text) > _LONGEST_RESERVED or text.lower() not in _RESERVED)
    ):
        return text
    return '"' + _ESCAPED.sub(_yaml_escape, text) + '"'


def _yaml_value(text: str) -> str:
    encoded = _yaml_scalar(text)
    if len(_yaml_values) >= _CACHE_LIMIT:
        _yaml_values.clear()
    _yaml_values[text] = encoded
    return encoded


def _yaml_key(text: str) -> str:
    """Return the key and its separator: ``"key: "``, or the explicit form for long keys."""
    encoded = _yaml_scalar(text)
    if len(encoded) * 4 > _MAX_SIMPLE_KEY and len(encoded.encode("utf-8")) > _MAX_SIMPLE_KEY:
        prefix = f"? {encoded}\n  : "
    else:
        prefix = f"{encoded}: "
    if len(_yaml_keys) >= _CACHE_LIMIT:
        _yaml_keys.clear()
    _yaml_keys[text] = prefix
    return prefix


def encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    values = _yaml_values
    keys = _yaml_keys
    out = []
    for record in records:
        if record:
            lines = [
                (keys.get(key) or _yaml_key(key)) + (values.get(value) or _yaml_value(value))
                for key, value in record.items()
            ]
            out.append("- " + "\n  ".join(lines) + "\n")
        else:
            out.append("- {}\n")
    # Surrogates are escaped above, so this cannot fail.
    return "".join(out).encode("utf-8")


def end(any_records: bool) -> bytes:
    return b"" if any_records else b"[]\n"


# YAML is read event by event with a safe loader, never composed or constructed
# whole: memory stays flat, aliases are never expanded (an alias bomb costs
# nothing), and no tag other than the standard scalar ones is accepted, so nothing
# in a file can make Python objects or run code.
YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_MERGE = _TAG + "merge"
_YAML_KINDS = {
    _TAG + "null": "null",
    _TAG + "bool": "a boolean",
    _TAG + "int": "an integer",
    _TAG + "float": "a number",
    _TAG + "timestamp": "a date",
    _TAG + "binary": "binary data",
}
_SCALAR_TAGS = {_STR, _MERGE, _TAG + "value", *_YAML_KINDS}
_SEQUENCE_TAGS = {None, "!", _TAG + "seq"}
_MAPPING_TAGS = {None, "!", _TAG + "map"}
# The characters PyYAML's reader accepts (libyaml's are the same).
_YAML_UNPRINTABLE = re.compile(
    r"[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
# Merge keys (<<) copy mappings: a chain of anchors, each merging the one before and
# adding a key, would hold 1 + 2 + ... + n keys (3,000 lines of YAML take 250 MB).
# A record has 13 fields, so a mapping may have at most _MAX_FIELDS, and the mappings
# that anchors keep at most _MAX_ANCHORED fields in all: memory and time stay linear.
_MAX_FIELDS = 100
_MAX_ANCHORED = 100_000


@dataclass(frozen=True)
class _Other:
    """What an anchor names when it is not a string: described, never expanded."""

    kind: str
    text: str = ""


class _YamlText:
    """The file's text for the YAML loader, one checked line per read."""

    def __init__(self, file: IO[bytes], name: str) -> None:
        self.name = name
        self.lines = enumerate(text_lines(file, name), 1)

    def read(self, size: int = -1) -> str:
        # One line per call, so a reader gets each record as soon as it is complete.
        for number, text in self.lines:
            bad = _YAML_UNPRINTABLE.search(text)
            if bad:
                raise DataFileError(
                    f"holds the character U+{ord(bad.group()):04X} at column {bad.start() + 1}, "
                    'which YAML does not allow raw; write it escaped in a "double-quoted" string',
                    path=self.name,
                    line=number,
                )
            return text
        return ""


def _line(event: yaml.Event) -> int:
    # Both parsers mark every event; the type allows None.
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class EventReader:
    """Reads a YAML list of records from the safe loader's events, one record at a time.

    Nothing is composed or constructed whole, so a file streams and an alias or
    merge-key bomb cannot grow. A subclass reads the top node (:meth:`top`) and each
    record (:meth:`record`); the framing and the errors are the same for every kind.
    """

    #: The end of a message about the file's shape.
    expected = "expected a YAML list of records"

    def __init__(self, file: IO[bytes], name: str) -> None:
        self.name = name
        self.file = file
        self.loader: Any = None
        self.number: int | None = None

    def error(
        self, message: str, event: yaml.Event | None = None, field: str | None = None
    ) -> DataFileError:
        line = _line(event) if event is not None else None
        return DataFileError(message, path=self.name, record=self.number, line=line, field=field)

    def records(self) -> Records:
        try:
            # The pure-Python loader reads the first line here already.
            self.loader = YAML_LOADER(_YamlText(self.file, self.name))
            yield from self._records()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = ", ".join(text for text in (exc.context, exc.problem) if text)
            if mark is None:
                raise DataFileError(
                    f"is not valid YAML: {problem}", path=self.name, record=self.number
                ) from None
            raise DataFileError(
                f"is not valid YAML: {problem} (column {mark.column + 1})",
                path=self.name,
                record=self.number,
                line=mark.line + 1,
            ) from None
        except yaml.YAMLError as exc:
            raise DataFileError(
                f"is not valid YAML: {excerpt(' '.join(str(exc).split()), 120)}",
                path=self.name,
                record=self.number,
            ) from None
        except RecursionError:
            raise DataFileError(
                "is nested too deeply to read; expected flat records",
                path=self.name,
                record=self.number,
            ) from None
        finally:
            if self.loader is not None:
                self.loader.dispose()

    def _records(self) -> Records:
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            raise self.error(f"is empty; {self.expected}")
        loader.get_event()  # document start
        self.top(loader.get_event())
        number = 0
        while True:
            self.number = number + 1
            if loader.check_event(yaml.SequenceEndEvent):
                break
            number += 1
            event = loader.get_event()
            record, lines = self.record(event)
            yield number, _line(event), record, lines
        self.number = None
        loader.get_event()  # sequence end
        loader.get_event()  # document end
        if loader.check_event(yaml.DocumentStartEvent):
            extra = loader.get_event()
            raise self.error("holds more than one YAML document; expected one list", extra)

    def top(self, event: yaml.Event) -> None:
        """Check the file's top node, which must start a list."""
        if not isinstance(event, yaml.SequenceStartEvent):
            raise self.error(f"the top level is not a list; {self.expected}", event)

    def record(self, event: yaml.Event) -> tuple[dict[str, Any], Mapping[str, int]]:
        """Read one record from its first event: the record and the line of each field."""
        raise NotImplementedError


class _YamlReader(EventReader):
    """Reads a YAML list of flat mappings from the loader's events."""

    expected = "expected a YAML list of records (- first_name: ...)"

    def __init__(self, file: IO[bytes], name: str) -> None:
        super().__init__(file, name)
        self.anchors: dict[str, str | dict[str, str] | _Other] = {}
        self.anchored = 0  # fields in the mappings that anchors keep

    def top(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.ScalarEvent) and self._scalar_tag(event) == _TAG + "null":
            raise self.error(f"is empty (a null document); {self.expected}", event)
        if not isinstance(event, yaml.SequenceStartEvent):
            raise self.error(f"the top level is {self._describe(event)}; {self.expected}", event)
        self._check_tag(event, _SEQUENCE_TAGS)

    def _scalar_tag(self, event: yaml.ScalarEvent) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            resolved: str = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            return resolved
        if tag not in _SCALAR_TAGS:
            raise self._tag_error(tag, event)
        return tag

    def _check_tag(self, event: yaml.CollectionStartEvent, allowed: set[str | None]) -> None:
        if event.tag not in allowed:
            raise self._tag_error(event.tag or "", event)

    def _tag_error(self, tag: str, event: yaml.Event) -> DataFileError:
        return self.error(
            f"the YAML tag {excerpt(_show_tag(tag))} is not allowed; YAML tags are not "
            "allowed in data files, only plain strings",
            event,
        )

    def _describe(self, event: yaml.Event) -> str:
        """Describe a node by its first event, for a message; never expands anything."""
        if isinstance(event, yaml.SequenceStartEvent):
            self._check_tag(event, _SEQUENCE_TAGS)
            return "a list"
        if isinstance(event, yaml.MappingStartEvent):
            self._check_tag(event, _MAPPING_TAGS)
            return "a mapping"
        if isinstance(event, yaml.ScalarEvent):
            tag = self._scalar_tag(event)
            if tag == _TAG + "null":
                return "empty (null)"
            kind = _YAML_KINDS.get(tag)
            return f"{excerpt(event.value)}{f', which YAML reads as {kind}' if kind else ''}"
        if isinstance(event, yaml.AliasEvent):
            target = self._alias(event)
            if isinstance(target, str):
                return excerpt(target)
            if isinstance(target, dict):
                return "a mapping"
            return target.kind
        return "not a value"  # pragma: no cover  # the parser gives no other events here

    def _alias(self, event: yaml.AliasEvent) -> str | dict[str, str] | _Other:
        target = self.anchors.get(event.anchor or "")
        if target is None:
            raise self.error(
                f"the alias *{excerpt(event.anchor)[1:-1]} names no anchor defined before it",
                event,
            )
        return target

    def _scalar(self, event: yaml.ScalarEvent) -> str | _Other:
        tag = self._scalar_tag(event)
        value: str | _Other = event.value
        if tag not in (_STR, _TAG + "value"):
            value = _Other(_YAML_KINDS.get(tag, "a merge key"), event.value)
        if event.anchor is not None:
            self._keep(event.anchor, value, event)
        return value

    def record(self, event: yaml.Event) -> tuple[dict[str, str], Mapping[str, int]]:
        if isinstance(event, yaml.MappingStartEvent):
            return self._mapping(event)
        if isinstance(event, yaml.AliasEvent):
            target = self._alias(event)
            if isinstance(target, dict):
                return dict(target), NO_LINES
        raise self.error(
            f"is {self._describe(event)}; expected a mapping of fields (first_name: ...)", event
        )

    def _mapping(self, start: yaml.MappingStartEvent) -> tuple[dict[str, str], dict[str, int]]:
        self._check_tag(start, _MAPPING_TAGS)
        loader = self.loader
        values: dict[str, str] = {}
        lines: dict[str, int] = {}
        merged: list[dict[str, str]] = []
        while not loader.check_event(yaml.MappingEndEvent):
            key_event = loader.get_event()
            key = self._key(key_event)
            value_event = loader.get_event()
            if key is None:
                # "<<: *base" (or a list of them): merged the way PyYAML merges, the
                # first source winning over later ones and the mapping's keys over all.
                merged.extend(reversed(self._merge_sources(value_event)))
                continue
            line = _line(key_event)
            if key in values:
                raise self.error(
                    f"field {excerpt(key)} appears twice (lines {lines[key]} and {line}); "
                    "expected each field once",
                    key_event,
                    key,
                )
            values[key] = self._value(value_event, key)
            lines[key] = line
            if len(values) > _MAX_FIELDS:
                raise self._too_many(start)
        loader.get_event()  # mapping end
        if merged:
            result: dict[str, str] = {}
            for source in merged:
                result.update(source)
                if len(result) > _MAX_FIELDS:
                    raise self._too_many(start)
            result.update(values)
            values = result
            if len(values) > _MAX_FIELDS:
                raise self._too_many(start)
        if start.anchor is not None:
            self._keep(start.anchor, dict(values), start)
        return values, lines

    def _too_many(self, start: yaml.Event) -> DataFileError:
        return self.error(
            f"has more than {_MAX_FIELDS} fields (with those of merge keys <<); expected "
            f"a flat record of the {len(FIELDS)} payload fields",
            start,
        )

    def _keep(self, anchor: str, value: str | dict[str, str] | _Other, event: yaml.Event) -> None:
        """Keep an anchor's value for its aliases; mappings within :data:`_MAX_ANCHORED` fields."""
        previous = self.anchors.get(anchor)
        if isinstance(previous, dict):  # an anchor defined again replaces the old one
            self.anchored -= len(previous)
        if isinstance(value, dict):
            self.anchored += len(value)
        if self.anchored > _MAX_ANCHORED:
            raise self.error(
                f"its anchored mappings (&name) hold more than {_MAX_ANCHORED:,} fields; "
                "expected anchors for a few shared records, not for every one",
                event,
            )
        self.anchors[anchor] = value

    def _key(self, event: yaml.Event) -> str | None:
        """Return the key, or ``None`` for the merge key ``<<``."""
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event)
            if isinstance(value, str):
                return value
            if value.kind == "a merge key":
                return None
        elif isinstance(event, yaml.AliasEvent):
            target = self._alias(event)
            if isinstance(target, str):
                return target
        raise self.error(
            f"has the key {self._describe(event)}; expected a field name (a string)", event
        )

    def _value(self, event: yaml.Event, key: str) -> str:
        value: str | dict[str, str] | _Other
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event)
        elif isinstance(event, yaml.AliasEvent):
            value = self._alias(event)
        else:
            value = _Other(self._describe(event))
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            value = _Other("a mapping")
        if value.kind == "null":
            problem = 'is empty (null); expected a string (write "" for an empty one)'
        elif value.text:
            problem = (
                f"is {excerpt(value.text)}, which YAML reads as {value.kind}; expected a "
                'string (put it in quotes: "...")'
            )
        else:
            problem = f"is {value.kind}; expected a string"
        raise self.error(f"field {excerpt(key)} {problem}", event, key)

    def _merge_sources(self, event: yaml.Event) -> list[dict[str, str]]:
        if isinstance(event, yaml.AliasEvent):
            target = self._alias(event)
            if isinstance(target, dict):
                return [target]
        elif isinstance(event, yaml.MappingStartEvent):
            return [self._mapping(event)[0]]
        elif isinstance(event, yaml.SequenceStartEvent):
            self._check_tag(event, _SEQUENCE_TAGS)
            sources = []
            while not self.loader.check_event(yaml.SequenceEndEvent):
                item = self.loader.get_event()
                if isinstance(item, yaml.SequenceStartEvent):
                    self._check_tag(item, _SEQUENCE_TAGS)
                    break
                sources.extend(self._merge_sources(item))
            else:
                self.loader.get_event()  # sequence end
                return sources
        elif isinstance(event, yaml.ScalarEvent):
            self._scalar_tag(event)  # a YAML tag is refused as such, whatever the shape
        raise self.error(
            "has a merge key << whose value is not a mapping or a list of mappings", event
        )


def read(file: IO[bytes], name: str) -> Records:
    return _YamlReader(file, name).records()
