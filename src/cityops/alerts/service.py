"""The alert center's service layer: raise, clear, transition, comment, assign, tickets.

Every function takes a :class:`UnitOfWork` (its principal is the actor) and an explicit
``now`` so that SLA and escalation can be tested with a controllable clock. Functions do not
commit; the caller does, so a request is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.alerts import escalation, notifications
from cityops.alerts.models import Alert, AlertEvent, Silence
from cityops.alerts.sla import deadline, policy_for
from cityops.alerts.vocab import (
    ACTIVE_STATES,
    CAP_CATEGORIES,
    CERTAINTIES,
    SEVERITIES,
    SEVERITY_RANK,
    TRANSITIONS,
    URGENCIES,
    allowed_targets,
)
from cityops.kernel.auth import User
from cityops.kernel.calendar import WorkingCalendar, load_calendar
from cityops.kernel.errors import Conflict, Invalid, NotFound
from cityops.kernel.orgs import agency_by_code, area_by_code
from cityops.kernel.permissions import authorize
from cityops.kernel.text import fold
from cityops.kernel.uow import UnitOfWork


class AlertError(Invalid):
    """A refused operation; the message says why (HTTP 400)."""


class AlertConflict(Conflict, AlertError):
    """The alert's state does not allow it (HTTP 409)."""


class AlertNotFound(NotFound):
    pass


@dataclass
class RaiseRequest:
    dedupe_key: str
    service: str
    title: str
    severity: str
    category: str = "Other"
    source_key: str = ""
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    urgency: str = "Unknown"
    certainty: str = "Unknown"
    lat: float | None = None
    lon: float | None = None
    area_code: str | None = None
    agency_code: str | None = None
    tags: list[str] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    is_public: bool = False
    is_ticket: bool = False

    def validate(self) -> None:
        if not self.dedupe_key.strip() or not self.service.strip() or not self.title.strip():
            raise AlertError("dedupe_key, service and title must not be empty")
        for value, allowed, name in ((self.severity, SEVERITIES, "severity"),
                                     (self.urgency, URGENCIES, "urgency"),
                                     (self.certainty, CERTAINTIES, "certainty")):
            if value not in allowed:
                raise AlertError(f"{name} must be one of: {', '.join(allowed)}")
        if self.category not in CAP_CATEGORIES:
            raise AlertError(f"category must be a CAP category: {', '.join(CAP_CATEGORIES)}")
        if (self.lat is None) != (self.lon is None):
            raise AlertError("give both lat and lon, or neither")
        if self.lat is not None and not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):  # type: ignore[operator]
            raise AlertError("lat/lon are not WGS 84 coordinates")
        if self.is_ticket and not self.agency_code:
            raise AlertError("a warning ticket must be addressed to an agency (agency_code)")


@dataclass
class RaiseResult:
    alert: Alert
    created: bool


def _active_key(service: str, dedupe_key: str) -> str:
    return f"{service}:{dedupe_key}"


def timeline_event(alert: Alert, kind: str, actor: str, now: datetime, *, text: str = "",
                   from_state: str | None = None, to_state: str | None = None,
                   data: dict[str, Any] | None = None) -> AlertEvent:
    event = AlertEvent(kind=kind, actor=actor, at=now, text=text, from_state=from_state,
                       to_state=to_state, data=data or {})
    alert.events.append(event)
    return event


def _silenced(session: Session, alert: Alert, now: datetime) -> bool:
    windows = session.scalars(select(Silence).where(Silence.starts_at <= now,
                                                    Silence.ends_at > now)).all()
    for window in windows:
        if window.service and window.service != alert.service:
            continue
        if window.category and window.category != alert.category:
            continue
        if window.agency_id is not None and window.agency_id != alert.agency_id:
            continue
        if window.tag and window.tag not in (alert.tags or []):
            continue
        if SEVERITY_RANK[alert.severity] > SEVERITY_RANK[window.max_severity]:
            continue
        return True
    return False


