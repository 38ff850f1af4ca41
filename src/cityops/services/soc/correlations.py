"""Correlation matches (Sigma v2, from engine/correlation.py) → detections and alerts.

They take the same path as single-rule matches: one detection per (rule, host, window), so a
correlation firing again in the same window adds to the same row and alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cityops.kernel.permissions import authorize
from cityops.kernel.uow import UnitOfWork
from cityops.services.soc.assets import AssetIndex
from cityops.services.soc.categories import categorise
from cityops.services.soc.detections import DetectionRecorder, FlushReport, Hit
from cityops.services.soc.engine.correlation import CorrelationMatch
from cityops.services.soc.settings import SocSettings

# Group-by fields that name the machine, most specific first (Sigma and ECS spellings).
HOST_FIELDS = ("host.name", "computer", "hostname", "host", "dvchost", "host.hostname")
IP_FIELDS = ("host.ip", "destination.ip", "dst_ip", "destinationip")


def _pick(group: dict[str, Any], names: tuple[str, ...]) -> str | None:
    lowered = {str(k).lower(): v for k, v in group.items()}
    for name in names:
        value = lowered.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def correlation_hit(match: CorrelationMatch, *, source: str, author: str = "",
                    event_host: tuple[str | None, str | None] = (None, None)) -> Hit:
    """``event_host`` is the host of the event that completed the match, when known: used when
    the correlation is grouped by something other than the host (a user name, say)."""
    hostname = _pick(match.group, HOST_FIELDS)
    ip = _pick(match.group, IP_FIELDS)
    if hostname is None and ip is None:
        hostname, ip = event_host
    if hostname is None and ip is None and match.group:
        # Grouped by something else (a user, a source address): that is what the alert is about.
        hostname = ",".join(f"{k}={v}" for k, v in sorted(match.group.items()))[:255]
    tags = tuple(t.lower() for t in match.tags)
    return Hit(kind="correlation", rule_id=match.rule_id, title=match.title, level=match.level,
               tags=tags, author=author,
               category=categorise(match.rule_id, tags, title=match.title),
               hostname=hostname, ip=ip,
               seen_at=datetime.fromtimestamp(match.last_seen, UTC), source=source,
               sample={"group": {str(k): str(v) for k, v in match.group.items()},
                       "count": match.count,
                       "first_seen": datetime.fromtimestamp(match.first_seen, UTC).isoformat(),
                       "events": list(match.event_indexes[:50])})


def record_correlations(uow: UnitOfWork, matches: Iterable[CorrelationMatch], *, source: str,
                        now: datetime, settings: SocSettings,
                        authors: dict[str, str] | None = None) -> FlushReport:
    """Store correlation matches as detections (and alerts); the caller commits."""
    authorize(uow.principal, "soc.ingest")
    recorder = DetectionRecorder(settings.alert_window_minutes)
    for match in matches:
        hit = correlation_hit(match, source=source, author=(authors or {}).get(match.rule_id, ""))
        # A correlation's "count" is what its condition compared; record each firing once.
        recorder.add(hit)
    if not len(recorder):
        return FlushReport()
    return recorder.flush(uow, now, AssetIndex.load(uow.session))
