"""What ingest hands onward: a normalised event, or a quarantined one with the reason.

Both keep the original text verbatim, so an analyst can always see what was received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

LogsourceKey = tuple[str | None, str | None, str | None]

# Anything larger is refused before parsing: one giant event must not stall the stream.
MAX_EVENT_BYTES = 256 * 1024


@dataclass(frozen=True)
class IngestedEvent:
    raw: str
    source: str
    received_at: datetime
    fields: dict[str, Any]  # ECS-like, dotted names ("@timestamp", "host.name", "source.ip", …)
    sigma: dict[str, Any]  # the same event under Sigma field names, for the engine
    logsource: list[LogsourceKey]  # dispatch keys, as in engine/pipelines.py


@dataclass(frozen=True)
class Quarantined:
    raw: str
    source: str
    received_at: datetime
    reason: str  # a short English sentence


def utc(moment: datetime | None) -> datetime:
    """Aware UTC time; a naive value is taken to be UTC already."""
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """ECS @timestamp text: UTC with a Z suffix, microsecond precision."""
    return utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


def iso_or_none(value: object) -> str | None:
    """@timestamp text from an ISO 8601 string, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return iso(datetime.fromisoformat(value))
    except ValueError:
        return None


def normalise(
    raw: str | bytes | dict[str, Any],
    *,
    source: str,
    kind: str = "auto",
    received_at: datetime | None = None,
) -> IngestedEvent | Quarantined:
    """Normalise one event of any supported kind; bad input becomes Quarantined, never raises."""
    # Imported here because the normalisers themselves import the dataclasses above.
    from .normaliser import normalise_event

    return normalise_event(raw, source=source, kind=kind, received_at=utc(received_at))
