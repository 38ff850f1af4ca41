"""Alert center tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityops.kernel.db import Base, UTCDateTime, utcnow
from cityops.kernel.orgs import Agency, Area


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_raised", "status", "raised_at"),
        Index("ix_alerts_agency_status", "agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(40), index=True)
    source_key: Mapped[str] = mapped_column(String(200), default="")
    dedupe_key: Mapped[str] = mapped_column(String(200), index=True)
    # Equals dedupe_key while the alert is active and NULL afterwards: a unique column that
    # allows many NULLs gives "one active alert per dedupe key" on SQLite and PostgreSQL alike.
    active_key: Mapped[str | None] = mapped_column(String(241), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # fold(title, English title, dedupe key): diacritic-insensitive search on both databases.
    search_text: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16), index=True)
    urgency: Mapped[str] = mapped_column(String(16), default="Unknown")
    certainty: Mapped[str] = mapped_column(String(16), default="Unknown")
    status: Mapped[str] = mapped_column(String(16), default="new")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    is_public: Mapped[bool] = mapped_column(default=False)
    occurrences: Mapped[int] = mapped_column(default=1)
    silenced: Mapped[bool] = mapped_column(default=False)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)

    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by_source_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Indexed: the live feed asks "what changed since" every second.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    # SLA deadlines computed when raised (and again on reopen).
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Escalation state: the level reached, when to act next, reminders sent at this level.
    escalation_level: Mapped[int] = mapped_column(default=0)
    level_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reminders_sent: Mapped[int] = mapped_column(default=0)

    # Warning ticket (phiếu cảnh báo): addressed to agency_id, checked and answered by it.
    is_ticket: Mapped[bool] = mapped_column(default=False, index=True)
    ticket_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_response: Mapped[str] = mapped_column(Text, default="")
    # A cited document ("Công văn số 123/SYT") or link; the scanned file, if any, is below.
    ticket_attachment: Mapped[str] = mapped_column(String(300), default="")
    # Relative to Settings.media_dir; the name is only a download label (see attachments).
    ticket_file_path: Mapped[str] = mapped_column(String(300), default="")
    ticket_file_name: Mapped[str] = mapped_column(String(120), default="")
    ticket_file_type: Mapped[str] = mapped_column(String(80), default="")
    ticket_file_size: Mapped[int] = mapped_column(default=0)
    ticket_file_sha256: Mapped[str] = mapped_column(String(64), default="")

    agency: Mapped[Agency | None] = relationship()
    area: Mapped[Area | None] = relationship()
    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id", cascade="all, delete-orphan"
    )


class AlertEvent(Base):
    """The alert's timeline: state changes, comments, notifications, escalations."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))  # raised, updated, state, comment, ...
    actor: Mapped[str] = mapped_column(String(120), default="system")
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    alert: Mapped[Alert] = relationship(back_populates="events")


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(40))
    sop_key: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    steps: Mapped[list[IncidentStep]] = relationship(
        back_populates="incident", order_by="IncidentStep.position",
        cascade="all, delete-orphan")
    alerts: Mapped[list[Alert]] = relationship(order_by="Alert.id")


class IncidentStep(Base):
    __tablename__ = "incident_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"),
                                             index=True)
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(300))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[str] = mapped_column(String(120), default="")

    incident: Mapped[Incident] = relationship(back_populates="steps")


class SlaPolicy(Base):
    """Times to acknowledge and resolve for a category and severity ("*" matches any)."""

    __tablename__ = "alert_sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(40), default="*")
    severity: Mapped[str] = mapped_column(String(16), default="*")
    # "minutes" = round the clock; "working_hours" / "working_days" = kernel calendar.
    unit: Mapped[str] = mapped_column(String(16), default="minutes")
    ack_within: Mapped[float] = mapped_column(Float)
    resolve_within: Mapped[float] = mapped_column(Float)
    escalation_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_escalation_policies.id"))


class EscalationPolicy(Base):
    """Ordered levels; each ``{"target": ..., "after_minutes": N}``.

    Targets: ``assignee``, ``agency`` (officers of the responsible agency), ``agency_head``
    (officers of the parent agency), ``role:<role>`` (e.g. ``role:leader``).
    """

    __tablename__ = "alert_escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reminder_every_minutes: Mapped[int] = mapped_column(default=30)
    max_reminders: Mapped[int] = mapped_column(default=3)


class Silence(Base):
    """Alerts matching all given fields within the window are recorded but not notified."""

    __tablename__ = "alert_silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(40), default="")
    category: Mapped[str] = mapped_column(String(40), default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    max_severity: Mapped[str] = mapped_column(String(16), default="critical")
    tag: Mapped[str] = mapped_column(String(80), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120), default="")
