"""Matches → detections → alerts: one detection (and one alert) per (rule, host, time window).

Matches are grouped in memory first, so a burst of 1,000 matches of one rule on one host
becomes one row with ``count`` 1,000 and one alert whose occurrences say 1,000, whatever the
batch boundaries: a later batch in the same window adds to the same row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityops.alerts.models import Alert
from cityops.alerts.service import RaiseRequest, raise_alert
from cityops.alerts.vocab import ACTIVE_STATES, SEVERITIES
from cityops.kernel.orgs import Agency
from cityops.kernel.permissions import SYSTEM
from cityops.kernel.uow import UnitOfWork
from cityops.services.soc.assets import AssetIndex, AssetMatch
from cityops.services.soc.models import SocDetection

SERVICE_KEY = "soc"
# Sigma level → alert center severity (CAP: warning=Minor, minor=Moderate, major=Severe,
# critical=Extreme). Informational and low share the lowest alerting step.
LEVEL_SEVERITY = {"informational": "warning", "low": "warning", "medium": "minor",
                  "high": "major", "critical": "critical"}
# A host's criticality raises the severity by this many steps (capped at critical).
CRITICALITY_BUMP = {"low": 0, "medium": 0, "high": 1, "critical": 2}
CATEGORY_LABELS = {  # Vietnamese report wording, for the alert's title and description
    "malware": "Mã độc", "vulnerability": "Lỗ hổng ứng dụng",
    "exploitation": "Tấn công khai thác", "abnormal": "Máy chủ hoạt động bất thường",
    "other": "Khác",
}
SAMPLE_CHARS = 4096


def severity_for(level: str | None, criticality: str | None) -> str:
    base = SEVERITIES.index(LEVEL_SEVERITY.get(level or "", "minor"))
    bumped = base + CRITICALITY_BUMP.get(criticality or "", 0)
    return SEVERITIES[min(bumped, len(SEVERITIES) - 1)]


def window_start(moment: datetime, minutes: int) -> datetime:
    epoch = int(moment.astimezone(UTC).timestamp())
    size = minutes * 60
    return datetime.fromtimestamp(epoch - epoch % size, UTC)


@dataclass(frozen=True)
class Hit:
    kind: str  # "sigma" or "correlation"
    rule_id: str
    title: str
    level: str | None
    tags: tuple[str, ...]
    author: str
    category: str
    hostname: str | None
    ip: str | None
    seen_at: datetime
    source: str
    sample: dict[str, Any]

    @property
    def host(self) -> str:
        return (self.hostname or self.ip or "unknown").lower()[:255]


@dataclass
class _Group:
    first: Hit
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def add(self, hit: Hit) -> None:
        self.count += 1
        self.first_seen = min(self.first_seen or hit.seen_at, hit.seen_at)
        self.last_seen = max(self.last_seen or hit.seen_at, hit.seen_at)


@dataclass
class FlushReport:
    created: int = 0
    updated: int = 0
    alerts_raised: int = 0
    detection_ids: list[int] = field(default_factory=list)


def dedupe_key(kind: str, rule_id: str, host: str, start: datetime) -> str:
    host_part = host if len(host) <= 80 else hashlib.sha256(host.encode()).hexdigest()[:32]
    return f"{kind}|{rule_id[:64]}|{host_part}|{start:%Y%m%dT%H%MZ}"


@contextmanager
def _as_system(uow: UnitOfWork) -> Iterator[None]:
    """Detections are raised by the platform, not by whoever delivered the events: an
    integrator may send a log line about another agency's host (permission to ingest was
    checked at the door). The audit context still names the deliverer."""
    saved, uow.principal = uow.principal, SYSTEM
    try:
        yield
    finally:
        uow.principal = saved


class DetectionRecorder:
    def __init__(self, window_minutes: int) -> None:
        self.window_minutes = window_minutes
        self._groups: dict[str, _Group] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, hit: Hit) -> None:
        key = dedupe_key(hit.kind, hit.rule_id, hit.host,
                         window_start(hit.seen_at, self.window_minutes))
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(hit)
        group.add(hit)

    def flush(self, uow: UnitOfWork, now: datetime, assets: AssetIndex) -> FlushReport:
        report = FlushReport()
        groups, self._groups = self._groups, {}
        session = uow.session
        for key, group in groups.items():
            row = session.scalar(select(SocDetection).where(SocDetection.dedupe_key == key))
            if row is None:
                try:
                    with session.begin_nested():
                        row = self._create(uow, key, group, now, assets)
                    report.created += 1
                    report.alerts_raised += row.alert_id is not None
                    report.detection_ids.append(row.id)
                    continue
                except IntegrityError:  # another process created it meanwhile: add to it
                    row = session.scalar(select(SocDetection)
                                         .where(SocDetection.dedupe_key == key))
                    if row is None:
                        raise
            self._add_to(session, row, group, now)
            report.updated += 1
            report.detection_ids.append(row.id)
        return report

    def _create(self, uow: UnitOfWork, key: str, group: _Group, now: datetime,
                assets: AssetIndex) -> SocDetection:
        hit = group.first
        # Some sources name the host by its address: try that as an IP too.
        asset = (assets.by_hostname(hit.hostname) or assets.by_ip(hit.ip)
                 or assets.by_ip(hit.hostname))
        severity = severity_for(hit.level, asset.criticality if asset else None)
        row = SocDetection(
            dedupe_key=key, kind=hit.kind, rule_id=hit.rule_id[:64], rule_title=hit.title[:500],
            rule_author=hit.author[:1000], level=hit.level, severity=severity,
            soc_category=hit.category, tags=list(hit.tags), host=hit.host,
            asset_id=asset.asset_id if asset else None,
            agency_id=asset.agency_id if asset else None, source=hit.source[:64],
            window_start=window_start(hit.seen_at, self.window_minutes),
            first_seen=group.first_seen, last_seen=group.last_seen, count=group.count,
            sample_event=hit.sample)
        uow.session.add(row)
        uow.session.flush()
        alert = self._raise(uow, key, row, asset, now)
        row.alert_id = alert.id
        alert.occurrences = row.count
        return row

    def _raise(self, uow: UnitOfWork, key: str, row: SocDetection, asset: AssetMatch | None,
               now: datetime) -> Alert:
        agency_code = None
        if asset is not None:
            agency_code = uow.session.scalar(select(Agency.code)
                                             .where(Agency.id == asset.agency_id))
        label = CATEGORY_LABELS.get(row.soc_category, row.soc_category)
        request = RaiseRequest(
            dedupe_key=key, service=SERVICE_KEY, source_key=f"detection:{row.id}",
            title=f"[{label}] {row.rule_title} — {row.host}",
            title_en=f"[{row.soc_category}] {row.rule_title} on {row.host}",
            description=(f"Quy tắc Sigma {row.rule_id} (mức {row.level}, tác giả: "
                         f"{row.rule_author or 'không rõ'}) khớp trên máy {row.host}."),
            description_en=(f"Sigma rule {row.rule_id} (level {row.level}, author: "
                            f"{row.rule_author or 'unknown'}) matched on host {row.host}."),
            severity=row.severity, category="Security",
            urgency="Immediate" if row.severity in ("major", "critical") else "Expected",
            certainty="Likely", agency_code=agency_code,
            tags=[f"soc:{row.soc_category}", *row.tags][:30])
        with _as_system(uow):
            return raise_alert(uow, request, now=now).alert

    @staticmethod
    def _add_to(session: Session, row: SocDetection, group: _Group, now: datetime) -> None:
        row.count += group.count
        row.first_seen = min(row.first_seen, group.first_seen)
        row.last_seen = max(row.last_seen, group.last_seen)
        if row.alert_id is None:
            return
        alert = session.get(Alert, row.alert_id)
        # Only the figures move: no timeline entry or notification per batch (throttling).
        if alert is not None and alert.status in ACTIVE_STATES:
            alert.occurrences = row.count
            alert.last_seen_at = max(alert.last_seen_at, now)
