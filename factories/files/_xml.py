"""XML: ``<bookslot_payloads><payload><first_name>...</first_name>...</payload>...``.

Written a block at a time; read as a stream with defusedxml's expat reader, so no
DTD, no entity and no external reference is ever processed (a billion-laughs or an
XXE file fails at its first line). Values are element text; a carriage return is
written as ``&#13;`` so that it survives XML's line-end normalization.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import IO, Any

from ..errors import DataFileError, excerpt
from ._io import Records

__all__ = ["begin", "encode", "end", "read"]

ROOT = "bookslot_payloads"
RECORD = "payload"
_CHUNK = 65_536
# Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


def _escape(text: str) -> str:
    found = _NOT_XML.search(text)
    if found:
        raise ValueError(f"{excerpt(text)} holds U+{ord(found.group()):04X}, which XML cannot hold")
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def begin(fields: Sequence[str]) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{ROOT}>\n'.encode()


def end(any_records: bool) -> bytes:
    return f"</{ROOT}>\n".encode()


def encode(records: Sequence[Mapping[str, str]], first: bool) -> bytes:
    parts = []
    for record in records:
        parts.append(f"  <{RECORD}>\n")
        for key, value in record.items():
            if not _NAME.match(key) or key.lower().startswith("xml"):
                raise ValueError(f"the field name {excerpt(key)} is not an XML element name")
            parts.append(f"    <{key}>{_escape(value)}</{key}>\n")
        parts.append(f"  </{RECORD}>\n")
    return "".join(parts).encode("utf-8")


def _parser() -> Any:
    try:
        from defusedxml import expatreader
    except ImportError:  # pragma: no cover - the extra is installed in the tests
        raise DataFileError(
            "XML needs defusedxml: pip install 'bookslot-factories[xml]'", path="<xml>"
        ) from None
    return expatreader.create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)


def read(file: IO[bytes], name: str) -> Records:
    import xml.sax
    from xml.sax.handler import ContentHandler

    import defusedxml

    parser = _parser()
    done: list[tuple[int, int | None, dict[Any, Any], Mapping[str, int]]] = []
    state: dict[str, Any] = {"depth": 0, "number": 0, "record": None, "field": None}

    def fail(message: str, field: str | None = None) -> DataFileError:
        number = state["number"] if state["depth"] >= 2 else None
        return DataFileError(
            message, path=name, record=number, line=parser.getLineNumber(), field=field
        )

    class Handler(ContentHandler):
        def startElement(self, tag: str, attrs: Any) -> None:
            depth = state["depth"] = state["depth"] + 1
            if depth == 1 and tag != ROOT:
                raise fail(f"the root element is <{excerpt(tag)}>; expected <{ROOT}>")
            if depth == 2:
                state["number"] += 1
                if tag != RECORD:
                    raise fail(f"is the element <{excerpt(tag)}>; expected <{RECORD}>")
                state["record"], state["lines"] = {}, {}
                state["line"] = parser.getLineNumber()
            elif depth == 3:
                if tag in state["record"]:
                    raise fail(f"element <{tag}> appears twice; expected each field once", tag)
                state["field"], state["text"] = tag, []
                state["lines"][tag] = parser.getLineNumber()
            elif depth > 3:
                raise fail(
                    f"field {state['field']!r} holds the element <{excerpt(tag)}>; expected text",
                    state["field"],
                )
            if len(attrs):
                raise fail(f"the element <{excerpt(tag)}> has attributes; expected none")

        def endElement(self, tag: str) -> None:
            depth = state["depth"]
            state["depth"] = depth - 1
            if depth == 3:
                state["record"][tag] = "".join(state["text"])
                state["field"] = None
            elif depth == 2:
                done.append((state["number"], state["line"], state["record"], state["lines"]))

        def characters(self, content: str) -> None:
            if state["field"] is not None:
                state["text"].append(content)
            elif content.strip(" \t\r\n"):
                raise fail(f"holds the text {excerpt(content.strip())} outside of a field")

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
            raise DataFileError(f"is empty; expected <{ROOT}> with <{RECORD}> elements", path=name)
        parser.close()
        yield from done
    except defusedxml.DefusedXmlException as exc:
        kind = type(exc).__name__.replace("Forbidden", "").lower() or "construct"
        raise fail(
            f"holds a forbidden XML {kind} ({excerpt(str(exc), 60)}); no DTDs, "
            "entities or external references are allowed"
        ) from None
    except xml.sax.SAXParseException as exc:
        raise DataFileError(
            f"is not valid XML: {exc.getMessage()} (column {(exc.getColumnNumber() or 0) + 1})",
            path=name,
            record=state["number"] if state["depth"] >= 2 else None,
            line=exc.getLineNumber(),
        ) from None
