"""Figures for the SOC page, computed from the stored records (nothing is kept as a counter).

Every detection figure is scoped to the reader's agencies, the same way the API lists are:
an agency officer counts only the detections on their own agency's hosts. Ingest health
comes from the per-minute counters table written by the ingest path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cityops.alerts.models import Alert
from cityops.alerts.vocab import ACTIVE_STATES
from cityops.kernel.permissions import Principal, authorize, scope_to_agencies
from cityops.services.soc.models import (
    SOC_CATEGORIES,
    SocDetection,
    SocIngestCounter,
    SocQuarantine,
    SocRule,
)

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SERVICE_KEY = "soc"
# period key -> (length, chart bucket); the chart's buckets are local hours, days or months.
PERIODS: dict[str, tuple[timedelta, str]] = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
    "90d": (timedelta(days=90), "day"),
    "365d": (timedelta(days=365), "month"),
}
DEFAULT_PERIOD = "30d"
BUCKET_FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m"}


@dataclass(frozen=True)
class SocFilter:
    """What the SOC page's filter form chose: a period ending now, a category, an agency."""

    period: str
    since: datetime
    until: datetime
    category: str | None = None
    agency_id: int | None = None

    @property
    def bucket(self) -> str:
        return PERIODS[self.period][1]


def make_filter(period: str, now: datetime, category: str | None = None,
                agency_id: int | None = None) -> SocFilter:
    """Unknown periods and categories fall back to "all" rather than failing the page."""
    key = period if period in PERIODS else DEFAULT_PERIOD
    return SocFilter(key, now - PERIODS[key][0], now,
                     category if category in SOC_CATEGORIES else None, agency_id)


def scoped(stmt: Select[Any], principal: Principal, flt: SocFilter) -> Select[Any]:
    """Detections last seen in the period, narrowed by the filter and the reader's agencies."""
    stmt = stmt.where(SocDetection.last_seen >= flt.since, SocDetection.last_seen < flt.until)
    if flt.category is not None:
        stmt = stmt.where(SocDetection.soc_category == flt.category)
    if flt.agency_id is not None:
        stmt = stmt.where(SocDetection.agency_id == flt.agency_id)
    return scope_to_agencies(stmt, principal, SocDetection.agency_id)


@dataclass
class SocCounts:
    total: int = 0
    matches: int = 0
    open_alerts: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    by_severity: Counter[str] = field(default_factory=Counter)
    by_agency: Counter[int | None] = field(default_factory=Counter)
    # bucket label -> category -> detections
    series: dict[str, Counter[str]] = field(default_factory=dict)


def _bucket_labels(flt: SocFilter) -> list[str]:
    """Every bucket of the period, so quiet hours and days show as zero, not as gaps."""
    fmt = BUCKET_FORMATS[flt.bucket]
    labels: list[str] = []
    moment = flt.since.astimezone(LOCAL)
    end = flt.until.astimezone(LOCAL)
    step = timedelta(hours=1) if flt.bucket == "hour" else timedelta(days=1)
    while moment <= end:
        label = moment.strftime(fmt)
        if not labels or labels[-1] != label:
            labels.append(label)
        moment += step
    return labels


def counts(session: Session, principal: Principal, flt: SocFilter) -> SocCounts:
    authorize(principal, "soc.read")
    out = SocCounts(series={label: Counter() for label in _bucket_labels(flt)})
    fmt = BUCKET_FORMATS[flt.bucket]
    stmt = scoped(select(SocDetection.soc_category, SocDetection.severity,
                         SocDetection.agency_id, SocDetection.last_seen, SocDetection.count,
                         Alert.status).outerjoin(Alert, Alert.id == SocDetection.alert_id),
                  principal, flt)
    # Grouped in Python: bucketing local times portably (SQLite and PostgreSQL differ in
    # their date functions) is simpler here, and a year of detections is a few thousand rows.
    for category, severity, agency_id, last_seen, count, status in \
            session.execute(stmt.execution_options(yield_per=2000)):
        out.total += 1
        out.matches += count
        out.by_category[category] += 1
        out.by_severity[severity] += 1
        out.by_agency[agency_id] += 1
        out.open_alerts += status in ACTIVE_STATES
        label = last_seen.astimezone(LOCAL).strftime(fmt)
        out.series.setdefault(label, Counter())[category] += 1
    return out


def top(session: Session, principal: Principal, flt: SocFilter, column: Any,
        limit: int = 10) -> list[tuple[str, int, int]]:
    """(value, detections, matches) for the most frequent values of ``column``."""
    authorize(principal, "soc.read")
    detections = func.count(SocDetection.id)
    stmt = scoped(select(column, detections, func.sum(SocDetection.count))
                  .group_by(column).order_by(detections.desc(), column).limit(limit),
                  principal, flt)
    return [(value, int(n), int(total or 0)) for value, n, total in session.execute(stmt)]


