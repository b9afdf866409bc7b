"""XML: ``<bookslot_payloads><payload><first_name>...</first_name>...</payload>...``.

A :class:`Layout` names the root and record elements and, for the nested kinds,
what each element holds: ``<patient_intakes><patient_intake><address><city>...``,
a list as repeated child elements (``<allergies><allergy>...</allergy></allergies>``),
a boolean as ``true``/``false``. One writer and one reader serve every kind.

Written a block at a time; read as a stream with defusedxml's expat reader, so no
DTD, no entity and no external reference is ever processed (a billion-laughs or an
XXE file fails at its first line). Values are element text; a carriage return is
written as ``&#13;`` so that it survives XML's line-end normalization.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ..errors import DataFileError, excerpt
from ._io import Records

__all__ = ["PAYLOADS", "Layout", "begin", "encode", "end", "item_name", "read"]

_CHUNK = 65_536
# Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True)
class Layout:
    """What an XML file of one kind holds.

    Attributes:
        root: The root element (``bookslot_payloads``).
        record: The element of one record (``payload``).
        types: The type of each leaf by dotted path (``address.city``): ``str``,
            ``bool``, ``int`` or ``list`` (of strings). Empty: a flat record whose
            every child element is a string field.
    """

    root: str
    record: str
    types: Mapping[str, str] = field(default_factory=dict)

    @property
    def groups(self) -> frozenset[str]:
        """The dotted paths of the nested mappings (``address``, ``insurance.subscriber``)."""
        return frozenset(
            path.rsplit(".", 1)[0] for path in _prefixes(tuple(self.types)) if "." in path
        )


def _prefixes(paths: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        parts = path.split(".")
        found += [".".join(parts[: n + 1]) for n in range(len(parts))]
    return found


#: The payloads' layout.
PAYLOADS = Layout("bookslot_payloads", "payload")


def item_name(list_name: str) -> str:
    """The element of one item of a list: ``allergies`` -> ``allergy``, ``drugs`` -> ``drug``."""
    if list_name.endswith("ies"):
        return list_name[:-3] + "y"
    if list_name.endswith("s"):
        return list_name[:-1]
    return "item"


def _escape(text: str) -> str:
    found = _NOT_XML.search(text)
    if found:
        raise ValueError(f"{excerpt(text)} holds U+{ord(found.group()):04X}, which XML cannot hold")
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def begin(fields: Sequence[str], layout: Layout = PAYLOADS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{layout.root}>\n'.encode()


def end(any_records: bool, layout: Layout = PAYLOADS) -> bytes:
    return f"</{layout.root}>\n".encode()


def _element(parts: list[str], key: str, value: Any, indent: str) -> None:
    if not isinstance(key, str) or not _NAME.match(key) or key.lower().startswith("xml"):
        raise ValueError(f"the field name {excerpt(key)} is not an XML element name")
    if isinstance(value, str):
        parts.append(f"{indent}<{key}>{_escape(value)}</{key}>\n")
    elif isinstance(value, bool):
        parts.append(f"{indent}<{key}>{'true' if value else 'false'}</{key}>\n")
    elif isinstance(value, int):
        parts.append(f"{indent}<{key}>{value}</{key}>\n")
    elif isinstance(value, Mapping):
        parts.append(f"{indent}<{key}>\n")
        for child, item in value.items():
            _element(parts, child, item, indent + "  ")
        parts.append(f"{indent}</{key}>\n")
    elif isinstance(value, list):
        if not value:
            parts.append(f"{indent}<{key}/>\n")
            return
        parts.append(f"{indent}<{key}>\n")
        for item in value:
            _element(parts, item_name(key), item, indent + "  ")
        parts.append(f"{indent}</{key}>\n")
    else:
        raise ValueError(
            f"field {key!r} is {excerpt(value)}; XML holds text, true/false, whole "
            "numbers, mappings and lists"
        )


def encode(records: Sequence[Mapping[str, Any]], first: bool, layout: Layout = PAYLOADS) -> bytes:
    """Encode a block of records, each element on its own line."""
    parts: list[str] = []
    for record in records:
        _element(parts, layout.record, record, "  ")
    return "".join(parts).encode("utf-8")


def _typed(text: str, kind: str) -> Any:
    # Only a well-formed value is converted: anything else stays text, and the rules
    # then name its field and say what was expected.
    if kind == "bool" and text in ("true", "false"):
        return text == "true"
    if kind == "int" and text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return text


def _parser() -> Any:
    try:
        from defusedxml import expatreader
    except ImportError:  # pragma: no cover - the extra is installed in the tests
        raise DataFileError(
            "XML needs defusedxml: pip install 'bookslot-factories[xml]'", path="<xml>"
        ) from None
    return expatreader.create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)


class _Frame:
    """An open element inside a record: a mapping, a list or a leaf's text."""

    __slots__ = ("kind", "path", "text", "value")

    def __init__(self, kind: str, path: str, value: Any = None) -> None:
        self.kind, self.path, self.value = kind, path, value
        self.text: list[str] = []


