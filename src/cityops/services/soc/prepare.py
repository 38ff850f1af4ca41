"""One raw event → (ECS fields, Sigma fields, logsource keys), or the reason it is refused.

Normalisation belongs to ``ingest/`` (``normalise``); this module adapts its result for the
service and reads the host and time of an event for detections.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cityops.services.soc.ingest.records import IngestedEvent, Quarantined, normalise

LogsourceKey = tuple[str | None, str | None, str | None]
# An event stamped further ahead than this is taken to have a wrong clock: use receipt time.
FUTURE_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class Prepared:
    raw: str
    fields: dict[str, Any]
    sigma: dict[str, Any]
    keys: list[LogsourceKey]
    received_at: datetime


@dataclass(frozen=True)
class Refused:
    raw: str
    reason: str


def as_text(raw: str | bytes | dict[str, Any]) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        return raw
    return json.dumps(raw, ensure_ascii=False, default=str)


def adapt(out: IngestedEvent | Quarantined) -> Prepared | Refused:
    if isinstance(out, Quarantined):
        return Refused(out.raw, out.reason)
    return Prepared(out.raw, out.fields, out.sigma, out.logsource, out.received_at)


def prepare(raw: str | bytes | dict[str, Any], *, source: str, kind: str,
            received_at: datetime) -> Prepared | Refused:
    return adapt(normalise(raw, source=source, kind=kind, received_at=received_at))


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else None


def host_of(event: Prepared) -> tuple[str | None, str | None]:
    """(hostname, ip) of the machine the event is about: the reporting host first."""
    f, s = event.fields, event.sigma
    hostname = _first(f.get("host.name") or f.get("host.hostname") or s.get("Computer")
                      or s.get("Hostname"))
    ip = _first(f.get("host.ip") or f.get("destination.ip"))
    return hostname, ip


def event_time(event: Prepared) -> datetime:
    stamp = event.fields.get("@timestamp")
    moment: datetime | None = stamp if isinstance(stamp, datetime) else None
    if moment is None and isinstance(stamp, str):
        try:
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        return event.received_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return event.received_at if moment > event.received_at + FUTURE_SLACK else moment


def sample_of(event: Prepared, limit: int) -> dict[str, Any]:
    raw = event.raw if len(event.raw) <= limit else event.raw[:limit] + "…"
    fields = {k: v for k, v in event.fields.items() if isinstance(v, str | int | float | bool)}
    return {"raw": raw, "fields": dict(list(fields.items())[:40])}
