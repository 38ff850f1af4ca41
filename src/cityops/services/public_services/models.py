"""Public-services tables (prefix ``ps_``): procedures, dossiers and their histories.

The stored classification on :class:`Dossier` (outcome, due_at, end_at) is written by
``service.classify_dossiers`` after every intake write and when the calendar changes, so
dashboards read it with plain indexed queries instead of recomputing deadlines.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityops.kernel.db import Base, UTCDateTime, utcnow
from cityops.kernel.orgs import Agency

PROCEDURE_LEVELS = ("province", "commune")
STATUTORY_UNITS = ("days", "hours")
ONLINE_LEVELS = ("partial", "full")
CHANNELS = (1, 2, 3)  # in person, online, public postal service
APPLICANT_TYPES = ("citizen", "business", "organisation")
STATES = tuple(range(1, 11))  # national dossier state codes
INTAKE_SOURCES = ("api", "csv", "xlsx", "connector")
AUTH_KINDS = ("none", "bearer", "basic", "header")


class Procedure(Base):
    """An administrative procedure (thủ tục hành chính) of the catalogue."""

    __tablename__ = "ps_procedures"
    __table_args__ = (
        CheckConstraint("level IN ('province', 'commune')", name="level"),
        CheckConstraint("statutory_unit IN ('days', 'hours')", name="statutory_unit"),
        CheckConstraint("online_level IN ('partial', 'full')", name="online_level"),
        CheckConstraint("statutory_amount > 0", name="statutory_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    field: Mapped[str] = mapped_column(String(200), default="")  # lĩnh vực
    level: Mapped[str] = mapped_column(String(16))
    statutory_amount: Mapped[float] = mapped_column(Float)
    statutory_unit: Mapped[str] = mapped_column(String(8), default="days")
    online_level: Mapped[str] = mapped_column(String(16), default="partial")
    fee: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dossier(Base):
    """A dossier (hồ sơ); ``code`` is the key every intake path upserts by."""

    __tablename__ = "ps_dossiers"
    __table_args__ = (
        CheckConstraint("channel IN (1, 2, 3)", name="channel"),
        CheckConstraint("state BETWEEN 1 AND 10", name="state"),
        CheckConstraint("supplement_requests >= 0", name="supplement_requests"),
        # Dashboards group by agency, received month and outcome.
        Index("ix_ps_dossiers_agency_month_outcome",
              "processing_agency_id", "received_month", "outcome"),
        Index("ix_ps_dossiers_month_outcome", "received_month", "outcome"),
        Index("ix_ps_dossiers_outcome_due", "outcome", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("ps_procedures.id"), index=True)
    receiving_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    # The agency answerable for the deadline; officers see dossiers by this agency.
    processing_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    channel: Mapped[int] = mapped_column(Integer, default=1)
    applicant_type: Mapped[str] = mapped_column(String(16), default="citizen")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # yyyymm of received_at in local time: portable month grouping on SQLite and PostgreSQL.
    received_month: Mapped[int] = mapped_column(Integer)
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[int] = mapped_column(Integer)
    state_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payment_online: Mapped[bool] = mapped_column(default=False)
    digitised: Mapped[bool] = mapped_column(default=False)
    e_result: Mapped[bool] = mapped_column(default=False)
    has_feedback: Mapped[bool] = mapped_column(default=False)
    has_complaint: Mapped[bool] = mapped_column(default=False)
    supplement_requests: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16), default="api")

    # Stored classification (deadline engine); NULL until first classified.
    outcome: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)  # office time paused
    late_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # When the stored classification last changed (not touched when a rerun agrees).
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    procedure: Mapped[Procedure] = relationship()
    receiving_agency: Mapped[Agency] = relationship(foreign_keys=[receiving_agency_id])
    processing_agency: Mapped[Agency] = relationship(foreign_keys=[processing_agency_id])
    history: Mapped[list[StateChange]] = relationship(
        back_populates="dossier", order_by="(StateChange.at, StateChange.id)",
        cascade="all, delete-orphan")
    supplements: Mapped[list[SupplementRequest]] = relationship(
        back_populates="dossier", order_by="SupplementRequest.requested_at",
        cascade="all, delete-orphan")
    apologies: Mapped[list[ApologyLetter]] = relationship(
        back_populates="dossier", order_by="ApologyLetter.issued_at",
        cascade="all, delete-orphan")


class StateChange(Base):
    """One state change; unique per (dossier, state, at), so a re-sent history adds nothing."""

    __tablename__ = "ps_state_changes"
    __table_args__ = (
        UniqueConstraint("dossier_id", "state", "at", name="uq_ps_state_changes_dossier_state_at"),
        CheckConstraint("state BETWEEN 1 AND 10", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("ps_dossiers.id", ondelete="CASCADE"))
    state: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(500), default="")

    dossier: Mapped[Dossier] = relationship(back_populates="history")


class SupplementRequest(Base):
    """A request for additional documents (yêu cầu bổ sung) and when it was met."""

    __tablename__ = "ps_supplement_requests"
    __table_args__ = (
        UniqueConstraint("dossier_id", "requested_at",
                         name="uq_ps_supplement_requests_dossier_requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("ps_dossiers.id", ondelete="CASCADE"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(500), default="")

    dossier: Mapped[Dossier] = relationship(back_populates="supplements")


class ApologyLetter(Base):
    """An apology letter with a new appointment (phiếu xin lỗi và hẹn lại ngày trả kết quả)."""

    __tablename__ = "ps_apology_letters"
    __table_args__ = (
        UniqueConstraint("dossier_id", "issued_at", name="uq_ps_apology_letters_dossier_issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("ps_dossiers.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    new_appointment_at: Mapped[datetime] = mapped_column(UTCDateTime)

    dossier: Mapped[Dossier] = relationship(back_populates="apologies")


class Connector(Base):
    """An HTTP JSON source of dossiers, pulled on a schedule."""

    __tablename__ = "ps_connectors"
    __table_args__ = (
        CheckConstraint("auth_kind IN ('none', 'bearer', 'basic', 'header')", name="auth_kind"),
        CheckConstraint("every_minutes >= 1", name="every_minutes"),
    )
    # The credential is needed to call the source, so it is stored, but never in the audit log.
    __audit_redact__ = frozenset({"auth_secret"})

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    url: Mapped[str] = mapped_column(String(1000))
    auth_kind: Mapped[str] = mapped_column(String(16), default="none")
    auth_username: Mapped[str] = mapped_column(String(200), default="")
    auth_header: Mapped[str] = mapped_column(String(100), default="")
    auth_secret: Mapped[str] = mapped_column(String(500), default="")
    items_path: Mapped[str] = mapped_column(String(200), default="")
    page_param: Mapped[str] = mapped_column(String(50), default="page")
    page_size: Mapped[int] = mapped_column(Integer, default=100)
    max_pages: Mapped[int] = mapped_column(Integer, default=50)
    field_mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    every_minutes: Mapped[int] = mapped_column(Integer, default=60)
    enabled: Mapped[bool] = mapped_column(default=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncRun(Base):
    """One pull of a connector: what came, what was stored, what went wrong."""

    __tablename__ = "ps_sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(
        ForeignKey("ps_connectors.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    received: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class IntakeBatch(Base):
    """One intake (API call, uploaded file, connector page): who, when, counts, report."""

    __tablename__ = "ps_intake_batches"
    __table_args__ = (Index("ix_ps_intake_batches_received_at", "received_at"),)
    # An uploaded file's rows wait here between upload and mapping; too big for the audit log.
    __audit_ignore__ = frozenset({"pending_rows"})

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filename: Mapped[str] = mapped_column(String(300), default="")
    # awaiting_mapping (file uploaded) → done
    status: Mapped[str] = mapped_column(String(24), default="done")
    total: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    pending_rows: Mapped[list[list[Any]] | None] = mapped_column(JSON)
    # [{row, column, problem}] for files; [{index, code, field, problem}] for the API.
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Setting(Base):
    """Small service settings (warning-ticket time and horizon, calendar fingerprint)."""

    __tablename__ = "ps_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), default="")