def read(file: IO[bytes], name: str, layout: Layout = PAYLOADS) -> Records:
    """Read the records of a file of ``layout`` as a stream, nested as the layout says."""
    import xml.sax
    from xml.sax.handler import ContentHandler

    import defusedxml

    parser = _parser()
    root, record_tag, types = layout.root, layout.record, layout.types
    groups = layout.groups
    done: list[tuple[int, int | None, dict[Any, Any], Mapping[str, int]]] = []
    # depth 1: the root; 2: a record; deeper: the record's open elements.
    state: dict[str, Any] = {"depth": 0, "number": 0, "line": None}
    stack: list[_Frame] = []

    def fail(message: str, field: str | None = None) -> DataFileError:
        number = state["number"] if state["depth"] >= 2 else None
        return DataFileError(
            message, path=name, record=number, line=parser.getLineNumber(), field=field
        )

    def child(parent: _Frame, tag: str) -> _Frame:
        if parent.kind == "list":
            path = f"{parent.path}.{len(parent.value)}"
            if tag != item_name(parent.path.rsplit(".", 1)[-1]):
                raise fail(
                    f"field {parent.path!r} holds the element <{excerpt(tag)}>; expected "
                    f"<{item_name(parent.path.rsplit('.', 1)[-1])}> items",
                    parent.path,
                )
            return _Frame("str", path)
        if parent.kind != "map":
            raise fail(
                f"field {parent.path!r} holds the element <{excerpt(tag)}>; expected text",
                parent.path,
            )
        path = f"{parent.path}.{tag}" if parent.path else tag
        if tag in parent.value:
            raise fail(f"element <{tag}> appears twice; expected each field once", path)
        if not types:
            return _Frame("str", path)
        if path in groups:
            return _Frame("map", path, {})
        kind = types.get(path)
        if kind is None:
            where = f"in {parent.path!r}" if parent.path else f"in <{record_tag}>"
            raise fail(f"the element <{excerpt(tag)}> {where} is not a field", path)
        return _Frame(kind, path, [] if kind == "list" else None)

    class Handler(ContentHandler):
        def startElement(self, tag: str, attrs: Any) -> None:
            depth = state["depth"] = state["depth"] + 1
            if depth == 1 and tag != root:
                raise fail(f"the root element is <{excerpt(tag)}>; expected <{root}>")
            if depth == 2:
                state["number"] += 1
                if tag != record_tag:
                    raise fail(f"is the element <{excerpt(tag)}>; expected <{record_tag}>")
                stack[:] = [_Frame("map", "", {})]
                state["lines"] = {}
                state["line"] = parser.getLineNumber()
            elif depth > 2:
                frame = child(stack[-1], tag)
                state["lines"].setdefault(frame.path, parser.getLineNumber())
                stack.append(frame)
            if len(attrs):
                raise fail(f"the element <{excerpt(tag)}> has attributes; expected none")

        def endElement(self, tag: str) -> None:
            depth = state["depth"]
            state["depth"] = depth - 1
            if depth > 2:
                frame = stack.pop()
                parent = stack[-1]
                if frame.kind == "map" or frame.kind == "list":
                    value = frame.value
                else:
                    value = _typed("".join(frame.text), frame.kind)
                if parent.kind == "list":
                    parent.value.append(value)
                else:
                    parent.value[tag] = value
            elif depth == 2:
                done.append((state["number"], state["line"], stack[0].value, state["lines"]))

        def characters(self, content: str) -> None:
            frame = stack[-1] if state["depth"] > 2 else None
            if frame is not None and frame.kind not in ("map", "list"):
                frame.text.append(content)
            elif content.strip(" \t\r\n"):
                where = frame.path or None if frame is not None else None
                raise fail(f"holds the text {excerpt(content.strip())} outside of a field", where)

    parser.setContentHandler(Handler())
    seen = False
    try:
        while True:
            chunk = file.read(_CHUNK)
            if not chunk:
                break
            seen = seen or bool(chunk.strip())
            parser.feed(chunk)
            yield from done
            done.clear()
        if not seen:
            raise DataFileError(
                f"is empty; expected <{root}> with <{record_tag}> elements", path=name
            )
        parser.close()
        yield from done
    except defusedxml.DefusedXmlException as exc:
        kind = type(exc).__name__.replace("Forbidden", "").lower() or "construct"
        raise fail(
            f"holds a forbidden XML {kind} ({excerpt(str(exc), 60)}); no DTDs, "
            "entities or external references are allowed"
        ) from None
    except LookupError as exc:
        # expat asks Python for the codec an XML declaration names: an unknown one
        # surfaces as the codec registry's LookupError.
        raise DataFileError(
            f"is not valid XML: {excerpt(str(exc), 60)}; save the file as UTF-8",
            path=name,
            line=parser.getLineNumber(),
        ) from None
    except xml.sax.SAXParseException as exc:
        raise DataFileError(
            f"is not valid XML: {exc.getMessage()} (column {(exc.getColumnNumber() or 0) + 1})",
            path=name,
            record=state["number"] if state["depth"] >= 2 else None,
            line=exc.getLineNumber(),
        ) from None
