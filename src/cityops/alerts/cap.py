"""Public CAP 1.2 messages and their Atom feed for alerts marked public."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from cityops.alerts.models import Alert
from cityops.alerts.vocab import ACTIVE_STATES, CAP_SEVERITY

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SENDER = "ioc.daklak.gov.vn"


def _time(value: datetime) -> str:
    # CAP forbids the "Z" form: it wants an explicit offset, e.g. 2026-03-01T08:00:00+07:00.
    return value.astimezone(LOCAL).replace(microsecond=0).isoformat()


def _sub(parent: ET.Element, tag: str, text: str | None, ns: str = CAP_NS) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        element.text = text
    return element


def first_identifier(alert: Alert) -> str:
    return f"{SENDER}.alert.{alert.id}"


def identifier(alert: Alert) -> str:
    """The first message keeps the plain id; each later version adds its update time."""
    if alert.updated_at <= alert.raised_at:
        return first_identifier(alert)
    return f"{first_identifier(alert)}.{int(alert.updated_at.timestamp())}"


def cap_message(alert: Alert, base_url: str) -> ET.Element:
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", identifier(alert))
    _sub(root, "sender", SENDER)
    _sub(root, "sent", _time(alert.updated_at))
    _sub(root, "status", "Actual")
    msg_type = "Alert" if identifier(alert) == first_identifier(alert) else "Update"
    if alert.status not in ACTIVE_STATES:
        msg_type = "Cancel"
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", "Public")
    if msg_type != "Alert":
        # CAP links updates and cancellations to the message they replace.
        _sub(root, "references", f"{SENDER},{first_identifier(alert)},{_time(alert.raised_at)}")
    for language, headline, description in (
            ("vi-VN", alert.title, alert.description),
            ("en-US", alert.title_en, alert.description_en)):
        if not headline:
            continue
        info = _sub(root, "info", None)
        _sub(info, "language", language)
        _sub(info, "category", alert.category)
        _sub(info, "event", alert.service)
        _sub(info, "urgency", alert.urgency)
        _sub(info, "severity", CAP_SEVERITY[alert.severity])
        _sub(info, "certainty", alert.certainty)
        _sub(info, "effective", _time(alert.raised_at))
        _sub(info, "senderName", "Trung tâm Giám sát, điều hành đô thị thông minh tỉnh Đắk Lắk")
        _sub(info, "headline", headline)
        if description:
            _sub(info, "description", description)
        _sub(info, "web", f"{base_url}/cap/alerts/{alert.id}.xml")
        if alert.area is not None or alert.lat is not None:
            area = _sub(info, "area", None)
            _sub(area, "areaDesc", alert.area.name if alert.area else "Đắk Lắk")
            if alert.lat is not None:
                _sub(area, "circle", f"{alert.lat:.5f},{alert.lon:.5f} 0.5")
            if alert.area is not None:
                geocode = _sub(area, "geocode", None)
                _sub(geocode, "valueName", "GSO")
                _sub(geocode, "value", alert.area.code)
    return root


def cap_xml(alert: Alert, base_url: str) -> bytes:
    ET.register_namespace("", CAP_NS)
    return ET.tostring(cap_message(alert, base_url), encoding="utf-8", xml_declaration=True)


def atom_feed(alerts: list[Alert], base_url: str, now: datetime) -> bytes:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(feed, "id", f"{base_url}/cap/alerts.atom", ATOM_NS)
    _sub(feed, "title", "Cảnh báo công khai — Đắk Lắk IOC / Public alerts", ATOM_NS)
    updated = max((a.updated_at for a in alerts), default=now)
    _sub(feed, "updated", _time(updated), ATOM_NS)
    author = _sub(feed, "author", None, ATOM_NS)
    _sub(author, "name", "Đắk Lắk IOC", ATOM_NS)
    link = _sub(feed, "link", None, ATOM_NS)
    link.set("rel", "self")
    link.set("href", f"{base_url}/cap/alerts.atom")
    for alert in alerts:
        entry = _sub(feed, "entry", None, ATOM_NS)
        _sub(entry, "id", f"urn:cityops:alert:{alert.id}", ATOM_NS)
        _sub(entry, "title", alert.title, ATOM_NS)
        _sub(entry, "updated", _time(alert.updated_at), ATOM_NS)
        _sub(entry, "summary", alert.description or alert.title, ATOM_NS)
        cap_link = _sub(entry, "link", None, ATOM_NS)
        cap_link.set("rel", "alternate")
        cap_link.set("type", "application/cap+xml")
        cap_link.set("href", f"{base_url}/cap/alerts/{alert.id}.xml")
        category = _sub(entry, "category", None, ATOM_NS)
        category.set("term", alert.category)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
