"""Syslog message parsing: RFC 5424 and RFC 3164 (BSD), the formats senders really use.

RFC 3164 timestamps carry neither year nor zone: the zone defaults to the province's
(Asia/Ho_Chi_Minh) and the year is the one that puts the time closest before "now".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from .framing import Rfc6587Decoder

__all__ = ["Rfc6587Decoder", "SyslogError", "SyslogMessage", "parse_syslog", "parse_timestamp"]

DEFAULT_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NIL = "-"
BOM = "\ufeff"

FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)
SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")

_PRI = re.compile(r"<(\d{1,3})>")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
# "Nov  9 10:00:00", "Nov 09 10:00:00.123", optionally with a year ("Nov 9 2026 10:00:00").
_BSD_TIME = re.compile(
    r"([A-Za-z]{3}) {1,2}(\d{1,2})(?: (\d{4}))? (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?= |$)"
)
# RFC 3339 as some RFC 3164 senders (rsyslog's high-precision format) write it.
_ISO_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?)(?= |$)"
)
_TAG = re.compile(r"([^\s\[\]:]{1,48})(?:\[([^\]\s]{1,32})\])?:(?: |$)")
_SD_NAME = r"[^\s=\]\"]{1,32}"
_SD_PARAM = re.compile(rf'\s*({_SD_NAME})="((?:[^"\\]|\\.)*)"', re.S)


class SyslogError(ValueError):
    """The text is not a syslog message; the message says why."""


@dataclass(frozen=True)
class SyslogMessage:
    rfc: int  # 5424 or 3164
    facility: int | None  # None when the line had no PRI (read from a log file)
    severity: int | None
    timestamp: datetime | None  # aware; None for the NILVALUE
    hostname: str | None
    app_name: str | None
    procid: str | None
    msgid: str | None
    message: str
    structured_data: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def facility_name(self) -> str | None:
        return None if self.facility is None else FACILITIES[self.facility]

    @property
    def severity_name(self) -> str | None:
        return None if self.severity is None else SEVERITIES[self.severity]


def parse_syslog(
    data: str | bytes, *, now: datetime | None = None, zone: tzinfo = DEFAULT_ZONE
) -> SyslogMessage:
    """Parse one message (without its transport framing); raise SyslogError if it is not one."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SyslogError(f"invalid UTF-8 at byte {exc.start}") from exc
    text = data.rstrip("\r\n\x00")
    if not text.strip():
        raise SyslogError("empty syslog message")
    facility = severity = None
    pri = _PRI.match(text)
    if pri:
        value = int(pri.group(1))
        if value > 191 or (len(pri.group(1)) > 1 and pri.group(1).startswith("0")):
            raise SyslogError(f"invalid PRI <{pri.group(1)}> (must be 0-191)")
        facility, severity = divmod(value, 8)
        text = text[pri.end():]
        if text.startswith("1 "):
            return _parse_5424(text[2:], facility, severity)
    elif text.startswith("<"):
        raise SyslogError("malformed PRI")
    return _parse_3164(text, facility, severity, now or datetime.now(UTC), zone)


def _parse_5424(text: str, facility: int, severity: int) -> SyslogMessage:
    parts = text.split(" ", 5)
    if len(parts) < 6:
        raise SyslogError("RFC 5424 header is incomplete (needs 6 fields after the version)")
    stamp, host, app, proc, msgid, rest = parts
    timestamp = None
    if stamp != NIL:
        try:
            timestamp = datetime.fromisoformat(stamp)
        except ValueError as exc:
            raise SyslogError(f"invalid RFC 5424 timestamp {stamp[:40]!r}") from exc
        if timestamp.tzinfo is None:
            raise SyslogError("RFC 5424 timestamp has no time zone")
    sd, message = _structured_data(rest)
    if message.startswith(BOM):
        message = message[1:]
    return SyslogMessage(
        rfc=5424, facility=facility, severity=severity, timestamp=timestamp,
        hostname=_nil(host, 255), app_name=_nil(app, 48), procid=_nil(proc, 128),
        msgid=_nil(msgid, 32), message=message, structured_data=sd,
    )


