"""Event time for correlation windows: timestamps read from the event, or a clock.

Times are plain float seconds since the epoch (UTC) so window arithmetic stays cheap. A clock is
an object with ``now() -> float``; tests and replays use :class:`ManualClock`, live streams
:class:`SystemClock`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

# Sysmon writes UtcTime, the EVTX System block TimeCreated/SystemTime (flattened by the windows
# pipeline to TimeCreated_SystemTime), ECS and most JSON shippers @timestamp.
DEFAULT_TIME_FIELDS: tuple[str, ...] = (
    "@timestamp",
    "timestamp",
    "UtcTime",
    "TimeCreated_SystemTime",
    "System.TimeCreated.SystemTime",
    "System.TimeCreated.#attributes.SystemTime",
    "TimeCreated",
    "EventTime",
)

# Above this an epoch number is in milliseconds (1e11 s is the year 5138).
_MILLIS_THRESHOLD = 1e11


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time, for live streams whose events carry no timestamp."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to: deterministic windows in tests and replays."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        self._now = float(when)

    def advance(self, seconds: float) -> float:
        self._now += seconds
        return self._now


def parse_timestamp(value: Any) -> float | None:
    """Seconds since the epoch from an ISO 8601 string or an epoch number; None if unreadable.

    Naive times are taken as UTC (Sysmon's UtcTime has no offset). Fractions longer than
    microseconds (Windows writes 7 digits) are accepted by ``datetime.fromisoformat``.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
        return number / 1000.0 if abs(number) > _MILLIS_THRESHOLD else number
    if isinstance(value, Mapping):  # {"SystemTime": "..."} left nested by a generic pipeline
        return parse_timestamp(value.get("SystemTime") or value.get("#attributes"))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return parse_timestamp(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def event_time(
    fields: Mapping[str, Any], time_fields: Sequence[str], clock: Clock
) -> tuple[float, bool]:
    """(time, True) from the first readable time field, else (clock.now(), False)."""
    lowered: dict[str, Any] | None = None
    for name in time_fields:
        value = fields.get(name)
        if value is None:
            # Pipelines keep the producer's spelling; field names are case-insensitive in Sigma.
            if lowered is None:
                lowered = {k.lower(): v for k, v in fields.items()}
            value = lowered.get(name.lower())
        stamp = parse_timestamp(value)
        if stamp is not None:
            return stamp, True
    return clock.now(), False
