"""Open311 GeoReport v2 data: services, requests and updates as plain dicts (public fields
only: see public.py), and the writes integrators may make."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityops.kernel.errors import Invalid, NotFound
from cityops.kernel.uow import UnitOfWork
from cityops.services.field_reports import staff_tools, workflow
from cityops.services.field_reports.access import covers
from cityops.services.field_reports.intake import IntakeRequest, create_report, normalize_code
from cityops.services.field_reports.models import Category, Report, TimelineEntry
from cityops.services.field_reports.open311_format import Open311Error
from cityops.services.field_reports.public import is_public, local_iso, public_reports
from cityops.services.field_reports.vocab import (
    CLOSED_STATES,
    OPEN311_EXTENDED_STATUS,
    OPEN_STATES,
    open311_status,
)

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29T00:00:00+07:00"
MAX_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
HTML_RE = re.compile(r"<\s*[a-zA-Z/!?]")
ATTRIBUTE_RE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
PUBLIC_UPDATE_KINDS = ("state", "assign", "transfer", "reopen", "update", "approval")


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": "Trung tâm IOC tỉnh Đắk Lắk — ioc@daklak.gov.vn — đường dây nóng 1022",
        "key_service": "Xin khóa API tích hợp (api_key) từ quản trị IOC: ioc@daklak.gov.vn",
        "endpoints": [{"specification": SPEC_URL, "url": f"{base_url.rstrip('/')}/open311/v2",
                       "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }


def _categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).where(Category.active.is_(True))
                                .order_by(Category.code)))


def services(session: Session) -> list[dict[str, Any]]:
    return [{
        "service_code": c.code, "service_name": c.name_vi, "description": c.name_en,
        "metadata": bool(c.questions), "type": "realtime",
        "keywords": ",".join(filter(None, [c.keywords, "private" if c.is_private else ""]))
        or None,
        "group": c.group or None,
    } for c in _categories(session)]


def _category(session: Session, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code,
                                                     Category.active.is_(True)))
    if category is None:
        raise Open311Error(404, f"unknown service_code {code!r}")
    return category


def definition(session: Session, code: str) -> dict[str, Any]:
    category = _category(session, code)
    return {"service_code": category.code, "attributes": [{
        "variable": True, "code": q["code"], "datatype": q.get("datatype", "string"),
        "required": bool(q.get("required")), "datatype_description": None, "order": i,
        "description": q.get("description_vi") or q.get("description_en"),
        "values": [{"key": str(v["key"]), "name": v.get("name_vi") or v.get("name_en", "")}
                   for v in q.get("values") or []],
    } for i, q in enumerate(category.questions, start=1)]}


def _media_url(report: Report, base_url: str) -> str | None:
    """The citizen's first visible photo, served by the portal's public photo route."""
    photo = next((m for m in report.media if m.kind == "before" and not m.hidden), None)
    return f"{base_url}/phan-anh/anh/{photo.stored_name}" if photo else None


def _base(session: Session) -> str:
    return str(session.info.get("base_url", "")).rstrip("/")


def request_item(report: Report, base_url: str = "") -> dict[str, Any]:
    closed = report.state in CLOSED_STATES
    return {
        "service_request_id": report.code,
        "status": open311_status(report.state),
        "status_notes": report.state_reason or None,
        "service_name": report.category.name_vi,
        "service_code": report.category.code,
        "description": report.description or None,
        "agency_responsible": report.lead_agency.name if report.lead_agency else None,
        "service_notice": report.category.notice_vi or None,
        "requested_datetime": local_iso(report.created_at),
        "updated_datetime": local_iso((report.closed_at or report.resolved_at) if closed
                                      and (report.closed_at or report.resolved_at)
                                      else report.updated_at),
        "expected_datetime": local_iso(report.due_at),
        "address": report.address or (report.area.name if report.area else None),
        "address_id": None,
        "zipcode": None,
        "lat": report.lat,
        "long": report.lon,
        "media_url": _media_url(report, base_url),
    }


def one_request(session: Session, request_id: str) -> dict[str, Any]:
    report = session.scalar(select(Report).where(Report.code == normalize_code(request_id)))
    if report is None or not is_public(report):
        raise Open311Error(404, f"unknown service_request_id {request_id!r}")
    return request_item(report, _base(session))


def token(session: Session, value: str) -> list[dict[str, Any]]:
    # Our services are realtime: the tracking code is both the id and the token.
    item = one_request(session, value)
    return [{"service_request_id": item["service_request_id"],
             "token": item["service_request_id"]}]


def _when(params: dict[str, Any], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    # An unescaped "+07:00" in a query string arrives as " 07:00": accept it as meant.
    text = re.sub(r" (\d\d:\d\d)$", r"+\1", str(raw).strip()).replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} must carry a time zone (Z or ±hh:mm)")
    return value


def _window(params: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    start, end = _when(params, "start_date"), _when(params, "end_date")
    end = end or (start + MAX_WINDOW if start else now)
    start = start or end - MAX_WINDOW
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > MAX_WINDOW:
        raise Open311Error(400, "the date range may span at most 90 days")
    return start, end


def _paging(params: dict[str, Any]) -> tuple[int, int]:
    try:
        page = int(params.get("page", 1))
        size = int(params.get("page_size", MAX_RESULTS))
    except ValueError:
        raise Open311Error(400, "page and page_size must be whole numbers") from None
    if page < 1 or not 1 <= size <= MAX_RESULTS:
        raise Open311Error(400, "page must be ≥ 1 and page_size between 1 and 1000")
    return page, size


def _csv(params: dict[str, Any], name: str) -> list[str]:
    return [v.strip() for v in str(params.get(name, "")).split(",") if v.strip()]


def find_requests(session: Session, params: dict[str, Any], *,
                  now: datetime) -> list[dict[str, Any]]:
    page, size = _paging(params)
    stmt = public_reports()
    ids = _csv(params, "service_request_id")
    if ids:  # the spec: with ids, every other filter is ignored
        stmt = stmt.where(Report.code.in_([normalize_code(i) for i in ids]))
    else:
        codes = _csv(params, "service_code")
        if codes:
            stmt = stmt.where(Category.code.in_(codes))
        statuses = set(_csv(params, "status"))
        if not statuses <= {"open", "closed"}:
            raise Open311Error(400, "status must be open, closed or open,closed")
        if statuses == {"open"}:
            stmt = stmt.where(Report.state.in_(OPEN_STATES))
        elif statuses == {"closed"}:
            stmt = stmt.where(Report.state.in_(CLOSED_STATES))
        start, end = _window(params, now)
        stmt = stmt.where(Report.created_at >= start, Report.created_at <= end)
    rows = session.scalars(stmt.order_by(Report.created_at.desc(), Report.id.desc())
                           .limit(size).offset((page - 1) * size)).all()
    return [request_item(r, _base(session)) for r in rows]


def _attributes(params: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for key, value in params.items():
        found = ATTRIBUTE_RE.match(key)
        if found:
            answers[found.group(1)] = value
    return answers


def create_request(uow: UnitOfWork, params: dict[str, Any], *, now: datetime,
                   client_addr: str = "") -> list[dict[str, Any]]:
    code = params.get("service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    category = _category(uow.session, str(code))
    lat, lon = params.get("lat"), params.get("long")
    address = str(params.get("address_string") or params.get("address_id") or "")
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long must be given together")
    if lat is None and not address:
        raise Open311Error(400, "a location is required: lat and long, address_string "
                                "or address_id")
    try:
        lat_f = float(lat) if lat is not None else None
        lon_f = float(lon) if lon is not None else None
    except ValueError:
        raise Open311Error(400, "lat and long must be numbers") from None
    description = str(params.get("description", ""))
    if HTML_RE.search(description):
        raise Open311Error(400, "description must be plain text, without HTML")
    name = " ".join(str(params.get(k, "")).strip() for k in ("first_name", "last_name")).strip()
    report = create_report(uow, IntakeRequest(
        category_code=category.code, channel="open311", description=description,
        lat=lat_f, lon=lon_f, address=address, contact_name=name,
        contact_phone=str(params.get("phone", "")), contact_email=str(params.get("email", "")),
        attributes=_attributes(params), contact_required=False, client_addr=client_addr,
    ), now=now)
    return [{"service_request_id": report.code, "service_notice": category.notice_vi or None,
             "account_id": None}]


def update_item(entry: TimelineEntry, report: Report) -> dict[str, Any]:
    state = entry.to_state or report.state
    return {"update_id": str(entry.id), "service_request_id": report.code,
            "status": OPEN311_EXTENDED_STATUS.get(state, "OPEN"),
            "updated_datetime": local_iso(entry.at), "description": entry.text or None,
            "media_url": None}


def find_updates(session: Session, params: dict[str, Any], *,
                 now: datetime) -> list[dict[str, Any]]:
    page, size = _paging(params)
    public_ids = public_reports().with_only_columns(Report.id)
    stmt = (select(TimelineEntry).where(
        TimelineEntry.public.is_(True), TimelineEntry.kind.in_(PUBLIC_UPDATE_KINDS),
        TimelineEntry.report_id.in_(public_ids)).order_by(TimelineEntry.at, TimelineEntry.id))
    ids = _csv(params, "service_request_id")
    if ids:  # as for GET requests: named requests get their whole history
        stmt = stmt.where(TimelineEntry.report_id.in_(
            select(Report.id).where(Report.code.in_([normalize_code(i) for i in ids]))))
    else:
        start, end = _window(params, now)
        stmt = stmt.where(TimelineEntry.at >= start, TimelineEntry.at <= end)
    rows = session.scalars(stmt.limit(size).offset((page - 1) * size)).all()
    return [update_item(e, e.report) for e in rows]


def post_update(uow: UnitOfWork, params: dict[str, Any], *,
                now: datetime) -> list[dict[str, Any]]:
    """An integrator (e.g. the water company's system) reports progress on its report."""
    code = params.get("service_request_id")
    description = str(params.get("description", "")).strip()
    if not code:
        raise Open311Error(400, "service_request_id is required")
    if not description:
        raise Open311Error(400, "description is required")
    if HTML_RE.search(description):
        raise Open311Error(400, "description must be plain text, without HTML")
    report = uow.session.scalar(select(Report).where(Report.code == normalize_code(str(code))))
    if report is None:
        raise Open311Error(404, f"unknown service_request_id {code!r}")
    if not covers(uow.principal, report, supporting_ok=False):
        raise Open311Error(403, "this report is handled by another agency")
    status = str(params.get("status", "")).upper()
    if status == "FIXED":
        workflow.transition(uow, report.id, "resolved", now=now, reason=description)
    elif status == "IN_PROGRESS" and report.state != "in_progress":
        workflow.transition(uow, report.id, "in_progress", now=now, public_text=description)
    elif status and status not in OPEN311_EXTENDED_STATUS.values():
        raise Invalid(f"unknown status {status!r}")
    else:
        staff_tools.add_note(uow, report.id, description, public=True, now=now)
    uow.session.flush()
    latest = uow.session.scalar(select(func.max(TimelineEntry.id))
                                .where(TimelineEntry.report_id == report.id))
    if latest is None:
        raise NotFound("the update was not recorded")  # pragma: no cover
    return [{"update_id": str(latest)}]
