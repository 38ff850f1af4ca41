"""SOC tables: assets, rules (with versions), detections, quarantine and ingest counters.

Detections, quarantine and counters are machine-written at event rate, so they are not audited
row by row (like the scheduler's state): the audit trail covers what people change (assets,
rules), and a rule's full history is its version table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityops.kernel.db import Base, UTCDateTime, utcnow

CRITICALITIES = ("low", "medium", "high", "critical")
SIGMA_LEVELS = ("informational", "low", "medium", "high", "critical")
RULE_ORIGINS = ("bundled", "custom")
SOC_CATEGORIES = ("malware", "vulnerability", "exploitation", "abnormal", "other")
DETECTION_KINDS = ("sigma", "correlation")


class SocAsset(Base):
    """A monitored host: matched by hostname (case-insensitive) or by an IP inside ``network``."""

    __tablename__ = "soc_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-cased; NULL when the asset is known only by address. Unique allows many NULLs.
    hostname: Mapped[str | None] = mapped_column(String(255), unique=True)
    # One address or a CIDR block, normalised by ipaddress (e.g. "10.1.2.0/24", "10.1.2.3/32").
    network: Mapped[str | None] = mapped_column(String(64), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    criticality: Mapped[str] = mapped_column(String(16), default="medium")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SocRule(Base):
    """The current state of one Sigma rule; every change also writes a :class:`SocRuleVersion`."""

    __tablename__ = "soc_rules"
    # The YAML is kept in full in the version rows; the audit row names the change only.
    __audit_ignore__ = frozenset({"yaml_text"})

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    level: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(1000), default="")
    product: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(64))
    # fold(title, rule id): case-insensitive search that works the same on both databases.
    search_text: Mapped[str] = mapped_column(Text, default="")
    yaml_text: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), index=True)
    source_path: Mapped[str] = mapped_column(String(500), default="")
    enabled: Mapped[bool] = mapped_column(default=True, index=True)
    version: Mapped[int] = mapped_column(default=1)
    updated_by: Mapped[str] = mapped_column(String(120), default="system")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[SocRuleVersion]] = relationship(
        back_populates="rule", cascade="all, delete-orphan", order_by="SocRuleVersion.version")


class SocRuleVersion(Base):
    __tablename__ = "soc_rule_versions"
    __table_args__ = (UniqueConstraint("rule_pk", "version"),)
    __audit_ignore__ = frozenset({"yaml_text"})

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_pk: Mapped[int] = mapped_column(ForeignKey("soc_rules.id", ondelete="CASCADE"),
                                         index=True)
    version: Mapped[int] = mapped_column()
    yaml_text: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column()
    title: Mapped[str] = mapped_column(String(500))
    level: Mapped[str | None] = mapped_column(String(16))
    change: Mapped[str] = mapped_column(String(200))
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rule: Mapped[SocRule] = relationship(back_populates="versions")


class SocDetection(Base):
    """One alert-worthy (rule, host, time window); later matches in the window raise ``count``."""

    __tablename__ = "soc_detections"
    __audited__ = False
    __table_args__ = (
        # The SOC page counts by category / agency / severity over a time range, and lists top
        # rules and hosts over a range: each is an equality (or group) column then the time.
        Index("ix_soc_detections_category_seen", "soc_category", "last_seen"),
        Index("ix_soc_detections_agency_seen", "agency_id", "last_seen"),
        Index("ix_soc_detections_severity_seen", "severity", "last_seen"),
        Index("ix_soc_detections_rule_seen", "rule_id", "last_seen"),
        Index("ix_soc_detections_host_seen", "host", "last_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "<kind>|<rule id>|<host>|<window start>": unique, the throttle key (and the alert's key).
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="sigma")
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_title: Mapped[str] = mapped_column(String(500))
    rule_author: Mapped[str] = mapped_column(String(1000), default="")
    level: Mapped[str | None] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    soc_category: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    host: Mapped[str] = mapped_column(String(255))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("soc_assets.id",
                                                            ondelete="SET NULL"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    source: Mapped[str] = mapped_column(String(64), default="")
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    count: Mapped[int] = mapped_column(default=1)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"),
                                                 index=True)
    sample_event: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SocQuarantine(Base):
    """Input that could not be parsed or normalised, kept (truncated) with the reason."""

    __tablename__ = "soc_quarantine"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(Text)
    raw_size: Mapped[int] = mapped_column()
    truncated: Mapped[bool] = mapped_column(default=False)


class SocIngestCounter(Base):
    """Per source and minute: received / parsed / quarantined / dropped (EPS and health), and
    for a receiver the deepest its queue got in that minute (how close it came to dropping)."""

    __tablename__ = "soc_ingest_counters"
    __audited__ = False
    __table_args__ = (UniqueConstraint("source", "minute"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    minute: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received: Mapped[int] = mapped_column(default=0)
    parsed: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    dropped: Mapped[int] = mapped_column(default=0)
    # Sampled from SyslogReceiver.snapshot() / its queue; 0 for sources without a queue (HTTP).
    queue_depth_max: Mapped[int] = mapped_column(default=0, server_default="0")
    queue_size: Mapped[int] = mapped_column(default=0, server_default="0")


class SocCorrelationRule(Base):
    """A custom Sigma correlation rule (with any base rules of its own in the same YAML).

    Base rules referred to by id or name may also be stored rules (``soc_rules``); the text is
    accepted only when it loads together with them (see ``correlation_store.py``).
    """

    __tablename__ = "soc_correlation_rules"
    __audit_ignore__ = frozenset({"yaml_text"})

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(200), unique=True)  # the correlation's id/name
    title: Mapped[str] = mapped_column(String(500))
    level: Mapped[str | None] = mapped_column(String(16))
    yaml_text: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    updated_by: Mapped[str] = mapped_column(String(120), default="system")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
