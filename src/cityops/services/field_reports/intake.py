"""Intake: validate a new report, place and route it, start its SLA clock and timeline.

Used by the staff/mobile JSON API, hotline call-takers, Open311 and (later) the portal.
Nothing is written unless every check passes; the caller commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityops.kernel.calendar import WorkingCalendar, load_calendar
from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.orgs import area_by_code
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports.models import Ban, Category, Report
from cityops.services.field_reports.routing import locate_area, route
from cityops.services.field_reports.sla import due_for
from cityops.services.field_reports.timeline import add_entry
from cityops.services.field_reports.vocab import CHANNELS, PRIORITIES

# No 0/O, 1/I/L: codes are read aloud on the hotline and typed from paper.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MAX_DESCRIPTION = 4000
PHONE_RE = re.compile(r"^\+?[0-9]{8,15}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def new_tracking_code() -> str:
    """``XXXX-XXXX`` from 31 symbols: 31^8 ≈ 8.5·10^11 codes, drawn by a CSPRNG."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str:
    """Accept codes typed in lower case, with spaces or without the hyphen."""
    raw = re.sub(r"[\s-]", "", code).upper()
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else raw


def normalize_phone(phone: str) -> str:
    return re.sub(r"[\s.()-]", "", phone.strip())


@dataclass
class IntakeRequest:
    """What a citizen (or someone on their behalf) reports."""

    category_code: str
    channel: str
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    area_code: str | None = None  # when the citizen types a commune instead of a point
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    show_name: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    priority: str = "normal"
    client_addr: str = ""
    # Open311 and other integrators may send a report without any contact.
    contact_required: bool = True


def category_by_code(session: Session, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code))
    if category is None or not category.active:
        raise NotFound(f"no active category with code {code!r}")
    return category


def _check_contact(req: IntakeRequest) -> None:
    req.contact_phone = normalize_phone(req.contact_phone)
    req.contact_email = req.contact_email.strip().lower()
    req.contact_name = req.contact_name.strip()[:200]
    if req.contact_phone and not PHONE_RE.match(req.contact_phone):
        raise Invalid("the phone number must have 8 to 15 digits")
    if req.contact_email and (len(req.contact_email) > 200 or
                              not EMAIL_RE.match(req.contact_email)):
        raise Invalid("the e-mail address is not valid")
    if req.contact_required and not (req.contact_phone or req.contact_email):
        raise Invalid("give a phone number or an e-mail address so we can reply")
    if req.show_name and not req.contact_name:
        raise Invalid("give a name to show it publicly, or choose not to show it")


def _check_attributes(category: Category, answers: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    known = {q["code"]: q for q in category.questions}
    for code in answers:
        if code not in known:
            raise Invalid(f"category {category.code!r} has no question {code!r}")
    for question in category.questions:
        code, value = question["code"], answers.get(question["code"])
        if value in (None, "", []):
            if question.get("required"):
                raise Invalid(f"the question {code!r} needs an answer")
            continue
        allowed = {str(v["key"]) for v in question.get("values") or []}
        datatype = question.get("datatype", "string")
        if datatype == "singlevaluelist" and str(value) not in allowed:
            raise Invalid(f"{code!r} must be one of: {', '.join(sorted(allowed))}")
        if datatype == "multivaluelist":
            values = value if isinstance(value, list) else [value]
            if not set(map(str, values)) <= allowed:
                raise Invalid(f"{code!r} takes values among: {', '.join(sorted(allowed))}")
            value = [str(v) for v in values]
        if datatype == "number":
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise Invalid(f"{code!r} must be a number") from None
        if isinstance(value, str) and len(value) > 1000:
            raise Invalid(f"the answer to {code!r} is too long (at most 1,000 characters)")
        kept[code] = value
    return kept


def check_bans(session: Session, req: IntakeRequest, now: datetime) -> None:
    pairs = [("phone", req.contact_phone), ("email", req.contact_email),
             ("ip", req.client_addr)]
    conditions = [(Ban.kind == kind) & (Ban.value == value) for kind, value in pairs if value]
    if not conditions:
        return
    bans = session.scalars(select(Ban).where(or_(*conditions))).all()
    if any(ban.until is None or ban.until > now for ban in bans):
        raise Invalid("reports from this contact or address are not accepted; call 1022")


def create_report(uow: UnitOfWork, req: IntakeRequest, *, now: datetime,
                  calendar: WorkingCalendar | None = None) -> Report:
    """Validate, route and store a new report in state ``received``; returns it (flushed)."""
    session = uow.session
    if req.channel not in CHANNELS:
        raise Invalid(f"channel must be one of: {', '.join(CHANNELS)}")
    if req.priority not in PRIORITIES:
        raise Invalid(f"priority must be one of: {', '.join(PRIORITIES)}")
    category = category_by_code(session, req.category_code)
    description = req.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid("the description has at most 4,000 characters")
    if not description and req.contact_required:
        raise Invalid("describe the problem")
    _check_contact(req)
    attributes = _check_attributes(category, req.attributes)
    check_bans(session, req, now)
    area = _place(session, req)
    decision = route(session, category, area)
    calendar = calendar or load_calendar(session)
    principal = uow.principal
    report = Report(
        code=_unique_code(session), category=category, lat=req.lat, lon=req.lon, area=area,
        address=req.address.strip()[:500], description=description, attributes=attributes,
        channel=req.channel, contact_name=req.contact_name, contact_phone=req.contact_phone,
        contact_email=req.contact_email, show_name=req.show_name,
        recorded_by="" if principal.label == "system" else principal.label,
        client_addr=req.client_addr[:64], state="received", priority=req.priority,
        lead_agency=decision.lead, due_at=due_for(calendar, now, category.sla_working_days),
        created_at=now, updated_at=now)
    report.supporting = decision.supporting
    session.add(report)
    add_entry(report, "created", uow, now, to_state="received", public=True,
              data={"channel": req.channel, "routed_to": decision.lead.code if decision.lead
                    else None, "rule_id": decision.rule_id})
    session.flush()
    uow.emit("field_report.created", report_id=report.id, code=report.code)
    return report


def _place(session: Session, req: IntakeRequest) -> Any:
    if (req.lat is None) != (req.lon is None):
        raise Invalid("give both lat and lon, or neither")
    if req.lat is not None and req.lon is not None:
        if not (-90 <= req.lat <= 90 and -180 <= req.lon <= 180):
            raise Invalid("lat/lon are not WGS 84 coordinates")
        area = locate_area(session, req.lat, req.lon)
        if area is None:
            raise Invalid("the point is outside Đắk Lắk province")
        return area
    if req.area_code:
        area = area_by_code(session, req.area_code)
        if area is None or area.level != "commune":
            raise Invalid(f"no commune with code {req.area_code!r}")
        return area
    if req.address.strip():
        return None  # the IOC places it by hand from the address
    raise Invalid("give a location: a point (lat and lon), a commune or an address")


def _unique_code(session: Session) -> str:
    for _ in range(10):
        code = new_tracking_code()
        if session.scalar(select(Report.id).where(Report.code == code)) is None:
            return code
    raise RuntimeError("could not draw an unused tracking code")  # pragma: no cover
