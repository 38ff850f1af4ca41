"""Tables of the alert notifications, and the small queries on them behind the bell icon.

Kept apart from :mod:`cityops.alerts.notifications` (who is told what) and
:mod:`cityops.alerts.dispatch` (sending) so that each module stays readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from cityops.alerts.vocab import SEVERITIES
from cityops.kernel.db import Base, UTCDateTime, utcnow

CHANNELS = ("in_app", "email", "webhook")
WEBHOOK_KINDS = ("generic", "sms", "zalo")
DELIVERY_STATUSES = ("pending", "sent", "failed")


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty = all
    min_severity: Mapped[str] = mapped_column(String(16), default="warning")
    channels: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["in_app", "email"])
    digest_minutes: Mapped[int] = mapped_column(default=15)  # 0 = never group e-mails


class InAppNotification(Base):
    __tablename__ = "in_app_notifications"
    __audited__ = False  # high volume; the row itself is the record
    __table_args__ = (Index("ix_in_app_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                                 index=True)
    reason: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __audit_redact__ = frozenset({"secret"})

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))  # HMAC-SHA256 key
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))  # None = all
    min_severity: Mapped[str] = mapped_column(String(16), default="warning")
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    kind: Mapped[str] = mapped_column(String(16), default="generic")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    __tablename__ = "alert_deliveries"
    __audited__ = False  # high volume; the delivery log is its own record
    __table_args__ = (
        Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_user_created", "user_id", "channel", "created_at"),
        Index("ix_alert_deliveries_webhook_created", "webhook_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    target: Mapped[str] = mapped_column(String(500))  # address or URL
    reason: Mapped[str] = mapped_column(String(24))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # Set while a dispatcher sends this row; a digest that is being sent is not appended to.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(InAppNotification).where(
        InAppNotification.user_id == user_id, InAppNotification.read_at.is_(None))) or 0


def recent_in_app(session: Session, user_id: int, limit: int = 20) -> list[InAppNotification]:
    return list(session.scalars(select(InAppNotification).where(
        InAppNotification.user_id == user_id).order_by(InAppNotification.id.desc())
        .limit(limit)))


def mark_read(session: Session, user_id: int, ids: Iterable[int] | None = None, *,
              now: datetime | None = None) -> int:
    """Mark the user's notifications read (all when ``ids`` is None); returns how many.

    Filtering on ``user_id`` means nobody can mark someone else's notifications.
    """
    stmt = update(InAppNotification).where(InAppNotification.user_id == user_id,
                                           InAppNotification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(InAppNotification.id.in_(list(ids)))
    result = session.execute(stmt.values(read_at=now or utcnow())
                             .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_preference(session: Session, user_id: int, *, services: list[str] | None = None,
                   min_severity: str | None = None, channels: list[str] | None = None,
                   digest_minutes: int | None = None) -> NotificationPreference:
    """Create or update a user's preferences; arguments left as None keep their value."""
    if min_severity is not None and min_severity not in SEVERITIES:
        raise ValueError(f"min_severity must be one of: {', '.join(SEVERITIES)}")
    if channels is not None and not set(channels) <= set(CHANNELS):
        raise ValueError(f"channels must be among: {', '.join(CHANNELS)}")
    if digest_minutes is not None and not 0 <= digest_minutes <= 24 * 60:
        raise ValueError("digest_minutes must be between 0 and 1440")
    row = session.scalar(select(NotificationPreference).where(
        NotificationPreference.user_id == user_id))
    if row is None:
        row = NotificationPreference(user_id=user_id, services=[], min_severity="warning",
                                     channels=["in_app", "email"], digest_minutes=15)
        session.add(row)
    if services is not None:
        row.services = sorted({s.strip() for s in services if s.strip()})
    if min_severity is not None:
        row.min_severity = min_severity
    if channels is not None:
        row.channels = [c for c in CHANNELS if c in channels]
    if digest_minutes is not None:
        row.digest_minutes = digest_minutes
    return row
