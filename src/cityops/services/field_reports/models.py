"""Field-report tables (prefix ``fr_``): categories, routing, reports and their history.

Contact details (``contact_*``) are private: they are redacted in the audit log and no public
serializer reads them. ``fr_media`` is filled by the citizen portal's photo handling.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityops.kernel.db import Base, UTCDateTime, utcnow
from cityops.kernel.orgs import Agency, Area

rule_supporters = Table(
    "fr_rule_supporters",
    Base.metadata,
    Column("rule_id", ForeignKey("fr_routing_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True),
)

report_supporters = Table(
    "fr_report_supporters",
    Base.metadata,
    Column("report_id", ForeignKey("fr_reports.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True),
)


class Category(Base):
    """A kind of problem citizens report; an Open311 service."""

    __tablename__ = "fr_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(60), default="")
    keywords: Mapped[str] = mapped_column(String(300), default="")
    notice_vi: Mapped[str] = mapped_column(Text, default="")
    notice_en: Mapped[str] = mapped_column(Text, default="")
    # Open311 attributes: [{code, datatype, required, description_vi, description_en,
    # values: [{key, name_vi, name_en}]}]; answers are stored on the report.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sla_working_days: Mapped[int] = mapped_column(Integer, default=5)
    duplicate_radius_m: Mapped[int] = mapped_column(Integer, default=100)
    # Private categories (e.g. a complaint naming a person) never appear in public output.
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


class RoutingRule(Base):
    """Category × area (or any area) → lead agency and supporting agencies.

    ``lead_is_commune`` routes to the commune committee serving the report's commune, so one
    rule covers every commune. Lower ``priority`` wins; among equals an area rule beats "any".
    """

    __tablename__ = "fr_routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("fr_categories.id", ondelete="CASCADE"),
                                             index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    lead_is_commune: Mapped[bool] = mapped_column(Boolean, default=False)
    # The commune committee of the report's commune supports (resolved per report).
    supporting_commune: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    note: Mapped[str] = mapped_column(String(300), default="")

    category: Mapped[Category] = relationship()
    area: Mapped[Area | None] = relationship()
    lead_agency: Mapped[Agency | None] = relationship()
    supporting: Mapped[list[Agency]] = relationship(secondary=rule_supporters,
                                                    order_by="Agency.code")


class Report(Base):
    """A citizen's field report (phản ánh)."""

    __tablename__ = "fr_reports"
    __audit_redact__ = frozenset({"contact_phone", "contact_email", "contact_name"})

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # tracking code
    category_id: Mapped[int] = mapped_column(ForeignKey("fr_categories.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    address: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(16))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    show_name: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who typed it in: a call-taker, an integrator key, or empty for the citizen themself.
    recorded_by: Mapped[str] = mapped_column(String(120), default="")
    client_addr: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), index=True, default="received")
    state_reason: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    # NULL lead agency = the IOC triage queue.
    lead_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("fr_reports.id"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # Result written by the agency; published only after the IOC approves it.
    result_text: Mapped[str] = mapped_column(Text, default="")
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    result_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    citizen_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Moderation: hidden reports leave every public output; name_hidden overrides show_name.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    name_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which SLA alert level was last raised: "" none, "near", "overdue" (keeps the job cheap).
    sla_alert: Mapped[str] = mapped_column(String(10), default="")

    category: Mapped[Category] = relationship()
    area: Mapped[Area | None] = relationship()
    lead_agency: Mapped[Agency | None] = relationship()
    supporting: Mapped[list[Agency]] = relationship(secondary=report_supporters,
                                                    order_by="Agency.code")
    duplicate_of: Mapped[Report | None] = relationship(remote_side="Report.id")
    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="report", order_by="TimelineEntry.id", cascade="all, delete-orphan")
    media: Mapped[list[Media]] = relationship(back_populates="report", order_by="Media.id",
                                              cascade="all, delete-orphan")

    @property
    def public_name(self) -> str:
        """The name the public may see: only when the citizen chose it and no moderator hid it."""
        return self.contact_name if self.show_name and not self.name_hidden else ""


class TimelineEntry(Base):
    """One step of a report's history; ``public`` entries are shown to citizens."""

    __tablename__ = "fr_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("fr_reports.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(120))
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    report: Mapped[Report] = relationship(back_populates="timeline")


class Media(Base):
    """A photo of a report: "before" from the citizen, "after" with the agency's result."""

    __tablename__ = "fr_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("fr_reports.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(8), default="before")
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    thumbnail_name: Mapped[str] = mapped_column(String(100), default="")
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship(back_populates="media")


class Moderation(Base):
    """What a moderator changed on a report or photo, with the previous value."""

    __tablename__ = "fr_moderation"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("fr_reports.id", ondelete="CASCADE"),
                                           index=True)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("fr_media.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(String(40))
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Ban(Base):
    """A phone number, e-mail address or client address refused at intake."""

    __tablename__ = "fr_bans"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    __audit_redact__ = frozenset({"value"})

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResponseTemplate(Base):
    """A canned public update offered to staff when a report enters ``state``."""

    __tablename__ = "fr_response_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("fr_categories.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Follower(Base):
    """An e-mail address following a public report (confirmed by a link sent to it).

    Never shown publicly; redacted in the audit log. ``requested_at`` and ``client_addr`` feed
    the per-connection rate limit (``abuse.check_follow_rate``); an unsubscribed row is kept
    (``unsubscribed_at``) so that the limit still counts it.
    """

    __tablename__ = "fr_followers"
    __table_args__ = (UniqueConstraint("report_id", "email"),)
    __audit_redact__ = frozenset({"email", "unsubscribe_token"})

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("fr_reports.id", ondelete="CASCADE"),
                                           index=True)
    email: Mapped[str] = mapped_column(String(200))
    client_addr: Mapped[str] = mapped_column(String(64), default="", index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The signed unsubscribe token put in every e-mail; kept so that it can be checked and
    # revoked (a new follow request issues a new one).
    unsubscribe_token: Mapped[str] = mapped_column(String(200), default="")

    report: Mapped[Report] = relationship()
