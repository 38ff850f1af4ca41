"""The SOC service layer for ingest: events in → quarantine or match → detections → alerts.

``ingest_batch`` is the one path that the HTTP API, ``cityops soc import`` and
``cityops soc receive`` share. It never stops on a bad event: each is quarantined with its
reason, and counters per source and minute record what came in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityops.kernel.permissions import authorize
from cityops.kernel.uow import UnitOfWork
from cityops.services.soc.assets import AssetIndex
from cityops.services.soc.correlate import Correlator
from cityops.services.soc.detections import DetectionRecorder, FlushReport, Hit
from cityops.services.soc.ingest import IngestedEvent, Quarantined
from cityops.services.soc.models import SocIngestCounter, SocQuarantine
from cityops.services.soc.prepare import (
    Prepared,
    Refused,
    adapt,
    as_text,
    event_time,
    host_of,
    prepare,
    sample_of,
)
from cityops.services.soc.ruleset import RuleSet, current_ruleset
from cityops.services.soc.settings import SocSettings

RawEvent = str | bytes | dict[str, Any]
# What ingest_batch takes: raw input, or what a file reader / receiver already normalised.
EventItem = RawEvent | Refused | IngestedEvent | Quarantined


@dataclass
class BatchReport:
    accepted: int = 0
    quarantined: int = 0
    matches: int = 0
    correlations: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    detections: FlushReport = field(default_factory=FlushReport)

    def merge(self, other: BatchReport) -> None:
        self.accepted += other.accepted
        self.quarantined += other.quarantined
        self.matches += other.matches
        self.correlations += other.correlations
        self.refused.extend(other.refused)
        self.detections.created += other.detections.created
        self.detections.updated += other.detections.updated
        self.detections.alerts_raised += other.detections.alerts_raised


def quarantine(session: Session, source: str, raw: str, reason: str, now: datetime,
               limit: int) -> None:
    truncated = len(raw) > limit
    session.add(SocQuarantine(received_at=now, source=source[:64], reason=reason[:500],
                              raw=raw[:limit], raw_size=len(raw), truncated=truncated))


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def add_counts(session: Session, source: str, now: datetime, *, received: int = 0,
               parsed: int = 0, quarantined: int = 0, dropped: int = 0,
               queue_depth: int = 0, queue_size: int = 0) -> None:
    """Add to the (source, minute) counter row, creating it on first use (race-safe).

    ``queue_depth`` is a level, not a count: the row keeps the largest depth seen in the minute.
    """
    if not (received or parsed or quarantined or dropped or queue_depth):
        return
    minute, source = minute_of(now), source[:64]
    where = (SocIngestCounter.source == source, SocIngestCounter.minute == minute)
    values: dict[str, Any] = {"received": SocIngestCounter.received + received,
                              "parsed": SocIngestCounter.parsed + parsed,
                              "quarantined": SocIngestCounter.quarantined + quarantined,
                              "dropped": SocIngestCounter.dropped + dropped}
    if queue_depth:
        # CASE rather than GREATEST/MAX(a, b): the same SQL on SQLite and PostgreSQL.
        values["queue_depth_max"] = case(
            (SocIngestCounter.queue_depth_max < queue_depth, queue_depth),
            else_=SocIngestCounter.queue_depth_max)
    if queue_size:
        values["queue_size"] = queue_size
    if session.execute(update(SocIngestCounter).where(*where).values(**values)).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(SocIngestCounter(source=source, minute=minute, received=received,
                                         parsed=parsed, quarantined=quarantined,
                                         dropped=dropped, queue_depth_max=queue_depth,
                                         queue_size=queue_size))
    except IntegrityError:  # created by another writer in between: add to theirs
        session.execute(update(SocIngestCounter).where(*where).values(**values))


def hits_for(event: Prepared, ruleset: RuleSet, source: str, sample_chars: int) -> list[Hit]:
    matched = ruleset.engine().match_fields(event.sigma, event.keys)
    if not matched:
        return []
    hostname, ip = host_of(event)
    seen_at = event_time(event)
    sample = sample_of(event, sample_chars)
    return [Hit(kind="sigma", rule_id=r.rule_id, title=r.title, level=r.level,
                tags=tuple(t.lower() for t in r.tags), author=r.author or "",
                category=ruleset.categories.get(r.rule_id, "other"), hostname=hostname, ip=ip,
                seen_at=seen_at, source=source, sample=sample) for r in matched]


def ingest_batch(uow: UnitOfWork, events: Iterable[tuple[int, EventItem]], *,
                 source: str, kind: str, now: datetime, settings: SocSettings,
                 correlator: Correlator | None = None) -> BatchReport:
    """Normalise, quarantine or match each (index, event); store detections and counters.

    An item may already be a :class:`Refused` (e.g. an NDJSON line that is not JSON), so the
    caller's parse errors go through the same quarantine, or already normalised by a file
    reader or a syslog receiver. The caller commits.
    """
    authorize(uow.principal, "soc.ingest")
    session = uow.session
    ruleset = current_ruleset(session)
    recorder = DetectionRecorder(settings.alert_window_minutes)
    report = BatchReport()
    received = 0
    for index, raw in events:
        received += 1
        if isinstance(raw, IngestedEvent | Quarantined):
            out: Prepared | Refused = adapt(raw)
        elif isinstance(raw, Refused):
            out = raw
        else:
            out = prepare(raw, source=source, kind=kind, received_at=now)
        if isinstance(out, Refused):
            quarantine(session, source, as_text(out.raw), out.reason, now,
                       settings.quarantine_raw_chars)
            report.quarantined += 1
            report.refused.append({"index": index, "reason": out.reason})
            continue
        report.accepted += 1
        for hit in hits_for(out, ruleset, source, 4096):
            report.matches += 1
            recorder.add(hit)
        if correlator is not None:
            correlator.observe(out, index)
    if correlator is not None:
        for hit in correlator.take_hits(source):
            report.correlations += 1
            recorder.add(hit)
    if len(recorder):
        report.detections = recorder.flush(uow, now, AssetIndex.load(session))
    add_counts(session, source, now, received=received, parsed=report.accepted,
               quarantined=report.quarantined)
    return report


def ingest_health(session: Session, since: datetime, minutes: int) -> dict[str, Any]:
    """Totals per source since ``since`` and the mean events per second over that span."""
    rows = session.scalars(select(SocIngestCounter).where(SocIngestCounter.minute >= minute_of(
        since)).order_by(SocIngestCounter.source, SocIngestCounter.minute))
    sources: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = sources.setdefault(row.source, {"source": row.source, "received": 0,
                                                "parsed": 0, "quarantined": 0, "dropped": 0,
                                                "queue_depth_max": 0, "queue_size": 0,
                                                "last_minute": None})
        for name in ("received", "parsed", "quarantined", "dropped"):
            entry[name] += getattr(row, name)
        entry["queue_depth_max"] = max(entry["queue_depth_max"], row.queue_depth_max)
        entry["queue_size"] = row.queue_size or entry["queue_size"]
        entry["last_minute"] = row.minute.isoformat()
    for entry in sources.values():
        entry["eps"] = round(entry["received"] / (minutes * 60), 3)
    return {"minutes": minutes, "sources": list(sources.values()),
            "eps": round(sum(e["received"] for e in sources.values()) / (minutes * 60), 3)}