def top_rules(session: Session, principal: Principal, flt: SocFilter,
              limit: int = 10) -> list[dict[str, Any]]:
    rows = top(session, principal, flt, SocDetection.rule_id, limit)
    ids = [rule_id for rule_id, _n, _m in rows]
    titles: dict[str, str] = {rule_id: title for rule_id, title in session.execute(
        select(SocRule.rule_id, SocRule.title).where(SocRule.rule_id.in_(ids)))}
    # A deleted or correlation rule keeps the title it had when it fired.
    fallback: dict[str, str] = {rule_id: title for rule_id, title in session.execute(
        select(SocDetection.rule_id, func.max(SocDetection.rule_title))
        .where(SocDetection.rule_id.in_(ids)).group_by(SocDetection.rule_id))}
    return [{"rule_id": rule_id, "title": titles.get(rule_id) or fallback.get(rule_id, ""),
             "known": rule_id in titles, "detections": n, "matches": m}
            for rule_id, n, m in rows]


def top_hosts(session: Session, principal: Principal, flt: SocFilter,
              limit: int = 10) -> list[dict[str, Any]]:
    return [{"host": host, "detections": n, "matches": m}
            for host, n, m in top(session, principal, flt, SocDetection.host, limit)]


def recent(session: Session, principal: Principal, limit: int = 15,
           category: str | None = None, agency_id: int | None = None
           ) -> list[tuple[SocDetection, Alert | None]]:
    """The newest detections (any time) with their alert-center alerts, for the live panel."""
    authorize(principal, "soc.read")
    stmt = select(SocDetection, Alert).outerjoin(Alert, Alert.id == SocDetection.alert_id) \
        .order_by(SocDetection.last_seen.desc(), SocDetection.id.desc()).limit(limit)
    if category in SOC_CATEGORIES:
        stmt = stmt.where(SocDetection.soc_category == category)
    if agency_id is not None:
        stmt = stmt.where(SocDetection.agency_id == agency_id)
    stmt = scope_to_agencies(stmt, principal, SocDetection.agency_id)
    return [(row[0], row[1]) for row in session.execute(stmt)]


def open_soc_alerts(session: Session, principal: Principal | None = None) -> int:
    """Open alert-center alerts raised by the SOC (scoped when a principal is given)."""
    stmt = select(func.count()).select_from(Alert).where(
        Alert.service == SERVICE_KEY, Alert.status.in_(sorted(ACTIVE_STATES)))
    if principal is not None:
        stmt = scope_to_agencies(stmt, principal, Alert.agency_id)
    return session.scalar(stmt) or 0


@dataclass(frozen=True)
class SourceHealth:
    source: str
    received: int
    parsed: int
    quarantined: int
    dropped: int
    eps_recent: float  # events per second over the last few minutes
    eps_window: float  # over the whole window
    last_minute: datetime
    queue_depth_max: int = 0  # deepest receiver queue in the window (0: no queue, e.g. HTTP)
    queue_size: int = 0  # the receiver's queue capacity, as last reported

    @property
    def queue_fill(self) -> float | None:
        """Peak queue use in percent: near 100 the receiver is about to drop messages."""
        return round(100 * self.queue_depth_max / self.queue_size, 1) if self.queue_size else None

    @property
    def drop_rate(self) -> float | None:
        return round(100 * self.dropped / self.received, 2) if self.received else None


@dataclass(frozen=True)
class IngestHealth:
    window_minutes: int
    sources: list[SourceHealth]
    quarantined_total: int
    quarantined_window: int

    @property
    def eps_recent(self) -> float:
        return round(sum(s.eps_recent for s in self.sources), 2)


def ingest_health(session: Session, now: datetime, window_minutes: int = 60,
                  recent_minutes: int = 5) -> IngestHealth:
    """Per source over the last ``window_minutes``: totals and events per second."""
    since = now - timedelta(minutes=window_minutes)
    recent_since = now - timedelta(minutes=recent_minutes)
    rows = session.execute(select(SocIngestCounter).where(SocIngestCounter.minute >= since)
                           ).scalars()
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        t = totals.setdefault(row.source, {"received": 0, "parsed": 0, "quarantined": 0,
                                           "dropped": 0, "recent": 0, "last": row.minute,
                                           "depth": 0, "size": 0, "size_at": row.minute})
        for name in ("received", "parsed", "quarantined", "dropped"):
            t[name] += getattr(row, name)
        t["depth"] = max(t["depth"], row.queue_depth_max)
        if row.queue_size and row.minute >= t["size_at"]:  # the newest capacity reported
            t["size"], t["size_at"] = row.queue_size, row.minute
        if row.minute >= recent_since:
            t["recent"] += row.received
        t["last"] = max(t["last"], row.minute)
    sources = [SourceHealth(source, t["received"], t["parsed"], t["quarantined"], t["dropped"],
                            round(t["recent"] / (recent_minutes * 60), 2),
                            round(t["received"] / (window_minutes * 60), 2), t["last"],
                            t["depth"], t["size"])
               for source, t in sorted(totals.items())]
    quarantined_total = session.scalar(select(func.count()).select_from(SocQuarantine)) or 0
    quarantined_window = session.scalar(select(func.count()).select_from(SocQuarantine)
                                        .where(SocQuarantine.received_at >= since)) or 0
    return IngestHealth(window_minutes, sources, quarantined_total, quarantined_window)
