"""Escalation of unacknowledged alerts along ordered levels, with repeated reminders.

Level 0 is notified when the alert is raised. While the alert stays unacknowledged, the
current level is reminded every ``reminder_every_minutes`` (at most ``max_reminders`` times
per level) and, once the level's ``after_minutes`` have passed, the next level is notified.
Acknowledging (any state other than ``new``) stops it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityops.alerts import notifications
from cityops.alerts.models import Alert, AlertEvent, EscalationPolicy, SlaPolicy
from cityops.alerts.sla import policy_for

DEFAULT_POLICY_NAME = "default"


def policy_of(session: Session, alert: Alert) -> EscalationPolicy | None:
    sla: SlaPolicy | None = policy_for(session, alert.category, alert.severity)
    if sla is not None and sla.escalation_policy_id is not None:
        return session.get(EscalationPolicy, sla.escalation_policy_id)
    return session.scalar(select(EscalationPolicy).where(
        EscalationPolicy.name == DEFAULT_POLICY_NAME))


def _next_time(alert: Alert, policy: EscalationPolicy) -> datetime | None:
    entered = alert.level_entered_at
    assert entered is not None
    candidates = []
    if alert.reminders_sent < policy.max_reminders:
        candidates.append(entered + timedelta(
            minutes=policy.reminder_every_minutes * (alert.reminders_sent + 1)))
    if alert.escalation_level + 1 < len(policy.levels):
        level = policy.levels[alert.escalation_level]
        candidates.append(entered + timedelta(minutes=float(level.get("after_minutes", 0))))
    return min(candidates) if candidates else None


def start(session: Session, alert: Alert, now: datetime) -> None:
    policy = policy_of(session, alert)
    alert.escalation_level = 0
    alert.reminders_sent = 0
    alert.level_entered_at = now
    alert.next_escalation_at = None
    if policy is None or not policy.levels or alert.silenced:
        return
    alert.next_escalation_at = _next_time(alert, policy)


def stop(alert: Alert) -> None:
    alert.next_escalation_at = None


def _record(alert: Alert, now: datetime, kind: str, text: str, level: int) -> None:
    alert.updated_at = now  # so the live feed shows escalations too
    alert.events.append(AlertEvent(kind=kind, at=now, actor="system", text=text,
                                   data={"level": level}))


def level_target(policy: EscalationPolicy, level: int) -> str:
    return str(policy.levels[level].get("target", "agency"))


def run_due(session: Session, now: datetime, limit: int = 500) -> int:
    """Escalate or remind every alert whose time has come; returns how many acted."""
    due = session.scalars(
        select(Alert).where(Alert.next_escalation_at.is_not(None),
                            Alert.next_escalation_at <= now, Alert.status == "new")
        .order_by(Alert.next_escalation_at).limit(limit)
    ).all()
    for alert in due:
        policy = policy_of(session, alert)
        if policy is None or not policy.levels:
            alert.next_escalation_at = None
            continue
        entered = alert.level_entered_at or alert.raised_at
        level = policy.levels[alert.escalation_level]
        level_deadline = entered + timedelta(minutes=float(level.get("after_minutes", 0)))
        has_next = alert.escalation_level + 1 < len(policy.levels)
        if has_next and level_deadline <= now:
            alert.escalation_level += 1
            alert.reminders_sent = 0
            alert.level_entered_at = now
            target = level_target(policy, alert.escalation_level)
            _record(alert, now, "escalated", target, alert.escalation_level)
            notifications.notify(session, alert, "escalated", now=now, target=target)
        else:
            alert.reminders_sent += 1
            target = level_target(policy, alert.escalation_level)
            _record(alert, now, "reminder", target, alert.escalation_level)
            notifications.notify(session, alert, "reminder", now=now, target=target)
        alert.next_escalation_at = _next_time(alert, policy)
    return len(due)
