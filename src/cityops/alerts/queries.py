"""Read side of the alert center: filtered, scoped lists and API shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import selectinload

from cityops.alerts.models import Alert
from cityops.alerts.schemas import AlertDetail, AlertOut, EventOut, TicketFileOut
from cityops.alerts.vocab import SEVERITY_RANK, allowed_targets
from cityops.kernel.auth import User
from cityops.kernel.orgs import Agency, Area
from cityops.kernel.permissions import Principal, scope_to_agencies
from cityops.kernel.text import fold

# Severity sorts by rank (critical highest), not alphabetically.
_SEVERITY = case(SEVERITY_RANK, value=Alert.severity)
SORTS: dict[str, tuple[Any, ...]] = {
    "-raised_at": (Alert.raised_at.desc(),),
    "raised_at": (Alert.raised_at.asc(),),
    "-updated_at": (Alert.updated_at.desc(),),
    "updated_at": (Alert.updated_at.asc(),),
    "-severity": (_SEVERITY.desc(), Alert.raised_at.desc()),
    "severity": (_SEVERITY.asc(), Alert.raised_at.desc()),
}


@dataclass
class AlertFilter:
    service: str | None = None
    severity: list[str] | None = None
    status: list[str] | None = None
    agency: str | None = None
    area: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    is_ticket: bool | None = None
    is_public: bool | None = None
    q: str | None = None
    after_id: int | None = None


def alert_query(principal: Principal, flt: AlertFilter, sort: str = "-raised_at") -> Select[Any]:
    stmt = select(Alert).options(selectinload(Alert.agency), selectinload(Alert.area))
    stmt = scope_to_agencies(stmt, principal, Alert.agency_id)
    if flt.service:
        stmt = stmt.where(Alert.service == flt.service)
    if flt.severity:
        stmt = stmt.where(Alert.severity.in_(flt.severity))
    if flt.status:
        stmt = stmt.where(Alert.status.in_(flt.status))
    if flt.agency:
        stmt = stmt.where(Alert.agency_id.in_(select(Agency.id).where(Agency.code == flt.agency)))
    if flt.area:
        stmt = stmt.where(Alert.area_id.in_(select(Area.id).where(Area.code == flt.area)))
    if flt.since:
        stmt = stmt.where(Alert.raised_at >= flt.since)
    if flt.until:
        stmt = stmt.where(Alert.raised_at < flt.until)
    if flt.is_ticket is not None:
        stmt = stmt.where(Alert.is_ticket == flt.is_ticket)
    if flt.is_public is not None:
        stmt = stmt.where(Alert.is_public == flt.is_public)
    if flt.after_id is not None:
        stmt = stmt.where(Alert.id > flt.after_id)
    if flt.q:
        stmt = stmt.where(or_(Alert.search_text.contains(fold(flt.q), autoescape=True),
                              Alert.dedupe_key == flt.q.strip()))
    return stmt.order_by(*SORTS.get(sort, SORTS["-raised_at"]), Alert.id.desc())


def _username(session: Any, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.username if user else None


def alert_out(session: Any, alert: Alert) -> AlertOut:
    return AlertOut(
        id=alert.id, service=alert.service, dedupe_key=alert.dedupe_key,
        source_key=alert.source_key, title=alert.title, title_en=alert.title_en,
        category=alert.category, severity=alert.severity, urgency=alert.urgency,
        certainty=alert.certainty, status=alert.status, lat=alert.lat, lon=alert.lon,
        area_code=alert.area.code if alert.area else None,
        area_name=alert.area.name if alert.area else None,
        agency_code=alert.agency.code if alert.agency else None,
        assignee=_username(session, alert.assignee_id), tags=list(alert.tags or []),
        is_public=alert.is_public, is_ticket=alert.is_ticket, silenced=alert.silenced,
        occurrences=alert.occurrences, incident_id=alert.incident_id,
        raised_at=alert.raised_at, last_seen_at=alert.last_seen_at,
        acknowledged_at=alert.acknowledged_at, resolved_at=alert.resolved_at,
        closed_at=alert.closed_at, ack_due_at=alert.ack_due_at,
        resolve_due_at=alert.resolve_due_at, escalation_level=alert.escalation_level,
        ticket_due_at=alert.ticket_due_at, ticket_checked_at=alert.ticket_checked_at,
        ticket_answered_at=alert.ticket_answered_at,
    )


def alert_detail(session: Any, alert: Alert) -> AlertDetail:
    base = alert_out(session, alert).model_dump()
    return AlertDetail(
        **base, description=alert.description, description_en=alert.description_en,
        links=list(alert.links or []), ticket_response=alert.ticket_response,
        ticket_attachment=alert.ticket_attachment,
        ticket_file=TicketFileOut(
            name=alert.ticket_file_name, content_type=alert.ticket_file_type,
            size=alert.ticket_file_size, sha256=alert.ticket_file_sha256,
            url=f"/api/v1/alerts/{alert.id}/ticket/file") if alert.ticket_file_path else None,
        allowed_transitions=allowed_targets(alert.status),
        timeline=[EventOut(at=e.at, kind=e.kind, actor=e.actor, from_state=e.from_state,
                           to_state=e.to_state, text=e.text, data=e.data or {})
                  for e in alert.events],
    )
