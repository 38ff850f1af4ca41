"""Incidents: alerts grouped under one standard operating procedure (SOP) checklist."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from cityops.alerts.models import Alert, AlertEvent, Incident, IncidentStep
from cityops.alerts.policies import sop_template
from cityops.alerts.service import AlertError, visible_alert
from cityops.alerts.vocab import CAP_CATEGORIES
from cityops.kernel.auth import User
from cityops.kernel.errors import NotFound
from cityops.kernel.permissions import PermissionDenied, authorize
from cityops.kernel.uow import UnitOfWork


class IncidentNotFound(NotFound):
    pass


def create_incident(uow: UnitOfWork, title: str, category: str, alert_ids: list[int], *,
                    now: datetime) -> Incident:
    authorize(uow.principal, "incidents.manage")
    if not title.strip():
        raise AlertError("an incident needs a title")
    if category not in CAP_CATEGORIES:
        raise AlertError(f"category must be a CAP category: {', '.join(CAP_CATEGORIES)}")
    if not alert_ids:
        raise AlertError("an incident groups at least one alert")
    alerts = [visible_alert(uow, alert_id) for alert_id in dict.fromkeys(alert_ids)]
    taken = [a.id for a in alerts if a.incident_id is not None]
    if taken:
        raise AlertError(f"alerts already in an incident: {', '.join(map(str, taken))}")
    agencies = {a.agency_id for a in alerts if a.agency_id is not None}
    incident = Incident(title=title.strip(), category=category, sop_key=category,
                        agency_id=agencies.pop() if len(agencies) == 1 else None,
                        created_at=now)
    for position, step in enumerate(sop_template(category), start=1):
        incident.steps.append(IncidentStep(
            position=position, title=step["title"],
            due_at=now + timedelta(minutes=int(step.get("due_minutes", 60)))))
    uow.session.add(incident)
    uow.session.flush()
    for alert in alerts:
        alert.incident_id = incident.id
        alert.updated_at = now
        alert.events.append(AlertEvent(kind="incident", at=now, actor=uow.principal.label,
                                       text=incident.title, data={"incident_id": incident.id}))
    uow.emit("incident.created", incident_id=incident.id)
    return incident


def get_incident(uow: UnitOfWork, incident_id: int) -> Incident:
    incident = uow.session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"no incident with id {incident_id}")
    authorize(uow.principal, "alerts.read", agency_id=incident.agency_id)
    if incident.agency_id is None and not uow.principal.province_wide and not any(
            uow.principal.covers_agency(a.agency_id) for a in incident.alerts):
        # A cross-agency incident is visible to the agencies whose alerts it groups.
        raise PermissionDenied("this incident belongs to other agencies")
    return incident


def update_step(uow: UnitOfWork, incident_id: int, step_id: int, *, done: bool | None = None,
                assignee: str | None = None, now: datetime) -> IncidentStep:
    incident = get_incident(uow, incident_id)
    authorize(uow.principal, "alerts.work", agency_id=incident.agency_id)
    step = next((s for s in incident.steps if s.id == step_id), None)
    if step is None:
        raise IncidentNotFound(f"incident {incident_id} has no step {step_id}")
    if assignee is not None:
        user = uow.session.scalar(select(User).where(User.username == assignee))
        if assignee and user is None:
            raise AlertError(f"no user {assignee!r}")
        if user is not None and not uow.principal.covers_agency(user.agency_id):
            raise AlertError("steps are assigned only within the officer's own agencies")
        step.assignee_id = user.id if user else None
    if done is not None:
        step.done_at = now if done else None
        step.done_by = uow.principal.label if done else ""
    for alert in incident.alerts:
        alert.updated_at = now  # the live feed and lists show checklist progress
    if all(s.done_at is not None for s in incident.steps):
        incident.status, incident.closed_at = "closed", now
    else:
        incident.status, incident.closed_at = "open", None
    return step


def incident_alerts(uow: UnitOfWork, incident: Incident) -> list[Alert]:
    return list(uow.session.scalars(select(Alert).where(Alert.incident_id == incident.id)
                                    .order_by(Alert.id)))