def _nil(value: str, limit: int) -> str | None:
    if len(value) > limit:
        raise SyslogError(f"RFC 5424 header field longer than {limit} characters")
    return None if value == NIL else value


def _structured_data(rest: str) -> tuple[dict[str, dict[str, str]], str]:
    """Split "[id k="v"]… MSG" into its elements and the message; escapes \\" \\\\ \\] undone."""
    if rest == NIL or rest.startswith(NIL + " "):
        return {}, rest[2:]
    if not rest.startswith("["):
        raise SyslogError("RFC 5424 structured data must be '-' or start with '['")
    elements: dict[str, dict[str, str]] = {}
    pos = 0
    while pos < len(rest) and rest[pos] == "[":
        head = re.match(_SD_NAME, rest[pos + 1:])
        if not head:
            raise SyslogError("RFC 5424 structured data element has no valid SD-ID")
        sd_id = head.group(0)
        pos += 1 + head.end()
        params: dict[str, str] = {}
        while True:
            param = _SD_PARAM.match(rest, pos)
            if not param:
                break
            params[param.group(1)] = re.sub(r'\\(["\\\]])', r"\1", param.group(2))
            pos = param.end()
        if pos >= len(rest) or rest[pos] != "]":
            raise SyslogError(f"RFC 5424 structured data element [{sd_id} is not closed")
        elements[sd_id] = params
        pos += 1
    if pos < len(rest) and rest[pos] != " ":
        raise SyslogError("RFC 5424 structured data must be followed by a space")
    return elements, rest[pos + 1:]


def _parse_3164(
    text: str, facility: int | None, severity: int | None, now: datetime, zone: tzinfo
) -> SyslogMessage:
    timestamp = None
    bsd = _BSD_TIME.match(text)
    iso = None if bsd else _ISO_TIME.match(text)
    if bsd:
        timestamp = _bsd_time(bsd, now, zone)
        text = text[bsd.end():].lstrip(" ")
    elif iso:
        stamp = datetime.fromisoformat(iso.group(1))
        timestamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=zone)
        text = text[iso.end():].lstrip(" ")
    elif facility is None:
        raise SyslogError("no syslog header (neither PRI nor timestamp)")
    hostname = None
    # The host is absent when a local program logs straight away: "sshd[12]: …" follows the time.
    if timestamp is not None and not _TAG.match(text):
        host, _, after = text.partition(" ")
        if host:
            hostname, text = host, after
    app = procid = None
    tag = _TAG.match(text)
    if tag:
        app, procid = tag.group(1), tag.group(2)
        text = text[tag.end():]
    return SyslogMessage(
        rfc=3164, facility=facility, severity=severity, timestamp=timestamp,
        hostname=hostname, app_name=app, procid=procid, msgid=None, message=text,
    )


def parse_timestamp(text: str, *, now: datetime | None = None, zone: tzinfo = DEFAULT_ZONE
                    ) -> datetime:
    """A syslog-style time on its own ("Dec 10 06:55:46" or RFC 3339), as an aware datetime."""
    text = text.strip()
    bsd = _BSD_TIME.fullmatch(text)
    if bsd:
        return _bsd_time(bsd, now or datetime.now(UTC), zone)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SyslogError(f"invalid timestamp {text[:40]!r}") from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=zone)


def _bsd_time(m: re.Match[str], now: datetime, zone: tzinfo) -> datetime:
    month = _MONTHS.get(m.group(1).lower())
    if month is None:
        raise SyslogError(f"unknown month {m.group(1)!r} in RFC 3164 timestamp")
    day, hour, minute, second = (int(m.group(i)) for i in (2, 4, 5, 6))
    micro = int((m.group(7) or "0").ljust(6, "0"))
    local_now = now.astimezone(zone)
    year = int(m.group(3)) if m.group(3) else local_now.year
    try:
        stamp = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
        # No year given: a time "in the future" is last year's (a December line read in January).
        if not m.group(3) and stamp - local_now > timedelta(days=1):
            stamp = stamp.replace(year=year - 1)
    except ValueError as exc:
        raise SyslogError(f"invalid RFC 3164 timestamp {m.group(0)!r}") from exc
    return stamp