def apply_sla(session: Session, alert: Alert, now: datetime,
              calendar: WorkingCalendar | None = None) -> None:
    policy = policy_for(session, alert.category, alert.severity)
    if policy is None:
        alert.ack_due_at = alert.resolve_due_at = None
        return
    calendar = calendar or load_calendar(session)
    alert.ack_due_at = deadline(now, policy.ack_within, policy.unit, calendar)
    alert.resolve_due_at = deadline(now, policy.resolve_within, policy.unit, calendar)
    if alert.is_ticket and alert.ticket_due_at is None:
        alert.ticket_due_at = alert.resolve_due_at


def raise_alert(uow: UnitOfWork, request: RaiseRequest, *, now: datetime,
                calendar: WorkingCalendar | None = None) -> RaiseResult:
    """Create an alert, or update the active one with the same dedupe key (idempotent)."""
    request.validate()
    session = uow.session
    agency = None
    if request.agency_code:
        agency = agency_by_code(session, request.agency_code)
        if agency is None:
            raise AlertError(f"no agency with code {request.agency_code!r}")
    authorize(uow.principal, "alerts.raise", agency_id=agency.id if agency else None)
    area = None
    if request.area_code:
        area = area_by_code(session, request.area_code)
        if area is None:
            raise AlertError(f"no area with code {request.area_code!r}")
    key = _active_key(request.service, request.dedupe_key)
    actor = uow.principal.label
    alert = session.scalar(select(Alert).where(Alert.active_key == key))
    if alert is not None:
        authorize(uow.principal, "alerts.raise", agency_id=alert.agency_id)
        alert.occurrences += 1
        alert.last_seen_at = now
        alert.updated_at = now
        changes: dict[str, Any] = {"occurrences": alert.occurrences}
        if SEVERITY_RANK[request.severity] > SEVERITY_RANK[alert.severity]:
            changes["severity"] = [alert.severity, request.severity]
            alert.severity = request.severity
            apply_sla(session, alert, alert.raised_at, calendar)
            notifications.notify(session, alert, "severity_up", now=now)
        if request.description and request.description != alert.description:
            alert.description = request.description
        timeline_event(alert, "updated", actor, now, data=changes)
        uow.emit("alert.updated", alert_id=alert.id)
        return RaiseResult(alert, created=False)

    alert = Alert(
        service=request.service, source_key=request.source_key or request.dedupe_key,
        dedupe_key=request.dedupe_key, active_key=key, title=request.title.strip(),
        title_en=request.title_en, description=request.description,
        description_en=request.description_en, category=request.category,
        severity=request.severity, urgency=request.urgency, certainty=request.certainty,
        lat=request.lat, lon=request.lon, area=area, agency=agency, tags=list(request.tags),
        links=list(request.links), is_public=request.is_public, is_ticket=request.is_ticket,
        status="new", raised_at=now, last_seen_at=now, updated_at=now,
    )
    alert.search_text = fold(" ".join((alert.title, alert.title_en, alert.dedupe_key)))
    session.add(alert)
    apply_sla(session, alert, now, calendar)
    alert.silenced = _silenced(session, alert, now)
    timeline_event(alert, "raised", actor, now, to_state="new",
                   data={"silenced": alert.silenced} if alert.silenced else None)
    session.flush()
    escalation.start(session, alert, now)
    if not alert.silenced:
        notifications.notify(session, alert, "ticket" if alert.is_ticket else "raised", now=now)
    uow.emit("alert.raised", alert_id=alert.id)
    return RaiseResult(alert, created=True)


def visible_alert(uow: UnitOfWork, alert_id: int, permission: str = "alerts.read") -> Alert:
    alert = uow.session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    authorize(uow.principal, permission, agency_id=alert.agency_id)
    if not uow.principal.province_wide and alert.agency_id is None:
        # Unaddressed alerts belong to the IOC's triage queue, not to an agency.
        authorize(uow.principal, "alerts.triage")
    return alert


