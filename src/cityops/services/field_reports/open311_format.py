"""Open311 GeoReport v2 output: the same data as JSON (Spark convention) or XML, and the
spec's error list. Nothing here reads the database."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import Response

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")
# XML element of one item of each list-valued field.
ITEM_NAMES = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
              "formats": "format"}


class Open311Error(Exception):
    """Answered as ``[{code, description}]`` with HTTP 400, 403 or 404."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any, name: str) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child, key)
    elif isinstance(value, list):
        item_name = ITEM_NAMES.get(name, "item")
        for child in value:
            _fill(ET.SubElement(element, item_name), child, item_name)
    else:
        element.text = _text(value)


def to_xml(root: str, item: str | None, data: Any) -> bytes:
    """``root`` wraps a list of ``item`` elements, or is the object itself (item None)."""
    element = ET.Element(root)
    if item is None:
        _fill(element, data, root)
    else:
        for entry in data:
            _fill(ET.SubElement(element, item), entry, item)
    body = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def respond(fmt: str, root: str, item: str | None, data: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, item, data), status_code=status, media_type=XML_TYPE)
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type=JSON_TYPE)


def error_response(fmt: str, status: int, description: str) -> Response:
    errors = [{"code": status, "description": description}]
    return respond(fmt if fmt in FORMATS else "xml", "errors", "error", errors, status)
