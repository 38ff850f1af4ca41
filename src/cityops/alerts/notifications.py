"""Alert notifications: who is told about an alert, through which channel, and when.

:func:`notify` is a transactional outbox: it runs inside the caller's transaction and only
writes rows, so a rolled-back alert never notifies anyone and a slow mail server never slows
down raising an alert. :mod:`cityops.alerts.dispatch` sends the rows later (the scheduler
job ``alerts.deliveries``). This module is the public face of both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityops.alerts import channels, escalation
from cityops.alerts.dispatch import (
    backoff,
    deliver_pending,
    delivery_job,
    delivery_stats,
    requeue,
)
from cityops.alerts.models import Alert, AlertEvent
from cityops.alerts.notification_models import (
    CHANNELS,
    DELIVERY_STATUSES,
    WEBHOOK_KINDS,
    Delivery,
    InAppNotification,
    NotificationPreference,
    WebhookEndpoint,
    mark_read,
    recent_in_app,
    set_preference,
    unread_count,
)
from cityops.alerts.vocab import SEVERITY_RANK
from cityops.kernel.auth import User, UserRole
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import ROLES

__all__ = [
    "CHANNELS", "DELIVERY_STATUSES", "WEBHOOK_KINDS", "Delivery", "InAppNotification",
    "NotificationPreference", "WebhookEndpoint", "backoff", "deliver_pending",
    "delivery_job", "delivery_stats", "mark_read", "notify", "recent_in_app", "requeue",
    "resolve_target", "set_preference", "unread_count",
]

log = logging.getLogger(__name__)

# Flood control: after this many e-mails within a user's digest window, group the rest.
EMAIL_BURST = 3
# Per webhook kind: (burst, window in minutes). People read SMS/Zalo; machines read JSON.
WEBHOOK_FLOOD = {"generic": (20, 5), "sms": (3, 15), "zalo": (3, 15)}
# Reasons that go to endpoints; reminders and assignments are addressed to people.
WEBHOOK_REASONS = frozenset({"raised", "ticket", "reopened", "severity_up", "escalated"})
# A personal assignment is not a broadcast, so service/severity filters do not hide it.
PERSONAL_REASONS = frozenset({"assigned"})


@dataclass(frozen=True)
class _Pref:
    services: list[str] = field(default_factory=list)
    min_severity: str = "warning"
    channels: list[str] = field(default_factory=lambda: ["in_app", "email"])
    digest_minutes: int = 15


DEFAULT_PREFERENCE = _Pref()


def _wants(services: list[str], min_severity: str, alert: Alert) -> bool:
    if services and alert.service not in services:
        return False
    return SEVERITY_RANK.get(alert.severity, 0) >= SEVERITY_RANK.get(min_severity, 0)


# -- recipients -------------------------------------------------------------------------------

def _users(session: Session, *conditions: Any) -> list[User]:
    stmt = select(User).join(UserRole, UserRole.user_id == User.id).where(
        User.is_active.is_(True), *conditions).order_by(User.id)
    return list(session.scalars(stmt).unique())


def _with_role(session: Session, role: str) -> list[User]:
    return _users(session, UserRole.role == role)


def _officers(session: Session, agency_id: int) -> list[User]:
    return _users(session, UserRole.role == "officer", User.agency_id == agency_id)


def resolve_target(session: Session, alert: Alert, target: str) -> list[User]:
    """Active users an escalation target names (see :class:`EscalationPolicy`).

    An alert must reach someone: a target that resolves to nobody falls back to the IOC
    operators on shift, who also own the triage queue of alerts addressed to no agency.
    """
    users: list[User] = []
    if target == "assignee":
        user = session.get(User, alert.assignee_id) if alert.assignee_id else None
        users = [user] if user is not None and user.is_active else \
            resolve_target(session, alert, "agency")
    elif target == "agency":
        users = _officers(session, alert.agency_id) if alert.agency_id else []
    elif target == "agency_head":
        agency = session.get(Agency, alert.agency_id) if alert.agency_id else None
        if agency is not None and agency.parent_id is not None:
            users = _officers(session, agency.parent_id)
        elif agency is not None:
            users = _with_role(session, "leader")  # a top-level agency answers to leaders
    elif target.startswith("role:") and target.removeprefix("role:") in ROLES:
        users = _with_role(session, target.removeprefix("role:"))
    else:
        log.warning("alert %s: unknown notification target %r; using the agency",
                    alert.id, target)
        return resolve_target(session, alert, "agency")
    return users or _with_role(session, "operator")


def _recipients(session: Session, alert: Alert, target: str | None,
                user_ids: Iterable[int] | None) -> list[User]:
    if user_ids is not None:
        ids = list(user_ids)
        found = session.scalars(select(User).where(User.id.in_(ids),
                                                   User.is_active.is_(True))).all()
        users = sorted(found, key=lambda u: u.id)
    elif target is not None:
        users = resolve_target(session, alert, target)
    else:
        policy = escalation.policy_of(session, alert)
        first = escalation.level_target(policy, 0) if policy and policy.levels else "agency"
        # The IOC on shift sees everything that is raised, whoever it is addressed to.
        users = resolve_target(session, alert, first) + _with_role(session, "operator")
    unique: dict[int, User] = {}
    for user in users:
        unique.setdefault(user.id, user)
    return list(unique.values())


# -- the outbox -------------------------------------------------------------------------------

def _recent(session: Session, column: Any, value: int, since: datetime,
            *conditions: Any) -> int:
    return session.scalar(select(func.count()).select_from(Delivery).where(
        column == value, Delivery.created_at > since, *conditions)) or 0


def _append_to_digest(session: Session, key: str, item: dict[str, Any],
                      render: Callable[[Delivery, list[dict[str, Any]], int], None]) -> bool:
    """Add ``item`` to the open digest ``key``; False when there is none to add to."""
    # FOR UPDATE (a no-op on SQLite, whose writers are serialised anyway) stops a
    # dispatcher from claiming the digest between our read and our write on PostgreSQL.
    digest = session.scalars(select(Delivery).where(
        Delivery.digest_key == key, Delivery.status == "pending",
        Delivery.locked_until.is_(None)).order_by(Delivery.id.desc()).limit(1)
        .with_for_update()).first()
    if digest is None:
        return False
    count = int(digest.payload.get("count", 0)) + 1
    items = list(digest.payload.get("items", []))
    if len(items) < channels.MAX_DIGEST_ITEMS:
        items.append(item)
    render(digest, items, count)  # assigns a new payload dict, which the ORM notices
    return True


def _queue_email(session: Session, alert: Alert, user: User, pref: _Pref, reason: str,
                 facts: dict[str, Any], now: datetime) -> int:
    window = pref.digest_minutes
    if window > 0 and _recent(session, Delivery.user_id, user.id,
                              now - timedelta(minutes=window),
                              Delivery.channel == "email") >= EMAIL_BURST:
        def render(row: Delivery, items: list[dict[str, Any]], count: int) -> None:
            row.subject, row.body = channels.email_digest(items, count, window)
            row.payload = {"type": "digest", "count": count, "items": items}

        key, item = f"user:{user.id}", channels.digest_item(reason, facts)
        if _append_to_digest(session, key, item, render):
            return 0
        row = Delivery(user_id=user.id, channel="email", target=user.email, reason="digest",
                       digest_key=key, status="pending", attempts=0, created_at=now,
                       next_attempt_at=now + timedelta(minutes=window))
        render(row, [item], 1)
        session.add(row)
        return 1
    subject, body = channels.email_message(reason, facts)
    session.add(Delivery(alert_id=alert.id, user_id=user.id, channel="email",
                         target=user.email, reason=reason, subject=subject, body=body,
                         payload={"alert_id": alert.id, "reason": reason}, status="pending",
                         attempts=0, created_at=now, next_attempt_at=now))
    return 1


def _queue_webhook(session: Session, alert: Alert, endpoint: WebhookEndpoint, reason: str,
                   facts: dict[str, Any], now: datetime) -> int:
    burst, window = WEBHOOK_FLOOD.get(endpoint.kind, WEBHOOK_FLOOD["generic"])
    if _recent(session, Delivery.webhook_id, endpoint.id,
               now - timedelta(minutes=window)) >= burst:
        def render(row: Delivery, items: list[dict[str, Any]], count: int) -> None:
            row.payload = channels.webhook_digest(endpoint.kind, items, count)

        key, item = f"webhook:{endpoint.id}", channels.digest_item(reason, facts)
        if _append_to_digest(session, key, item, render):
            return 0
        row = Delivery(webhook_id=endpoint.id, channel="webhook", target=endpoint.url,
                       reason="digest", digest_key=key, status="pending", attempts=0,
                       created_at=now, next_attempt_at=now + timedelta(minutes=window))
        render(row, [item], 1)
        session.add(row)
        return 1
    session.add(Delivery(alert_id=alert.id, webhook_id=endpoint.id, channel="webhook",
                         target=endpoint.url, reason=reason,
                         payload=channels.webhook_payload(endpoint.kind, reason, facts),
                         status="pending", attempts=0, created_at=now, next_attempt_at=now))
    return 1


def _endpoints(session: Session, alert: Alert) -> list[WebhookEndpoint]:
    rows = session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.is_active.is_(True),
        or_(WebhookEndpoint.agency_id.is_(None), WebhookEndpoint.agency_id == alert.agency_id),
    ).order_by(WebhookEndpoint.id)).all()
    return [row for row in rows if _wants(row.services or [], row.min_severity, alert)]


def notify(session: Session, alert: Alert, reason: str, *, now: datetime,
           target: str | None = None, user_ids: Iterable[int] | None = None,
           base_url: str | None = None) -> int:
    """Queue notifications about ``alert``; returns the rows created (deliveries + in-app).

    Recipients: ``user_ids`` exactly, else the escalation ``target``, else (a raise) the
    policy's level-0 target plus every IOC operator. No network I/O happens here.
    """
    if alert.silenced:
        return 0
    if base_url is None:
        base_url = str(session.info.get("base_url", ""))
    facts = channels.alert_facts(alert, base_url)
    users = _recipients(session, alert, target, user_ids)
    prefs = {row.user_id: row for row in session.scalars(select(NotificationPreference).where(
        NotificationPreference.user_id.in_([u.id for u in users])))} if users else {}
    created = endpoints = 0
    told: list[str] = []
    for user in users:
        row = prefs.get(user.id)
        pref = _Pref(list(row.services or []), row.min_severity, list(row.channels or []),
                     row.digest_minutes) if row is not None else DEFAULT_PREFERENCE
        if reason not in PERSONAL_REASONS and not _wants(pref.services, pref.min_severity,
                                                         alert):
            continue
        if "in_app" in pref.channels:
            session.add(InAppNotification(user_id=user.id, alert_id=alert.id, reason=reason,
                                          text=channels.in_app_text(reason, facts),
                                          created_at=now))
            created += 1
        if "email" in pref.channels and user.email:
            created += _queue_email(session, alert, user, pref, reason, facts, now)
        if "in_app" in pref.channels or ("email" in pref.channels and user.email):
            told.append(user.username)
    if reason in WEBHOOK_REASONS:
        for endpoint in _endpoints(session, alert):
            created += _queue_webhook(session, alert, endpoint, reason, facts, now)
            endpoints += 1
    if told or endpoints:
        # The timeline answers "who was told, and when" without reading the delivery log.
        alert.events.append(AlertEvent(kind="notified", at=now, actor="system", text=reason,
                                       data={"users": told[:50], "user_count": len(told),
                                             "webhooks": endpoints}))
    return created