def set_state(alert: Alert, to: str, now: datetime) -> None:
    alert.status = to
    alert.updated_at = now
    if to == "acknowledged":
        alert.acknowledged_at = now
    elif to == "in_progress":
        alert.in_progress_at = now
        alert.acknowledged_at = alert.acknowledged_at or now
    elif to == "resolved":
        alert.resolved_at = now
        alert.acknowledged_at = alert.acknowledged_at or now
    elif to == "closed":
        alert.closed_at = now
    if to in ACTIVE_STATES:
        alert.active_key = _active_key(alert.service, alert.dedupe_key)
    else:
        alert.active_key = None
    if to != "new":
        escalation.stop(alert)


def transition(uow: UnitOfWork, alert_id: int, to: str, comment: str = "", *,
               now: datetime) -> Alert:
    if to not in TRANSITIONS:
        raise AlertError(f"unknown state {to!r}; states are: {', '.join(TRANSITIONS)}")
    alert = visible_alert(uow, alert_id, "alerts.work")
    if alert.status not in TRANSITIONS[to]:
        allowed = ", ".join(allowed_targets(alert.status)) or "none"
        raise AlertConflict(f"cannot go from {alert.status} to {to}; allowed: {allowed}")
    previous = alert.status
    if to == "new":  # reopen
        clash = uow.session.scalar(select(Alert.id).where(
            Alert.active_key == _active_key(alert.service, alert.dedupe_key)))
        if clash is not None:
            raise AlertConflict(f"alert #{clash} with the same dedupe key is already active; "
                             "work on that one instead")
        alert.reopened_at = now
        alert.resolved_at = alert.closed_at = None
        alert.acknowledged_at = alert.in_progress_at = None
        apply_sla(uow.session, alert, now)
        alert.silenced = _silenced(uow.session, alert, now)
    set_state(alert, to, now)
    if to == "new":
        escalation.start(uow.session, alert, now)
        notifications.notify(uow.session, alert, "reopened", now=now)
    timeline_event(alert, "state", uow.principal.label, now, from_state=previous, to_state=to,
                   text=comment.strip())
    uow.emit("alert.transitioned", alert_id=alert.id, to=to)
    return alert


def clear_from_source(uow: UnitOfWork, service: str, dedupe_key: str, *, now: datetime,
                      note: str = "") -> Alert | None:
    """The source says the condition ended: resolve the active alert, keep its history."""
    session = uow.session
    alert = session.scalar(select(Alert).where(
        Alert.active_key == _active_key(service, dedupe_key)))
    if alert is None:
        return None
    authorize(uow.principal, "alerts.raise", agency_id=alert.agency_id)
    previous = alert.status
    alert.cleared_by_source_at = now
    set_state(alert, "resolved", now)
    timeline_event(alert, "state", uow.principal.label, now, from_state=previous,
                   to_state="resolved", text=note or "cleared by source", data={"auto": True})
    uow.emit("alert.transitioned", alert_id=alert.id, to="resolved")
    return alert


def add_comment(uow: UnitOfWork, alert_id: int, text: str, *, now: datetime) -> AlertEvent:
    text = text.strip()
    if not text:
        raise AlertError("a comment needs text")
    if len(text) > 4000:
        raise AlertError("a comment has at most 4,000 characters")
    alert = visible_alert(uow, alert_id, "alerts.work")
    alert.updated_at = now
    event = timeline_event(alert, "comment", uow.principal.label, now, text=text)
    uow.emit("alert.commented", alert_id=alert.id)
    return event


def assign(uow: UnitOfWork, alert_id: int, username: str | None, *, now: datetime) -> Alert:
    alert = visible_alert(uow, alert_id, "alerts.work")
    user = None
    if username:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None or not user.is_active:
            raise AlertError(f"no active user {username!r}")
        if alert.agency_id is not None and user.agency_id is not None and \
                not uow.principal.province_wide and user.agency_id not in \
                (uow.principal.agency_scope or ()):
            raise AlertError("officers assign alerts only within their agency")
    alert.assignee_id = user.id if user else None
    alert.updated_at = now
    timeline_event(alert, "assigned", uow.principal.label, now, text=username or "",
                   data={"assignee": username})
    if user is not None:
        notifications.notify(uow.session, alert, "assigned", now=now, user_ids=[user.id])
    uow.emit("alert.assigned", alert_id=alert.id)
    return alert
